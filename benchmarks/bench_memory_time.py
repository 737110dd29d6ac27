"""Peak training memory and time per step against T for the efficiency rules, next to BPTT.

Every (rule, T) point runs in a fresh Python process (one thread) on the same network, a LIF MLP
64-512-512-10 with batch 128 and constant (direct) input, and measures one training step
(``rule.step``, optimizer included):

* ``saved MiB``: the peak of the tensors autograd holds for backward
  (:class:`snnlab.metrics.SavedTensorMeter`): exact and deterministic;
* ``RSS MiB``: the step's peak resident memory above the process's resident memory just before
  it (Linux ``VmHWM`` after resetting it through ``/proc/self/clear_refs``; else
  ``ru_maxrss``), so torch's own ~300 MiB cancels out;
* ``ms/step``: the median of 3 further steps.

Rules: ``bptt``, ``ottt`` (A), ``ottt_o`` (O), ``rate_bp``, ``tssl`` (the rule turns the network
into its PSP neurons, same weights), and online LTL if ``"ltl"`` is registered (teacher: the ANN
twin of a second, untrained network of the same shape; memory does not depend on its weights).
Then a short accuracy run on digits at equal epochs (``--epochs``, 0 skips it).

    python benchmarks/bench_memory_time.py [--Ts 8,16,32,64] [--epochs 10] [--plot out.png]

Claims checked (printed as PASS/FAIL; exit status 1 if one fails): OTTT peak memory at T=64 is
<= 1.15x its T=8 while BPTT grows; rate_bp's step time at T=16 is <= 0.5x BPTT's; OTTT's
digits accuracy is within 2 points of BPTT's at equal epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = ("bptt", "ottt", "ottt_o", "rate_bp", "tssl", "ltl_online")
N_IN, HIDDEN, N_OUT, BATCH = 64, (1024, 1024), 10, 128


# --------------------------------------------------------------------------- child process
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_bytes(reset_ok: bool) -> int:
    if reset_ok:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_rule(name: str, model):
    import snnlab

    if name == "ltl_online":
        teacher = snnlab.models.mlp(N_IN, list(HIDDEN), N_OUT).ann_twin()
        return snnlab.rules.get("ltl", mode="online", teacher=teacher)
    return snnlab.rules.get(name)


def child(name: str, T: int, seed: int = 0) -> dict:
    import torch

    import snnlab
    from snnlab.metrics import SavedTensorMeter

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = snnlab.models.mlp(N_IN, list(HIDDEN), N_OUT)
    rule = make_rule(name, model)
    rule.setup(model, None, T=T, encoding="direct", seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(BATCH, N_IN) * 1.5
    y = torch.randint(0, N_OUT, (BATCH,))
    small = x[:8].unsqueeze(0).expand(2, 8, N_IN)
    rule.step(model, small, y[:8], opt)  # warm-up: lazy initialisation outside the measurement
    x_seq = x.unsqueeze(0).expand(T, BATCH, N_IN)
    import gc

    gc.collect()
    base = _rss_bytes()
    reset_ok = _reset_peak()
    with SavedTensorMeter() as meter:
        t0 = time.perf_counter()
        rule.step(model, x_seq, y, opt)
        first_ms = (time.perf_counter() - t0) * 1e3
    rss = max(_peak_bytes(reset_ok) - base, 0)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        rule.step(model, x_seq, y, opt)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return dict(rule=name, T=T, saved=meter.peak_bytes, rss=rss, ms=times[1], first_ms=first_ms,
                peak_reset=reset_ok)


def paired_times(names, T: int, repeats: int = 15, seed: int = 0) -> dict:
    """ms/step of several rules measured alternately in one process: per rule the median and
    the minimum, and per rule the median over rounds of its time divided by the first rule's
    time in the same round (``ratio``), which survives the machine's load drifting."""
    import torch

    import snnlab

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x = torch.rand(BATCH, N_IN) * 1.5
    y = torch.randint(0, N_OUT, (BATCH,))
    x_seq = x.unsqueeze(0).expand(T, BATCH, N_IN)
    setups = []
    for name in names:
        model = snnlab.models.mlp(N_IN, list(HIDDEN), N_OUT)
        rule = make_rule(name, model)
        rule.setup(model, None, T=T, encoding="direct", seed=seed)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        rule.step(model, x_seq, y, opt)
        setups.append((name, rule, model, opt))
    times = {name: [] for name in names}
    for _ in range(repeats):
        for name, rule, model, opt in setups:
            t0 = time.perf_counter()
            rule.step(model, x_seq, y, opt)
            times[name].append((time.perf_counter() - t0) * 1e3)
    ref = times[names[0]]
    out = {}
    for name, v in times.items():
        ratios = sorted(a / b for a, b in zip(v, ref))
        out[name] = dict(median=sorted(v)[len(v) // 2], min=min(v),
                         ratio=ratios[len(ratios) // 2])
    return out


# --------------------------------------------------------------------------- parent
def available_rules() -> list[str]:
    import snnlab

    names = snnlab.rules.available()
    out = []
    for r in RULES:
        if r == "ltl_online":
            if "ltl" in names:
                out.append(r)
            else:
                print("online LTL skipped: rule 'ltl' is not registered")
        elif r in names:
            out.append(r)
    return out


def _subprocess(*args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = str(HERE.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *map(str, args)],
                         capture_output=True, text=True, env=env, cwd=root)
    if out.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_point(name: str, T: int) -> dict:
    return _subprocess("--child", name, T)


def accuracy(epochs: int, seed: int = 0) -> dict:
    import torch

    import snnlab

    torch.set_num_threads(1)
    data = snnlab.data.load("digits", seed=seed)
    res = {}
    for name, kw in (("bptt", dict(T=8)), ("ottt", dict(T=8)), ("ottt_o", dict(T=8)),
                     ("rate_bp", dict(T=8)), ("tssl", dict(T=5))):
        torch.manual_seed(seed)
        net = snnlab.models.mlp(64, [128], 10)
        t0 = time.perf_counter()
        h = snnlab.train(net, data, name, epochs=epochs, seed=seed, progress=False, **kw)
        res[name] = dict(acc=h.test_acc, seconds=time.perf_counter() - t0, **kw)
    return res


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnlab.plot import PALETTE, memory_vs_T

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    by = {}
    for r in rows:
        by.setdefault(r["rule"], {})[r["T"]] = r
    memory_vs_T({k: {T: v["saved"] for T, v in d.items()} for k, d in by.items()}, ax=axes[0],
                title="held for backward")
    memory_vs_T({k: {T: v["rss"] for T, v in d.items()} for k, d in by.items()}, ax=axes[1],
                title="step's peak RSS above baseline")
    axes[1].set_ylabel("peak RSS increase (MiB)")
    for i, (name, d) in enumerate(by.items()):
        Ts = sorted(d)
        axes[2].plot(Ts, [d[T]["ms"] for T in Ts], marker="o", ms=4, label=name,
                     color=PALETTE[i % len(PALETTE)])
    axes[2].set_xscale("log", base=2)
    axes[2].set_xlabel("time steps T")
    axes[2].set_ylabel("ms per training step")
    axes[2].set_title("time per step (1 thread)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--Ts", default="8,16,32,64")
    ap.add_argument("--rules", default=None, help="comma-separated subset of " + ",".join(RULES))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--plot", default=str(HERE / "results" / "memory_time.png"))
    ap.add_argument("--json", default=str(HERE / "results" / "memory_time.json"))
    ap.add_argument("--child", nargs=2, metavar=("RULE", "T"), help=argparse.SUPPRESS)
    ap.add_argument("--pair", nargs=2, metavar=("RULES", "T"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    if args.pair:
        print(json.dumps(paired_times(args.pair[0].split(","), int(args.pair[1]))))
        return 0

    Ts = [int(t) for t in args.Ts.split(",")]
    rules = available_rules() if args.rules is None else args.rules.split(",")
    print(f"network mlp({N_IN}, {list(HIDDEN)}, {N_OUT}), batch {BATCH}, direct input, "
          f"1 thread, fresh process per point\n")
    print(f"{'rule':10s} {'T':>3s} {'saved MiB':>10s} {'RSS MiB':>9s} {'ms/step':>9s}")
    rows = []
    for name in rules:
        for T in Ts:
            r = run_point(name, T)
            rows.append(r)
            print(f"{name:10s} {T:3d} {r['saved'] / 2**20:10.2f} {r['rss'] / 2**20:9.1f} "
                  f"{r['ms']:9.1f}", flush=True)
    get = {(r["rule"], r["T"]): r for r in rows}
    lo, hi = min(Ts), max(Ts)
    print(f"\nratios (T={hi} / T={lo}):")
    for name in rules:
        a, b = get[name, lo], get[name, hi]
        print(f"  {name:10s} saved x{b['saved'] / max(a['saved'], 1):6.2f}   "
              f"RSS x{b['rss'] / max(a['rss'], 1):6.2f}   time x{b['ms'] / a['ms']:6.2f}")
    if 16 in Ts:
        print("\nstep time at T=16 relative to bptt:")
        for name in rules:
            print(f"  {name:10s} x{get[name, 16]['ms'] / get['bptt', 16]['ms']:.2f}")

    checks = []
    if {"ottt", "bptt"} <= set(rules) and {8, 64} <= set(Ts):
        for key in ("saved", "rss"):
            o = get["ottt", 64][key] / max(get["ottt", 8][key], 1)
            b = get["bptt", 64][key] / max(get["bptt", 8][key], 1)
            checks.append((f"OTTT peak {key} T=64/T=8 = {o:.2f} <= 1.15 while BPTT grows "
                           f"(x{b:.2f})", o <= 1.15 and b > 2))
    if {"rate_bp", "bptt"} <= set(rules) and 16 in Ts:
        paired = _subprocess("--pair", "bptt,rate_bp,ottt", 16)
        ratio = paired["rate_bp"]["ratio"]
        print("\npaired timing at T=16 in one process (15 rounds of alternating steps):")
        for k, v in paired.items():
            print(f"  {k:8s} median {v['median']:7.1f} ms  min {v['min']:7.1f} ms  "
                  f"median ratio to bptt {v['ratio']:.2f}")
        checks.append((f"rate_bp step time at T=16 = {ratio:.2f}x bptt <= 0.5 (paired)",
                       ratio <= 0.5))
    acc = {}
    if args.epochs > 0:
        acc = accuracy(args.epochs)
        print(f"\ndigits test accuracy after {args.epochs} epochs (mlp 64-128-10, seed 0):")
        for name, r in acc.items():
            print(f"  {name:10s} T={r['T']:2d} acc {r['acc']:.3f}  ({r['seconds']:.1f} s)")
        gap = acc["bptt"]["acc"] - acc["ottt"]["acc"]
        checks.append((f"OTTT accuracy within 2 points of bptt (gap {100 * gap:+.1f})",
                       gap <= 0.02))
    print()
    for text, ok in checks:
        print(("PASS  " if ok else "FAIL  ") + text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(dict(points=rows, accuracy=acc,
                                                   checks=[[t, ok] for t, ok in checks]),
                                              indent=1))
    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        print(f"plot written to {plot(rows, args.plot)}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

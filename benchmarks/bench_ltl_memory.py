"""Training memory of Local Tandem Learning against the window T: offline vs online (vs BPTT).

One training step of the same LIF MLP (64-128-128-10, batch 64, digits-sized input) is run for
each T. Memory is the peak number of bytes autograd holds for the backward pass (every distinct
saved tensor counted once, from `torch.autograd.graph.saved_tensors_hooks`): the activation
memory of training, exact and independent of the allocator. With ``--device cuda`` the CUDA
allocator's peak (`torch.cuda.max_memory_allocated`) is printed as well.

    python benchmarks/bench_ltl_memory.py [--Ts 8,16,32,64] [--batch 64] [--device cpu|cuda]

Claim checked: online LTL's peak at T=64 is <= 1.15x its peak at T=8 (offline LTL and BPTT
grow linearly in T). Exits with status 1 if the claim fails.

Measured (shared 2-core CPU, torch 2.13, one thread, defaults), peak KiB held for backward at
T = 8 / 16 / 32 / 64: offline LTL 1795 / 3459 / 6787 / 13443 (7.49x), online LTL 275 / 275 /
275 / 275 (1.00x), BPTT 1736 / 3400 / 6728 / 13384 (7.71x).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import snnlab
from snnlab.metrics import peak_saved_bytes
from snnlab.rules.ltl import LTL


def _step(model, rule, x_seq, y, opt):
    if rule is None:  # plain surrogate-gradient BPTT
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x_seq), y).backward()
        opt.step()
    else:
        rule.step(model, x_seq, y, opt)


def measure(Ts, batch=64, hidden=(128, 128), device="cpu", seed=0):
    torch.manual_seed(seed)
    device = torch.device(device)
    model = snnlab.models.mlp(64, list(hidden), 10).to(device)
    teacher = snnlab.models.mlp(64, list(hidden), 10).ann_twin().to(device)
    x = torch.rand(batch, 64, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    rows = []
    for name, rule in (("ltl-offline", LTL(teacher, "offline")),
                       ("ltl-online", LTL(teacher, "online")), ("bptt", None)):
        for T in Ts:
            x_seq = x.unsqueeze(0).expand(T, *x.shape).contiguous()
            _step(model, rule, x_seq, y, opt)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
            t0 = time.perf_counter()
            saved, _ = peak_saved_bytes(_step, model, rule, x_seq, y, opt)
            if device.type == "cuda":
                torch.cuda.synchronize()
            ms = (time.perf_counter() - t0) * 1e3
            row = dict(method=name, T=T, saved_kib=saved / 1024, ms=ms)
            if device.type == "cuda":
                row["cuda_peak_kib"] = (torch.cuda.max_memory_allocated() - base) / 1024
            rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--Ts", default="8,16,32,64")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    Ts = [int(t) for t in args.Ts.split(",")]
    rows = measure(Ts, batch=args.batch, device=args.device)
    cuda = "cuda_peak_kib" in rows[0]
    head = f"{'method':12s} {'T':>4s} {'saved KiB':>10s} {'ms/step':>8s}"
    print(head + (f" {'CUDA peak KiB':>14s}" if cuda else ""))
    for r in rows:
        line = f"{r['method']:12s} {r['T']:4d} {r['saved_kib']:10.1f} {r['ms']:8.1f}"
        print(line + (f" {r['cuda_peak_kib']:14.1f}" if cuda else ""))
    peak = {(r["method"], r["T"]): r["saved_kib"] for r in rows}
    lo, hi = min(Ts), max(Ts)
    ok = True
    for m in ("ltl-offline", "ltl-online", "bptt"):
        ratio = peak[(m, hi)] / peak[(m, lo)]
        print(f"{m:12s} peak(T={hi}) / peak(T={lo}) = {ratio:.2f}x")
        if m == "ltl-online":
            ok = ratio <= 1.15
    if cuda:
        cp = {(r["method"], r["T"]): r["cuda_peak_kib"] for r in rows}
        for m in ("ltl-offline", "ltl-online"):
            print(f"{m:12s} CUDA peak(T={hi}) / peak(T={lo}) = "
                  f"{cp[(m, hi)] / max(cp[(m, lo)], 1e-9):.2f}x")
    print("online LTL memory flat in T (<= 1.15x):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""BPTT training step of a spiking conv net: snnlab vs snnTorch vs SpikingJelly, one process.

The network is ``snnlab.models.convnet((1, 28, 28), channels=(16, 32), n_out=10)``:

    Conv2d(1, 16, 3, pad 1) -> AvgPool2d(2) -> LIF -> Conv2d(16, 32, 3, pad 1) -> AvgPool2d(2)
    -> LIF -> Flatten -> Linear(1568, 10) -> leaky non-spiking readout, logits = mean membrane

built the same way in each library with the same initial weights: LIF with beta 0.9, threshold
1, reset by subtraction in the step that fired (snnTorch ``reset_delay=False``; SpikingJelly
``LIFNode(tau=10, decay_input=False, v_reset=None)``, whose leak ``v - v/tau`` is ``0.9 v`` up
to float rounding), detached reset, and the arctan surrogate of scale 2 (the one surrogate all
three define with the same derivative). The readout is snnTorch's ``Leaky(reset_mechanism=
"none")``, and a plain PyTorch leaky sum for SpikingJelly (it has no non-spiking readout neuron).
What differs is only how each library runs it: snnTorch loops over time calling every layer per
step (as its tutorials do); SpikingJelly runs conv and pool on all T steps at once
(``step_mode="m"``) and loops over time in Python inside ``LIFNode`` (its CPU backend); snnlab
runs each synapse once on all T steps and the LIF loop in C. Before timing, every forward pass
is checked to give the same logits.

Two more snnlab rows: ``snnlab, ops only`` (its C LIF loop and int8 synapse switched off,
:func:`snnlab.compare.pytorch_ops_only`) and ``snnlab + ConvPool``, the same network with each
``Sequential(conv, pool)`` synapse run as one strided conv (:class:`snnlab.spikeconv.ConvPool`,
same weights and state_dict keys, equal up to float rounding): what ``models.convnet`` gives once
it builds its conv synapses as ``ConvPool``.

One training step = forward, cross-entropy, backward, Adam step (PyTorch's Adam for everyone),
on a random batch of 0/1 spikes of MNIST shape ``[T, B, 1, 28, 28]`` (rate 0.2). Steps are timed
in interleaved blocks (load from other processes falls on every implementation alike); printed:
median ms/step, its spread (interquartile range over steps), and the median over rounds of the
per-round ratio against snnTorch and against SpikingJelly, with its range over rounds. With
``--repeats`` > 1 a last table gives each ratio's median and range over the repeats. On a
loaded machine ``--threads 1`` is much steadier (a descheduled thread stalls the others).

``--memory``: peak memory autograd holds for one training step of the same conv net against T
(``snnlab.metrics.peak_saved_bytes``) for ``bptt``, ``ottt`` (its trace-based online backward)
and online ``ltl``, with the growth factor from the smallest to the largest T.

Measured (shared 2-core Xeon with AVX512-VNNI, load ~3.5 from other jobs, torch 2.13 CPU,
``--threads 1``, 3 repeats of 20 steps, median ratio [min-max over repeats]): snnTorch 186 ms,
SpikingJelly 1.03x [0.99-1.04], snnlab ops only 1.29x [1.29-1.33], snnlab 1.38x [1.31-1.43],
snnlab + ConvPool 4.84x [4.57-5.47] (29 ms). Where the stock snnlab step goes (torch.profiler,
``--profile``): conv backward 28%, avg_pool2d 20% and its backward 26% (with its zero fill), conv
forward 17% (``Conv2d`` with one input channel is slow in oneDNN), the C LIF loop 5%. Tried and
dropped: a spike-input conv as unfold + exact int8 matmul (``spikemm``), measured on the
second conv (inner size 256): the unfold alone costs 10x the fused conv, and the int8 matmul
with 32 output channels is 4x slower than float32; the first (inner size 9) is smaller still.
MiB held for backward at T = 4 / 8 / 16 / 32 (B=64): bptt 31.9 / 63.3 / 126.0 / 251.6 (7.90x),
ottt 7.22 flat (1.00x), online ltl 9.40 flat (1.00x), bptt + ConvPool 13.5 / ... / 104.6 (7.75x).
With 2 threads under that load the step times spread over 10x and the ratios (4-9x) mostly
measure how badly each library's many small ops suffer from a descheduled thread.

    python benchmarks/bench_conv.py [--steps 20] [--T 8] [--batch 64] [--threads N] [--repeats 3]
                                    [--memory] [--Ts 4,8,16,32] [--profile] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as TF
from torch import nn

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the sibling benchmarks, also when loaded from a test
    sys.path.insert(0, str(HERE))

import bench_ltl_memory  # noqa: E402  (its _step: one training step, plain BPTT or a rule)

import snnlab  # noqa: E402
from snnlab import _malloc, spikeconv  # noqa: E402
from snnlab.compare import pytorch_ops_only  # noqa: E402
from snnlab.metrics import peak_saved_bytes  # noqa: E402

BETA, THRESHOLD, ATAN_SCALE = 0.9, 1.0, 2.0
SHAPE, CHANNELS, N_OUT = (1, 28, 28), (16, 32), 10


def snnlab_net() -> snnlab.models.SpikingNet:
    return snnlab.models.convnet(SHAPE, channels=CHANNELS, n_out=N_OUT, beta=BETA,
                                 threshold=THRESHOLD, surrogate="atan",
                                 surrogate_scale=ATAN_SCALE)


def snnlab_fused_net() -> snnlab.models.SpikingNet:
    """snnlab's net with each ``Sequential(conv, pool)`` synapse run as one strided conv
    (:class:`snnlab.spikeconv.ConvPool`: same modules, same state_dict keys). A prototype of
    ``models.convnet`` building its conv synapses as ``ConvPool`` (not done there yet)."""
    net = snnlab_net()
    for layer in net.layers:
        if isinstance(layer.synapse, nn.Sequential) and len(layer.synapse) == 2:
            layer.synapse = spikeconv.ConvPool(*layer.synapse)
    return net


def _layers(c_in=SHAPE[0]):
    """The conv, pool and linear layers (weights copied from snnlab's net afterwards)."""
    c1, c2 = CHANNELS
    side = SHAPE[1] // 4
    return (nn.Conv2d(c_in, c1, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(c1, c2, 3, padding=1),
            nn.AvgPool2d(2), nn.Linear(c2 * side * side, N_OUT))


def _copy_weights(dst: nn.Module, ours: snnlab.models.SpikingNet) -> nn.Module:
    with torch.no_grad():
        dst.conv1.load_state_dict(ours.layers[0].synapse[0].state_dict())
        dst.conv2.load_state_dict(ours.layers[1].synapse[0].state_dict())
        dst.fc.load_state_dict(ours.readout.synapse[1].state_dict())
    return dst


class SnnTorchConv(nn.Module):
    """The same net in snnTorch, written as its tutorials do: a loop over time, every layer
    called once per step."""

    def __init__(self):
        super().__init__()
        import snntorch
        from snntorch import surrogate

        self.conv1, self.pool1, self.conv2, self.pool2, self.fc = _layers()
        grad = surrogate.atan(alpha=ATAN_SCALE)
        self.lif1 = snntorch.Leaky(beta=BETA, threshold=THRESHOLD, spike_grad=grad,
                                   reset_delay=False)
        self.lif2 = snntorch.Leaky(beta=BETA, threshold=THRESHOLD, spike_grad=grad,
                                   reset_delay=False)
        self.out = snntorch.Leaky(beta=BETA, reset_mechanism="none")

    def forward(self, x):
        m1, m2, m3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.out.init_leaky()
        total = 0
        for x_t in x.unbind(0):
            s1, m1 = self.lif1(self.pool1(self.conv1(x_t)), m1)
            s2, m2 = self.lif2(self.pool2(self.conv2(s1)), m2)
            _, m3 = self.out(self.fc(s2.flatten(1)), m3)
            total = total + m3
        return total / x.shape[0]


class SpikingJellyConv(nn.Module):
    """The same net in SpikingJelly (activation_based, multi-step mode, CPU "torch" backend)."""

    def __init__(self):
        super().__init__()
        from spikingjelly.activation_based import layer, neuron, surrogate

        conv1, pool1, conv2, pool2, fc = _layers()

        def lif():
            return neuron.LIFNode(tau=1.0 / (1.0 - BETA), decay_input=False,
                                  v_threshold=THRESHOLD, v_reset=None, detach_reset=True,
                                  surrogate_function=surrogate.ATan(alpha=ATAN_SCALE),
                                  step_mode="m", backend="torch")

        self.conv1, self.conv2, self.fc = conv1, conv2, fc
        self.body = nn.Sequential(
            layer.SeqToANNContainer(conv1, pool1), lif(),
            layer.SeqToANNContainer(conv2, pool2), lif(),
            layer.SeqToANNContainer(nn.Flatten(), fc))

    def forward(self, x):
        from spikingjelly.activation_based import functional

        functional.reset_net(self)  # SpikingJelly keeps the membrane in the modules
        current = self.body(x)
        o, total = 0, 0
        for c_t in current.unbind(0):
            o = BETA * o + c_t
            total = total + o
        return total / x.shape[0]


class OpsOnly(nn.Module):
    """snnlab with its C LIF loop and int8 synapse switched off (fused Functions in plain ops)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def _train_step(model, opt, x, y):
    ctx = pytorch_ops_only() if isinstance(model, OpsOnly) else contextlib.nullcontext()
    with ctx:
        opt.zero_grad(set_to_none=True)
        TF.cross_entropy(model(x), y).backward()
        opt.step()


def build(T: int, B: int, seed: int = 0, rate: float = 0.2):
    """The implementations with the same initial weights, and one batch."""
    torch.manual_seed(seed)
    x = (torch.rand(T, B, *SHAPE) < rate).float()
    y = torch.randint(0, N_OUT, (B,))
    ours = snnlab_net()
    ops = OpsOnly(snnlab_net())
    ops.net.load_state_dict(ours.state_dict())
    impls = {"snntorch": _copy_weights(SnnTorchConv(), ours)}
    try:
        impls["spikingjelly"] = _copy_weights(SpikingJellyConv(), ours)
    except ImportError:
        print("SpikingJelly not installed (pip install spikingjelly): its rows are skipped")
    impls["snnlab, ops only"] = ops
    impls["snnlab"] = ours
    fused = snnlab_fused_net()
    fused.load_state_dict(ours.state_dict())
    impls["snnlab + ConvPool"] = fused
    return impls, x, y


def check_same(impls, x, atol=1e-4):
    """Every implementation computes the same logits from the same weights (a spike flipped
    by float rounding near the threshold would show here: none is expected on this input)."""
    with torch.no_grad():
        ref = impls["snnlab"](x)
        for name, m in impls.items():
            diff = float((m(x) - ref).abs().max())
            if diff > atol:
                raise AssertionError(f"{name} logits differ from snnlab's by {diff:.2e}")


def time_rounds(impls, x, y, rounds: int, block: int, warmup: int = 2):
    """Per implementation, the ms of every timed step, and per round the median of its block.
    Implementations take turns, one block of ``block`` consecutive steps each per round."""
    opts = {n: torch.optim.Adam(m.parameters(), lr=1e-3) for n, m in impls.items()}
    for name, m in impls.items():
        for _ in range(warmup):
            _train_step(m, opts[name], x, y)
    steps = {n: [] for n in impls}
    per_round = {n: [] for n in impls}
    for _ in range(rounds):
        for name, m in impls.items():
            ts = []
            for _ in range(block):
                t0 = time.perf_counter()
                _train_step(m, opts[name], x, y)
                ts.append((time.perf_counter() - t0) * 1e3)
            steps[name] += ts
            per_round[name].append(statistics.median(ts))
    return steps, per_round


def _quartiles(v):
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    return q[0], q[2]


def speed(T: int, B: int, steps: int, block: int = 5, verbose: bool = True):
    impls, x, y = build(T, B)
    check_same(impls, x)
    rounds = max(2, steps // block)
    times, per_round = time_rounds(impls, x, y, rounds, block)
    peers = [p for p in ("snntorch", "spikingjelly") if p in impls]
    rows = {}
    for name in impls:
        med = statistics.median(times[name])
        lo, hi = _quartiles(times[name])
        row = dict(ms=med, q1=lo, q3=hi, n=len(times[name]))
        for p in peers:  # >1: faster than the peer; per-round ratios survive load drifting
            ratios = [a / b for a, b in zip(per_round[p], per_round[name])]
            row[f"vs {p}"] = statistics.median(ratios)
            row[f"vs {p} range"] = (min(ratios), max(ratios))
        rows[name] = row
    if verbose:
        head = f"{'implementation':<18}{'ms/step':>9}{'IQR (ms)':>16}"
        print(head + "".join(f"{'vs ' + p:>18}" for p in peers))
        for name, r in rows.items():
            line = f"{name:<18}{r['ms']:>9.1f}{r['q1']:>8.1f}-{r['q3']:<7.1f}"
            for p in peers:
                a, b = r[f"vs {p} range"]
                line += f"{r['vs ' + p]:>7.2f}x [{a:.2f}-{b:.2f}]"
            print(line)
    return rows


def summary(repeats):
    """Each ratio's median and range over the repeats."""
    peers = [k[3:] for k in repeats[0]["snnlab"] if k.startswith("vs ") and "range" not in k]
    print(f"-- over {len(repeats)} repeats: median ratio [min-max]")
    print(f"{'implementation':<18}{'ms/step':>9}" + "".join(f"{'vs ' + p:>22}" for p in peers))
    for name in repeats[0]:
        ms = statistics.median(r[name]["ms"] for r in repeats)
        line = f"{name:<18}{ms:>9.1f}"
        for p in peers:
            v = [r[name][f"vs {p}"] for r in repeats]
            line += f"{statistics.median(v):>9.2f}x [{min(v):.2f}-{max(v):.2f}]"
        print(line)


# --------------------------------------------------------------------------- memory
MEMORY_RULES = ("bptt", "ottt", "ltl_online", "bptt+ConvPool")


def _memory_rule(name: str, seed: int):
    """A fresh network and the rule set up on it (OTTT's setup adds its weight
    standardisation to the convs; online LTL's teacher is the ANN twin of a second network of
    the same shape: memory does not depend on its weights)."""
    torch.manual_seed(seed)
    model = snnlab_fused_net() if name.endswith("+ConvPool") else snnlab_net()
    name = name.split("+")[0]
    if name == "ltl_online":
        rule = snnlab.rules.get("ltl", mode="online", teacher=snnlab_net().ann_twin())
    else:
        rule = snnlab.rules.get(name)
    rule.setup(model, None, T=8, encoding="rate", seed=seed)
    return model, rule


def memory(Ts, B: int, seed: int = 0, verbose: bool = True):
    """Peak bytes held for backward during one ``rule.step`` (optimizer included), per rule
    and T, on rate-coded 0/1 input."""
    torch.manual_seed(seed)
    x = torch.rand(B, *SHAPE)
    y = torch.randint(0, N_OUT, (B,))
    out = {}
    for name in MEMORY_RULES:
        model, rule = _memory_rule(name, seed)
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        out[name] = {}
        for T in Ts:
            x_seq = (torch.rand(T, *x.shape) < x).float()  # rate coding of intensities x
            bench_ltl_memory._step(model, rule, x_seq, y, opt)  # warm-up (lazy setup)
            out[name][T] = peak_saved_bytes(bench_ltl_memory._step, model, rule, x_seq, y,
                                            opt)[0]
    if verbose:
        print(f"{'rule':<15}" + "".join(f"{'T=' + str(T):>10}" for T in Ts)
              + f"{'growth T=' + str(Ts[0]) + '->' + str(Ts[-1]):>20}")
        for name, d in out.items():
            print(f"{name:<15}" + "".join(f"{d[T] / 2**20:>10.2f}" for T in Ts)
                  + f"{d[Ts[-1]] / max(d[Ts[0]], 1):>19.2f}x")
        print("(MiB held for backward; ideal: bptt grows like T, the online rules stay flat)")
    return out


# --------------------------------------------------------------------------- profile
def profile(T: int, B: int, steps: int = 5, name: str = "snnlab"):
    """Where an implementation's step spends its time (torch.profiler, CPU ops, self time)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as prof

    impls, x, y = build(T, B)
    m = impls[name]
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    for _ in range(2):
        _train_step(m, opt, x, y)
    with prof(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(steps):
            _train_step(m, opt, x, y)
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per implementation")
    p.add_argument("--T", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="repeat the whole timing")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--memory", action="store_true", help="also the memory-vs-T table")
    p.add_argument("--memory-only", action="store_true", help="only the memory-vs-T table")
    p.add_argument("--Ts", default="4,8,16,32", help="T values of the memory table")
    p.add_argument("--profile", nargs="?", const="snnlab", default=None, metavar="IMPL",
                   help="profile one implementation's step (default snnlab) and stop")
    p.add_argument("--smoke", action="store_true", help="a tiny run (tests)")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="keep glibc's malloc defaults (see snnlab/_malloc.py)")
    a = p.parse_args(argv)
    if a.smoke:
        a.steps, a.T, a.batch, a.Ts, a.repeats = 4, 2, 4, "2,4", 1
    tuned = False if a.no_malloc_tuning else _malloc.tune()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.profile:
        profile(a.T, a.batch, name=a.profile)
        return {}
    results = {"speed": []}
    if not a.memory_only:
        print(f"BPTT training step, conv net {SHAPE} -> {CHANNELS} -> {N_OUT}, T={a.T}, "
              f"B={a.batch}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"malloc tuning {'on' if tuned else 'off'}, {a.steps} steps per repeat")
    for i in range(0 if a.memory_only else a.repeats):
        if a.repeats > 1:
            print(f"-- repeat {i + 1}/{a.repeats}")
        results["speed"].append(speed(a.T, a.batch, a.steps))
    if len(results["speed"]) > 1:
        summary(results["speed"])
    if a.memory or a.memory_only:
        Ts = [int(t) for t in a.Ts.split(",")]
        print(f"\npeak memory held for backward, one training step (rule.step), B={a.batch}, "
              "rate-coded input")
        results["memory"] = memory(Ts, a.batch)
    return results


if __name__ == "__main__":
    main()

"""BPTT training step: snnlab (fused time loop) vs snnTorch vs a plain PyTorch loop, one process.

The same LIF MLP (hidden LIF layer, beta 0.9, threshold 1, fast-sigmoid surrogate, non-spiking
leaky readout, cross-entropy on the mean readout membrane) is trained by each implementation with
Adam on the same random batch. Prints median milliseconds per step and speed-ups against snnTorch.

    python benchmarks/bench_bptt.py [--steps 20] [--T 25] [--batch 128] [--threads N]
                                    [--no-malloc-tuning]

glibc's malloc thresholds are raised first for the whole process, so every implementation
keeps its big freed tensors for reuse alike (snnlab/_malloc.py; importing snnlab does not do
it); ``--no-malloc-tuning`` times glibc's defaults.

Absolute times vary run to run (shared CPUs); ratios measured in one run are what hold. The
"(fp32 matmul floor)" row times only the input layer's forward matmul and weight-gradient matmul
in float32, which a float32 implementation must do: its ratio is the largest speed-up such an
implementation could show against snnTorch on this machine. snnlab can pass it on large layers
because it runs the synapse of 0/1 spike inputs as exact int8 matmuls (snnlab/spikemm.py). The
"snnlab, ops only" row is snnlab with that and its C LIF loop (snnlab/_lif_kernel.c) switched
off: the fused autograd Functions in plain PyTorch ops.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import snnlab
from snnlab import _malloc
from snnlab.compare import pytorch_ops_only
from snnlab.surrogate import FastSigmoid

BETA = 0.9


class PlainLIFNet(nn.Module):
    """What most people write first: a loop over time, one Linear + LIF update per step."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)
        self.spike = FastSigmoid(25.0)

    def forward(self, x):
        v = torch.zeros(x.shape[1], self.fc1.out_features)
        o = torch.zeros(x.shape[1], self.fc2.out_features)
        total = 0
        for x_t in x.unbind(0):
            u = BETA * v + self.fc1(x_t)
            s = self.spike(u - 1.0)
            v = u - s.detach()
            o = BETA * o + self.fc2(s)
            total = total + o
        return total / x.shape[0]


class SnnTorchNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        import snntorch
        from snntorch import surrogate

        self.fc1, self.fc2 = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)
        self.lif1 = snntorch.Leaky(beta=BETA, spike_grad=surrogate.fast_sigmoid(slope=25))
        self.out = snntorch.Leaky(beta=BETA, reset_mechanism="none")

    def forward(self, x):
        m1, m2 = self.lif1.init_leaky(), self.out.init_leaky()
        total = 0
        for x_t in x.unbind(0):
            s1, m1 = self.lif1(self.fc1(x_t), m1)
            _, m2 = self.out(self.fc2(s1), m2)
            total = total + m2
        return total / x.shape[0]


class PyTorchOpsOnly(nn.Module):
    """snnlab without its two CPU accelerations (the C LIF loop and the int8 synapse for spike
    inputs): the fused autograd Functions in PyTorch ops alone, to show what each part buys."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def time_steps(models, x, y, steps, warmup=3, block=5):
    """Median ms per training step of each model. Models take turns in blocks of ``block``
    consecutive steps (as in a real training loop, caches stay warm within a block), so load
    from other processes falls on every implementation alike."""
    # the same optimizer for everyone: PyTorch's default Adam (what snnlab.train uses)
    opts = {n: torch.optim.Adam(m.parameters(), lr=1e-3) for n, m in models.items()}
    times = {n: [] for n in models}
    for name, model in models.items():  # warm-up
        for _ in range(warmup):
            _train_step(model, opts[name], x, y)
    for _ in range(max(1, steps // block)):
        for name, model in models.items():
            for _ in range(block):
                t0 = time.perf_counter()
                _train_step(model, opts[name], x, y)
                times[name].append((time.perf_counter() - t0) * 1e3)
    return {n: statistics.median(t) for n, t in times.items()}


def _train_step(model, opt, x, y):
    context = pytorch_ops_only() if isinstance(model, PyTorchOpsOnly) else contextlib.nullcontext()
    with context:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()


def matmul_floor(n_in, n_hidden, T, B, reps=10):
    """The two big float32 matmuls of this step (input layer forward and its weight gradient),
    timed alone: a float32 implementation can be no faster than this."""
    a = torch.rand(T * B, n_in)
    w = torch.rand(n_hidden, n_in)
    g = torch.rand(T * B, n_hidden)
    ts = []
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        a @ w.t()
        g.t() @ a
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts[2:])


def bench(n_in, n_hidden, n_out, T, B, steps):
    torch.manual_seed(0)
    x = (torch.rand(T, B, n_in) < 0.2).float()
    y = torch.randint(0, n_out, (B,))
    ours = snnlab.models.mlp(n_in, [n_hidden], n_out, beta=BETA)
    ops_only = PyTorchOpsOnly(snnlab.models.mlp(n_in, [n_hidden], n_out, beta=BETA))
    ops_only.net.load_state_dict(ours.state_dict())
    impls = {"snntorch": SnnTorchNet(n_in, n_hidden, n_out),
             "plain torch": PlainLIFNet(n_in, n_hidden, n_out),
             "snnlab, ops only": ops_only,
             "snnlab": ours}
    # the same initial weights everywhere
    for m in impls.values():
        if m not in (ours, ops_only):
            m.fc1.load_state_dict(ours.layers[0].synapse.state_dict())
            m.fc2.load_state_dict(ours.readout.synapse.state_dict())
    # snnlab and the plain loop compute the same function (charge, fire, reset); snnTorch's
    # default Leaky subtracts the threshold one step later, a different but equally costly
    # convention, so it is timed as users run it and not compared number for number here
    # (tests/test_bptt.py checks snnlab against snnTorch where their conventions coincide).
    with torch.no_grad():
        assert torch.allclose(ours(x), impls["plain torch"](x), atol=1e-4)
    result = time_steps(impls, x, y, steps)
    result["(fp32 matmul floor)"] = matmul_floor(n_in, n_hidden, T, B)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--T", type=int, default=25)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="keep glibc's malloc defaults (see snnlab/_malloc.py)")
    a = p.parse_args(argv)
    tuned = False if a.no_malloc_tuning else _malloc.tune()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"BPTT training step, LIF MLP, T={a.T}, B={a.batch}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {a.steps} steps, "
          f"malloc tuning {'on' if tuned else 'off'}")
    print(f"{'network':<12}{'implementation':<20}{'ms/step':>9}{'vs snnTorch':>13}")
    results = {}
    for sizes in ((64, 256, 10), (784, 512, 10)):
        r = bench(*sizes, a.T, a.batch, a.steps)
        name = "-".join(map(str, sizes))
        for impl, ms in r.items():
            print(f"{name:<12}{impl:<20}{ms:>9.2f}{r['snntorch'] / ms:>12.2f}x")
        results[name] = r
    return results


if __name__ == "__main__":
    main()

"""BPTT training step of a spiking VGG-11 on the GPU: snnlab vs snnTorch vs SpikingJelly.

CIFAR-10-shaped random data (3x32x32, 10 classes), batch 128, T = 4 and 8, direct input (the
image at every step, materialised as a [T, B, 3, 32, 32] tensor for every library). One step is
forward + cross-entropy + backward + Adam. The network is the same in all three, layer by layer:
``snnlab.zoo.vgg("vgg11")`` - per conv layer Conv2d(3x3, no bias) -> BatchNorm2d [-> AvgPool2d(2)]
on all T*B frames at once, then LIF (beta 0.9, threshold 1, reset by subtraction, detached reset)
over time; a Linear readout whose membrane leaks with beta 0.9, logits = its mean over T.

* snnlab (triton): the fused LIF loop as Triton kernels (snnlab/_triton_lif.py);
* snnlab (ops): the same with ``SNNLAB_NO_TRITON=1``: the fused autograd Function in PyTorch ops;
* snnTorch: ``snntorch.Leaky`` (fast-sigmoid surrogate, slope 25) stepped over T per layer;
* SpikingJelly: ``neuron.LIFNode(step_mode="m", tau=10, decay_input=False, v_reset=None,
  detach_reset=True)`` (beta = 1 - 1/tau = 0.9) with the ``cupy`` backend if it runs, else
  ``torch``; the backend used is printed and stored. Its surrogate is ATan (its cupy kernels have
  no fast sigmoid); the surrogate's cost is negligible next to the convolutions.

Timing: CUDA events around each step after warm-up (Triton/cupy compile there), median over
``--steps``; peak memory is ``torch.cuda.max_memory_allocated`` after resetting it per case. The
table gives ratios against snnTorch and SpikingJelly (time ratio > 1: snnlab is faster). JSON
goes to ``--out``. Results are written after every case, so a run cut short keeps what it did.

    python benchmarks/bench_gpu.py --out results/bench_gpu.json
    python benchmarks/bench_gpu.py --smoke      # tiny sizes on the CPU: checks the code runs
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as TF
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snnlab import zoo  # noqa: E402

BETA = 0.9


# ----------------------------------------------------------------------------- the networks
def _synapses(net):
    """The conv synapses of a snnlab VGG (copied so each library trains its own)."""
    import copy

    return [copy.deepcopy(layer.synapse) for layer in net.layers], \
        copy.deepcopy(net.readout.synapse)


def _leaky_mean(y_seq):
    """The readout: leaky-integrated membrane (beta 0.9), mean over T."""
    m, total = torch.zeros_like(y_seq[0]), 0
    for y_t in y_seq.unbind(0):
        m = BETA * m + y_t
        total = total + m
    return total / y_seq.shape[0]


def _over_time(module, x_seq):
    T, B = x_seq.shape[:2]
    y = module(x_seq.reshape(T * B, *x_seq.shape[2:]))
    return y.reshape(T, B, *y.shape[1:])


class SnnTorchVGG(nn.Module):
    def __init__(self, synapses, head):
        super().__init__()
        import snntorch
        from snntorch import surrogate

        self.synapses = nn.ModuleList(synapses)
        self.head = head
        self.lifs = nn.ModuleList([
            snntorch.Leaky(beta=BETA, threshold=1.0, reset_mechanism="subtract",
                           spike_grad=surrogate.fast_sigmoid(slope=25))
            for _ in synapses])

    def forward(self, x_seq):
        h = x_seq
        for syn, lif in zip(self.synapses, self.lifs):
            cur = _over_time(syn, h)
            mem = lif.init_leaky()
            spikes = []
            for c_t in cur.unbind(0):
                s, mem = lif(c_t, mem)
                spikes.append(s)
            h = torch.stack(spikes)
        return _leaky_mean(_over_time(self.head, h))


class SpikingJellyVGG(nn.Module):
    def __init__(self, synapses, head, backend):
        super().__init__()
        from spikingjelly.activation_based import layer, neuron, surrogate

        self.synapses = nn.ModuleList([layer.SeqToANNContainer(s) for s in synapses])
        self.head = layer.SeqToANNContainer(head)
        self.lifs = nn.ModuleList([
            neuron.LIFNode(tau=1.0 / (1.0 - BETA), decay_input=False, v_threshold=1.0,
                           v_reset=None, detach_reset=True, surrogate_function=surrogate.ATan(),
                           step_mode="m", backend=backend)
            for _ in synapses])

    def forward(self, x_seq):
        from spikingjelly.activation_based import functional

        functional.reset_net(self)
        h = x_seq
        for syn, lif in zip(self.synapses, self.lifs):
            h = lif(syn(h))
        return _leaky_mean(self.head(h))


def spikingjelly_backend(device) -> tuple[str, str]:
    """``("cupy", "")`` if SpikingJelly's cupy LIF runs forward and backward here, else
    ``("torch", why not)``."""
    if device.type != "cuda":
        return "torch", "not on CUDA"
    import numpy as np

    if not hasattr(np, "int"):
        # SpikingJelly 0.0.0.0.14's cupy kernels call np.int, removed in numpy 1.24 (on the H200
        # image its cupy backend failed with "module 'numpy' has no attribute 'int'"): give the
        # old alias back, for this benchmark process only, so its fused GPU neuron can be timed
        np.int = int
    try:
        from spikingjelly.activation_based import neuron, surrogate

        lif = neuron.LIFNode(tau=10.0, decay_input=False, v_reset=None, detach_reset=True,
                             surrogate_function=surrogate.ATan(), step_mode="m", backend="cupy")
        x = torch.randn(4, 8, 64, device=device, requires_grad=True)
        lif(x).sum().backward()
        torch.cuda.synchronize()
        return "cupy", ""
    except Exception as e:  # cupy missing, or its kernels do not compile for this GPU/CUDA
        return "torch", f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"


# ----------------------------------------------------------------------------- timing
@contextlib.contextmanager
def _env(name, value):
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def time_case(make_net, x_seq, y, device, steps, warmup, lr=1e-3):
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    net = make_net().to(device)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = TF.cross_entropy(net(x_seq), y)
        loss.backward()
        opt.step()
        return loss

    losses, times = [], []
    for i in range(warmup + steps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            loss = step()
            end.record()
            end.synchronize()
            ms = start.elapsed_time(end)
        else:
            t0 = time.perf_counter()
            loss = step()
            ms = 1e3 * (time.perf_counter() - t0)
        if i >= warmup:
            times.append(ms)
        losses.append(float(loss.detach()))
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return dict(median_ms=statistics.median(times), min_ms=min(times), steps=len(times),
                peak_mem_mb=None if peak is None else peak / 2**20, first_loss=losses[0],
                last_loss=losses[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--T", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--budget", type=float, default=1e9,
                    help="seconds; no new case starts after this")
    ap.add_argument("--only", nargs="+", default=None,
                    help="run only these implementations (snnlab-triton snnlab-ops snntorch "
                         "spikingjelly)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes on the CPU (vgg11 at width 1/16 on 3x16x16, batch 4, T 2)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    if args.smoke:
        device = torch.device("cpu")
        shape, width, args.T, args.batch, args.steps, args.warmup = (3, 16, 16), 1 / 16, [2], 4, \
            2, 1
    else:
        if not torch.cuda.is_available():
            sys.exit("bench_gpu.py needs a CUDA GPU (use --smoke to check it on the CPU)")
        device = torch.device("cuda")
        shape, width = (3, 32, 32), 1.0
    from snnlab import _triton_lif

    sj_backend, sj_why = spikingjelly_backend(device)
    meta = dict(device=torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
                python=platform.python_version(), torch=torch.__version__,
                triton=_version("triton"), snntorch=_version("snntorch"),
                spikingjelly=_version("spikingjelly"), cupy=_version("cupy"),
                spikingjelly_backend=sj_backend, spikingjelly_backend_note=sj_why,
                cudnn_tf32=torch.backends.cudnn.allow_tf32, batch=args.batch,
                input_shape=list(shape), width=width, steps=args.steps, warmup=args.warmup,
                smoke=args.smoke)
    print(" ".join(f"{k}={v}" for k, v in meta.items()), flush=True)

    torch.manual_seed(0)
    ref = zoo.vgg("vgg11", shape, 10, width=width, beta=BETA)
    impls = {
        "snnlab-triton": (lambda: zoo.vgg("vgg11", shape, 10, width=width, beta=BETA), None),
        "snnlab-ops": (lambda: zoo.vgg("vgg11", shape, 10, width=width, beta=BETA), "1"),
        "snntorch": (lambda: SnnTorchVGG(*_synapses(ref)), None),
        "spikingjelly": (lambda: SpikingJellyVGG(*_synapses(ref), sj_backend), None),
    }
    results = []
    for T in args.T:
        g = torch.Generator().manual_seed(T)
        x = torch.rand(args.batch, *shape, generator=g)
        x_seq = x.unsqueeze(0).repeat(T, 1, 1, 1, 1).to(device)
        y = torch.randint(0, 10, (args.batch,), generator=g).to(device)
        for name, (make, no_triton) in impls.items():
            if args.only and name not in args.only:
                continue
            rec = dict(impl=name, T=T)
            if time.perf_counter() - t_start > args.budget:
                rec["skipped"] = "time budget spent"
            elif name == "snnlab-triton" and not (device.type == "cuda"
                                                  and _triton_lif.available()):
                rec["skipped"] = "Triton path needs CUDA and triton"
            else:
                try:
                    with _env("SNNLAB_NO_TRITON", no_triton):
                        rec.update(time_case(make, x_seq, y, device, args.steps, args.warmup))
                except Exception as e:  # a library that fails here must not stop the others
                    rec["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            if name == "spikingjelly":
                rec["backend"] = sj_backend
            results.append(rec)
            print(json.dumps(rec), flush=True)
            if args.out:
                _write(args.out, meta, results)
    print()
    print(table(results, sj_backend))
    n_ok = sum("median_ms" in r for r in results)
    print(f"bench: {n_ok} cases timed, {sum('error' in r for r in results)} errors, "
          f"{sum('skipped' in r for r in results)} skipped")
    if args.out:
        _write(args.out, meta, results)
        print(f"\nwrote {args.out}")


def _version(mod):
    try:
        from importlib.metadata import version

        return version(mod if mod != "cupy" else _cupy_dist())
    except Exception:
        return None


def _cupy_dist():
    from importlib.metadata import distributions

    for d in distributions():
        name = (d.metadata["Name"] or "").lower()
        if name.startswith("cupy"):
            return d.metadata["Name"]
    return "cupy"


def _write(path, meta, results):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(dict(meta=meta, results=results), indent=1))
    tmp.replace(path)


def table(results, sj_backend="") -> str:
    by = {(r["impl"], r["T"]): r for r in results}
    lines = [f"{'T':>2} {'implementation':22s} {'median ms':>10s} {'peak MB':>9s} "
             f"{'vs snnTorch':>12s} {'vs SpikingJelly':>16s}"]
    for r in results:
        name = r["impl"] + (f" ({sj_backend})" if r["impl"] == "spikingjelly" else "")
        if "median_ms" not in r:
            lines.append(f"{r['T']:>2} {name:22s} {r.get('error') or r.get('skipped')}")
            continue
        cells = []
        for other in ("snntorch", "spikingjelly"):
            o = by.get((other, r["T"]), {})
            if "median_ms" in o:
                mem = (f"/{o['peak_mem_mb'] / r['peak_mem_mb']:.2f}x"
                       if r.get("peak_mem_mb") and o.get("peak_mem_mb") else "")
                cells.append(f"{o['median_ms'] / r['median_ms']:.2f}x{mem}")
            else:
                cells.append("-")
        mem = f"{r['peak_mem_mb']:9.0f}" if r.get("peak_mem_mb") is not None else f"{'-':>9s}"
        lines.append(f"{r['T']:>2} {name:22s} {r['median_ms']:10.2f} {mem} {cells[0]:>12s} "
                     f"{cells[1]:>16s}")
    lines.append("ratios: other's time / this time (> 1: this one is faster) / other's peak "
                 "memory / this one's")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""The one spiking network every learning rule trains.

A :class:`SpikingNet` is a stack of :class:`SpikingLayer` (a ``synapse`` - Linear or Conv - and a
``neuron``) followed by a :class:`Readout`. Input is time-major ``[T, B, ...]``, as
:func:`snnlab.encoding.encode` makes it; output is logits ``[B, n_classes]``.

Because a feed-forward layer's input is known for all steps before the layer runs, its synapse is
applied to all T steps in one batched matmul, and only the neuron loops over time (fused, see
:mod:`snnlab.functional`). Learning rules that need something else - per-step state, detached
inputs, spike counts - use the same pieces (``layer.synapse``, ``layer.neuron.step``) in their
own loop rather than copying the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from . import functional as F
from . import neurons as N
from . import spikemm
from ._checks import check_choice, check_float, check_int, check_sequence

READOUTS = ("membrane", "count", "first_spike")

__all__ = ["SpikingLayer", "Readout", "SpikingNet", "ANNTwin", "Recording", "mlp", "convnet",
           "from_config", "over_time", "READOUTS"]


def _has_hooks(module: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


def over_time(module: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """Apply a stateless module to every step at once: ``[T, B, ...] -> [T, B, ...]``.

    An input that is the same at every step (direct encoding makes it with ``expand``, stride 0
    in time) is sent through the module once, unless the module has hooks that may differ per
    step (a chip's read noise, say).
    """
    T, B = x_seq.shape[:2]
    if T > 1 and x_seq.stride(0) == 0 and not _has_hooks(module):
        y = module(x_seq[0])
        return y.unsqueeze(0).expand(T, *y.shape)
    flat = x_seq.reshape(T * B, *x_seq.shape[2:])
    if type(module) is nn.Linear and flat.dim() == 2 and not _has_hooks(module) \
            and not (nn.modules.module._global_forward_hooks
                     or nn.modules.module._global_forward_pre_hooks):
        # spikes are 0/1: a large synapse runs as an exact int8 matmul (snnlab.spikemm)
        y = spikemm.spike_linear(flat, module.weight, module.bias)
    else:
        y = module(flat)
    return y.reshape(T, B, *y.shape[1:])


class SpikingLayer(nn.Module):
    """``synapse`` (weights) then ``neuron`` (dynamics)."""

    def __init__(self, synapse: nn.Module, neuron: nn.Module):
        super().__init__()
        self.synapse = synapse
        self.neuron = neuron

    def current(self, x_seq: torch.Tensor) -> torch.Tensor:
        return over_time(self.synapse, x_seq)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.current(x_seq))


class _TimeWeightedSum(torch.autograd.Function):
    """``sum_t c[t] x[t]`` with a broadcast backward (einsum's backward is a slow batched
    matmul with an inner dimension of 1). ``c`` is a constant."""

    @staticmethod
    def forward(ctx, x_seq, c):
        ctx.c = c
        T = x_seq.shape[0]
        return torch.mv(x_seq.reshape(T, -1).t(), c).reshape(x_seq.shape[1:])

    @staticmethod
    def backward(ctx, g):
        c = ctx.c
        return c.view(-1, *([1] * g.ndim)) * g.unsqueeze(0), None


class Readout(nn.Module):
    """Turns the last hidden layer's spikes into logits.

    * ``membrane``: a non-spiking leaky integrator; logits are its mean membrane over T;
    * ``count``: spiking output neurons; logits are spike counts;
    * ``first_spike``: spiking output neurons; logits are minus the first-spike step
      (never firing counts as T), made differentiable by the surrogate through
      :math:`\\sum_t \\prod_{k \\le t} (1 - s_k)`.
    """

    def __init__(self, synapse: nn.Module, mode: str = "membrane", beta: float = 0.9,
                 neuron: nn.Module | None = None):
        super().__init__()
        self.synapse = synapse
        self.mode = check_choice("readout", mode, READOUTS)
        self.beta = check_float("beta", beta, low=0.0, high=1.0)
        self.neuron = neuron if mode != "membrane" else None
        if mode != "membrane" and neuron is None:
            raise ValueError(f"readout {mode!r} needs a spiking neuron")

    def simulate(self, x_seq: torch.Tensor, membrane: bool = True):
        """Returns ``(logits, spikes or None, membrane or None)``."""
        if self.mode == "membrane" and not membrane and not _has_hooks(self.synapse):
            # mean_t u[t] = sum_k c_k I[k], c_k = (1 + b + ... + b^(T-1-k)) / T, and the synapse
            # A is affine, so the logits are A(sum_k c_k x[k]) + (sum_k c_k - 1) A(0): one small
            # matmul instead of T (matmuls with 10 outputs are the CPU's least efficient kind)
            c = self.time_weights(x_seq)
            z = _TimeWeightedSum.apply(x_seq, c)
            out = self.synapse(z)
            scale = self._c_cache[2] - 1.0  # sum_k c_k - 1
            if isinstance(self.synapse, nn.Linear):  # A(0) is the bias
                bias = self.synapse.bias
                return (out if bias is None else out + scale * bias), None, None
            return out + scale * self.synapse(torch.zeros_like(z[:1])), None, None
        current = over_time(self.synapse, x_seq)
        if self.mode == "membrane":
            if membrane:
                u = F.leaky_integrate(current, self.beta)
                return u.mean(0), None, u
            return torch.einsum("t,t...->...", self.time_weights(current), current), None, None
        s, u = self.neuron.simulate(current)
        if self.mode == "count":
            return s.sum(0), s, u
        not_yet = torch.cumprod(1.0 - s, dim=0)  # 1 until the first spike
        return -not_yet.sum(0), s, u

    def time_weights(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``c_k``, the weight of step k's input in the mean membrane (sums over the time axis
        of ``x_seq``). Cached per (T, beta, dtype, device): it is a constant."""
        key = (x_seq.shape[0], self.beta, x_seq.dtype, x_seq.device)
        cached = getattr(self, "_c_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        T = x_seq.shape[0]
        k = torch.arange(T, dtype=x_seq.dtype, device=x_seq.device)
        steps = T - k  # how many readout steps the input at time k still contributes to
        if self.beta == 1.0:
            c = steps / T
        else:
            c = (1 - self.beta ** steps) / ((1 - self.beta) * T)
        self._c_cache = (key, c, float(c.sum()))
        return c

    def forward(self, x_seq):
        return self.simulate(x_seq, membrane=False)[0]


@dataclass
class Recording:
    """What one run of a network did: logits, and per hidden layer the spikes and membranes
    (``[T, B, ...]``, membrane before reset), then the readout's."""

    logits: torch.Tensor
    spikes: list[torch.Tensor] = field(default_factory=list)
    membranes: list[torch.Tensor] = field(default_factory=list)
    readout_membrane: torch.Tensor | None = None
    readout_spikes: torch.Tensor | None = None

    def spike_counts(self) -> list[float]:
        """Mean number of spikes per sample, per hidden layer."""
        return [float(s.sum() / s.shape[1]) for s in self.spikes]


class SpikingNet(nn.Module):
    """Layers of (synapse, neuron) and a readout. ``forward(x_seq [T, B, ...]) -> logits``."""

    def __init__(self, layers: Sequence[SpikingLayer], readout: Readout,
                 input_shape: Sequence[int], config: dict | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.readout = readout
        self.input_shape = tuple(int(d) for d in input_shape)
        self.config = dict(config or {})

    @property
    def n_classes(self) -> int:
        mod = [m for m in self.readout.synapse.modules() if isinstance(m, nn.Linear)][-1]
        return mod.out_features

    def neurons(self) -> list[nn.Module]:
        return [layer.neuron for layer in self.layers]

    def set_fused(self, fused: bool) -> SpikingNet:
        """Use the fused time loops (default) or the unrolled reference (for tests)."""
        for m in self.modules():
            if hasattr(m, "fused"):
                m.fused = fused
        return self

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_sequence("x_seq", x_seq, self.input_shape)
        h = x_seq
        for layer in self.layers:
            h = layer(h)
        return self.readout(h)

    def run(self, x_seq: torch.Tensor) -> Recording:
        """Like ``forward`` but records every layer's spikes and membrane."""
        check_sequence("x_seq", x_seq, self.input_shape)
        rec = Recording(logits=None)
        h = x_seq
        for layer in self.layers:
            h, u = layer.neuron.simulate(layer.current(h))
            rec.spikes.append(h)
            rec.membranes.append(u)
        rec.logits, rec.readout_spikes, rec.readout_membrane = self.readout.simulate(h)
        return rec

    def ann_twin(self, activation: nn.Module | None = None) -> ANNTwin:
        """An ANN that shares this network's weights (synapses), with ``activation`` (ReLU by
        default) where the spiking neurons were. Used by tandem learning, LTL and conversion."""
        return ANNTwin(self, activation if activation is not None else nn.ReLU())


class ANNTwin(nn.Module):
    """A rate-based twin of a :class:`SpikingNet`: same synapse modules (shared parameters),
    static input ``[B, ...]``, activation instead of spiking neurons, linear readout."""

    def __init__(self, snn: SpikingNet, activation: nn.Module):
        super().__init__()
        self.synapses = nn.ModuleList([layer.synapse for layer in snn.layers])
        self.readout = snn.readout.synapse
        self.activation = activation

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation output of every hidden layer, then the logits."""
        out, h = [], x
        for syn in self.synapses:
            h = self.activation(syn(h))
            out.append(h)
        out.append(self.readout(h))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activations(x)[-1]


# --------------------------------------------------------------------------- builders
def _check_sizes(name, sizes) -> list[int]:
    if isinstance(sizes, int):
        sizes = [sizes]
    if not isinstance(sizes, (list, tuple)):
        raise TypeError(f"{name} must be a list of layer sizes, got {type(sizes).__name__}")
    return [check_int(f"{name}[{i}]", h, low=1) for i, h in enumerate(sizes)]


def _readout(synapse, readout, neuron, neuron_kw):
    beta = neuron_kw.get("beta", 0.9) if neuron != "if" else 1.0
    out_neuron = None if readout == "membrane" else N.make(neuron, **neuron_kw)
    return Readout(synapse, readout, beta=beta, neuron=out_neuron)


def mlp(n_in: int, hidden: Sequence[int], n_out: int, *, neuron: str = "lif",
        readout: str = "membrane", bias: bool = True, **neuron_kw) -> SpikingNet:
    """A fully connected spiking network ``n_in -> hidden... -> n_out``.

    Example: ``mlp(64, [128], 10, neuron="lif", beta=0.9)``. ``neuron_kw`` go to every neuron
    (``beta``, ``threshold``, ``reset``, ``surrogate``, ...).
    """
    check_int("n_in", n_in, low=1)
    check_int("n_out", n_out, low=1)
    hidden = _check_sizes("hidden", hidden)
    check_choice("readout", readout, READOUTS)
    sizes = [n_in, *hidden]
    layers = [SpikingLayer(nn.Linear(a, b, bias=bias), N.make(neuron, **neuron_kw))
              for a, b in zip(sizes[:-1], sizes[1:])]
    head = _readout(nn.Linear(sizes[-1], n_out, bias=bias), readout, neuron, neuron_kw)
    config = dict(kind="mlp", n_in=n_in, hidden=hidden, n_out=n_out, neuron=neuron,
                  readout=readout, bias=bias, neuron_kw=neuron_kw)
    return SpikingNet(layers, head, (n_in,), config)


def convnet(input_shape: Sequence[int], channels: Sequence[int] = (16, 32), n_out: int = 10, *,
            hidden: Sequence[int] = (), kernel_size: int = 3, pool: int = 2,
            neuron: str = "lif", readout: str = "membrane", **neuron_kw) -> SpikingNet:
    """A small spiking conv net: per conv layer ``Conv2d(k, same padding) -> AvgPool(pool)``
    as the synapse, then optional dense ``hidden`` layers, then the readout.
    ``input_shape`` is ``(C, H, W)``."""
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
    c, h, w = (check_int(f"input_shape[{i}]", d, low=1) for i, d in enumerate(input_shape))
    channels = _check_sizes("channels", channels)
    hidden = _check_sizes("hidden", hidden) if hidden else []
    check_int("kernel_size", kernel_size, low=1)
    check_int("pool", pool, low=1)
    layers = []
    for ch in channels:
        parts = [nn.Conv2d(c, ch, kernel_size, padding=kernel_size // 2)]
        if pool > 1:
            if h < pool or w < pool:
                raise ValueError(f"input {input_shape} is too small for {len(channels)} "
                                 f"pooling stages of size {pool}")
            parts.append(nn.AvgPool2d(pool))
            h, w = h // pool, w // pool
        layers.append(SpikingLayer(nn.Sequential(*parts), N.make(neuron, **neuron_kw)))
        c = ch
    width = c * h * w
    for i, n in enumerate(hidden):
        syn = nn.Sequential(nn.Flatten(), nn.Linear(width, n)) if i == 0 else nn.Linear(width, n)
        layers.append(SpikingLayer(syn, N.make(neuron, **neuron_kw)))
        width = n
    head_syn = nn.Linear(width, n_out) if hidden else nn.Sequential(nn.Flatten(),
                                                                    nn.Linear(width, n_out))
    head = _readout(head_syn, readout, neuron, neuron_kw)
    config = dict(kind="convnet", input_shape=list(input_shape), channels=channels, n_out=n_out,
                  hidden=hidden, kernel_size=kernel_size, pool=pool, neuron=neuron,
                  readout=readout, neuron_kw=neuron_kw)
    return SpikingNet(layers, head, tuple(input_shape), config)


def from_config(config: dict) -> SpikingNet:
    """Rebuild a network from ``net.config`` (as stored in checkpoints)."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    kw = cfg.pop("neuron_kw", {})
    if kind == "mlp":
        return mlp(cfg.pop("n_in"), cfg.pop("hidden"), cfg.pop("n_out"), **cfg, **kw)
    if kind == "convnet":
        return convnet(cfg.pop("input_shape"), **cfg, **kw)
    raise ValueError(f"config has unknown model kind {kind!r}; expected 'mlp' or 'convnet'")

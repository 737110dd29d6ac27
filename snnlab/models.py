"""The one spiking network every learning rule trains.

A :class:`SpikingNet` is a stack of :class:`SpikingLayer` (a ``synapse`` - Linear or Conv - and a
``neuron``) followed by a readout (:mod:`snnlab.readouts`). Input is time-major ``[T, B, ...]``, as
:func:`snnlab.encoding.encode` makes it; output is logits ``[B, n_classes]``.

Because a feed-forward layer's input is known for all steps before the layer runs, its synapse is
applied to all T steps in one batched matmul, and only the neuron loops over time (fused, see
:mod:`snnlab.functional`). Learning rules that need something else - per-step state, detached
inputs, spike counts - use the same pieces (``layer.synapse``, ``layer.neuron.advance``) in
their own loop rather than copying the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from . import neurons as N
from . import readouts as RO
from . import spikeconv
from ._checks import check_choice, check_int, check_sequence
from .functional import over_time
from .readouts import READOUTS

__all__ = ["SpikingLayer", "SpikingNet", "ANNTwin", "Recording", "mlp", "convnet",
           "from_config", "register_kind", "READOUTS"]


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

    def __init__(self, layers: Sequence[SpikingLayer], readout: nn.Module,
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
        rec.logits, rec.readout_spikes, rec.readout_membrane = self.readout.read(h)
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


def _readout(synapse, readout, neuron, neuron_kw, readout_beta=None):
    if readout == "membrane":
        if readout_beta is None:  # the hidden neurons' leak (none for IF)
            readout_beta = neuron_kw.get("beta", 0.9) if neuron != "if" else 1.0
        return RO.MembraneReadout(synapse, readout_beta)
    return RO.make(readout, synapse, neuron=N.make(neuron, **neuron_kw))


def _readout_config(config: dict, readout_beta) -> dict:
    if readout_beta is not None:
        config["readout_beta"] = float(readout_beta)
    return config


def mlp(n_in: int, hidden: Sequence[int], n_out: int, *, neuron: str = "lif",
        readout: str = "membrane", bias: bool = True, readout_beta: float | None = None,
        **neuron_kw) -> SpikingNet:
    """A fully connected spiking network ``n_in -> hidden... -> n_out``.

    Example: ``mlp(64, [128], 10, neuron="lif", beta=0.9)``. ``neuron_kw`` go to every neuron
    (``beta``, ``threshold``, ``reset``, ``surrogate``, ...). ``readout`` is a name from
    :data:`READOUTS`; ``readout_beta`` sets the membrane readout's leak (default: the neurons'
    ``beta``, 1 for IF).
    """
    check_int("n_in", n_in, low=1)
    check_int("n_out", n_out, low=1)
    hidden = _check_sizes("hidden", hidden)
    check_choice("readout", readout, READOUTS)
    sizes = [n_in, *hidden]
    layers = [SpikingLayer(nn.Linear(a, b, bias=bias), N.make(neuron, **neuron_kw))
              for a, b in zip(sizes[:-1], sizes[1:])]
    head = _readout(nn.Linear(sizes[-1], n_out, bias=bias), readout, neuron, neuron_kw,
                    readout_beta)
    config = _readout_config(dict(kind="mlp", n_in=n_in, hidden=hidden, n_out=n_out,
                                  neuron=neuron, readout=readout, bias=bias,
                                  neuron_kw=neuron_kw), readout_beta)
    return SpikingNet(layers, head, (n_in,), config)


def convnet(input_shape: Sequence[int], channels: Sequence[int] = (16, 32), n_out: int = 10, *,
            hidden: Sequence[int] = (), kernel_size: int = 3, pool: int = 2,
            neuron: str = "lif", readout: str = "membrane", readout_beta: float | None = None,
            **neuron_kw) -> SpikingNet:
    """A small spiking conv net: per conv layer ``Conv2d(k, same padding) -> AvgPool(pool)``
    as the synapse, then optional dense ``hidden`` layers, then the readout.
    ``input_shape`` is ``(C, H, W)``; ``readout``, ``readout_beta`` as :func:`mlp`."""
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
        # conv then average pool is one strided conv with the averaged kernel (spikeconv):
        # same parameters and state_dict keys, a quarter of the work
        synapse = spikeconv.ConvPool(*parts) if len(parts) == 2 else nn.Sequential(*parts)
        layers.append(SpikingLayer(synapse, N.make(neuron, **neuron_kw)))
        c = ch
    width = c * h * w
    for i, n in enumerate(hidden):
        syn = nn.Sequential(nn.Flatten(), nn.Linear(width, n)) if i == 0 else nn.Linear(width, n)
        layers.append(SpikingLayer(syn, N.make(neuron, **neuron_kw)))
        width = n
    head_syn = nn.Linear(width, n_out) if hidden else nn.Sequential(nn.Flatten(),
                                                                    nn.Linear(width, n_out))
    head = _readout(head_syn, readout, neuron, neuron_kw, readout_beta)
    config = _readout_config(dict(kind="convnet", input_shape=list(input_shape),
                                  channels=channels, n_out=n_out, hidden=hidden,
                                  kernel_size=kernel_size, pool=pool, neuron=neuron,
                                  readout=readout, neuron_kw=neuron_kw), readout_beta)
    return SpikingNet(layers, head, tuple(input_shape), config)


# builders of other modules (snnlab.zoo: "vgg", "resnet"), registered when they are imported,
# so that from_config - and with it checkpoints and ANN teachers - rebuilds their networks too
_KINDS: dict = {}


def register_kind(kind: str, rebuild) -> None:
    """Let :func:`from_config` rebuild networks whose ``config["kind"]`` is ``kind`` with
    ``rebuild(config)`` (how :mod:`snnlab.zoo` makes its architectures rebuildable)."""
    _KINDS[kind] = rebuild


def from_config(config: dict) -> SpikingNet:
    """Rebuild a network from ``net.config`` (as stored in checkpoints)."""
    cfg = dict(config)
    kind = cfg.get("kind")
    if kind in _KINDS:
        return _KINDS[kind](cfg)
    kind = cfg.pop("kind", None)
    kw = cfg.pop("neuron_kw", {})
    if kind == "mlp":
        return mlp(cfg.pop("n_in"), cfg.pop("hidden"), cfg.pop("n_out"), **cfg, **kw)
    if kind == "convnet":
        return convnet(cfg.pop("input_shape"), **cfg, **kw)
    known = ", ".join(repr(k) for k in ["mlp", "convnet", *_KINDS])
    raise ValueError(f"config has unknown model kind {kind!r}; expected one of {known} (the "
                     "zoo's kinds are known once snnlab.zoo is imported)")

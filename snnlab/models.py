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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from . import neurons as N
from . import readouts as RO
from . import spikeconv
from ._checks import (
    MAX_BATCH,
    MAX_CLASSES,
    MAX_EPOCHS,
    MAX_LR,
    MAX_SEED,
    MAX_SIZE,
    MAX_T,
    check_choice,
    check_float,
    check_int,
    check_labels,
    check_memory,
    check_sequence,
)
from .functional import over_time
from .readouts import READOUTS

__all__ = ["SpikingLayer", "SpikingNet", "ANNTwin", "Recording", "mlp", "convnet",
           "from_config", "register_kind", "READOUTS", "neuron_counts", "check_run_memory",
           "check_fit"]


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

    def _checked(self, x_seq) -> torch.Tensor:
        """``x_seq`` validated, cast to the weights' dtype (float64/float16 input is accepted),
        and its run's stored arrays checked against memory before they are allocated."""
        x_seq = check_sequence("x_seq", x_seq, self.input_shape, dtype=_dtype(self))
        check_run_memory(self, x_seq.shape[0], x_seq.shape[1])
        return x_seq

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, n_classes]`` of ``x_seq [T, B, *input_shape]``. Floating input of
        another precision than the weights (float64, float16) is cast to theirs."""
        x_seq = self._checked(x_seq)
        h = x_seq
        for layer in self.layers:
            h = layer(h)
        return self.readout(h)

    def run(self, x_seq: torch.Tensor) -> Recording:
        """Like ``forward`` but records every layer's spikes and membrane."""
        x_seq = self._checked(x_seq)
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


# --------------------------------------------------------------------------- sizes and memory
def _dtype(net: nn.Module) -> torch.dtype:
    for p in net.parameters():
        if torch.is_floating_point(p):
            return p.dtype
    return torch.get_default_dtype()


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_shape(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Per-sample output shape of a synapse given its per-sample input shape; None when the
    module is of a kind this does not know (the estimate then stops there)."""
    if isinstance(module, nn.Sequential):
        for m in module:
            shape = _out_shape(m, shape) if shape is not None else None
        return shape
    if isinstance(module, nn.Linear):
        return (*shape[:-1], module.out_features)
    if isinstance(module, nn.Flatten):
        return (math.prod(shape),)
    if isinstance(module, nn.Conv2d) and len(shape) == 3:
        (kh, kw), (sh, sw) = _pair(module.kernel_size), _pair(module.stride)
        (dh, dw) = _pair(module.dilation)
        if isinstance(module.padding, str):  # 'same' keeps the size, 'valid' pads nothing
            (ph, pw) = ((dh * (kh - 1)) // 2, (dw * (kw - 1)) // 2) \
                if module.padding == "same" else (0, 0)
        else:
            (ph, pw) = _pair(module.padding)
        h = (shape[1] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        w = (shape[2] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        return (module.out_channels, h, w)
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)) and len(shape) == 3:
        k = _pair(module.kernel_size)
        st = _pair(module.stride or module.kernel_size)
        pd = _pair(module.padding)
        return (shape[0], *((d + 2 * p - kk) // s + 1 for d, kk, s, p in zip(shape[1:], k, st,
                                                                              pd)))
    if isinstance(module, (nn.Identity, nn.Dropout, nn.BatchNorm1d, nn.BatchNorm2d)):
        return shape
    return None


def neuron_counts(net: SpikingNet) -> list[int]:
    """Neurons per sample of every layer, then of the readout, as far as the synapses are of
    known kinds (Linear, Conv2d, pooling, Flatten; a layer of another kind ends the list)."""
    counts, shape = [], tuple(net.input_shape)
    for syn in [layer.synapse for layer in net.layers] + [getattr(net.readout, "synapse", None)]:
        shape = _out_shape(syn, shape) if isinstance(syn, nn.Module) else None
        if shape is None:
            break
        counts.append(math.prod(shape))
    return counts


def check_run_memory(net: SpikingNet, T: int, batch: int, *, batch_name: str = "batch") -> None:
    """Refuse a run of ``T`` steps on ``batch`` samples whose stored currents, membranes and
    spikes (three float arrays ``[T, batch, n]`` per layer, a lower bound of what a run keeps)
    would not fit in memory (see :func:`snnlab._checks.check_memory`)."""
    counts = neuron_counts(net)
    per_step = sum(counts) * torch.empty((), dtype=_dtype(net)).element_size() * 3
    hidden = sum(counts[:len(net.layers)])
    check_memory(f"T={T} with {batch_name} {batch} and {hidden} hidden neurons",
                 float(T) * batch * per_step, purpose="the stored currents, membranes and spikes")


def _n_outputs(net) -> int | None:
    try:
        return int(net.n_classes)
    except (AttributeError, IndexError, TypeError):  # a readout without a Linear
        return None


def check_fit(model, data, *, T: int, batch_size: int, lr: float | None = None,
              seed: int | None = None, epochs: int | None = None,
              eval_batch_size: int = 512) -> None:
    """What :func:`snnlab.train` and :func:`snnlab.evaluate` check before allocating anything:
    ``data`` (a ``DataSplit``, or one ``TensorDataset`` for ``evaluate``) is not empty and its
    labels are integer class indices the model has outputs for; ``T``, ``batch_size``, ``lr``,
    ``seed`` and ``epochs`` are within bounds; the stored arrays of a training batch and of an
    evaluation batch fit in memory."""
    check_int("T", T, low=1, high=MAX_T)
    check_int("batch_size", batch_size, low=1, high=MAX_BATCH)
    if lr is not None:
        check_float("lr", lr, low=0.0, low_open=True, high=MAX_LR)
    if seed is not None:
        check_int("seed", seed, low=0, high=MAX_SEED)
    if epochs is not None:
        check_int("epochs", epochs, low=0, high=MAX_EPOCHS)
    outputs = _n_outputs(model)
    if hasattr(data, "n_classes"):  # a DataSplit
        n_classes = check_int("data.n_classes", data.n_classes, low=1, high=MAX_CLASSES)
        parts = [(f"data.{p}", getattr(data, p)) for p in ("train", "val", "test")
                 if getattr(data, p, None) is not None]
        if outputs is not None and outputs < n_classes:
            raise ValueError(f"the model has {outputs} outputs but data {data.name!r} has "
                             f"n_classes={n_classes}; build it with n_out={n_classes}")
    else:
        n_classes, parts = outputs, [("dataset", data)]
    for name, ds in parts:
        tensors = getattr(ds, "tensors", None)
        if not isinstance(tensors, tuple) or len(tensors) < 2:
            raise TypeError(f"{name} must be a TensorDataset of (x, y), got "
                            f"{type(ds).__name__}")
        x, y = tensors[0], tensors[1]
        if len(x) == 0:
            raise ValueError(f"{name} is empty (0 samples); every split needs at least one")
        what = f"labels of {name}" + ("" if n_classes is None or name != "dataset"
                                      else f" (the model has {n_classes} outputs)")
        check_labels(what, y, len(x), n_classes)
    if isinstance(model, SpikingNet):
        if parts[0][0] == "data.train":
            n = len(parts[0][1])
            check_run_memory(model, T, min(batch_size, n), batch_name="batch_size")
            test = dict(parts)["data.test"]
            check_run_memory(model, T, min(eval_batch_size, len(test)),
                             batch_name="evaluation batches of test samples,")
        else:
            check_run_memory(model, T, min(batch_size, len(parts[0][1])),
                             batch_name="batch_size")


def _check_weights(kind: str, shapes: list[tuple[int, ...]]) -> None:
    n = sum(math.prod(s) for s in shapes)
    sizes = " -> ".join("x".join(map(str, s)) for s in shapes)
    check_memory(f"{kind} with weight matrices {sizes}", 4.0 * n, purpose="its weights")


# --------------------------------------------------------------------------- builders
def _check_sizes(name, sizes) -> list[int]:
    if isinstance(sizes, int):
        sizes = [sizes]
    if not isinstance(sizes, (list, tuple)):
        raise TypeError(f"{name} must be a list of layer sizes, got {type(sizes).__name__}")
    return [check_int(f"{name}[{i}]", h, low=1, high=MAX_SIZE) for i, h in enumerate(sizes)]


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
    check_int("n_in", n_in, low=1, high=MAX_SIZE)
    check_int("n_out", n_out, low=1, high=MAX_CLASSES)
    hidden = _check_sizes("hidden", hidden)
    check_choice("readout", readout, READOUTS)
    sizes = [n_in, *hidden]
    _check_weights(f"mlp(n_in={n_in}, hidden={hidden}, n_out={n_out})",
                   [(b, a) for a, b in zip(sizes, [*hidden, n_out])])
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
    if not isinstance(input_shape, (list, tuple, torch.Size)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
    c, h, w = (check_int(f"input_shape[{i}]", d, low=1, high=MAX_SIZE)
               for i, d in enumerate(input_shape))
    channels = _check_sizes("channels", channels)
    hidden = _check_sizes("hidden", hidden) if hidden else []
    check_int("n_out", n_out, low=1, high=MAX_CLASSES)
    check_int("kernel_size", kernel_size, low=1, high=max(h, w) * 2 + 1)
    check_int("pool", pool, low=1)
    shapes, (c2, h2, w2) = [], (c, h, w)
    for ch in channels:
        shapes.append((ch, c2, kernel_size, kernel_size))
        c2, h2, w2 = ch, h2 // pool, w2 // pool
    width = c2 * h2 * w2
    for n in hidden:
        shapes.append((n, width))
        width = n
    _check_weights(f"convnet(input_shape={tuple(input_shape)}, channels={channels}, "
                   f"hidden={hidden}, n_out={n_out})", [*shapes, (n_out, width)])
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

"""Bigger conv nets, built from the same pieces as :mod:`snnlab.models`.

:func:`vgg` is the spiking VGG used in the SNN literature for CIFAR-10 (e.g. Rathi et al. 2020,
Fang et al. 2021): per conv layer ``Conv2d(3x3, same padding) -> BatchNorm2d [-> AvgPool2d(2)]``
as the synapse of a :class:`~snnlab.models.SpikingLayer` with a spiking neuron (average instead
of max pooling, as usual for spikes), optional dense ``hidden`` layers, then a readout on the
flattened last feature map. Batch norm sees all T steps of a batch as one batch (the synapse
runs on ``[T*B, C, H, W]``).

:func:`resnet` is a spiking ResNet of the CIFAR kind (ResNet-19 of Zheng et al. 2021, used by
rate-based BP, HTA-KL and temporal-wise KD; ResNet-18): a conv stem, stages of basic blocks,
global average pooling of the spikes, dense layers and the readout. Its skip connections are
:class:`ResidualLayer` s: a layer whose synapse sees its own input twice, through the weights
(conv + BN) and through an identity skip, ``current = BN(conv(x)) + x``.

*How the skip differs from the ANN ResNet's.* A :class:`~snnlab.models.SpikingNet` hands one
tensor from layer to layer (every rule relies on that: the time loops, OTTT's per-step path,
tandem's counts, rate-BP's rate pass, the ANN twins), so a layer can add only *its own* input to
its current. A basic block is therefore ``spike(BN(conv_a(x)))`` then
``spike(BN(conv_b(s_a)) + s_a)``: the skip spans the block's second conv (the membrane shortcut
of one layer), not both convs, and a block that downsamples does so in ``conv_a``, so no 1x1
shortcut conv is needed. Depth, widths, strides and parameter counts are the paper's (minus the
shortcut convs).

Every network carries a ``config`` (``kind="vgg"`` / ``"resnet"``) that
:func:`snnlab.models.from_config` rebuilds (this module registers its kinds there), so
checkpoints and ANN teachers (:func:`snnlab.teacher.train_teacher`) work with them.

:func:`for_rule` builds one of these with the neurons and readout a learning rule declares (what
its ``build_model`` puts into a conv net), so ``for_rule(rules.get("tssl"), "vgg", ...)`` gives a
VGG of PSP neurons with a PSP readout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import models
from . import neurons as N
from ._checks import check_choice, check_float, check_int

__all__ = ["VGG_CFGS", "RESNET_CFGS", "ARCHS", "Residual", "ResidualLayer", "vgg", "resnet",
           "for_rule", "from_config"]

# channels per conv layer; "M" halves the spatial size (an AvgPool2d(2) after that layer)
VGG_CFGS = {
    "vgg5": [64, "M", 128, 128, "M"],
    "vgg9": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"],
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
}

# stem channels, per stage (blocks, channels, stride), dense hidden layers before the readout
RESNET_CFGS = {
    # Zheng et al. 2021 (tdBN) ResNet-19: 1 + 2*(3+3+2) convs + FC 256 + FC out
    "resnet19": dict(stem=128, stages=[(3, 128, 1), (3, 256, 2), (2, 512, 2)], hidden=[256]),
    # the CIFAR ResNet-18 (3x3 stem, no max pool): 1 + 2*(2+2+2+2) convs + FC out
    "resnet18": dict(stem=64, stages=[(2, 64, 1), (2, 128, 2), (2, 256, 2), (2, 512, 2)],
                     hidden=[]),
}


class Residual(nn.Module):
    """A synapse with an identity skip: ``branch(x) + skip_scale * x``.

    ``branch`` must keep the shape of ``x`` (a 3x3 conv with same padding and BN). It is affine
    in ``x`` like any synapse, so everything that treats a synapse as "weights applied to the
    input" works unchanged: the ANN twin (``relu(branch(h) + h)``), OTTT's trace trick, tandem's
    counts, rate-BP's rate pass. ``skip_scale`` is 1 except after threshold balancing
    (:func:`snnlab.conversion.convert`), which rescales the skip like the weights."""

    def __init__(self, branch: nn.Module, skip_scale: float = 1.0):
        super().__init__()
        self.branch = branch
        self.skip_scale = float(skip_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if out.shape != x.shape:
            raise ValueError(f"Residual: the branch maps {tuple(x.shape)} to "
                             f"{tuple(out.shape)}; an identity skip needs the same shape")
        return out + x if self.skip_scale == 1.0 else out + self.skip_scale * x

    def extra_repr(self) -> str:
        return "" if self.skip_scale == 1.0 else f"skip_scale={self.skip_scale:g}"


class ResidualLayer(models.SpikingLayer):
    """A spiking layer whose synapse is ``Residual(branch)``: ``neuron(branch(x) + x)``.

    Everything else is a :class:`~snnlab.models.SpikingLayer` (``layer.synapse``,
    ``layer.neuron``, ``layer.current``), so ``SpikingNet.forward`` / ``run``, the activity
    metrics and the per-step paths of online rules see a plain layer."""

    def __init__(self, branch: nn.Module, neuron: nn.Module):
        super().__init__(Residual(branch), neuron)


def _readout(width, n_out, neuron, readout, readout_beta, neuron_kw):
    """The readout exactly as :func:`snnlab.models.mlp` builds it (decay from ``neuron_kw``)."""
    return models.mlp(width, [], n_out, neuron=neuron, readout=readout,
                      readout_beta=readout_beta, **neuron_kw).readout


def _dense(width, hidden, neuron, neuron_kw, first_parts=()):
    """Dense spiking layers ``width -> hidden...``; ``first_parts`` go before the first Linear."""
    layers = []
    for i, n in enumerate(hidden):
        syn = nn.Linear(width, n)
        if i == 0 and first_parts:
            syn = nn.Sequential(*first_parts, syn)
        layers.append(models.SpikingLayer(syn, N.make(neuron, **neuron_kw)))
        width = n
    return layers, width


def _shape(input_shape):
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {shape}")
    return tuple(check_int(f"input_shape[{i}]", d, low=1) for i, d in enumerate(shape))


def _hidden(hidden) -> list[int]:
    if isinstance(hidden, int):
        hidden = [hidden]
    return [check_int(f"hidden[{i}]", h, low=1) for i, h in enumerate(hidden)]


def _layer_spec(cfg) -> list[tuple[int, bool]]:
    """``[(channels, pool after it), ...]`` from a name in :data:`VGG_CFGS` or a list."""
    if isinstance(cfg, str):
        cfg = VGG_CFGS[check_choice("cfg", cfg, VGG_CFGS)]
    if not isinstance(cfg, (list, tuple)) or not cfg or cfg[0] == "M":
        raise ValueError(f"cfg must be one of {sorted(VGG_CFGS)} or a list of channel counts and "
                         f"'M' (pool) starting with a channel count, got {cfg!r}")
    spec = []
    for i, item in enumerate(cfg):
        if item == "M":
            if spec[-1][1]:
                raise ValueError(f"cfg has two 'M' in a row at {i}")
            spec[-1] = (spec[-1][0], True)
        else:
            spec.append((check_int(f"cfg[{i}]", item, low=1), False))
    return spec


def vgg(cfg="vgg11", input_shape: Sequence[int] = (3, 32, 32), n_out: int = 10, *,
        neuron: str = "lif", batch_norm: bool = True, width: float = 1.0,
        hidden: Sequence[int] = (), readout: str = "membrane",
        readout_beta: float | None = None, **neuron_kw) -> models.SpikingNet:
    """A spiking VGG: ``vgg("vgg11", (3, 32, 32), 10, beta=0.9)``.

    ``cfg`` is a name in :data:`VGG_CFGS` or a list like ``[64, "M", 128, "M"]``. ``width``
    scales every layer's channels (``width=0.25``: a quarter as many; at least 1). A pooling
    stage that would shrink the feature map below 1x1 is left out, so small inputs work with
    deep configurations. ``hidden`` adds dense spiking layers before the readout (VGG-11's
    ``[512, 512]`` classifier, say). ``neuron_kw`` go to every neuron (``beta``, ``threshold``,
    ``reset``, ``surrogate``, ...); ``readout`` and ``readout_beta`` as
    :func:`snnlab.models.mlp`.
    """
    c, h, w = _shape(input_shape)
    check_int("n_out", n_out, low=1)
    width = check_float("width", width, low=0.0, low_open=True)
    check_choice("readout", readout, models.READOUTS)
    hidden = _hidden(hidden)
    spec = _layer_spec(cfg)
    layers = []
    for i, (ch, pool) in enumerate(spec):
        ch = max(1, round(ch * width))
        parts = [nn.Conv2d(c, ch, 3, padding=1, bias=not batch_norm)]
        if batch_norm:
            parts.append(nn.BatchNorm2d(ch))
        if pool and h >= 2 and w >= 2:
            parts.append(nn.AvgPool2d(2))
            h, w = h // 2, w // 2
        if i == len(spec) - 1:
            parts.append(nn.Flatten())  # the dense layers and the readout see [T, B, C*H*W]
        layers.append(models.SpikingLayer(nn.Sequential(*parts), N.make(neuron, **neuron_kw)))
        c = ch
    dense, feat = _dense(c * h * w, hidden, neuron, neuron_kw)
    head = _readout(feat, n_out, neuron, readout, readout_beta, neuron_kw)
    config = dict(kind="vgg", cfg=cfg if isinstance(cfg, str) else list(cfg),
                  input_shape=list(input_shape), n_out=n_out, neuron=neuron,
                  batch_norm=batch_norm, width=width, hidden=hidden, readout=readout,
                  neuron_kw=dict(neuron_kw))
    if readout_beta is not None:
        config["readout_beta"] = float(readout_beta)
    return models.SpikingNet(layers + dense, head, _shape(input_shape), config)


def _conv_bn(c_in, c_out, stride, batch_norm):
    parts = [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=not batch_norm)]
    if batch_norm:
        parts.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*parts)


def resnet(cfg="resnet19", input_shape: Sequence[int] = (3, 32, 32), n_out: int = 10, *,
           neuron: str = "lif", batch_norm: bool = True, width: float = 1.0,
           hidden: Sequence[int] | None = None, readout: str = "membrane",
           readout_beta: float | None = None, **neuron_kw) -> models.SpikingNet:
    """A spiking ResNet: ``resnet("resnet19", (3, 32, 32), 10, width=0.5)``.

    ``cfg`` is a name in :data:`RESNET_CFGS` or a dict ``stem=channels, stages=[(blocks,
    channels, stride), ...], hidden=[...]``. Each basic block is two spiking layers,
    ``conv_a`` (3x3, the stage's stride on the first block, BN) and a :class:`ResidualLayer`
    (3x3 conv + BN plus the identity skip of its input; see the module docstring). After the
    last block the spikes are averaged over the feature map (global average pooling) and go
    through the dense ``hidden`` layers (default: the cfg's; ResNet-19 has one of 256) to the
    readout. ``width`` scales every channel and hidden count; the rest as :func:`vgg`.
    """
    c, h, w = _shape(input_shape)
    check_int("n_out", n_out, low=1)
    width = check_float("width", width, low=0.0, low_open=True)
    check_choice("readout", readout, models.READOUTS)
    if isinstance(cfg, str):
        spec = RESNET_CFGS[check_choice("cfg", cfg, RESNET_CFGS)]
    elif isinstance(cfg, dict) and {"stem", "stages"} <= set(cfg):
        spec = cfg
    else:
        raise ValueError(f"cfg must be one of {sorted(RESNET_CFGS)} or a dict with 'stem' and "
                         f"'stages', got {cfg!r}")

    def scaled(n):
        return max(1, round(check_int("channels", n, low=1) * width))

    stages = [(check_int("blocks", b, low=1), scaled(ch), check_int("stride", s, low=1, high=2))
              for b, ch, s in spec["stages"]]
    if hidden is None:  # the cfg's dense layers, scaled like the channels
        hidden = [scaled(n) for n in spec.get("hidden", [])]
    hidden = _hidden(hidden)

    def make_neuron():
        return N.make(neuron, **neuron_kw)

    stem = scaled(spec["stem"])
    layers = [models.SpikingLayer(_conv_bn(c, stem, 1, batch_norm), make_neuron())]
    ch = stem
    for blocks, out_ch, stride in stages:
        for b in range(blocks):
            s = stride if b == 0 else 1
            layers.append(models.SpikingLayer(_conv_bn(ch, out_ch, s, batch_norm),
                                              make_neuron()))
            layers.append(ResidualLayer(_conv_bn(out_ch, out_ch, 1, batch_norm), make_neuron()))
            ch = out_ch
    pool = (nn.AdaptiveAvgPool2d(1), nn.Flatten())  # global average pooling of the spikes
    dense, feat = _dense(ch, hidden, neuron, neuron_kw, first_parts=pool)
    head = _readout(feat, n_out, neuron, readout, readout_beta, neuron_kw)
    if not hidden:  # the readout pools the last block's spikes itself
        head.synapse = nn.Sequential(*pool, head.synapse)
    config = dict(kind="resnet", cfg=cfg if isinstance(cfg, str) else dict(cfg),
                  input_shape=list(input_shape), n_out=n_out, neuron=neuron,
                  batch_norm=batch_norm, width=width, hidden=hidden, readout=readout,
                  neuron_kw=dict(neuron_kw))
    if readout_beta is not None:
        config["readout_beta"] = float(readout_beta)
    return models.SpikingNet(layers + dense, head, (c, h, w), config)


ARCHS = {"convnet": models.convnet, "vgg": vgg, "resnet": resnet}


def for_rule(rule, arch: str, input_shape: Sequence[int], n_out: int, *,
             neuron_kw: dict | None = None, **arch_kw) -> models.SpikingNet:
    """The conv net ``arch`` (``"convnet"``, ``"vgg"``, ``"resnet"``) with the neurons and
    readout that learning rule ``rule`` declares.

    ``"convnet"`` is ``rule.build_model(input_shape, hidden, n_out, **neuron_kw, **arch_kw)``
    itself. For the zoo's architectures the rule's declaration is read from the conv net its
    ``build_model`` makes (neuron kind and arguments, readout and its leak), the architecture is
    built with those, and ``rule.check_model`` is asked. A rule that cannot train conv nets
    refuses with its own ``ValueError`` (``ttfs``: fully connected layers only).

    ``neuron_kw`` go to the rule's ``build_model`` (``beta=...``); ``arch_kw`` to the builder
    (``cfg``, ``width``, ``batch_norm``, ``hidden``, ...).
    """
    arch = check_choice("arch", arch, ARCHS)
    shape = _shape(input_shape)
    neuron_kw = dict(neuron_kw or {})
    if arch == "convnet":
        hidden = arch_kw.pop("hidden", [])
        return rule.build_model(shape, list(hidden), n_out, **neuron_kw, **arch_kw)
    # a one-channel, unpooled conv net: what the rule puts into a conv net, at no cost
    probe = rule.build_model(shape, [], n_out, channels=(1,), pool=1, **neuron_kw).config
    kw = dict(neuron=probe["neuron"], readout=probe.get("readout", "membrane"),
              **probe.get("neuron_kw", {}))
    if "readout_beta" in probe:
        kw["readout_beta"] = probe["readout_beta"]
    net = ARCHS[arch](input_shape=shape, n_out=n_out, **kw, **arch_kw)
    rule.check_model(net)
    return net


def _rebuild(config: dict) -> models.SpikingNet:
    cfg = dict(config)
    kind = cfg.pop("kind")
    kw = cfg.pop("neuron_kw", {})
    return ARCHS[kind](cfg.pop("cfg"), cfg.pop("input_shape"), cfg.pop("n_out"), **cfg, **kw)


for _kind in ("vgg", "resnet"):
    models.register_kind(_kind, _rebuild)


def from_config(config: dict) -> models.SpikingNet:
    """Rebuild a network from ``net.config``: the same as :func:`snnlab.models.from_config`,
    which knows the zoo's kinds once this module is imported."""
    return models.from_config(config)

"""Bigger conv nets, built from the same pieces as :mod:`snnlab.models`.

:func:`vgg` is the spiking VGG used in the SNN literature for CIFAR-10 (e.g. Rathi et al. 2020,
Fang et al. 2021): per conv layer ``Conv2d(3x3, same padding) -> BatchNorm2d [-> AvgPool2d(2)]``
as the synapse of a :class:`~snnlab.models.SpikingLayer` with a spiking neuron (average instead
of max pooling, as usual for spikes), then a membrane readout on the flattened last feature map.
Batch norm sees all T steps of a batch as one batch (the synapse runs on ``[T*B, C, H, W]``).

The returned :class:`~snnlab.models.SpikingNet` carries a ``config`` with ``kind="vgg"``;
:func:`from_config` rebuilds it (and hands every other kind to :func:`snnlab.models.from_config`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from . import models
from . import neurons as N
from ._checks import check_choice, check_float, check_int

__all__ = ["VGG_CFGS", "vgg", "from_config"]

# channels per conv layer; "M" halves the spatial size (an AvgPool2d(2) after that layer)
VGG_CFGS = {
    "vgg5": [64, "M", 128, 128, "M"],
    "vgg9": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"],
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
}


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
        **neuron_kw) -> models.SpikingNet:
    """A spiking VGG: ``vgg("vgg11", (3, 32, 32), 10, beta=0.9)``.

    ``cfg`` is a name in :data:`VGG_CFGS` or a list like ``[64, "M", 128, "M"]``. ``width``
    scales every layer's channels (``width=0.25``: a quarter as many; at least 1). A pooling
    stage that would shrink the feature map below 1x1 is left out, so small inputs work with
    deep configurations. ``neuron_kw`` go to every neuron (``beta``, ``threshold``, ``reset``,
    ``surrogate``, ...) and, like :func:`snnlab.models.mlp`, set the readout's decay.
    """
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {shape}")
    c, h, w = (check_int(f"input_shape[{i}]", d, low=1) for i, d in enumerate(shape))
    check_int("n_out", n_out, low=1)
    width = check_float("width", width, low=0.0, low_open=True)
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
            parts.append(nn.Flatten())  # the readout sees [T, B, C*H*W]
        layers.append(models.SpikingLayer(nn.Sequential(*parts), N.make(neuron, **neuron_kw)))
        c = ch
    # the readout exactly as models.mlp builds it (membrane readout, decay from neuron_kw)
    readout = models.mlp(c * h * w, [], n_out, neuron=neuron, **neuron_kw).readout
    config = dict(kind="vgg", cfg=cfg if isinstance(cfg, str) else list(cfg),
                  input_shape=list(shape), n_out=n_out, neuron=neuron, batch_norm=batch_norm,
                  width=width, neuron_kw=dict(neuron_kw))
    return models.SpikingNet(layers, readout, shape, config)


def from_config(config: dict) -> models.SpikingNet:
    """Rebuild a network from ``net.config``: the zoo's kinds here, others by
    :func:`snnlab.models.from_config`."""
    cfg = dict(config)
    if cfg.get("kind") != "vgg":
        return models.from_config(config)
    cfg.pop("kind")
    kw = cfg.pop("neuron_kw", {})
    return vgg(cfg.pop("cfg"), cfg.pop("input_shape"), cfg.pop("n_out"), **cfg, **kw)

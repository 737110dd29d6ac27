"""One chip, seen next to the ideal network: the data behind notebook 13's widgets (weights
programmed vs on chip, one raster each, accuracies and firing rates). Pure: the figures are
drawn by :func:`snnlab.plot.chip_view`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._checks import check_int
from ..encoding import encode
from ..train import evaluate
from .device import NoiseModel, crossbars, effective_weights, programmed_weights

__all__ = ["ChipView", "chip_view"]


@dataclass
class ChipView:
    """What one chip does, next to the ideal network (for the notebook's widgets)."""

    noise: NoiseModel
    programmed: torch.Tensor        # layer ``layer``'s programmed weights (flat)
    effective: torch.Tensor         # the chip's weights, same order
    spikes_ideal: torch.Tensor      # [T, N] hidden layer ``layer``, one test sample
    spikes_chip: torch.Tensor
    acc_ideal: float
    acc_chip: float
    rate_ideal: float               # mean firing probability of that layer on the test set
    rate_chip: float
    layer: int = 0


@torch.no_grad()
def chip_view(model: nn.Module, data, noise: NoiseModel, *, seed: int = 0, T: int = 8,
              layer: int = 0, sample: int = 0, encoding: str = "direct") -> ChipView:
    """Program one chip and compare it with the ideal model: weight distributions of hidden
    layer ``layer``, its raster for test ``sample``, and test accuracies. Pure (no plotting):
    the notebook's sliders call it and draw the result with :func:`snnlab.plot.chip_view`."""
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    check_int("layer", layer, low=0, high=len(model.layers) - 1)
    check_int("sample", sample, low=0, high=len(data.test) - 1)
    chip = noise.program(model, seed=seed)
    name = _layer_crossbar_name(chip, layer)
    programmed = programmed_weights(chip)[name].reshape(-1)
    effective = effective_weights(chip)[name].reshape(-1)
    x = data.test.tensors[0][sample:sample + 1]
    x_seq = encode(x, T, encoding)
    torch.manual_seed(seed)
    rec_i = model.run(x_seq)
    rec_c = chip.run(x_seq)
    ev_i = evaluate(model, data.test, T, encoding=encoding, seed=seed)
    torch.manual_seed(seed)
    ev_c = evaluate(chip, data.test, T, encoding=encoding, seed=seed)
    rate_i = _layer_rate(model, data, T, encoding, layer)
    torch.manual_seed(seed)
    rate_c = _layer_rate(chip, data, T, encoding, layer)
    return ChipView(noise, programmed, effective, rec_i.spikes[layer][:, 0].flatten(1),
                    rec_c.spikes[layer][:, 0].flatten(1), ev_i["acc"], ev_c["acc"],
                    rate_i, rate_c, layer)


def _layer_crossbar_name(chip, layer: int) -> str:
    syn = chip.layers[layer].synapse
    for name, m, _ in crossbars(chip):
        if any(m is sm for sm in syn.modules()):
            return name
    raise ValueError(f"layer {layer} has no programmed synapse")


@torch.no_grad()
def _layer_rate(net, data, T, encoding, layer) -> float:
    x = data.test.tensors[0]
    return float(net.run(encode(x, T, encoding)).spikes[layer].mean())

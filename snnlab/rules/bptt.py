r"""Surrogate-gradient backpropagation through time: the activation-based baseline.

The loss is cross-entropy on the readout's logits; its gradient flows back through every time
step of every layer, with the spike's derivative replaced by the surrogate
(:mod:`snnlab.surrogate`). Nothing here is specific to BPTT except that the whole network is
differentiated as it is: each layer's time loop is one fused autograd node whose backward is the
adjoint recursion of :mod:`snnlab.functional` (eq. 5), so memory is the stored membranes and
spikes, O(T·neurons), and there is no per-step graph.

Reference: Neftci, Mostafa & Zenke, "Surrogate gradient learning in spiking neural networks",
IEEE Signal Processing Magazine 2019; Shrestha & Orchard 2018 (SLAYER); Wu et al. 2018 (STBP).
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF

from .._checks import check_float
from ..encoding import encode
from .base import Rule, register

__all__ = ["BPTT", "InputScale"]


class InputScale:
    r"""Train the first layer in units of the input's amplitude, so that defaults set on inputs
    of order 1 hold for inputs of any larger scale.

    The defaults (initialisation, threshold 1, Adam's lr, which moves a weight by about lr per
    step whatever its gradient) assume encoded inputs of order 1. Multiply the inputs by c and
    the first layer's currents, and every Adam step's effect on them, grow c-fold: the neurons
    saturate and training collapses (measured on held-out blobs with features in [0, 10]:
    BPTT 30 % against 62 % with the same features in [0, 1]; ``docs/heldout.md``).

    With ``s`` the root-mean-square of the encoded training inputs (from ``setup``), when
    ``s > 1`` the first synapse's weights are divided by ``s`` once and every optimizer update
    of them is divided by ``s``. That is training :math:`W' = sW` on :math:`x/s` - the same run
    as on inputs rescaled to RMS 1, for any c. For ``s <= 1`` (inputs in [0, 1], spike codes,
    standardised features) nothing changes. Biases are untouched (they do not see the input).

    Dividing the initial weights is right for a freshly built network; to fine-tune a network
    whose first layer was already trained on such inputs, switch it off (``input_norm=False``).
    """

    def __init__(self):
        self.scale = 1.0
        self._old: list[torch.Tensor] | None = None

    @staticmethod
    def _weights(model) -> list[torch.Tensor]:
        syn = model.layers[0].synapse
        return [p for n, p in syn.named_parameters()
                if n.endswith("weight") or n.endswith("weight.original")]

    @torch.no_grad()
    def setup(self, model, data, T: int, encoding: str) -> float:
        """Measure ``s`` on (up to 1024) encoded training inputs; rescale the first layer's
        weights if ``s > 1``. Returns ``s``. Without training data (``setup(model, None, ...)``,
        a rule driven by hand) there is nothing to measure and the scale stays 1."""
        if data is None or getattr(data, "train", None) is None:
            self.scale = 1.0
            return self.scale
        x = data.train.tensors[0][:1024]
        x_seq = encode(x, T, encoding, generator=torch.Generator().manual_seed(0))
        self.scale = max(float(x_seq.float().pow(2).mean().sqrt()), 1.0)
        if self.scale > 1.0:
            for w in self._weights(model):
                w.div_(self.scale)
        return self.scale

    def before_step(self, model) -> None:
        if self.scale > 1.0:
            self._old = [w.detach().clone() for w in self._weights(model)]

    @torch.no_grad()
    def after_step(self, model) -> None:
        if self.scale > 1.0 and self._old is not None:
            for w, old in zip(self._weights(model), self._old):
                w.copy_(old + (w - old) / self.scale)
            self._old = None


@register("bptt")
class BPTT(Rule):
    """Cross-entropy on the logits, differentiated through time with surrogate spikes.

    Args:
        spike_reg: weight of an optional penalty on the mean hidden firing rate (0 = none),
            which trades a little accuracy for sparser activity.
        input_norm: train the first layer in units of the input's amplitude when that exceeds
            1 (:class:`InputScale`; switch off to fine-tune a network trained on such inputs).
    """

    default_T = 8
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    def __init__(self, spike_reg: float = 0.0, input_norm: bool = True):
        self.spike_reg = check_float("spike_reg", spike_reg, low=0.0)
        if not isinstance(input_norm, bool):
            raise TypeError(f"input_norm must be a bool, got {type(input_norm).__name__}")
        self.input_norm = input_norm
        self._input = InputScale()

    def setup(self, model, data, *, T, encoding, seed):
        super().setup(model, data, T=T, encoding=encoding, seed=seed)
        if self.input_norm:
            self._input.setup(model, data, T, encoding)

    def after_backward(self, model, x_seq, y):
        self._input.before_step(model)

    def after_step(self, model, x_seq, y):
        self._input.after_step(model)

    def loss(self, model, x_seq, y):
        if self.spike_reg == 0.0:
            return TF.cross_entropy(model(x_seq), y)
        rec = model.run(x_seq)
        rate = sum(s.mean() for s in rec.spikes) / max(len(rec.spikes), 1)
        return TF.cross_entropy(rec.logits, y) + self.spike_reg * rate

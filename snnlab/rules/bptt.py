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

import torch.nn.functional as TF

from .._checks import check_float
from .base import ScaledInputRule, register

__all__ = ["BPTT"]


@register("bptt")
class BPTT(ScaledInputRule):
    """Cross-entropy on the logits, differentiated through time with surrogate spikes.

    Args:
        spike_reg: weight of an optional penalty on the mean hidden firing rate (0 = none),
            which trades a little accuracy for sparser activity.
        input_norm: train the first layer in units of the input's amplitude when that exceeds
            1 (:class:`~snnlab.rules.base.InputScale`; switch off to fine-tune a network
            trained on such inputs).
    """

    default_T = 8
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    def __init__(self, spike_reg: float = 0.0, input_norm: bool = True):
        self.spike_reg = check_float("spike_reg", spike_reg, low=0.0)
        self._set_input_norm(input_norm)

    def loss(self, model, x_seq, y):
        if self.spike_reg == 0.0:
            return TF.cross_entropy(model(x_seq), y)
        rec = model.run(x_seq)
        rate = sum(s.mean() for s in rec.spikes) / max(len(rec.spikes), 1)
        return TF.cross_entropy(rec.logits, y) + self.spike_reg * rate

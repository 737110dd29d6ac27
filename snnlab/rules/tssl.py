r"""TSSL-BP: temporal spike sequence learning through spike times, precise within a few steps.

Zhang & Li, "Temporal Spike Sequence Learning via Backpropagation for Deep Spiking Neural
Networks", NeurIPS 2020; official code stonezwr/TSSL-BP (``functions/tsslbp.py``).

**Model (PSP neurons).** Each layer sees the postsynaptic potential (PSP) of its inputs, a
normalised first-order synaptic trace, and its neurons reset to zero:

.. math::

    a[t] &= (1 - 1/\tau_s)\,a[t-1] + s[t]/\tau_s
          = \textstyle\sum_k \epsilon[k]\, s[t-k],\; \epsilon[k] = (1-1/\tau_s)^k/\tau_s  && (1)\\
    u[t] &= (1 - 1/\tau_m)\,u[t-1]\,(1 - s[t-1]) + W a_{in}[t] + b                        && (2)\\
    s[t] &= H(u[t] - \vartheta)                                                          && (3)

Since the synapse is linear, :math:`W a_{in}` equals the synaptic current filter applied to
:math:`W s_{in}`, so the model is snnlab's LIF with a synaptic current (:class:`PSPLIF`:
:math:`\alpha = 1-1/\tau_s`, :math:`\beta = 1-1/\tau_m`, reset to zero, current scaled by
:math:`1/\tau_s`). The only difference to the paper is that the bias is filtered too (it ramps up
as :math:`b(1-\alpha^{t+1})`). The output layer is a PSP layer as well; the prediction is
:math:`\arg\max_k \sum_t a^{out}_k[t]` (:class:`PSPReadout`).

**Loss.** Target spike trains: the correct class should fire a fixed pattern, the others stay
silent; :math:`L = \tfrac12\sum_t\sum_k (a^{out}_k[t] - (\epsilon * \hat s_k)[t])^2` (summed over
time and neurons, averaged over the batch).

**Backward.** Write :math:`\delta s[t] = \sum_{k\ge0}\epsilon[k]\,\delta a[t+k]`, the error of a
spike at t through the PSP it starts (this is what autograd of the PSP filter gives). TSSL-BP
replaces the undefined :math:`\partial s/\partial u` by two dependencies:

* **inter-neuron** (through spike times): moving a spike earlier raises the PSP it produces,
  :math:`\partial a[t+k]/\partial t_m = -\epsilon[k]`, and
  :math:`\partial t_m/\partial u[t_m] = -1/\Delta u[t_m]` with :math:`\Delta u` that step's
  membrane increment, clamped as in the reference code (:math:`|\partial t/\partial u| \le 8`,
  zero when the membrane falls), so

  .. math:: g[t] = \delta s[t]\;\mathrm{clamp}(1/\Delta u[t],\,0,\,8)            \quad (4)

* **intra-neuron** (through the reset): the error at the neuron's next spike :math:`t_p`,
  :math:`\theta = g[t_p]`, flows back along the membrane with the leak until the previous spike
  :math:`t_m`, and at :math:`t_m` through the reset, whose timing changes how much membrane is
  removed:

  .. math::

      g[t] \mathrel{+}= \theta\,(1-1/\tau_m)\,(1-s[t]) + \theta\,u[t]\,\tfrac{1}{\tau_m}\,
      \mathrm{clamp}(1/\Delta u[t], 0, 8),\qquad
      \theta \leftarrow s[t]\,g[t] + (1-s[t])(1-1/\tau_m)\,\theta          \quad (5)

* **surrogate fallback** ("warm-up"): where the neuron's own PSP is below :math:`1/(4\tau_s)`
  (silent, or long after its last spike) the timing terms are meaningless, and the gradient is
  the sigmoid surrogate :math:`g[t] = \delta s[t]\,\sigma'((u[t]-\vartheta)/0.2)/0.2`. As noted
  in the official repository's issue #2, this switch stays on for the whole training.

Reconstructed / reproduced as in the reference code: (4) and (5) are applied at *every* step where
the PSP is above the fallback threshold, not only at spike steps (the code does not mask them);
the target for the correct class is every step but the first for T <= 5 (the code's
``[0,1,1,1,1]``; the paper prints ``[0,1,0,1,1]``, issue #14) and ``[0,1]`` repeated for longer T.
Training clips the gradient norm to 1 (``after_backward``) and clamps weights to [-4, 4]
(``after_step``) as the code does.

The neuron (:class:`~snnlab.neurons.PSPLIF`), the PSP filter and the spike sequence with the
backward above (:func:`~snnlab.neurons.tssl_spikes`) live in :mod:`snnlab.neurons.psp`; the
readout in :mod:`snnlab.readouts` (``"psp"``). :meth:`TSSL.build_model` builds the PSP network
(``snnlab.evaluate`` then measures the network TSSL-BP trains); a model of other neurons is refused
with a message saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as TF

from .._checks import check_float, check_int
from ..functional import over_time
from ..neurons import (
    PSPLIF,
    psp,
    tssl_spikes,  # compat: remove after the issue-14 merge
)
from ..readouts import PSPReadout
from .base import Rule, register

__all__ = ["TSSL", "target_trains",
           # compat: remove after the issue-14 merge (their homes: snnlab.neurons, .readouts)
           "PSPLIF", "PSPReadout", "psp", "tssl_spikes"]


def target_trains(y: torch.Tensor, n_classes: int, T: int,
                  pattern: Sequence[int] | None = None) -> torch.Tensor:
    """Desired output spikes ``[T, B, n_classes]``: the correct class fires ``pattern`` (default:
    all steps but the first for T <= 5, else ``[0, 1]`` repeated), the others are silent."""
    if pattern is None:
        pattern = [0] + [1] * (T - 1) if T <= 5 else [(t % 2) for t in range(T)]
    pattern = torch.as_tensor(list(pattern), dtype=torch.float32, device=y.device)
    if pattern.shape != (T,):
        raise ValueError(f"pattern must have T={T} entries, got {tuple(pattern.shape)}")
    onehot = TF.one_hot(y, n_classes).float()
    return pattern.view(T, 1, 1) * onehot.unsqueeze(0)


# --------------------------------------------------------------------------- the rule
@register("tssl")
class TSSL(Rule):
    """TSSL-BP with the kernel (target spike-train PSP) loss.

    Args:
        tau_m, tau_s: membrane and synaptic time constants in steps (5 and 3 in the paper).
        threshold: firing threshold.
        pattern: the correct class's target spike train (length T), default as the code.
        inter, intra, fallback: switch the parts of the backward on/off (ablations).
        spike_steps_only: timing terms only at spike steps (paper) instead of as the code.
        psp_threshold: PSP level below which the surrogate fallback is used (default
            1/(4 tau_s); ``float("inf")`` = surrogate everywhere, the ablation of issue #2).
        grad_clip: gradient-norm clip after ``backward`` (1 in the code; 0 disables).
        weight_clamp: weights clamped to [-c, c] after each step (4 in the code; 0 disables).
    """

    default_T = 5
    default_encoding = "direct"
    default_lr = 2e-3  # calibrated on digits (the paper: 5e-4 with AdamW on MNIST)
    default_epochs = 20

    def __init__(self, tau_m: float = 5.0, tau_s: float = 3.0, threshold: float = 1.0,
                 pattern: Sequence[int] | None = None, inter: bool = True, intra: bool = True,
                 fallback: bool = True, spike_steps_only: bool = False, grad_clip: float = 1.0,
                 weight_clamp: float = 4.0, psp_threshold: float | None = None):
        self.tau_m = check_float("tau_m", tau_m, low=1.0, low_open=True)
        self.tau_s = check_float("tau_s", tau_s, low=1.0, low_open=True)
        self.threshold = check_float("threshold", threshold, low=0.0, low_open=True)
        if pattern is not None:
            pattern = [check_int(f"pattern[{i}]", p, low=0, high=1) for i, p in
                       enumerate(pattern)]
        self._pattern = pattern
        for name, flag in (("inter", inter), ("intra", intra), ("fallback", fallback),
                           ("spike_steps_only", spike_steps_only)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        self.inter, self.intra, self.fallback = inter, intra, fallback
        self.spike_steps_only = spike_steps_only
        if psp_threshold is not None:
            if isinstance(psp_threshold, bool) or not isinstance(psp_threshold, (int, float)) \
                    or not psp_threshold >= 0:
                raise ValueError(f"psp_threshold must be a number >= 0 (or inf), got "
                                 f"{psp_threshold!r}")
            psp_threshold = float(psp_threshold)
        self.psp_threshold = psp_threshold
        self.grad_clip = check_float("grad_clip", grad_clip, low=0.0)
        self.weight_clamp = check_float("weight_clamp", weight_clamp, low=0.0)

    def build_model(self, n_in, hidden, n_out, **kw):
        """The default network with :class:`~snnlab.neurons.PSPLIF` neurons of this rule's
        ``tau_m``, ``tau_s``, ``threshold`` everywhere and a ``"psp"`` readout."""
        if kw.setdefault("neuron", "psp_lif") != "psp_lif":
            raise ValueError(f"rule 'tssl' trains psp_lif neurons, got neuron={kw['neuron']!r}")
        kw.setdefault("readout", "psp")
        return super().build_model(n_in, hidden, n_out, tau_m=self.tau_m, tau_s=self.tau_s,
                                   threshold=self.threshold, **kw)

    def check_model(self, model):
        def fits(n):
            return isinstance(n, PSPLIF) and (n.tau_m, n.tau_s, n.threshold) == (
                self.tau_m, self.tau_s, self.threshold)

        bad = [f"layer {i}" for i, layer in enumerate(model.layers) if not fits(layer.neuron)]
        if not (isinstance(model.readout, PSPReadout) and fits(model.readout.neuron)):
            bad.append(f"the readout ({model.readout.mode!r})")
        if bad:
            raise ValueError(
                f"rule 'tssl' needs PSP neurons (psp_lif, tau_m={self.tau_m:g}, "
                f"tau_s={self.tau_s:g}, threshold={self.threshold:g}) in every layer and a 'psp' "
                f"readout; these do not fit: {', '.join(bad)}. Build the model with "
                "snnlab.rules.get('tssl', ...).build_model(n_in, hidden, n_out)")

    def setup(self, model, data, *, T, encoding, seed):
        self.check_model(model)
        if self._pattern is not None and len(self._pattern) != T:
            raise ValueError(f"pattern has {len(self._pattern)} entries but T={T}")

    def output_psp(self, model, x_seq) -> torch.Tensor:
        """Run the network with TSSL-BP's backward; returns a_out ``[T, B, n_out]``."""
        self.check_model(model)
        kw = dict(inter=self.inter, intra=self.intra, fallback=self.fallback,
                  spike_steps_only=self.spike_steps_only, psp_threshold=self.psp_threshold)
        h = x_seq
        for layer in model.layers:
            h = layer.neuron.tssl(layer.current(h), **kw)
        h = model.readout.neuron.tssl(over_time(model.readout.synapse, h), **kw)
        return psp(h, self.tau_s)

    def loss(self, model, x_seq, y):
        a_out = self.output_psp(model, x_seq)
        T = x_seq.shape[0]
        target = psp(target_trains(y, a_out.shape[-1], T, self._pattern).to(a_out), self.tau_s)
        return 0.5 * ((a_out - target) ** 2).sum() / y.shape[0]

    def after_backward(self, model, x_seq, y):
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)

    def after_step(self, model, x_seq, y):
        if self.weight_clamp > 0:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name.endswith("weight"):
                        p.clamp_(-self.weight_clamp, self.weight_clamp)

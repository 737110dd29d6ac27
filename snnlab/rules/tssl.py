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
Training (``step``) clips the gradient norm to 1 and clamps weights to [-4, 4] as the code does.

The rule adapts the model it is given: its hidden neurons become :class:`PSPLIF` and its readout a
:class:`PSPReadout` (weights kept), so ``snnlab.evaluate`` measures the network TSSL-BP trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import functional as F
from .. import neurons as N
from .._checks import check_float, check_int
from ..models import Readout, over_time
from .base import Rule, register

__all__ = ["PSPLIF", "PSPReadout", "TSSL", "tssl_spikes", "psp", "target_trains",
           "adapt_model"]


# --------------------------------------------------------------------------- the PSP model
class PSPLIF(N.SynapticLIF):
    """TSSL-BP's neuron, eqs. (1)-(3): LIF with reset to zero driven by the PSP of its inputs."""

    kind = "psp_lif"

    def __init__(self, tau_m: float = 5.0, tau_s: float = 3.0, threshold: float = 1.0,
                 surrogate="fast_sigmoid"):
        self.tau_m = check_float("tau_m", tau_m, low=1.0, low_open=True)
        self.tau_s = check_float("tau_s", tau_s, low=1.0, low_open=True)
        super().__init__(alpha=1 - 1 / self.tau_s, beta=1 - 1 / self.tau_m, threshold=threshold,
                         reset="zero", surrogate=surrogate, detach_reset=True)
        self.current_scale = 1 / self.tau_s

    def simulate(self, current, v0=None):
        return super().simulate(current * self.current_scale, v0)

    def step(self, current, state):
        return super().step(current * self.current_scale, state)

    def extra_repr(self) -> str:
        return f"tau_m={self.tau_m:g}, tau_s={self.tau_s:g}, threshold={self.threshold:g}"


N.register(PSPLIF.kind, PSPLIF)


def psp(s: torch.Tensor, tau_s: float) -> torch.Tensor:
    """Eq. (1): the normalised PSP of spike trains ``s [T, ...]``."""
    return F.leaky_integrate(s, 1 - 1 / tau_s) / tau_s


class PSPReadout(Readout):
    """Output layer of PSP neurons; logits are :math:`\\sum_t a^{out}[t]`."""

    def __init__(self, synapse: nn.Module, neuron: PSPLIF):
        super().__init__(synapse, "count", neuron=neuron)
        self.mode = "psp"

    def simulate(self, x_seq):
        s, u = self.neuron.simulate(over_time(self.synapse, x_seq))
        return psp(s, self.neuron.tau_s).sum(0), s, u


def adapt_model(model, tau_m: float = 5.0, tau_s: float = 3.0, threshold: float = 1.0):
    """Turn a :class:`~snnlab.models.SpikingNet` into TSSL-BP's PSP network in place (weights
    kept; idempotent). Returns the model.

    The model's ``config`` then describes PSP neurons with a ``count`` readout, so a checkpoint
    rebuilds with the right neurons; call ``adapt_model`` on the reloaded model to get the PSP-sum
    readout back (a bare ``count`` readout predicts by spike counts, which tie more often)."""
    def fits(n):
        return isinstance(n, PSPLIF) and (n.tau_m, n.tau_s, n.threshold) == (tau_m, tau_s,
                                                                             threshold)
    for layer in model.layers:
        if not fits(layer.neuron):
            layer.neuron = PSPLIF(tau_m, tau_s, threshold)
    ro = model.readout
    if not (isinstance(ro, PSPReadout) and fits(ro.neuron)):
        model.readout = PSPReadout(ro.synapse, PSPLIF(tau_m, tau_s, threshold))
    model.config.update(neuron="psp_lif", readout="count",
                        neuron_kw=dict(tau_m=tau_m, tau_s=tau_s, threshold=threshold))
    return model


# --------------------------------------------------------------------------- the gradient
class _TSSLSpikes(torch.autograd.Function):
    """Forward: eqs. (2)-(3) over T given the (already PSP-filtered) current. Backward: (4)-(5)
    plus the surrogate fallback."""

    @staticmethod
    def forward(ctx, current, tau_m, tau_s, threshold, inter, intra, fallback, at_spikes,
                psp_threshold):
        beta = 1 - 1 / tau_m
        T = current.shape[0]
        u = torch.empty_like(current)
        du = torch.empty_like(current)
        s = torch.empty_like(current)
        v = torch.zeros_like(current[0])
        for t in range(T):
            u_t = beta * v + current[t]
            du[t] = u_t - v
            u[t] = u_t
            s[t] = (u_t > threshold).to(current.dtype)
            v = u_t * (1 - s[t])
        ctx.save_for_backward(u, du, s)
        ctx.cfg = (tau_m, tau_s, threshold, inter, intra, fallback, at_spikes, psp_threshold)
        return s

    @staticmethod
    def backward(ctx, ds):
        u, du, s = ctx.saved_tensors
        tau_m, tau_s, threshold, inter, intra, fallback, at_spikes, psp_threshold = ctx.cfg
        beta = 1 - 1 / tau_m
        T = u.shape[0]
        dt_du = torch.clamp(1.0 / du, 0.0, 8.0).nan_to_num(0.0)  # |dt/du| = 1/du, clamped
        if at_spikes:  # the paper's equations: timing terms only where a spike happened
            dt_du = dt_du * s
        if fallback:
            x = torch.clamp((threshold - u) / 0.2, -8.0, 8.0)
            sig = torch.sigmoid(x)
            surrogate = sig * (1 - sig) / 0.2
            quiet = psp(s, tau_s) < psp_threshold
        g = torch.zeros_like(ds)
        theta = torch.zeros_like(ds[0])
        for t in range(T - 1, -1, -1):
            g_t = ds[t] * dt_du[t] if inter else torch.zeros_like(ds[t])
            if intra and t < T - 1:
                g_t = g_t + theta * u[t] * (dt_du[t] / tau_m) + theta * beta * (1 - s[t])
            theta = g_t * s[t] + theta * (1 - s[t]) * beta
            if fallback:
                g_t = torch.where(quiet[t], ds[t] * surrogate[t], g_t)
            g[t] = g_t
        return g, None, None, None, None, None, None, None, None


def tssl_spikes(current: torch.Tensor, *, tau_m: float = 5.0, tau_s: float = 3.0,
                threshold: float = 1.0, inter: bool = True, intra: bool = True,
                fallback: bool = True, spike_steps_only: bool = False,
                psp_threshold: float | None = None) -> torch.Tensor:
    """Spikes of a PSP layer from its filtered current ``[T, ...]``, with TSSL-BP's backward.
    ``inter``/``intra``/``fallback`` switch the three parts off (for teaching and ablations);
    ``spike_steps_only`` applies the timing terms only at spike steps (the paper's equations)
    instead of wherever the PSP is above the fallback threshold (the reference code).
    ``psp_threshold`` is where the fallback takes over (default :math:`1/(4\tau_s)`; ``inf``
    gives the surrogate everywhere, i.e. TSSL-BP switched off)."""
    if psp_threshold is None:
        psp_threshold = 1 / (4 * tau_s)
    return _TSSLSpikes.apply(current, float(tau_m), float(tau_s), float(threshold), bool(inter),
                             bool(intra), bool(fallback), bool(spike_steps_only),
                             float(psp_threshold))


def target_trains(y: torch.Tensor, n_classes: int, T: int,
                  pattern: Sequence[int] | None = None) -> torch.Tensor:
    """Desired output spikes ``[T, B, n_classes]``: the correct class fires ``pattern`` (default:
    all steps but the first for T <= 5, else ``[0, 1]`` repeated), the others are silent."""
    if pattern is None:
        pattern = [0] + [1] * (T - 1) if T <= 5 else [(t % 2) for t in range(T)]
    pattern = torch.as_tensor(list(pattern), dtype=torch.float32, device=y.device)
    if pattern.shape != (T,):
        raise ValueError(f"pattern must have T={T} entries, got {tuple(pattern.shape)}")
    onehot = torch.nn.functional.one_hot(y, n_classes).float()
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
        grad_clip: gradient-norm clip in ``step`` (1 in the code; 0 disables).
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

    def setup(self, model, data, *, T, encoding, seed):
        self.adapt(model)
        if self._pattern is not None and len(self._pattern) != T:
            raise ValueError(f"pattern has {len(self._pattern)} entries but T={T}")

    def adapt(self, model):
        return adapt_model(model, self.tau_m, self.tau_s, self.threshold)

    def output_psp(self, model, x_seq) -> torch.Tensor:
        """Run the adapted network with TSSL-BP's backward; returns a_out ``[T, B, n_out]``."""
        self.adapt(model)
        kw = dict(tau_m=self.tau_m, tau_s=self.tau_s, threshold=self.threshold, inter=self.inter,
                  intra=self.intra, fallback=self.fallback,
                  spike_steps_only=self.spike_steps_only, psp_threshold=self.psp_threshold)
        alpha = 1 - 1 / self.tau_s
        h = x_seq
        for syn in [layer.synapse for layer in model.layers] + [model.readout.synapse]:
            current = F.leaky_integrate(over_time(syn, h), alpha) / self.tau_s
            h = tssl_spikes(current, **kw)
        return psp(h, self.tau_s)

    def loss(self, model, x_seq, y):
        a_out = self.output_psp(model, x_seq)
        T = x_seq.shape[0]
        target = psp(target_trains(y, a_out.shape[-1], T, self._pattern).to(a_out), self.tau_s)
        return 0.5 * ((a_out - target) ** 2).sum() / y.shape[0]

    def step(self, model, x_seq, y, optimizer) -> dict:
        optimizer.zero_grad(set_to_none=True)
        loss = self.loss(model, x_seq, y)
        loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
        optimizer.step()
        if self.weight_clamp > 0:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name.endswith("weight"):
                        p.clamp_(-self.weight_clamp, self.weight_clamp)
        return {"loss": float(loss.detach())}

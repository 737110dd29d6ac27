r"""Rate-based backpropagation: one gradient-free spike pass over T, then one rate-level backward.

Yu, Li, Wang, Lu, Deng, Zhao, Tang & Pan, "Advancing Training Efficiency of Deep Spiking Neural
Networks through Rate-based Backpropagation", NeurIPS 2024 (arXiv 2410.11488); official code
Tab-ct/rate-based-backpropagation.

Networks trained with BPTT mostly carry rate codes, so the gradient is taken through *averaged*
dynamics instead of through T unrolled steps:

1. **Spike pass** (no graph): run the network over T steps and keep, per neuron, the rate and the
   mean sensitivity of its spikes to a constant input current c,

   .. math::

       r = \frac1T\sum_t s[t], \qquad
       e = \frac1T\sum_t \sigma'(u[t]-\vartheta)\,\kappa[t], \qquad
       \kappa[t] = \iota[t] + \beta\,\frac{\partial v[t-1]}{\partial u[t-1]}\,\kappa[t-1] \quad (1)

   where :math:`\kappa[t] = \partial u[t]/\partial c` follows the membrane recursion
   (:math:`\partial v/\partial u` = 1 for a detached soft reset, :math:`1-\vartheta\sigma'`
   attached, :math:`1-s` detached hard reset, :math:`1-s-u\sigma'` attached) and
   :math:`\iota[t]` is how the neuron's own current filter passes a constant input (1 for LIF;
   :math:`\sum_{k\le t}\alpha^k` with a synaptic current).
2. **Rate pass** (with graph, once): time-averaged input :math:`\bar x`, then per layer

   .. math::

       c_l = W_l\, r_{l-1} + b_l, \qquad
       r_l = \mathrm{sg}(r_l^{spike}) + e_l \odot (c_l - \mathrm{sg}(c_l))      \quad (2)

   so the values are the spike pass's rates and the backward is
   :math:`\delta c_l = e_l\odot\delta r_l`, :math:`\nabla W_l = \delta c_l\, r_{l-1}^\top`,
   :math:`\delta r_{l-1} = W_l^\top \delta c_l`: the memory and time of a single step.

The readout is handled the same way: snnlab's default membrane readout (logits = mean leaky
membrane) is linear in the spikes, its sensitivity to a constant input is
:math:`e_{out} = \frac1T\sum_t\sum_{k\le t}\beta^{t-k}`; a ``count`` readout is a spiking layer
whose logits are :math:`T\,r`. ``first_spike`` readouts are not rate codes and are refused.

What was reconstructed: the paper's batch-norm handling (spike-pass statistics as values, rate
batch statistics for the gradient) is not needed here because snnlab's networks have no BN; the
surrogate is the model's own (the official code uses the derivative of sigmoid(4x)); the loss is
CE on the exact spike-pass logits (the official code also rescales the loss gradient by 1/T,
which Adam does not notice). The spike pass runs the fused time loops on chunks of ``chunk``
steps (16 by default), carrying the membranes between chunks, so its working memory is that of
one chunk whatever T is, and nothing is kept for backward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as TF

from .. import functional as F
from .. import surrogate as S
from .._checks import check_int
from ..neurons import DALIF, SynapticLIF
from .base import ScaledInputRule, batch_norms, register

__all__ = ["RateBP", "RateStats", "eligibility", "spike_pass"]


def _float(x):
    return x.detach() if isinstance(x, torch.Tensor) else float(x)


def _input_gain(neuron, T: int, like: torch.Tensor) -> torch.Tensor:
    """iota[t] in eq. (1): how the neuron's current filter passes a constant unit input."""
    ones = torch.ones(T, dtype=like.dtype, device=like.device)
    if _filters_input(neuron):
        a = float(neuron.alpha)
        ones = torch.cumsum(a ** torch.arange(T, dtype=like.dtype, device=like.device), 0)
    return ones * float(getattr(neuron, "current_scale", 1.0))


def _filters_input(neuron) -> bool:
    """A synaptic current filter ``i[t] = alpha i[t-1] + I[t]`` (SynapticLIF): not DA-LIF, whose
    ``alpha`` is a constant input gain (see :func:`_input_scale`)."""
    return isinstance(neuron, SynapticLIF)


def _input_scale(neuron):
    """DA-LIF multiplies its input by a learnable gain alpha: the rate's sensitivity to the
    current scales by it (1 for every other neuron)."""
    if isinstance(neuron, DALIF):
        return neuron.alpha.detach()
    return 1.0


def _surrogate_derivative(surrogate, x: torch.Tensor) -> torch.Tensor:
    """``surrogate.derivative(x)``, computed in place for the fast sigmoid (``x`` is a fresh
    tensor owned by the caller): one buffer instead of five, no ``pow``."""
    if type(surrogate) is S.FastSigmoid:
        x.abs_().mul_(surrogate.scale).add_(1.0)
        return x.mul_(x).reciprocal_()
    return surrogate.derivative(x)


class _Eligibility:
    """Running sum of sigma'(u[t]-theta)*kappa[t] (eq. 1) over consecutive chunks of time."""

    def __init__(self, neuron):
        self.neuron = neuron
        self.t0 = 0
        self.kappa = self.dv = self.acc = None

    def add(self, u: torch.Tensor, s: torch.Tensor) -> _Eligibility:
        n = self.neuron
        K, t0 = u.shape[0], self.t0
        theta = n.threshold
        sg = _surrogate_derivative(n.surrogate, u - theta)
        beta = _float(n.beta)
        iota = _input_gain(n, t0 + K, u)[t0:]
        mode, detached = n.reset_mode, n.detach_reset
        plain_leak = mode == "none" or (mode == "subtract" and detached)
        if plain_leak and not _filters_input(n) and not isinstance(beta, torch.Tensor):
            # closed form of kappa[t] = 1 + beta*kappa[t-1]: one weighted sum over t
            t = torch.arange(t0 + 1, t0 + K + 1, dtype=u.dtype, device=u.device)
            kappa = t if beta == 1.0 else (1 - beta ** t) / (1 - beta)
            part = ((kappa * iota) @ sg.reshape(K, -1)).reshape(u.shape[1:])
        else:
            if mode == "subtract":
                dv = torch.ones_like(u) if detached else 1.0 - theta * sg
            elif mode == "zero":
                dv = 1.0 - s if detached else 1.0 - s - u * sg
            else:
                dv = torch.ones_like(u)
            part = torch.zeros_like(u[0])
            for k in range(K):
                if self.kappa is None:
                    kappa = iota[k].expand_as(u[0]).clone()
                else:
                    kappa = iota[k] + beta * self.dv * self.kappa
                part = part + sg[k] * kappa
                self.kappa, self.dv = kappa, dv[k]
        self.acc = part if self.acc is None else self.acc + part
        self.t0 += K
        return self

    def mean(self) -> torch.Tensor:
        return self.acc / self.t0 * _input_scale(self.neuron)


def eligibility(neuron, u: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Eq. (1): mean over t of sigma'(u[t]-theta)*kappa[t], for membranes ``u [T, ...]`` (before
    reset) and spikes ``s`` recorded by a no-grad pass of ``neuron``."""
    return _Eligibility(neuron).add(u, s).mean()


@dataclass
class RateStats:
    """What the spike pass records: per hidden layer rate and eligibility, the readout's
    eligibility and the exact spike-pass logits."""

    rates: list[torch.Tensor]
    eligibilities: list[torch.Tensor]
    readout_eligibility: torch.Tensor | float
    logits: torch.Tensor


def _end_state(neuron, u, s):
    """The state carried to the next chunk: the last step's membrane after the reset."""
    return F.reset(u[-1], s[-1], neuron.threshold, neuron.reset_mode, detach=True)


@torch.no_grad()
def spike_pass(model, x_seq: torch.Tensor, chunk: int | None = None) -> RateStats:
    """The gradient-free forward over T (step 1), ``chunk`` steps at a time (all at once when
    None), carrying each layer's membrane between chunks: the working memory is that of
    ``chunk`` steps, whatever T is. Neurons with a synaptic current run in one chunk."""
    ro = model.readout
    mode = ro.mode
    if mode not in ("membrane", "count"):
        raise ValueError(f"rate_bp needs a rate-coded readout: readout='membrane' or 'count', "
                         f"got {mode!r} (a first-spike readout is a temporal code)")
    T = x_seq.shape[0]
    neurons = [layer.neuron for layer in model.layers] + ([ro.neuron] if mode == "count" else [])
    if chunk is None or any(_filters_input(n) for n in neurons):
        chunk = T
    n = len(model.layers)
    v = [None] * (n + 1)
    rate_sum = [0.0] * n
    elig = [_Eligibility(layer.neuron) for layer in model.layers]
    out_elig = _Eligibility(ro.neuron) if mode == "count" else None
    logit_sum = 0.0
    for c0 in range(0, T, chunk):
        h = x_seq[c0:c0 + chunk]
        for i, layer in enumerate(model.layers):
            s, u = layer.neuron.simulate(layer.current(h), v0=v[i])
            v[i] = _end_state(layer.neuron, u, s)
            rate_sum[i] = rate_sum[i] + s.sum(0)
            elig[i].add(u, s)
            h = s
        current = F.over_time(ro.synapse, h)
        if mode == "membrane":
            u = F.leaky_integrate(current, ro.beta)
            if v[n] is not None:  # the carried readout membrane keeps leaking into this chunk
                k = torch.arange(1, u.shape[0] + 1, dtype=u.dtype, device=u.device)
                u = u + (ro.beta ** k).view(-1, *([1] * (u.ndim - 1))) * v[n]
            v[n] = u[-1]
            logit_sum = logit_sum + u.sum(0)
        else:
            s, u = ro.neuron.simulate(current, v0=v[n])
            v[n] = _end_state(ro.neuron, u, s)
            logit_sum = logit_sum + s.sum(0)
            out_elig.add(u, s)
    if mode == "membrane":
        b = float(ro.beta)
        t = torch.arange(1, T + 1, dtype=x_seq.dtype)
        e_out = float(t.mean()) if b == 1.0 else float(((1 - b ** t) / (1 - b)).mean())
        logits = logit_sum / T
    else:  # count: logits = T * rate
        e_out = T * out_elig.mean()
        logits = logit_sum
    return RateStats([r / T for r in rate_sum], [e.mean() for e in elig], e_out, logits)


def _straight_through(value, e, c):
    return value + e * (c - c.detach())


@register("rate_bp")
class RateBP(ScaledInputRule):
    """Rate-based backpropagation.

    Args:
        chunk: the spike pass runs this many steps at a time (memory of ``chunk`` steps for any
            T; 0 = all T at once, fastest for short T).
        input_norm: train the first layer in units of the input's amplitude when that exceeds
            1 (:class:`~snnlab.rules.base.InputScale`; off to fine-tune such a network).
    """

    default_T = 8
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    def __init__(self, chunk: int = 16, input_norm: bool = True):
        self.chunk = check_int("chunk", chunk, low=0)
        self._set_input_norm(input_norm)

    def rate_logits(self, model, x_seq) -> torch.Tensor:
        """Logits with the spike pass's values and the rate pass's gradient (eq. 2)."""
        st = spike_pass(model, x_seq, self.chunk or None)
        r = x_seq.mean(0)
        # the rate pass only carries the gradient: batch norm's running statistics are the
        # spike pass's (the rate pass's time-averaged inputs have other statistics)
        norms = [m for m in batch_norms(model) if m.track_running_stats and m.training]
        saved = [(m, m.momentum) for m in norms]
        for m in norms:
            m.momentum = 0.0  # normalise with the batch's statistics, keep the running ones
        try:
            for layer, rate, e in zip(model.layers, st.rates, st.eligibilities):
                r = _straight_through(rate, e, layer.synapse(r))
            out = model.readout.synapse(r)
        finally:
            for m, mom in saved:
                m.momentum = mom
        return _straight_through(st.logits, st.readout_eligibility, out)

    def loss(self, model, x_seq, y):
        return TF.cross_entropy(self.rate_logits(model, x_seq), y)

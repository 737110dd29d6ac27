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
which Adam does not notice). The spike pass runs one layer at a time over all T (fused, fast), so
its transient activations are O(T) for one layer; nothing is kept for backward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as TF

from .base import Rule, register

__all__ = ["RateBP", "RateStats", "eligibility", "spike_pass"]


def _float(x):
    return x.detach() if isinstance(x, torch.Tensor) else float(x)


def _input_gain(neuron, T: int, like: torch.Tensor) -> torch.Tensor:
    """iota[t] in eq. (1): how the neuron's current filter passes a constant unit input."""
    ones = torch.ones(T, dtype=like.dtype, device=like.device)
    alpha = getattr(neuron, "alpha", None)
    if alpha is not None:
        a = float(alpha)
        ones = torch.cumsum(a ** torch.arange(T, dtype=like.dtype, device=like.device), 0)
    return ones * float(getattr(neuron, "current_scale", 1.0))


def eligibility(neuron, u: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Eq. (1): mean over t of sigma'(u[t]-theta)*kappa[t], for membranes ``u [T, ...]`` (before
    reset) and spikes ``s`` recorded by a no-grad pass of ``neuron``."""
    T = u.shape[0]
    theta = neuron.threshold
    sg = neuron.surrogate.derivative(u - theta)
    beta = _float(neuron.beta)
    iota = _input_gain(neuron, T, u).view(T, *([1] * (u.ndim - 1)))
    mode, detached = neuron.reset_mode, neuron.detach_reset
    plain_leak = mode == "none" or (mode == "subtract" and detached)
    if plain_leak and getattr(neuron, "alpha", None) is None and not isinstance(beta, torch.Tensor):
        # closed form of kappa[t] = 1 + beta*kappa[t-1]
        t = torch.arange(1, T + 1, dtype=u.dtype, device=u.device)
        kappa = t if beta == 1.0 else (1 - beta ** t) / (1 - beta)
        weights = kappa * (iota[0].reshape(()) / T)  # one weighted sum over t, no [T,...] temp
        return (weights @ sg.reshape(T, -1)).reshape(u.shape[1:])
    if mode == "subtract":
        dv = torch.ones_like(u) if detached else 1.0 - theta * sg
    elif mode == "zero":
        dv = 1.0 - s if detached else 1.0 - s - u * sg
    else:
        dv = torch.ones_like(u)
    kappa = iota[0].expand_as(u[0]).clone()
    acc = sg[0] * kappa
    for t in range(1, T):
        kappa = iota[t] + beta * dv[t - 1] * kappa
        acc = acc + sg[t] * kappa
    return acc / T


@dataclass
class RateStats:
    """What the spike pass records: per hidden layer rate and eligibility, the readout's
    eligibility and the exact spike-pass logits."""

    rates: list[torch.Tensor]
    eligibilities: list[torch.Tensor]
    readout_eligibility: torch.Tensor | float
    logits: torch.Tensor


@torch.no_grad()
def spike_pass(model, x_seq: torch.Tensor) -> RateStats:
    """The gradient-free forward over T (step 1)."""
    mode = model.readout.mode
    if mode == "first_spike":
        raise ValueError("rate_bp needs a rate-coded readout: readout='membrane' or 'count' "
                         "(a first-spike readout is a temporal code)")
    T = x_seq.shape[0]
    rates, elig = [], []
    h = x_seq
    for layer in model.layers:
        s, u = layer.neuron.simulate(layer.current(h))
        rates.append(s.mean(0))
        elig.append(eligibility(layer.neuron, u, s))
        h = s
    logits, s_out, u_out = model.readout.simulate(h)
    if mode == "membrane":
        b = float(model.readout.beta)
        t = torch.arange(1, T + 1, dtype=x_seq.dtype)
        e_out = float(t.mean()) if b == 1.0 else float(((1 - b ** t) / (1 - b)).mean())
    else:  # count: logits = T * rate
        e_out = T * eligibility(model.readout.neuron, u_out, s_out)
    return RateStats(rates, elig, e_out, logits)


def _straight_through(value, e, c):
    return value + e * (c - c.detach())


@register("rate_bp")
class RateBP(Rule):
    """Rate-based backpropagation (no hyper-parameters of its own)."""

    default_T = 8
    default_encoding = "direct"
    default_lr = 2e-3
    default_epochs = 10

    def rate_logits(self, model, x_seq) -> torch.Tensor:
        """Logits with the spike pass's values and the rate pass's gradient (eq. 2)."""
        st = spike_pass(model, x_seq)
        r = x_seq.mean(0)
        for layer, rate, e in zip(model.layers, st.rates, st.eligibilities):
            r = _straight_through(rate, e, layer.synapse(r))
        return _straight_through(st.logits, st.readout_eligibility, model.readout.synapse(r))

    def loss(self, model, x_seq, y):
        return TF.cross_entropy(self.rate_logits(model, x_seq), y)

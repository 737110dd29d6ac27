r"""TSSL-BP's PSP neuron (:class:`PSPLIF`, ``"psp_lif"``), the PSP filter :func:`psp` and the
spike sequence with TSSL-BP's backward (:func:`tssl_spikes`); the rule and the derivation of the
backward, eqs. (4)-(5), are in :mod:`snnlab.rules.tssl`.

A PSP layer sees the normalised first-order synaptic trace of its inputs and resets to zero:

.. math::

    a[t] &= (1 - 1/\tau_s)\,a[t-1] + s[t]/\tau_s                        && (1)\\
    u[t] &= (1 - 1/\tau_m)\,u[t-1]\,(1 - s[t-1]) + W a_{in}[t] + b      && (2)\\
    s[t] &= H(u[t] - \vartheta)                                         && (3)

which is snnlab's LIF with a synaptic current (:math:`\alpha = 1-1/\tau_s`,
:math:`\beta = 1-1/\tau_m`, reset to zero, current scaled by :math:`1/\tau_s`). Its forward
runs the shared fused LIF loop of :mod:`snnlab.functional` in every case.
"""

from __future__ import annotations

import torch

from .. import functional as F
from .. import surrogate as S
from .._checks import check_float
from .lif import SynapticLIF

__all__ = ["PSPLIF", "psp", "tssl_spikes"]

# the surrogate handed to the fused loop inside _TSSLSpikes.forward: its derivative is never used
# (TSSL-BP's backward replaces it), only the forward values
_FORWARD_ONLY = S.get("fast_sigmoid")


class PSPLIF(SynapticLIF):
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

    def advance(self, current, state):
        return super().advance(current * self.current_scale, state)

    def tssl(self, current: torch.Tensor, **switches) -> torch.Tensor:
        """Spikes over the synaptic input ``current [T, ...]`` (before the PSP filter) with
        TSSL-BP's backward; ``switches`` as :func:`tssl_spikes`."""
        filtered = F.leaky_integrate(current, 1 - 1 / self.tau_s) / self.tau_s
        return tssl_spikes(filtered, tau_m=self.tau_m, tau_s=self.tau_s,
                           threshold=self.threshold, **switches)

    def extra_repr(self) -> str:
        return f"tau_m={self.tau_m:g}, tau_s={self.tau_s:g}, threshold={self.threshold:g}"


def psp(s: torch.Tensor, tau_s: float) -> torch.Tensor:
    """Eq. (1): the normalised PSP of spike trains ``s [T, ...]``."""
    return F.leaky_integrate(s, 1 - 1 / tau_s) / tau_s


class _TSSLSpikes(torch.autograd.Function):
    """Forward: eqs. (2)-(3) over T given the (already PSP-filtered) current. Backward: (4)-(5)
    plus the surrogate fallback."""

    @staticmethod
    def forward(ctx, current, tau_m, tau_s, threshold, inter, intra, fallback, at_spikes,
                psp_threshold):
        # eqs. (2)-(3) are PSPLIF's membrane loop: the shared fused LIF loop, reset to zero
        s, u = F.lif_sequence(current, beta=1 - 1 / tau_m, threshold=threshold,
                              reset_mode="zero", detach_reset=True, surrogate=_FORWARD_ONLY)
        v_prev = torch.cat([torch.zeros_like(u[:1]), (u * (1 - s))[:-1]])  # state after reset
        du = u - v_prev                                                     # membrane increment
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
    r"""Spikes of a PSP layer from its filtered current ``[T, ...]``, with TSSL-BP's backward.
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

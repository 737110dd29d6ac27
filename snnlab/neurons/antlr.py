r"""The ANTLR paper's neuron (:class:`AntlrLIF`, ``"antlr_lif"``) and its fused sequence with both
gradient routes (activation and timing).

LIF with a decaying synaptic current; after a spike *both* the current and the voltage are
zeroed (eqs. 1-3 of :mod:`snnlab.rules.antlr`, where the backward pass, eqs. 4-7, is derived):

.. math::

    I[t] &= \alpha\,(1 - s[t-1])\,I[t-1] + c[t]                 && (1) \\
    V[t] &= \beta\,(1 - s[t-1])\,V[t-1] + \beta_V\,I[t]         && (2) \\
    s[t] &= H(V[t] - \vartheta)                                 && (3)

:meth:`AntlrLIF.routes` runs the whole sequence in one autograd node (:class:`_AntlrSequence`)
whose backward mixes the two routes; :meth:`AntlrLIF.simulate` is its activation route alone.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import surrogate as S
from .._checks import check_choice, check_float
from ..surrogate import Surrogate

__all__ = ["AntlrLIF", "ExpSurrogate", "psp_kernel"]


class ExpSurrogate(Surrogate):
    r""":math:`\sigma'(x) = e^{-k|x|}` with k = 3: the ANTLR paper's surrogate (a = 1, b = 3)."""

    name = "exp"

    def __init__(self, scale: float = 3.0):
        super().__init__(scale)

    def derivative(self, x):
        return torch.exp(-self.scale * x.abs())


def psp_kernel(alpha: float, beta: float, n: int, v_scale: float = 1.0) -> torch.Tensor:
    r"""The PSP of one unit input spike, :math:`\epsilon[k] = \beta_V\sum_{j\le k}\alpha^j
    \beta^{k-j}`, for k = 0..n-1."""
    k = torch.arange(n, dtype=torch.float64)
    eps = torch.zeros(n, dtype=torch.float64)
    for j in range(n):
        eps[j:] += alpha ** j * beta ** (k[j:] - j)
    return (v_scale * eps).float()


def _auto_v_scale(alpha: float, beta: float) -> float:
    n = 2000 if max(alpha, beta) > 0.99 else 400
    return 1.0 / float(psp_kernel(alpha, beta, n).max())


# --------------------------------------------------------------------------- the neuron
class _AntlrSequence(torch.autograd.Function):
    """Eqs. (1)-(3) forward over all T; the official backward (``bpANTLR``) of one layer.

    Inputs: ``current [T, ...]`` (:math:`c = Wx (+b)`), ``current_tim`` (``W z`` of the layer
    below's timing handle, value 0, or ``None``) and the config. Outputs: spikes ``s``, a
    *timing handle* ``z`` (value 0 everywhere; its gradient is dL/dt of this layer's spike at
    each step) and the membrane ``V``.

    Backward (the official code's ``bpANTLR`` for one layer; equation numbers as in
    :mod:`snnlab.rules.antlr`):

    * (4) :math:`\\delta V[t] = \\lambda_{act}\\sigma'(V[t])\\,\\partial L/\\partial s[t]
      + \\lambda_{tim}\\,s[t]\\,(-\\partial L/\\partial t[t])/\\dot V[t]`;
    * (5)-(6) the reset-gated SRM recursion (``prop_dLdV_to_dLdI('SRM')``): gradient of
      ``current``;
    * (8) the two reset-gated backward traces of ``tprop_dLdV_to_dLdT`` (decays
      :math:`\\alpha_V`, :math:`\\alpha_I`; central-difference kernel derivative): gradient of
      ``current_tim``, which autograd turns into :math:`W^\\top e_2[t]`, the timing error of the
      layer below (masked there by its own spikes in (4)).
    """

    @staticmethod
    def forward(ctx, current, current_tim, alpha, beta, v_scale, threshold, surrogate,
                lam_act, lam_tim, vdot_min):
        T = current.shape[0]
        s = torch.empty_like(current)
        v = torch.empty_like(current)
        vdot = torch.empty_like(current)
        i_t = torch.zeros_like(current[0])
        v_t = torch.zeros_like(current[0])
        keep = torch.ones_like(current[0])  # 1 - s[t-1]
        for t in range(T):
            i_t = alpha * keep * i_t + current[t]                 # (1)
            v_prev = keep * v_t
            v_t = beta * v_prev + v_scale * i_t                   # (2)
            v[t] = v_t
            vdot[t] = v_t - v_prev                                # dV/dt, backward difference
            s[t] = (v_t > threshold).to(current.dtype)            # (3)
            keep = 1.0 - s[t]
        vdot.clamp_(min=vdot_min)
        z = torch.zeros_like(current)
        ctx.save_for_backward(s, v, vdot)
        ctx.cfg = (alpha, beta, v_scale, threshold, surrogate, lam_act, lam_tim,
                   current_tim is not None)
        ctx.mark_non_differentiable(v)
        return s, z, v

    @staticmethod
    def backward(ctx, grad_s, grad_z, _grad_v):
        s, v, vdot = ctx.saved_tensors
        alpha, beta, v_scale, threshold, surrogate, lam_act, lam_tim, has_tim = ctx.cfg
        T = s.shape[0]
        dv = torch.zeros_like(s)
        if lam_act and grad_s is not None:                                # activation term (4)
            dv = dv + lam_act * surrogate.derivative(v - threshold) * grad_s
        if lam_tim and grad_z is not None:                                # timing term (4)
            dv = dv + lam_tim * s * (-grad_z / vdot)
        keep = 1.0 - s
        g_v = torch.zeros_like(s[0])
        g_i = torch.zeros_like(s[0])
        grad_c = torch.empty_like(s)
        for t in range(T - 1, -1, -1):
            g_v = dv[t] + beta * keep[t] * g_v                        # (5)
            g_i = v_scale * g_v + alpha * keep[t] * g_i               # (6)
            grad_c[t] = g_i
        grad_tim = None
        if has_tim and ctx.needs_input_grad[1]:                       # (8)
            grad_tim = torch.empty_like(s)
            e1 = torch.zeros_like(s[0])
            e2 = torch.zeros_like(s[0])
            half_next = torch.zeros_like(s[0])
            for t in range(T - 1, -1, -1):
                half = 0.5 * dv[t]
                e1 = keep[t] * (half_next + beta * e1) - beta * half
                e2 = alpha * keep[t] * e2 - v_scale * alpha * half + v_scale * e1
                grad_tim[t] = e2
                half_next = half
        return grad_c, grad_tim, None, None, None, None, None, None, None, None


class AntlrLIF(nn.Module):
    r"""The ANTLR paper's neuron: LIF with a synaptic current, both reset to zero after a spike.

    Args:
        alpha: synaptic-current decay per step, :math:`e^{-dt/\tau_s}`, in [0, 1).
        beta: membrane decay per step, :math:`e^{-dt/\tau_m}`, in [0, 1] (1: non-leaky).
        threshold: firing threshold (the paper uses 1).
        beta_v: input scale :math:`\beta_V` of eq. (2); ``"auto"`` makes one unit input spike
            peak at 1.
        surrogate: ``"exp"`` (the paper's :math:`e^{-3|x|}`), another name from
            :mod:`snnlab.surrogate`, or a :class:`~snnlab.surrogate.Surrogate`.
        vdot_min: lower clamp of the estimated slope :math:`\dot V` (timing route only).

    ``simulate`` runs the activation route only (plain BPTT); the ANTLR rules call
    :meth:`routes` (through :func:`snnlab.rules.antlr.forward_antlr`) to get the timing route
    too.
    """

    kind = "antlr_lif"

    def __init__(self, alpha: float = 0.9, beta: float = 0.9, threshold: float = 1.0,
                 beta_v="auto", surrogate="exp", surrogate_scale: float | None = None,
                 vdot_min: float = 0.01, **ignored):
        super().__init__()
        unknown = set(ignored) - {"reset", "detach_reset"}
        if unknown:
            raise TypeError(f"AntlrLIF got unexpected arguments {sorted(unknown)}")
        self.alpha = check_float("alpha", alpha, low=0.0, high=1.0, high_open=True)
        self.beta = check_float("beta", beta, low=0.0, high=1.0)  # 1: non-leaky (ttfs)
        self.threshold = check_float("threshold", threshold, low=0.0, low_open=True)
        if isinstance(beta_v, str):
            check_choice("beta_v", beta_v, ("auto",))
            self.v_scale = _auto_v_scale(self.alpha, self.beta)
        else:
            self.v_scale = check_float("beta_v", beta_v, low=0.0, low_open=True)
        if isinstance(surrogate, str) and surrogate == "exp":
            self.surrogate = ExpSurrogate(3.0 if surrogate_scale is None else surrogate_scale)
        else:
            self.surrogate = S.get(surrogate, surrogate_scale)
        self.vdot_min = check_float("vdot_min", vdot_min, low=0.0, low_open=True)
        self.fused = True

    def routes(self, current, lam_act=1.0, lam_tim=0.0, current_tim=None):
        """``(spikes, z, membrane)`` with the given mix of routes in the backward pass.

        ``z`` is the timing handle (value 0; its gradient is dL/dt at each step): give the
        layer above ``current_tim = W z`` (see :func:`snnlab.rules.antlr.forward_antlr`) so that
        the timing error reaches this layer, or build a loss on it at the output."""
        return _AntlrSequence.apply(current, current_tim, self.alpha, self.beta, self.v_scale,
                                    self.threshold, self.surrogate, float(lam_act),
                                    float(lam_tim), self.vdot_min)

    def simulate(self, current: torch.Tensor, v0=None):
        """``(spikes, membrane)`` over ``current [T, B, ...]``, membrane before the reset."""
        if v0 is not None:
            raise ValueError("AntlrLIF starts from rest; v0 is not supported")
        if self.fused:
            s, _, v = self.routes(current)
            return s, v
        state = self.init_state(current[0])
        spikes, membrane = [], []
        for c_t in current.unbind(0):
            s, state = self.advance(c_t, state)
            spikes.append(s)
            membrane.append(state[1])
        return torch.stack(spikes), torch.stack(membrane)

    def forward(self, current):
        return self.simulate(current)[0]

    def init_state(self, like):
        z = torch.zeros_like(like)
        return (z, z.clone(), z.clone())

    def advance(self, current, state):
        """One step of (1)-(3), plain autograd with the reset gate detached.
        ``state = (I, V, s_prev)``; returns ``(spikes, new_state)``."""
        i, v, s_prev = state
        keep = 1.0 - s_prev.detach()
        i = self.alpha * keep * i + current
        v = self.beta * keep * v + self.v_scale * i
        s = self.surrogate(v - self.threshold)
        return s, (i, v, s)

    def extra_repr(self) -> str:
        return (f"alpha={self.alpha:g}, beta={self.beta:g}, beta_v={self.v_scale:.4g}, "
                f"threshold={self.threshold:g}, surrogate={self.surrogate}")

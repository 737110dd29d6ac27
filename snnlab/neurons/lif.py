"""LIF, IF and LIF with a synaptic current: they own parameters and call the pure dynamics in
:mod:`snnlab.functional`.

Every neuron offers the same three ways to run, so each learning rule picks what it needs:

* ``neuron(current)`` - the whole sequence ``[T, B, ...] -> spikes [T, B, ...]`` (fused loop);
* ``neuron.simulate(current)`` - ``(spikes, membrane)``, the membrane taken before the reset;
* ``neuron.advance(current_t, state)`` - one time step with explicit state (online rules).

Setting ``neuron.fused = False`` swaps the fused loop for the unrolled reference; tests use it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import functional as F
from .. import surrogate as S
from .._checks import check_choice, check_float

__all__ = ["LIF", "IF", "SynapticLIF"]


class LIF(nn.Module):
    r"""Leaky integrate-and-fire neuron, eqs. (1)-(3) of :mod:`snnlab.functional`.

    Args:
        beta: membrane decay per step, :math:`e^{-dt/\tau_m}`, in (0, 1].
        threshold: firing threshold :math:`\vartheta > 0`.
        reset: ``"subtract"`` (soft), ``"zero"`` (hard) or ``"none"``.
        surrogate: name or :class:`~snnlab.surrogate.Surrogate` (default fast sigmoid, scale 25).
        surrogate_scale: sharpness of the surrogate when given by name.
        detach_reset: stop the gradient through the reset (default, as snnTorch).
        learn_beta: make the decay a trainable parameter (PLIF, Fang et al. 2021), kept in (0, 1)
            by a sigmoid; ``beta_shape`` (e.g. ``(n,)``) gives one decay per neuron.
    """

    kind = "lif"

    def __init__(self, beta: float = 0.9, threshold: float = 1.0, reset: str = "subtract",
                 surrogate="fast_sigmoid", surrogate_scale: float | None = None,
                 detach_reset: bool = True, learn_beta: bool = False,
                 beta_shape: tuple[int, ...] = ()):
        super().__init__()
        beta = check_float("beta", beta, low=0.0, high=1.0, low_open=True)
        self.threshold = check_float("threshold", threshold, low=0.0, low_open=True)
        self.reset_mode = check_choice("reset", reset, F.RESETS)
        self.surrogate = S.get(surrogate, surrogate_scale)
        self.detach_reset = bool(detach_reset)
        self.fused = True
        if learn_beta:
            b = min(beta, 1 - 1e-4)
            self.beta_logit = nn.Parameter(torch.full(tuple(beta_shape), math.log(b / (1 - b))))
        else:
            self.register_buffer("beta_logit", None)
            self._beta = beta

    @property
    def beta(self):
        """The decay: a float, or a tensor in (0, 1) when learnable."""
        if self.beta_logit is not None:
            return torch.sigmoid(self.beta_logit)
        return self._beta

    # -- the three ways to run -------------------------------------------------------------
    def simulate(self, current: torch.Tensor, v0=None):
        """Run over ``current [T, B, ...]``; return ``(spikes, membrane)``."""
        fn = F.lif_sequence if self.fused else F.lif_sequence_reference
        return fn(current, beta=self.beta, threshold=self.threshold, reset_mode=self.reset_mode,
                  detach_reset=self.detach_reset, surrogate=self.surrogate, v0=v0)

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        return self.simulate(current)[0]

    def init_state(self, like: torch.Tensor):
        return torch.zeros_like(like)

    def advance(self, current: torch.Tensor, state):
        """One step; ``state`` from :meth:`init_state`. Returns ``(spikes, new_state)``."""
        return F.lif_step(current, state, beta=self.beta, threshold=self.threshold,
                          reset_mode=self.reset_mode, detach_reset=self.detach_reset,
                          surrogate=self.surrogate)

    def extra_repr(self) -> str:
        beta = "learnable" if self.beta_logit is not None else f"{self._beta:g}"
        return (f"beta={beta}, threshold={self.threshold:g}, reset={self.reset_mode!r}, "
                f"surrogate={self.surrogate}")


class IF(LIF):
    """Integrate-and-fire: LIF without leak (``beta = 1``); the neuron of ANN-to-SNN conversion."""

    kind = "if"

    def __init__(self, threshold: float = 1.0, reset: str = "subtract",
                 surrogate="fast_sigmoid", surrogate_scale: float | None = None,
                 detach_reset: bool = True, **_ignored_beta):
        if set(_ignored_beta) - {"beta"}:
            raise TypeError(f"IF got unexpected arguments {sorted(set(_ignored_beta) - {'beta'})}")
        super().__init__(1.0, threshold, reset, surrogate, surrogate_scale, detach_reset)


class SynapticLIF(LIF):
    r"""LIF driven by an exponentially decaying synaptic current, eq. (4): ``alpha`` =
    :math:`e^{-dt/\tau_s}` in [0, 1). The PSP becomes a difference of exponentials."""

    kind = "lif_syn"

    def __init__(self, alpha: float = 0.8, beta: float = 0.9, **kw):
        super().__init__(beta, **kw)
        self.alpha = check_float("alpha", alpha, low=0.0, high=1.0, high_open=True)

    def simulate(self, current, v0=None):
        if self.fused:
            i = F.leaky_integrate(current, self.alpha)
        else:
            i = F.leaky_integrate_reference(current, self.alpha)
        return super().simulate(i, v0)

    def init_state(self, like):
        return (torch.zeros_like(like), torch.zeros_like(like))

    def advance(self, current, state):
        return F.lif_syn_step(current, state, alpha=self.alpha, beta=self.beta,
                              threshold=self.threshold, reset_mode=self.reset_mode,
                              detach_reset=self.detach_reset, surrogate=self.surrogate)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}, " + super().extra_repr()

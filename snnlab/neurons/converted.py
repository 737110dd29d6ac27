"""The neuron of ANN-to-SNN conversion (:mod:`snnlab.conversion`): IF with an initial membrane."""

from __future__ import annotations

import torch

from .._checks import check_float
from .lif import IF

__all__ = ["ConvertedIF"]


class ConvertedIF(IF):
    """IF neuron with reset by subtraction and an initial membrane ``v0`` (a fraction of the
    threshold; QCFS uses 1/2). ``beta`` is accepted and ignored so that a converted network's
    config can ask :func:`snnlab.models.mlp` for a leak-free (``beta = 0``) mean-current
    readout."""

    kind = "if_conv"

    def __init__(self, threshold: float = 1.0, v0: float = 0.0, reset: str = "subtract",
                 surrogate="fast_sigmoid", surrogate_scale: float | None = None,
                 detach_reset: bool = True, beta: float | None = None):
        super().__init__(threshold, reset, surrogate, surrogate_scale, detach_reset)
        self.v0 = check_float("v0", v0, low=0.0, high=1.0)

    def simulate(self, current, v0=None):
        if v0 is None and self.v0 != 0.0:
            v0 = torch.full_like(current[0], self.v0 * self.threshold)
        return super().simulate(current, v0)

    def init_state(self, like):
        return torch.full_like(like, self.v0 * self.threshold)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold:g}, v0={self.v0:g}*threshold, reset={self.reset_mode!r}"

r"""Spike functions with surrogate gradients.

The spike is a Heaviside step of the membrane potential's distance to threshold,
:math:`s = H(u - \vartheta)`. Its true derivative is zero everywhere except at the threshold,
where it is infinite, so gradient descent through it learns nothing. A *surrogate* keeps the
exact step in the forward pass and replaces :math:`H'(x)` by a smooth bump :math:`\sigma'(x)` in
the backward pass (Neftci, Mostafa & Zenke 2019).

Each surrogate is a tiny class with one method, :meth:`Surrogate.derivative`, and a ``scale``
that sets how sharp the bump is. Calling a surrogate applies :class:`SpikeFunction`, the one
autograd Function they share. The fused time loops in :mod:`snnlab.neurons` call ``derivative``
directly, so the same shapes serve both paths.

Conventions follow snnTorch where it has the same surrogate, so gradients can be compared:
``FastSigmoid(25)`` is ``snntorch.surrogate.fast_sigmoid(slope=25)`` and ``ATan(2)`` is
``snntorch.surrogate.atan(alpha=2)``.
"""

from __future__ import annotations

import abc
import math

import torch

from ._checks import check_choice, check_float

__all__ = [
    "Surrogate",
    "FastSigmoid",
    "ATan",
    "Triangle",
    "Rectangle",
    "SpikeFunction",
    "get",
    "available",
]


class Surrogate(abc.ABC):
    """Base class: ``surrogate(x)`` is ``H(x)`` forward and ``derivative(x)`` backward."""

    name = "base"

    def __init__(self, scale: float):
        self.scale = check_float("scale", scale, low=0.0, low_open=True)

    @abc.abstractmethod
    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate's derivative at ``x`` (a new tensor)."""

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        """Same, overwriting ``x`` (saves an allocation in the fused backward pass)."""
        return x.copy_(self.derivative(x))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return SpikeFunction.apply(x, self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale:g})"


class FastSigmoid(Surrogate):
    r""":math:`\sigma'(x) = 1 / (k|x| + 1)^2` (SuperSpike, Zenke & Ganguli 2018)."""

    name = "fast_sigmoid"

    def __init__(self, scale: float = 25.0):
        super().__init__(scale)

    def derivative(self, x):
        return 1.0 / (self.scale * x.abs() + 1.0) ** 2

    def derivative_(self, x):
        return x.abs_().mul_(self.scale).add_(1.0).pow_(-2)


class ATan(Surrogate):
    r""":math:`\sigma'(x) = (k/2) / (1 + (\pi k x / 2)^2)`, the derivative of
    :math:`\tfrac{1}{\pi}\arctan(\pi k x/2) + \tfrac12` (Fang et al. 2021)."""

    name = "atan"

    def __init__(self, scale: float = 2.0):
        super().__init__(scale)

    def derivative(self, x):
        return (self.scale / 2.0) / (1.0 + (math.pi / 2.0 * self.scale * x) ** 2)

    def derivative_(self, x):
        return x.mul_(math.pi / 2.0 * self.scale).square_().add_(1.0).reciprocal_().mul_(
            self.scale / 2.0)


class Triangle(Surrogate):
    r""":math:`\sigma'(x) = k\,\max(0, 1 - k|x|)`: a triangle of half-width 1/k and area 1
    (Esser et al. 2016 use k = 1 with a unit threshold)."""

    name = "triangle"

    def __init__(self, scale: float = 1.0):
        super().__init__(scale)

    def derivative(self, x):
        return self.scale * torch.clamp(1.0 - self.scale * x.abs(), min=0.0)

    def derivative_(self, x):
        return x.abs_().mul_(-self.scale).add_(1.0).clamp_(min=0.0).mul_(self.scale)


class Rectangle(Surrogate):
    r""":math:`\sigma'(x) = k\,[|x| < 1/(2k)]`: a box of width 1/k and area 1 (Wu et al. 2018)."""

    name = "rectangle"

    def __init__(self, scale: float = 1.0):
        super().__init__(scale)

    def derivative(self, x):
        return self.scale * (x.abs() < 0.5 / self.scale).to(x.dtype)


class SpikeFunction(torch.autograd.Function):
    """Heaviside forward (``x > 0``), ``surrogate.derivative(x)`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.surrogate.derivative(x), None


_REGISTRY = {cls.name: cls for cls in (FastSigmoid, ATan, Triangle, Rectangle)}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str | Surrogate = "fast_sigmoid", scale: float | None = None) -> Surrogate:
    """Look a surrogate up by name (``fast_sigmoid``, ``atan``, ``triangle``, ``rectangle``)."""
    if isinstance(name, Surrogate):
        return name
    cls = _REGISTRY[check_choice("surrogate", name, _REGISTRY)]
    return cls() if scale is None else cls(scale)

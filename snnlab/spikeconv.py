r"""A conv synapse followed by average pooling, run as one strided convolution.

A spiking conv layer's synapse is often ``Conv2d(k, stride 1) -> AvgPool2d(p)``. Both are
linear, so their composition is one convolution: averaging the conv's outputs over a ``p x p``
window is the same as convolving once with the kernel *box-filtered* by that window,

.. math::

    \tilde W[o, i, r, c] = \frac{1}{p_h p_w} \sum_{a < p_h,\; b < p_w} W[o, i, r - a, c - b]
    \qquad (\text{size } (k_h + p_h - 1) \times (k_w + p_w - 1)),

applied with stride ``p`` and the conv's own padding (the bias passes through unchanged: the
average of a constant is the constant). The output has exactly the pooled shape,
``floor((H + 2 pad - k + 1) / p)``, for every input size. Only the pooled positions are computed:
``(k + p - 1)^2 / p^2`` multiply-adds per input pixel instead of ``k^2`` (4 instead of 9 for the
usual 3x3 conv and 2x2 pool), and no full-resolution map is written, read back by the pool, or
kept for backward. The weight gradient flows back through the box filter by autograd. The
result equals ``pool(conv(x))`` up to float32 rounding (the sums are taken in another order).

On the CPU this is most of a conv SNN's training step: PyTorch's ``avg_pool2d`` and its backward
on NCHW maps are slow, and ``Conv2d`` with one input channel (MNIST) is too; see
``benchmarks/bench_conv.py``.

:class:`ConvPool` is an ``nn.Sequential`` of the two modules (same children, same
``state_dict`` keys as ``nn.Sequential(conv, pool)``) whose forward takes this route whenever it
is the same function: a plain ``Conv2d`` (stride 1, no dilation, zero padding; weight
parametrizations are fine) then an ``AvgPool2d`` with window = stride, no padding, floor mode,
no divisor override, and no forward hooks on either (a hook on the conv's output, such as a
chip's read noise, must see the full-resolution map). Otherwise, or with ``fused = False``
(what :meth:`snnlab.models.SpikingNet.set_fused` sets for tests), it runs the two modules.
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["ConvPool", "fusable", "pooled_kernel", "conv_avgpool"]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _hooked(m: nn.Module) -> bool:
    return bool(m._forward_hooks or m._forward_pre_hooks)


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether ``pool(conv(x)) == conv_avgpool(x, conv, pool)`` (up to float rounding)."""
    conv_type = (parametrize.type_before_parametrizations(conv)
                 if parametrize.is_parametrized(conv) else type(conv))
    if conv_type is not nn.Conv2d or type(pool) is not nn.AvgPool2d:
        return False
    if (_hooked(conv) or _hooked(pool) or nn.modules.module._global_forward_hooks
            or nn.modules.module._global_forward_pre_hooks):
        return False
    if (isinstance(conv.padding, str) or conv.padding_mode != "zeros"
            or _pair(conv.stride) != (1, 1) or _pair(conv.dilation) != (1, 1)):
        return False
    stride = pool.stride if pool.stride is not None else pool.kernel_size
    return (_pair(pool.kernel_size) == _pair(stride) and _pair(pool.padding) == (0, 0)
            and not pool.ceil_mode and pool.divisor_override is None)


def pooled_kernel(weight: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
    """The conv kernel box-filtered by the ``pool`` window and divided by its size (the
    module docstring's :math:`\\tilde W`): ``[O, I, kh, kw] -> [O, I, kh + ph - 1, kw + pw - 1]``.
    Differentiable (the weight gradient flows back through it)."""
    ph, pw = pool
    out = None
    for a in range(ph):
        for b in range(pw):
            shifted = TF.pad(weight, (b, pw - 1 - b, a, ph - 1 - a))
            out = shifted if out is None else out + shifted
    return out * (1.0 / (ph * pw)) if ph * pw > 1 else out


def conv_avgpool(x: torch.Tensor, conv: nn.Conv2d, pool: nn.AvgPool2d) -> torch.Tensor:
    """``pool(conv(x))`` as one strided convolution (``fusable(conv, pool)`` must hold)."""
    p = _pair(pool.kernel_size)
    return TF.conv2d(x, pooled_kernel(conv.weight, p), conv.bias, stride=p,
                     padding=_pair(conv.padding), groups=conv.groups)


class ConvPool(nn.Sequential):
    """``nn.Sequential(conv, pool)`` that runs as one strided conv when that is the same
    function (see the module docstring). ``fused = False`` runs the two modules."""

    def __init__(self, conv: nn.Module, pool: nn.Module):
        super().__init__(conv, pool)
        self.fused = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, pool = self[0], self[1]
        if self.fused and x.dim() in (3, 4) and fusable(conv, pool):
            return conv_avgpool(x, conv, pool)
        return pool(conv(x))

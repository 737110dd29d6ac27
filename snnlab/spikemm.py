"""The synapse of a spiking layer as an integer matmul: spikes are 0 or 1.

A layer's synaptic current is ``I = x W^T + b`` with ``x`` the input spikes of all T steps,
``[T*B, n_in]``. Because every entry of ``x`` is 0 or 1, no multiply is needed: the synapse only
adds up the weights of the inputs that fired (an *accumulate*, the AC of :mod:`snnlab.metrics`).
CPUs with 8-bit dot-product instructions (x86 VNNI, ARM dot-product) do integer multiply-adds
several times faster than float32 ones, so for a large layer it pays to hand them the spikes as
``int8`` and the weights as integers too:

1. **Block floating point.** Each output neuron's weights share one scale,
   ``W[j, k] = s_j q[j, k]`` with ``q`` an integer of 24 bits (``|q| < 2^23``), the width of a
   float32 mantissa; ``s_j = max_k |W[j, k]| / (2^23 - 4)`` (a margin for the rounding of ``s_j``).
2. **Bytes.** ``u = q + 2^23`` lies in ``[0, 2^24)``, three unsigned bytes
   ``u = u_0 + 256 u_1 + 65536 u_2``; as signed bytes ``d_i = u_i - 128``.
3. **Exact integer matmuls.** ``x q^T = sum_i 256^i (x d_i^T) + 32896 rowsum(x)``, with every
   ``x d_i^T`` summed exactly in int32 (one ``torch._int_mm`` on the three byte planes).
4. Back to float32: ``I = s * (x q^T) + b``.

The weight gradient ``dL/dW = G^T x`` (``G = dL/dI``, float) gets the same treatment with ``G``
in block floating point per output neuron; the input gradient ``G W`` stays a float32 matmul.
Besides rounding the result to float32, the only approximation is that of ``W`` and ``G`` to
24-bit block floating point, an error of at most ``2^-24 max|W_j|`` per weight: the same order as
float32 itself (tests/test_spikemm.py checks it against float64).

:func:`spike_linear` is what :func:`snnlab.functional.over_time` calls for an ``nn.Linear`` synapse;
it falls back to ``F.linear`` unless the input is integer-valued in [-128, 127] (spikes, spike
counts), float32 on the CPU, the layer is large enough to gain, and a timing probe (run once per
machine, its verdict kept in snnlab's private per-user directory, see :mod:`snnlab._native`)
found int8 matmuls faster here. Floating input of another precision than the weights is cast to
theirs first.
``SNNLAB_INT8_SPIKES=0`` (or ``set_enabled(False)``) turns it off.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time

import torch
import torch.nn.functional as F

from . import _native

__all__ = ["spike_linear", "int8_linear", "is_integer_valued", "set_enabled", "enabled",
           "MIN_MACS"]

QMAX = float(2 ** 23 - 4)  # |q| <= QMAX < 2^23 even after float32 rounding of the scale
OFFSET = float(2 ** 23)  # u = q + OFFSET lies in [1, 2^24 - 1]: three unsigned bytes
FLIP = 0x808080  # u_i -> u_i - 128 in each of the three low bytes (as signed bytes)
BYTE_BIAS = 128 * (1 + 256 + 65536) - 2 ** 23  # = 32896: sum_i 256^i d_i = q - BYTE_BIAS
MIN_MACS = 2 ** 28  # below ~3e8 multiply-adds the conversions cost more than they save
MAX_SUM = 2 ** 17  # int32 sums of up to 2^17 products of two int8 (|.| <= 2^14) cannot overflow

_state = {"enabled": os.environ.get("SNNLAB_INT8_SPIKES", "1") != "0", "faster": None}


def set_enabled(flag: bool) -> None:
    """Turn the int8 path on (default) or off for this process."""
    _state["enabled"] = bool(flag)


def enabled() -> bool:
    """Whether large spike-input synapses may use the int8 path on this machine.

    The answer comes from a timing probe run once per machine and PyTorch version and kept in
    snnlab's private per-user directory, so that every later process (and every rerun of a
    seeded experiment) takes the same path."""
    if not _state["enabled"] or sys.byteorder != "little":
        return False
    if _state["faster"] is None:
        _state["faster"] = _cached_probe()
    return _state["faster"]


def _cached_probe() -> bool:
    """The probe's verdict, kept in snnlab's private per-user directory (never the data cache,
    which may be shared: a planted verdict would change which path every run takes)."""
    key = hashlib.sha256(f"{_native.cpu_tag()}|{torch.__version__}".encode()).hexdigest()[:16]
    name = f"int8-probe-{key}.txt"
    kept = _native.read_private(name)
    if kept is not None and kept.strip() in ("faster", "slower"):
        return kept.strip() == "faster"
    faster = _probe()
    _native.write_private(name, "faster" if faster else "slower")  # no trusted place: not kept
    return faster


def _probe(reps: int = 3) -> bool:
    """Is an int8 matmul of three byte planes faster than one float32 matmul here?"""
    if not hasattr(torch, "_int_mm"):
        return False
    try:
        a8 = torch.ones(512, 512, dtype=torch.int8)
        b8 = torch.ones(512, 3 * 512, dtype=torch.int8)
        a, b = torch.ones(512, 512), torch.ones(512, 512)

        def best(f):
            f()
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
            return min(ts)

        return best(lambda: torch._int_mm(a8, b8)) * 1.5 < best(lambda: a @ b)
    except RuntimeError:  # no int8 kernel for this CPU or build
        return False


def is_integer_valued(x: torch.Tensor, x8: torch.Tensor | None = None) -> bool:
    """Whether every entry of ``x`` is an integer in [-128, 127] (so ``int8`` holds it exactly)."""
    if x8 is None:
        x8 = x.to(torch.int8)
    return torch.equal(x8.to(x.dtype), x)


def _to_bytes(v: torch.Tensor, dim: int):
    """Block floating point along ``dim`` (one scale per slice) and the three signed byte planes.

    Returns ``(planes, scale)``: ``planes[..., i]`` (int8, a new last axis) are the ``d_i`` with
    ``v ~= scale * (sum_i 256^i d_i + BYTE_BIAS)``; None if ``v`` holds a NaN or an infinity
    (no integer stands for those: the caller falls back to float32, which propagates them)."""
    v = v.contiguous()
    scale = v.abs().amax(dim, keepdim=True).div_(QMAX)  # eq. (1)
    if not bool(torch.isfinite(scale).all()):
        return None
    scale.clamp_(min=torch.finfo(v.dtype).tiny)  # an all-zero slice: any scale will do
    u = torch.div(v, scale).round_().add_(OFFSET).to(torch.int32)  # eq. (2): u in [1, 2^24)
    u.bitwise_xor_(FLIP)  # bytes u_i - 128, read as signed
    planes = u.reshape(-1).view(torch.int8).view(*v.shape, 4)[..., :3]  # little-endian bytes
    return planes, scale


def _row_major(t: torch.Tensor) -> torch.Tensor:
    """``t`` with strides ``(n_cols, 1)`` exactly (``_int_mm`` misreads the ambiguous strides a
    size-1 dimension may carry), copying only when needed."""
    if t.stride() == (t.shape[1], 1):
        return t
    return torch.empty(t.shape, dtype=t.dtype, device=t.device).copy_(t)


def _combine(o: torch.Tensor, n: int, offset_rows: torch.Tensor) -> torch.Tensor:
    """``o = [x d_0 | x d_1 | x d_2]`` (int32, blocks of ``n`` columns) -> ``x q`` as float32."""
    acc = o[:, 2 * n:].to(torch.float32)  # Horner: ((o2) 256 + o1) 256 + o0
    acc = torch.add(o[:, n:2 * n], acc, alpha=256)
    acc = torch.add(o[:, :n], acc, alpha=256)
    return acc.add_(offset_rows.unsqueeze(1), alpha=BYTE_BIAS)


def int8_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                x8: torch.Tensor | None = None) -> torch.Tensor:
    """``x W^T + b`` through exact int8 matmuls; ``x`` must be integer-valued in [-128, 127]
    (not checked here: see :func:`spike_linear`). ``[M, K] -> [M, N]``."""
    if x8 is None:
        x8 = x.detach().to(torch.int8)
    return _Int8LinearFn.apply(x, _row_major(x8), weight, bias)


class _Int8LinearFn(torch.autograd.Function):
    """``x`` is passed only so that autograd routes its gradient; the matmuls use ``x8``."""

    @staticmethod
    def forward(ctx, x, x8, weight, bias):
        K, N = weight.shape[1], weight.shape[0]
        packed = _to_bytes(weight.detach().t(), 0)  # W^T per output neuron: [K, N, 3]
        if packed is None:
            out = F.linear(x8.to(weight.dtype), weight.detach(), bias)
        else:
            planes, s = packed
            b_op = planes.permute(0, 2, 1).contiguous().view(K, 3 * N)
            o = torch._int_mm(x8, b_op)  # eq. (3), exact in int32
            rows = x8.sum(1, dtype=torch.int32).to(torch.float32)
            out = _combine(o, N, rows).mul_(s)  # eq. (4)
            if bias is not None:
                out.add_(bias)
        ctx.save_for_backward(x8, weight)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    def backward(ctx, g):
        x8, weight = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[2]:
            g = g.contiguous()
            M, N = g.shape
            packed = _to_bytes(g, 0)  # G per output neuron: [M, N, 3], s [1, N]
            if packed is None:
                grad_w = g.t() @ x8.to(g.dtype)
            else:
                planes, s = packed
                g_op = planes.permute(0, 2, 1).contiguous().view(M, 3 * N)
                xt = x8.t() if min(x8.shape) > 1 else _row_major(x8.t())  # transposed view: ok
                o = torch._int_mm(xt, g_op)  # x^T [d_0 | d_1 | d_2]: [K, 3N], exact
                cols = x8.sum(0, dtype=torch.int32).to(torch.float32)
                grad_w = _combine(o, N, cols).mul_(s).t()  # dL/dW = (x^T G)^T: [N, K]
        if ctx.has_bias and ctx.needs_input_grad[3]:
            grad_b = g.sum(0)
        if ctx.needs_input_grad[0]:
            grad_x = g @ weight
        return grad_x, None, grad_w, grad_b


def spike_linear(x: torch.Tensor, weight: torch.Tensor,
                 bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` for a 2-D input, through :func:`int8_linear` when that is
    exact and faster (see the module docstring), else ``F.linear`` itself.

    Floating ``x`` of another precision than ``weight`` (float64 or float16 input to a float32
    layer) is cast to the weight's dtype first, as :meth:`snnlab.models.SpikingNet.forward`
    does, rather than failing inside the matmul with a dtype error (under autocast, which
    picks the precision itself, nothing is cast)."""
    if (x.is_floating_point() and weight.is_floating_point() and x.dtype != weight.dtype
            and not torch.is_autocast_enabled(x.device.type)):
        x = x.to(weight.dtype)
    if (x.dim() == 2 and x.dtype == torch.float32 and x.device.type == "cpu"
            and weight.dtype == torch.float32
            and x.shape[0] * x.shape[1] * weight.shape[0] >= MIN_MACS
            and max(x.shape) < MAX_SUM and enabled()):
        x8 = x.detach().to(torch.int8)
        if is_integer_valued(x.detach(), x8):
            return int8_linear(x, weight, bias, x8)
    return F.linear(x, weight, bias)

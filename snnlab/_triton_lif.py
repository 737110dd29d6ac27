"""The fused LIF time loop of :mod:`snnlab.functional` as Triton kernels, for CUDA float32.

Same equations as ``functional._LIFSequence`` (forward eqs. 1-3, backward the adjoint eq. 5):
one program per block of neurons, the loop over T inside it, so the membrane stays in registers
and every step costs one read of the input and one write of ``u`` and ``s`` - instead of 3-4
PyTorch kernel launches per step (forward) and per step plus whole-tensor passes (backward).

Float operations follow the PyTorch-ops path op by op: floating-point contraction is switched off
(``enable_fp_fusion=False``) and the fused multiply-adds that PyTorch's CUDA kernels use (``add``
with ``alpha``, ``addcmul``) are written as ``tl.fma``; divisions are IEEE-rounded
(``div_rn``). Forward spikes and membranes, and the gradient of the common resets (subtract with
detached reset, none), are therefore expected to be bit-identical to the ops path on the GPU; the
other resets' gradients agree to float32 rounding (PyTorch's ``addcmul`` may associate its
product differently). ``tests/test_gpu.py`` checks both on a GPU, ``tests/test_triton.py`` the
same kernels through Triton's interpreter on the CPU.

Used by :func:`snnlab.functional.lif_sequence` when the input is a CUDA float32 tensor, the decay
a scalar, the surrogate one of the four built-in shapes, Triton importable and the environment
variable ``SNNLAB_NO_TRITON`` unset (see :func:`usable`). Triton is an optional dependency:
importing this module does not import it.
"""

from __future__ import annotations

import math
import os

import torch

from .surrogate import ATan, FastSigmoid, Rectangle, Surrogate, Triangle

__all__ = ["available", "usable", "lif_sequence", "RESET_CODE", "SURROGATE_CODE"]

RESET_CODE = {"subtract": 0, "zero": 1, "none": 2}
# surrogate code and its two float parameters, as the op-by-op derivative_ methods use them
# (exact classes only: a subclass may redefine the derivative)
SURROGATE_CODE = {
    FastSigmoid: lambda k: (0, k, 0.0),
    ATan: lambda k: (1, math.pi / 2.0 * k, k / 2.0),
    Triangle: lambda k: (2, -k, k),
    Rectangle: lambda k: (3, 0.5 / k, k),
}
BLOCK = 512
NUM_WARPS = 4

triton = tl = None  # imported by _build, on first use
_KERNELS = None  # (forward, backward) once Triton imported; False if it cannot be


def available() -> bool:
    """Whether Triton imports (cached; the first call pays Triton's import)."""
    return bool(_kernels())


def usable(current: torch.Tensor, v0, beta, surrogate: Surrogate, reset_mode: str) -> bool:
    """Whether :func:`lif_sequence` applies to these arguments (else use the PyTorch path)."""
    return (current.is_cuda and current.dtype == torch.float32
            and not isinstance(beta, torch.Tensor)
            and type(surrogate) in SURROGATE_CODE and reset_mode in RESET_CODE
            and current.dim() >= 1
            and (v0 is None or (isinstance(v0, torch.Tensor) and v0.dtype == torch.float32
                                and v0.device == current.device
                                and v0.shape == current.shape[1:]))
            and not os.environ.get("SNNLAB_NO_TRITON")
            and available())


def _kernels():
    global _KERNELS
    if _KERNELS is None:
        try:
            _KERNELS = _build()
        except Exception:  # not installed, or no usable backend
            _KERNELS = False
    return _KERNELS


def _build():
    # module globals, not closure variables: Triton resolves a kernel's names in its globals
    global triton, tl
    import triton
    import triton.language as tl

    @triton.jit
    def lif_fwd(cur, cur_stride, u, s, v0, T, n, beta, theta,
                RESET: tl.constexpr, HAS_V0: tl.constexpr, BLOCK: tl.constexpr):
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        if HAS_V0:
            v = tl.load(v0 + offs, mask=mask, other=0.0)
        else:
            v = tl.zeros((BLOCK,), dtype=tl.float32)
        pc = cur + offs
        pu = u + offs
        ps = s + offs
        for _ in range(0, T):
            i_t = tl.load(pc, mask=mask, other=0.0)
            u_t = tl.fma(v, beta, i_t)                       # (1) torch.add(i, v, alpha=beta)
            spike = u_t > theta                              # (2)
            s_t = tl.where(spike, 1.0, 0.0)
            tl.store(pu, u_t, mask=mask)
            tl.store(ps, s_t, mask=mask)
            if RESET == 0:
                v = tl.where(spike, u_t - theta, u_t)        # (3a) u - theta s, s in {0, 1}
            elif RESET == 1:
                v = tl.where(spike, 0.0, u_t)                # (3b) u (1 - s)
            else:
                v = u_t
            pc += cur_stride
            pu += n
            ps += n

    @triton.jit
    def lif_bwd(u_last, s_last, gs_last, gs_stride, g_last, T, n, beta, theta, p1, p2,
                SURR: tl.constexpr, DVDU: tl.constexpr, BLOCK: tl.constexpr):
        # DVDU, the kind of dv[t]/du[t]: 0 one (subtract detached, none), 1 1 - theta sigma'
        # (subtract), 2 1 - s (zero detached), 3 1 - s - u sigma' (zero)
        # pointers start at step T-1 and walk backwards
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        pu = u_last + offs
        ps = s_last + offs
        pgs = gs_last + offs
        pg = g_last + offs
        g_next = tl.zeros((BLOCK,), dtype=tl.float32)
        for t in range(0, T):
            u_t = tl.load(pu, mask=mask, other=0.0)
            gs_t = tl.load(pgs, mask=mask, other=0.0)
            x = u_t - theta
            # sigma'(x), op by op as surrogate.py's derivative_ methods compute it
            if SURR == 0:    # FastSigmoid: 1 / (k|x| + 1)^2; p1 = k
                a = tl.abs(x) * p1
                a = a + 1.0
                sg = tl.math.div_rn(tl.full((BLOCK,), 1.0, tl.float32), a * a)
            elif SURR == 1:  # ATan: (k/2) / (1 + (pi/2 k x)^2); p1 = pi/2 k, p2 = k/2
                a = x * p1
                a = a * a
                a = a + 1.0
                sg = tl.math.div_rn(tl.full((BLOCK,), 1.0, tl.float32), a) * p2
            elif SURR == 2:  # Triangle: k max(0, 1 - k|x|); p1 = -k, p2 = k
                a = tl.abs(x) * p1
                a = a + 1.0
                sg = tl.maximum(a, 0.0) * p2
            else:            # Rectangle: k [|x| < 1/(2k)]; p1 = 1/(2k), p2 = k
                sg = tl.where(tl.abs(x) < p1, p2, 0.0)
            g_t = gs_t * sg                                   # g = grad_s * sigma'
            if t > 0:
                if DVDU == 0:                                 # dv/du = 1
                    g_t = tl.fma(g_next, beta, g_t)
                else:
                    if DVDU == 1:                             # 1 - theta sigma'
                        k = sg * (-theta)
                        k = k + 1.0
                    elif DVDU == 2:                           # 1 - s
                        k = 1.0 - tl.load(ps, mask=mask, other=0.0)
                    else:                                     # 1 - s - u sigma'
                        k = -(sg * u_t)
                        k = k + 1.0
                        k = k - tl.load(ps, mask=mask, other=0.0)
                    g_t = tl.fma(k * g_next, beta, g_t)       # addcmul_(k, g_next, value=beta)
            tl.store(pg, g_t, mask=mask)
            g_next = g_t
            pu -= n
            ps -= n
            pgs -= gs_stride
            pg -= n

    return lif_fwd, lif_bwd


def _steps(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``x`` (or a contiguous copy) and the elements between its time steps (0 or one step)."""
    n = math.prod(x.shape[1:])
    if x.shape[0] == 0 or n == 0:
        return x, n
    if x[0].is_contiguous() and (x.shape[0] == 1 or x.stride(0) in (0, n)):
        return x, (x.stride(0) if x.shape[0] > 1 else n)
    return x.contiguous(), n


def _dvdu_kind(reset_mode, detach_reset) -> int:
    """The backward kernel's DVDU: which dv[t]/du[t] the reset gives (see lif_bwd)."""
    if reset_mode == "none" or (reset_mode == "subtract" and detach_reset):
        return 0
    if reset_mode == "subtract":
        return 1
    return 2 if detach_reset else 3


def _grid(n):
    return (max(1, -(-n // BLOCK)),)


class _TritonLIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current, v0, beta, threshold, reset_mode, detach_reset, surrogate):
        fwd, _ = _kernels()
        cur, stride = _steps(current)
        u = torch.empty(current.shape, dtype=current.dtype, device=current.device)
        s = torch.empty_like(u)
        T, n = current.shape[0], math.prod(current.shape[1:])
        if T and n:
            v = v0.contiguous() if v0 is not None else u  # u: an unused dummy pointer
            fwd[_grid(n)](cur, stride, u, s, v, T, n, beta, threshold,
                          RESET=RESET_CODE[reset_mode], HAS_V0=v0 is not None, BLOCK=BLOCK,
                          num_warps=NUM_WARPS, enable_fp_fusion=False)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(u, s)
        ctx.cfg = (beta, threshold, reset_mode, detach_reset, surrogate, v0 is not None)
        ctx.mark_non_differentiable(u)
        return s, u

    @staticmethod
    def backward(ctx, grad_s, _grad_u):
        if grad_s is None:
            return (None,) * 7
        u, s = ctx.saved_tensors
        beta, threshold, reset_mode, detach_reset, surrogate, has_v0 = ctx.cfg
        _, bwd = _kernels()
        gs, stride = _steps(grad_s)
        g = torch.empty_like(u)
        T, n = u.shape[0], math.prod(u.shape[1:])
        if T and n:
            code, p1, p2 = SURROGATE_CODE[type(surrogate)](surrogate.scale)
            bwd[_grid(n)](u[T - 1], s[T - 1], gs[T - 1], stride, g[T - 1], T, n, beta,
                          threshold, p1, p2, SURR=code, DVDU=_dvdu_kind(reset_mode, detach_reset),
                          BLOCK=BLOCK, num_warps=NUM_WARPS, enable_fp_fusion=False)
        grad_v0 = beta * g[0] if has_v0 and ctx.needs_input_grad[1] else None
        return g, grad_v0, None, None, None, None, None


def lif_sequence(current: torch.Tensor, beta: float, threshold: float, reset_mode: str,
                 detach_reset: bool, surrogate: Surrogate, v0: torch.Tensor | None = None):
    """The fused LIF loop in Triton: ``(spikes [T, ...], membrane u [T, ...])``, ``u`` before the
    reset and without gradient. Check :func:`usable` first (float32, scalar ``beta``)."""
    return _TritonLIF.apply(current, v0, float(beta), float(threshold), reset_mode,
                            bool(detach_reset), surrogate)

r"""Pure neuron dynamics: ``(input, state, parameters) -> (spikes, new state)``. No hidden state.

Discrete-time leaky integrate-and-fire (LIF), one step of length dt, in three phases:

.. math::

    u[t] &= \beta\, v[t-1] + I[t]                 && \text{charge (1)} \\
    s[t] &= H(u[t] - \vartheta)                   && \text{fire (2)} \\
    v[t] &= u[t] - \vartheta\, s[t]               && \text{reset by subtraction (3a)} \\
    v[t] &= u[t]\,(1 - s[t])                      && \text{reset to zero (3b)}

with :math:`\beta = e^{-dt/\tau_m}`. :math:`u` is the membrane *before* the reset (what a plot of
the membrane and its threshold shows), :math:`v` the state carried to the next step. IF is
LIF with :math:`\beta = 1`. LIF with a synaptic current first filters the input,
:math:`i[t] = \alpha\, i[t-1] + I[t]` (4), :math:`\alpha = e^{-dt/\tau_s}`, and charges with
:math:`i` instead of :math:`I`.

Two implementations of the whole time loop live here and must agree:

* :func:`lif_sequence_reference` unrolls the steps with ordinary autograd (one graph node per op
  per step): slow, obviously correct, kept for tests and teaching;
* :func:`lif_sequence` runs the loop inside one ``autograd.Function`` that stores only the
  membrane and the spikes and walks the recursion backwards by hand (the adjoint below). On the
  project's 2-core CPU this is what makes BPTT several times faster than a per-step loop. For
  float32 on the CPU the loop itself runs in C (``_lif_kernel.c``, compiled on first use by
  :mod:`snnlab._native`): the same float operations in the same order, so bit-identical results
  without the per-step Python dispatch; PyTorch ops otherwise (GPU, float64, tensor decays).

Backward through (1)-(3), with :math:`\sigma'` the surrogate derivative and
:math:`g_x = \partial L / \partial x`:

.. math::

    g_u[t] = g_s[t]\,\sigma'(u[t]-\vartheta) + \frac{\partial v[t]}{\partial u[t]}\,g_v[t],
    \qquad g_v[t] = \beta\, g_u[t+1], \qquad g_I[t] = g_u[t]  \quad (5)

:math:`\partial v/\partial u` is 1 (subtract, detached reset), :math:`1-\vartheta\sigma'`
(subtract), :math:`1-s` (zero, detached) or :math:`1-s-u\sigma'` (zero). Detaching the reset
(the default, as in snnTorch) is what Zenke & Vogels (2021) found to train best.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import _native, _triton_lif, spikemm
from .surrogate import ATan, FastSigmoid, Rectangle, Surrogate, Triangle

RESETS = ("subtract", "zero", "none")

__all__ = [
    "RESETS",
    "charge",
    "fire",
    "reset",
    "lif_step",
    "lif_syn_step",
    "lif_sequence",
    "lif_sequence_reference",
    "leaky_integrate",
    "leaky_integrate_reference",
    "over_time",
]


# --------------------------------------------------------------------------- single steps
def charge(v: torch.Tensor, current: torch.Tensor, beta) -> torch.Tensor:
    """Eq. (1): leak the carried state and add the input current."""
    return beta * v + current


def fire(u: torch.Tensor, threshold: float, surrogate: Surrogate) -> torch.Tensor:
    """Eq. (2): a spike where the membrane exceeds threshold (surrogate gradient backward)."""
    return surrogate(u - threshold)


def reset(u, s, threshold: float, mode: str = "subtract", detach: bool = True) -> torch.Tensor:
    """Eq. (3): subtract the threshold, or return to zero, where a spike happened."""
    if detach:
        s = s.detach()
    if mode == "subtract":
        return u - threshold * s
    if mode == "zero":
        return u * (1.0 - s)
    return u


def lif_step(current, v, *, beta, threshold=1.0, reset_mode="subtract", detach_reset=True,
             surrogate: Surrogate):
    """One LIF step. Returns ``(spikes, new_v)``; IF is ``beta=1``."""
    u = charge(v, current, beta)
    s = fire(u, threshold, surrogate)
    return s, reset(u, s, threshold, reset_mode, detach_reset)


def lif_syn_step(current, state, *, alpha, beta, threshold=1.0, reset_mode="subtract",
                 detach_reset=True, surrogate: Surrogate):
    """One step of LIF with a synaptic current, eq. (4) then (1)-(3). ``state = (i, v)``."""
    i, v = state
    i = alpha * i + current
    s, v = lif_step(i, v, beta=beta, threshold=threshold, reset_mode=reset_mode,
                    detach_reset=detach_reset, surrogate=surrogate)
    return s, (i, v)


# --------------------------------------------------------------------------- whole sequences
def lif_sequence_reference(current, *, beta, threshold=1.0, reset_mode="subtract",
                           detach_reset=True, surrogate: Surrogate, v0=None):
    """Unrolled LIF over ``current [T, ...]``: plain autograd, one node per op per step.

    Returns ``(spikes [T, ...], membrane u [T, ...])`` where ``u`` is taken before the reset.
    """
    v = torch.zeros_like(current[0]) if v0 is None else v0
    spikes, membrane = [], []
    for i_t in current.unbind(0):
        u = charge(v, i_t, beta)
        s = fire(u, threshold, surrogate)
        v = reset(u, s, threshold, reset_mode, detach_reset)
        spikes.append(s)
        membrane.append(u)
    return torch.stack(spikes), torch.stack(membrane)


def _as_float_or_tensor(beta):
    if isinstance(beta, torch.Tensor) and beta.numel() == 1 and not beta.requires_grad:
        return float(beta)
    return beta


# ----------------------------------------------------------------- the C loop (_lif_kernel.c)
NATIVE = True  # use the compiled loop where it applies (tests switch it off to compare)
_RESET_CODE = {"subtract": 0, "zero": 1, "none": 2}
# the kernel's surrogate code and float parameters, for the built-in shapes only (exact classes:
# a subclass may redefine the derivative)
_NATIVE_SURROGATE = {
    FastSigmoid: lambda k: (0, k, 0.0),
    ATan: lambda k: (1, math.pi / 2.0 * k, k / 2.0),
    Triangle: lambda k: (2, -k, k),
    Rectangle: lambda k: (3, 0.5 / k, k),
}


def _step_stride(x: torch.Tensor) -> int | None:
    """Elements between time steps if every step of ``x`` is one contiguous block, else None."""
    if x.dtype != torch.float32 or x.device.type != "cpu" or not x[0].is_contiguous():
        return None
    n = x[0].numel()
    return x.stride(0) if x.shape[0] == 1 or x.stride(0) in (0, n) else None


def _native_lib():
    return _native.lif_kernel() if NATIVE else None


class _LIFSequence(torch.autograd.Function):
    """The whole LIF time loop as one autograd node (forward eqs. 1-3, backward eq. 5)."""

    @staticmethod
    def forward(ctx, current, beta_t, v0, beta, threshold, reset_mode, detach_reset, surrogate):
        u = torch.empty_like(current, memory_format=torch.contiguous_format)
        s = torch.empty_like(u)
        v = torch.zeros_like(current[0]) if v0 is None else v0.clone()
        b = beta if beta_t is None else beta_t
        stride = _step_stride(current) if beta_t is None else None
        lib = (_native_lib() if stride is not None and v.dtype == torch.float32
               and v.numel() == current[0].numel() else None)
        if lib is not None and current.numel():
            T, n = current.shape[0], current[0].numel()
            v = v.contiguous()
            lib.lif_forward(current.data_ptr(), stride, u.data_ptr(), s.data_ptr(), v.data_ptr(),
                            T, n, b, threshold, _RESET_CODE[reset_mode])
            return _LIFSequence._save(ctx, u, s, beta_t, v0, beta, threshold, reset_mode,
                                      detach_reset, surrogate)
        # unbind once: indexing a time-major tensor inside the loop costs more than the maths
        for i_t, u_t, s_t in zip(current.unbind(0), u.unbind(0), s.unbind(0)):
            if beta_t is None:
                torch.add(i_t, v, alpha=b, out=u_t)            # eq. (1)
            else:
                torch.addcmul(i_t, b, v, out=u_t)
            torch.gt(u_t, threshold, out=s_t)                   # eq. (2)
            if reset_mode == "subtract":
                torch.sub(u_t, s_t, alpha=threshold, out=v)     # eq. (3a)
            elif reset_mode == "zero":
                torch.addcmul(u_t, u_t, s_t, value=-1.0, out=v)  # eq. (3b)
            else:
                v.copy_(u_t)
        return _LIFSequence._save(ctx, u, s, beta_t, v0, beta, threshold, reset_mode,
                                  detach_reset, surrogate)

    @staticmethod
    def _save(ctx, u, s, beta_t, v0, *cfg):
        ctx.set_materialize_grads(False)  # no zero-filled gradient for the membrane output
        ctx.save_for_backward(u, s, beta_t, v0)
        ctx.cfg = cfg
        ctx.mark_non_differentiable(u)
        return s, u

    @staticmethod
    def backward(ctx, grad_s, _grad_u):
        u, s, beta_t, v0 = ctx.saved_tensors
        beta, threshold, reset_mode, detach_reset, surrogate = ctx.cfg
        if grad_s is None:  # the spikes were not used by the loss
            return (None,) * 8
        b = beta if beta_t is None else beta_t
        # dv[t]/du[t] is 1 for these resets (the common, fastest case)
        unit_dv_du = reset_mode == "none" or (reset_mode == "subtract" and detach_reset)
        native = _NATIVE_SURROGATE.get(type(surrogate))
        stride = _step_stride(grad_s)
        lib = (_native_lib() if native is not None and unit_dv_du and beta_t is None
               and stride is not None and u.is_contiguous() else None)
        if lib is not None and u.numel():
            # eq. (5) in one pass: surrogate, product with dL/ds and the recursion
            g = torch.empty_like(u)
            T, n = u.shape[0], u[0].numel()
            lib.lif_backward(u.data_ptr(), grad_s.data_ptr(), stride, g.data_ptr(), T, n, b,
                             threshold, *native(surrogate.scale))
            grad_v0 = b * g[0] if v0 is not None and ctx.needs_input_grad[2] else None
            return g, None, grad_v0, None, None, None, None, None
        sg = surrogate.derivative_(torch.sub(u, threshold))   # sigma'(u[t] - theta), all t
        g = grad_s.mul(sg)                                     # g_s sigma'; becomes g_u, eq. (5)
        # dv[t]/du[t] for every step; None means 1
        if unit_dv_du:
            k = None
        elif reset_mode == "subtract":
            k = sg.mul_(-threshold).add_(1.0)                  # 1 - theta sigma'
        elif detach_reset:
            k = torch.sub(1.0, s)                              # 1 - s
        else:
            k = sg.mul_(u).neg_().add_(1.0).sub_(s)            # 1 - s - u sigma'
        # the only sequential part: g_u[t] += dv/du[t] * beta * g_u[t+1], walking backwards
        gs = g.unbind(0)
        ks = None if k is None else k.unbind(0)
        for t in range(len(gs) - 2, -1, -1):
            if beta_t is None and k is None:
                gs[t].add_(gs[t + 1], alpha=b)
            elif beta_t is None:
                gs[t].addcmul_(ks[t], gs[t + 1], value=b)
            else:
                gv = b * gs[t + 1]
                gs[t].add_(gv if k is None else ks[t] * gv)
        grad_beta = grad_v0 = None
        if beta_t is not None and ctx.needs_input_grad[1]:
            if reset_mode == "subtract":
                v_post = u - threshold * s
            elif reset_mode == "zero":
                v_post = u * (1.0 - s)
            else:
                v_post = u
            v_prev = torch.cat([(torch.zeros_like(u[:1]) if v0 is None else v0[None]),
                                v_post[:-1]])
            grad_beta = (g * v_prev).sum_to_size(beta_t.shape)
        if v0 is not None and ctx.needs_input_grad[2]:
            grad_v0 = b * g[0]
        return g, grad_beta, grad_v0, None, None, None, None, None


def lif_sequence(current, *, beta, threshold=1.0, reset_mode="subtract", detach_reset=True,
                 surrogate: Surrogate, v0=None):
    """Fused LIF over ``current [T, ...]``; same results and gradients as the reference.

    ``beta`` may be a float or a tensor broadcastable to one step (learnable decays get their
    gradient too). Returns ``(spikes, membrane u before reset)``; ``u`` carries no gradient.
    """
    beta = _as_float_or_tensor(beta)
    if current.is_cuda and _triton_lif.usable(current, v0, beta, surrogate, reset_mode):
        # CUDA float32, scalar decay: the loop as Triton kernels (snnlab/_triton_lif.py)
        return _triton_lif.lif_sequence(current, beta, threshold, reset_mode, detach_reset,
                                        surrogate, v0)
    beta_t = beta if isinstance(beta, torch.Tensor) else None
    return _LIFSequence.apply(current, beta_t, v0, None if beta_t is not None else float(beta),
                              float(threshold), reset_mode, detach_reset, surrogate)


class _LeakyIntegrate(torch.autograd.Function):
    """y[t] = alpha * y[t-1] + x[t] (eq. 4; also the non-spiking readout), fused."""

    @staticmethod
    def forward(ctx, x, alpha_t, alpha):
        y = torch.empty_like(x)
        a = alpha if alpha_t is None else alpha_t
        xs, ys = x.unbind(0), y.unbind(0)
        ys[0].copy_(xs[0])
        for t in range(1, x.shape[0]):
            if alpha_t is None:
                torch.add(xs[t], ys[t - 1], alpha=a, out=ys[t])
            else:
                torch.addcmul(xs[t], a, ys[t - 1], out=ys[t])
        ctx.save_for_backward(y if alpha_t is not None else None, alpha_t)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, gy):
        y, alpha_t = ctx.saved_tensors
        a = ctx.alpha if alpha_t is None else alpha_t
        g = gy.clone()
        gs = g.unbind(0)
        for t in range(g.shape[0] - 2, -1, -1):
            if alpha_t is None:
                gs[t].add_(gs[t + 1], alpha=a)
            else:
                gs[t].addcmul_(a, gs[t + 1])
        grad_alpha = None
        if alpha_t is not None and ctx.needs_input_grad[1]:
            y_prev = torch.cat([torch.zeros_like(y[:1]), y[:-1]])
            grad_alpha = (g * y_prev).sum_to_size(alpha_t.shape)
        return g, grad_alpha, None


def leaky_integrate(x: torch.Tensor, alpha) -> torch.Tensor:
    """Exponential filter over time, ``y[t] = alpha*y[t-1] + x[t]``, fused forward and backward."""
    alpha = _as_float_or_tensor(alpha)
    if isinstance(alpha, torch.Tensor):
        return _LeakyIntegrate.apply(x, alpha, None)
    return _LeakyIntegrate.apply(x, None, float(alpha))


def leaky_integrate_reference(x: torch.Tensor, alpha) -> torch.Tensor:
    ys, y = [], torch.zeros_like(x[0])
    for x_t in x.unbind(0):
        y = alpha * y + x_t
        ys.append(y)
    return torch.stack(ys)


# --------------------------------------------------------------------------- synapses over time
def _has_hooks(module: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


def over_time(module: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """Apply a stateless module to every step at once: ``[T, B, ...] -> [T, B, ...]``.

    An input that is the same at every step (direct encoding makes it with ``expand``, stride 0
    in time) is sent through the module once, unless the module has hooks that may differ per
    step (a chip's read noise, say).
    """
    T, B = x_seq.shape[:2]
    if T > 1 and x_seq.stride(0) == 0 and not _has_hooks(module):
        y = module(x_seq[0])
        return y.unsqueeze(0).expand(T, *y.shape)
    flat = x_seq.reshape(T * B, *x_seq.shape[2:])
    if type(module) is nn.Linear and flat.dim() == 2 and not _has_hooks(module) \
            and not (nn.modules.module._global_forward_hooks
                     or nn.modules.module._global_forward_pre_hooks):
        # spikes are 0/1: a large synapse runs as an exact int8 matmul (snnlab.spikemm)
        y = spikemm.spike_linear(flat, module.weight, module.bias)
    else:
        y = module(flat)
    return y.reshape(T, B, *y.shape[1:])

"""Notebook 04: timing gradients (ANTLR's timing route).

The simulate functions, dashboards and exercise checkers of
``notebooks/04_timing_gradients.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .ui import (
    answer_tensor,
    call,
    checker,
    close,
    failed,
    need_callable,
    passed,
    rand_shape,
    randint,
    uniform,
)

__all__ = ["check_vdot_estimate", "check_timing_dv"]


def _ref_vdot(v, s, vdot_min):
    v, s = torch.as_tensor(v), torch.as_tensor(s)
    prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])
    s_prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
    return (v - (1.0 - s_prev) * prev).clamp(min=vdot_min)


def _vdot_cases(gen):
    for i in range(8):
        T = 1 if i == 0 else randint(gen, 2, 15)
        dtype = torch.float32 if i % 2 else torch.float64
        v = torch.rand(T, *rand_shape(gen, 2, 4), generator=gen, dtype=dtype) * 1.4
        s = (v > 1.0).to(dtype)
        yield v, s, 0.01 if i == 1 else uniform(gen, 0.001, 0.3)


@checker("vdot_estimate",
         idea="the slope of the membrane is how much it rose since the previous step; right "
              "after a spike the membrane restarted from zero, and a slope that is too small "
              "(or negative) is raised to a floor so nothing divides by it",
         equation="Vdot[t] = max(V[t] - (1 - s[t-1])·V[t-1], vdot_min), with V[-1] = 0, "
                  "s[-1] = 0",
         code="prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])\n"
              "s_prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])\n"
              "return (v - (1 - s_prev) * prev).clamp(min=vdot_min)",
         reference=_ref_vdot)
def check_vdot_estimate(vdot: Callable, vdot_min: float = 0.01) -> bool:
    """``vdot(v, s, vdot_min) -> V[t] - (1 - s[t-1]) V[t-1]`` clamped below at ``vdot_min``
    (``v``, ``s`` are ``[T, ...]``; before t = 0 the neuron is at rest); tested at
    ``vdot_min`` and other floors."""
    name = "vdot_estimate"
    need_callable("check_vdot_estimate", vdot)
    gen = torch.Generator().manual_seed(401)
    for i, (v, s, floor) in enumerate(_vdot_cases(gen)):
        floor = float(vdot_min) if i == 1 else floor
        ref = _ref_vdot(v, s, floor)
        got = answer_tensor(call(vdot, v.clone(), s.clone(), floor), v.shape)
        if close(got, ref):
            continue
        prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])
        if close(got, (v - prev).clamp(min=floor).double()):
            return failed(name, "after a spike the voltage restarts from 0: the reset is "
                          "missing")
        if close(got, _ref_vdot(v, s, -math.inf).double()):
            return failed(name, "the slope must be floored at vdot_min")
        if close(got, (v - (1 - s) * prev).clamp(min=floor).double()):
            return failed(name, "the reset is taken from the wrong step: it is the spike "
                          "of the previous step that restarted the membrane")
        return failed(name, f"values differ from the reference (T={v.shape[0]}, "
                      f"vdot_min={floor:.3g})")
    return passed(name)


def _ref_timing_dv(grad_t, s, vdot):
    return -torch.as_tensor(s) * torch.as_tensor(grad_t) / torch.as_tensor(vdot)


@checker("timing_dv",
         idea="a higher membrane crosses the threshold earlier, by how much depends on how "
              "steeply it rises; and only steps that actually spiked have a spike time to move",
         equation="dL/dV[t] = -s[t]·(dL/dt[t]) / Vdot[t]",
         code="return -s * grad_t / vdot",
         reference=_ref_timing_dv)
def check_timing_dv(timing_dv: Callable) -> bool:
    """``timing_dv(grad_t, s, vdot) -> -s * grad_t / vdot``: the timing route's dL/dV."""
    name = "timing_dv"
    need_callable("check_timing_dv", timing_dv)
    gen = torch.Generator().manual_seed(402)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = (randint(gen, 1, 12), *rand_shape(gen, 2, 5))
        grad_t = torch.randn(shape, generator=gen, dtype=dtype) * uniform(gen, 0.1, 5)
        s = (torch.rand(shape, generator=gen, dtype=dtype) > 0.6).to(dtype)
        vdot = uniform(gen, 0.001, 0.1) + torch.rand(shape, generator=gen, dtype=dtype)
        ref = _ref_timing_dv(grad_t, s, vdot)
        got = answer_tensor(call(timing_dv, grad_t.clone(), s.clone(), vdot.clone()), shape)
        if close(got, ref):
            continue
        if close(got, -ref):
            return failed(name, "wrong sign: a higher membrane spikes earlier")
        if close(got, (-grad_t / vdot).double()):
            return failed(name, "non-zero at steps without a spike")
        if close(got, (-s * grad_t * vdot).double()):
            return failed(name, "you multiplied by the slope; a steep membrane moves its "
                          "spike less, not more")
        return failed(name, "values differ from the reference")
    return passed(name)

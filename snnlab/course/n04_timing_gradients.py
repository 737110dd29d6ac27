"""Notebook 04: timing gradients (ANTLR's timing route).

The simulate functions, dashboards and exercise checkers of
``notebooks/04_timing_gradients.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .ui import LearnerError, as_tensor, call, failed, need_callable, passed

__all__ = ["check_vdot_estimate", "check_timing_dv"]


def _ref_vdot(v, s, vdot_min):
    prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])
    s_prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
    return (v - (1.0 - s_prev) * prev).clamp(min=vdot_min)


def check_vdot_estimate(vdot: Callable, vdot_min: float = 0.01) -> bool:
    """``vdot(v, s, vdot_min) -> V[t] - (1 - s[t-1]) V[t-1]`` clamped below at ``vdot_min``
    (``v``, ``s`` are ``[T, ...]``; before t = 0 the neuron is at rest)."""
    name = "vdot_estimate"
    need_callable("check_vdot_estimate", vdot)
    g = torch.Generator().manual_seed(4)
    v = torch.rand(12, 3, generator=g) * 1.4
    s = (v > 1.0).float()
    ref = _ref_vdot(v, s, vdot_min)
    try:
        got = as_tensor(call(vdot, v.clone(), s.clone(), vdot_min), ref)
    except LearnerError as e:
        return failed(name, str(e), "prev = torch.cat([zeros_like(v[:1]), v[:-1]])")
    if got is None or got.shape != v.shape:
        return failed(name, "return a tensor shaped like v", "work on whole [T, ...] tensors")
    if torch.allclose(got, ref, atol=1e-6):
        return passed(name)
    if torch.allclose(got, (v - torch.cat([torch.zeros_like(v[:1]), v[:-1]])).clamp(min=vdot_min),
                      atol=1e-6):
        return failed(name, "after a spike the voltage restarts from 0",
                      "multiply V[t-1] by (1 - s[t-1])")
    if torch.allclose(got, _ref_vdot(v, s, -math.inf), atol=1e-6):
        return failed(name, "the slope must be clamped from below", ".clamp(min=vdot_min)")
    return failed(name, "values differ from V[t] - (1 - s[t-1]) V[t-1]",
                  "a backward difference over one step, V[-1] = 0")


def check_timing_dv(timing_dv: Callable) -> bool:
    """``timing_dv(grad_t, s, vdot) -> -s * grad_t / vdot``: the timing route's dL/dV."""
    name = "timing_dv"
    need_callable("check_timing_dv", timing_dv)
    g = torch.Generator().manual_seed(5)
    grad_t = torch.randn(10, 4, generator=g)
    s = (torch.rand(10, 4, generator=g) > 0.7).float()
    vdot = 0.05 + torch.rand(10, 4, generator=g)
    ref = -s * grad_t / vdot
    try:
        got = as_tensor(call(timing_dv, grad_t.clone(), s.clone(), vdot.clone()), ref)
    except LearnerError as e:
        return failed(name, str(e), "return -s * grad_t / vdot")
    if got is None or got.shape != ref.shape:
        return failed(name, "return a tensor shaped like s", "elementwise")
    if torch.allclose(got, ref, atol=1e-6):
        return passed(name)
    if torch.allclose(got, -ref, atol=1e-6):
        return failed(name, "wrong sign", "a higher V crosses earlier: dt/dV = -1/Vdot")
    if torch.allclose(got, -grad_t / vdot, atol=1e-6):
        return failed(name, "non-zero at steps without a spike",
                      "a spike time exists only where s = 1: multiply by s")
    return failed(name, "values differ from -s·grad_t/vdot", "divide by the slope")

"""Notebook 04: timing gradients (ANTLR's timing route).

The simulate functions, dashboards and exercise checkers of
``notebooks/04_timing_gradients.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..rules.antlr import TOY_WEIGHTS, spike_shift_view
from .ui import (
    LearnerError,
    answer_tensor,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_choice,
    need_number,
    passed,
    predicted,
    rand_shape,
    randint,
    unanswered,
    uniform,
)

__all__ = ["check_vdot_estimate", "check_timing_dv",
           "weight_scale_sweep", "check_prediction_grazing", "check_first_firing_scale"]


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


# ------------------------------------------------------------------ predict, observe, interpret
def weight_scale_sweep(scales=None) -> dict:
    """Notebook 04's sweep: the toy neuron of :func:`snnlab.rules.antlr.spike_shift_view` with
    all its weights scaled by each of ``scales`` (default 41 values from 0.6 to 1.6).

    Returns ``dict(scales, t_out, timing, activation)``: the first output spike step (None when
    silent) and the sums over inputs of the timing-route and activation-route gradients of the
    first-spike time, one per scale; plus ``first_firing``, the smallest scale that fires (None
    if none does)."""
    scales = torch.linspace(0.6, 1.6, 41) if scales is None else torch.as_tensor(scales)
    t_out, timing, act = [], [], []
    for k in scales.tolist():
        vw = spike_shift_view(0, weights=[k * w for w in TOY_WEIGHTS])
        t_out.append(vw["t_out"])
        timing.append(float(vw["dt_dw"].sum()))
        act.append(float(vw["dt_dw_act"].sum()))
    first = next((float(k) for k, t in zip(scales.tolist(), t_out) if t is not None), None)
    return {"scales": [float(k) for k in scales.tolist()], "t_out": t_out, "timing": timing,
            "activation": act, "first_firing": first}


def _sweep(checker_name: str, sweep) -> dict:
    if not isinstance(sweep, dict) or any(k not in sweep for k in ("scales", "t_out",
                                                                   "timing")):
        raise TypeError(f"{checker_name} expects the result of weight_scale_sweep (a dict)")
    return sweep


@checker("prediction_grazing",
         idea="just above the weakest weights that still make the neuron fire, the membrane "
              "barely touches the threshold: think about how steep it is there, and what the "
              "timing route divides by",
         equation="dt_s/dV = -1/Vdot at the crossing; a grazing crossing has a small Vdot",
         code='my_prediction = "grow"  # or "shrink" or "stay": commit before the run')
def check_prediction_grazing(my_prediction, sweep) -> bool:
    """Predict-then-observe: from the largest weight scale down to the smallest one that still
    fires, does the timing gradient's magnitude ``"grow"``, ``"shrink"`` or ``"stay"`` (within a
    factor 2)? ``sweep`` is the :func:`weight_scale_sweep` result."""
    name = "prediction_grazing"
    sweep = _sweep("check_prediction_grazing", sweep)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'grow', 'shrink' or 'stay'")
    guess = need_choice(my_prediction, ("grow", "shrink", "stay"))
    fired = [abs(g) for g, t in zip(sweep["timing"], sweep["t_out"]) if t is not None]
    if not fired:
        raise LearnerError("the neuron never fired in this sweep: no timing gradient to compare")
    low, high = fired[0], fired[-1]
    ratio = low / max(high, 1e-12)
    measured = "grow" if ratio > 2 else ("shrink" if ratio < 0.5 else "stay")
    why = (f"|timing gradient| {high:.2f} at the largest scale, {low:.2f} at the smallest "
           f"that fires ({ratio:.0f}×): there the membrane only grazes the threshold, "
           "Vdot is small and -1/Vdot is large")
    return predicted(name, repr(guess), repr(measured), guess == measured, why)


@checker("first_firing_scale",
         idea="in the left panel, find the left end of the curve: the weakest weights at which "
              "the neuron still has a spike time",
         equation="the smallest scale k of the sweep with an output spike (t_out is not None)",
         code='answer = sweep["first_firing"]  # or read it off the plot')
def check_first_firing_scale(answer, sweep) -> bool:
    """Interpret: the smallest weight scale of ``sweep`` (a :func:`weight_scale_sweep` result)
    at which the neuron fires, read off the plot (within half a grid step)."""
    name = "first_firing_scale"
    sweep = _sweep("check_first_firing_scale", sweep)
    if unanswered(answer):
        return failed(name, "no answer yet: read the scale off the left panel")
    try:
        got = need_number("answer", answer)
    except TypeError:
        raise LearnerError(f"write a number, not {type(answer).__name__}") from None
    want = next((k for k, t in zip(sweep["scales"], sweep["t_out"]) if t is not None), None)
    if want is None:
        raise LearnerError("the neuron never fired in this sweep")
    grid = min(b - a for a, b in zip(sweep["scales"], sweep["scales"][1:]))
    if abs(got - want) <= grid / 2 + 1e-9:
        return passed(name, f"it first fires at scale {want:.3f}")
    if got < want:
        return failed(name, f"at scale {got:g} the neuron is silent in your sweep")
    return failed(name, f"the neuron already fires at scales below {got:g}")

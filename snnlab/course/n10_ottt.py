"""Notebook 10: online training through time (OTTT).

The simulate functions, dashboards and exercise checkers of
``notebooks/10_online_training_ottt.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import functional as F
from .._checks import check_float, check_int
from ..plot import PALETTE, new_axes, set_labels, show
from .ui import (
    Dashboard,
    answer_tensor,
    build,
    call,
    checker,
    close,
    failed,
    judge_points,
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

__all__ = ["simulate_ottt_trace", "ottt_trace_dashboard", "check_ottt_trace", "check_three_factor",
           "check_prediction_ottt_cosine_T", "check_ottt_gap"]


def simulate_ottt_trace(*, rate: float = 0.3, beta: float = 0.9, trace_decay: float = 0.9,
                        T: int = 40, seed: int = 0) -> dict:
    r"""One presynaptic Bernoulli spike train, OTTT's trace of it, and what the trace stands in
    for: the exact sensitivity of a LIF membrane (leak ``beta``, detached reset) to the weight,
    :math:`\partial u[t]/\partial w = \sum_{k\le t}\beta^{t-k}s[k]`.

    Returns ``dict(spikes, trace, sensitivity, rel_error)``; ``rel_error`` is 0 exactly when
    ``trace_decay == beta``."""
    rate = check_float("rate", rate, low=0.0, high=1.0)
    beta = check_float("beta", beta, low=0.0, high=1.0)
    trace_decay = check_float("trace_decay", trace_decay, low=0.0, high=1.0)
    T = check_int("T", T, low=1)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    s = (torch.rand(T, generator=g, dtype=torch.float64) < rate).double()
    trace = F.leaky_integrate(s, trace_decay)
    sens = F.leaky_integrate(s, beta)
    err = float((trace - sens).norm() / sens.norm().clamp(min=1e-12))
    return {"spikes": s, "trace": trace, "sensitivity": sens, "rel_error": err}


def ottt_trace_dashboard(**start) -> Dashboard:
    """Sliders for the input rate, the membrane leak and the trace decay."""
    import ipywidgets as W

    r0 = simulate_ottt_trace(**start)
    controls = {
        "rate": W.FloatSlider(value=start.get("rate", 0.3), min=0.0, max=1.0, step=0.05,
                              description="input rate", continuous_update=False),
        "beta": W.FloatSlider(value=start.get("beta", 0.9), min=0.0, max=1.0, step=0.05,
                              description="membrane β", continuous_update=False),
        "trace_decay": W.FloatSlider(value=start.get("trace_decay", 0.9), min=0.0, max=1.0,
                                     step=0.05, description="trace λ", continuous_update=False),
    }
    T = len(r0["spikes"])

    def draw(r):
        ax = new_axes(figsize=(7.0, 3.2))
        t = torch.arange(T).numpy()
        ax.vlines(t[r["spikes"].numpy() > 0], 0, 0.4, color=PALETTE[7], lw=1.5, label="spikes")
        ax.plot(t, r["sensitivity"].numpy(), color=PALETTE[0], lw=2, label="∂u/∂w (BPTT)")
        ax.plot(t, r["trace"].numpy(), "--", color=PALETTE[1], lw=2, label="trace â (OTTT)")
        ax.legend(fontsize=8)
        set_labels(ax, "time step", "value", f"relative error of the trace {r['rel_error']:.2f}")
        show(ax)

    return build(controls, lambda **kw: simulate_ottt_trace(T=T, **kw), draw)


def _ref_trace_step(trace, s, lam):
    return F.charge(torch.as_tensor(trace), torch.as_tensor(s), lam)


@checker("ottt_trace",
         idea="the trace is a leaky memory of the presynaptic spikes: at each step the old "
              "memory fades by the decay factor and this step's spikes are added",
         equation="â[t] = lam·â[t-1] + s[t]",
         code="return lam * trace + s",
         reference=_ref_trace_step)
def check_ottt_trace(trace_step: Callable) -> bool:
    """``trace_step(trace, s, lam) -> new trace``: OTTT's presynaptic trace
    :math:`\\hat a[t] = \\lambda \\hat a[t-1] + s[t]`, run over spike trains by the checker for
    decays in [0, 1]."""
    name = "ottt_trace"
    need_callable("check_ottt_trace", trace_step)
    gen = torch.Generator().manual_seed(1001)
    for i, lam in enumerate([0.0, 1.0] + [uniform(gen, 0.05, 0.99) for _ in range(4)]):
        dtype = torch.float32 if i % 2 else torch.float64
        spikes = (torch.rand(randint(gen, 2, 15), *rand_shape(gen, 2, 5), generator=gen,
                             dtype=dtype) < 0.4).to(dtype)
        ref = F.leaky_integrate(spikes, lam)[-1].double()
        got = torch.zeros_like(spikes[0])
        for s in spikes:
            got = answer_tensor(call(trace_step, got.clone(), s.clone(), lam), s.shape,
                                "the new trace").to(dtype)
        got = got.double()
        if close(got, ref):
            continue
        if close(got, spikes.sum(0).double()):
            return failed(name, f"that is a plain spike count: the old trace must fade "
                          f"(lam={lam:.3g})")
        return failed(name, f"values differ from the reference (lam={lam:.3g})")
    return passed(name, "the trace equals du/dW of a LIF membrane with leak lam")


def _ref_weight_grad(error, surrogate, trace):
    error, surrogate, trace = (torch.as_tensor(t) for t in (error, surrogate, trace))
    return torch.einsum("tbo,tbi->oi", error * surrogate, trace)


@checker("three_factor",
         idea="at every step the update of a weight is the product of three things: the error "
              "of its output neuron, that neuron's surrogate derivative, and the trace of its "
              "input; add these products over the batch and over time",
         equation="ΔW[o, i] = Σ_t Σ_b e[t, b, o]·σ'[t, b, o]·â[t, b, i]",
         code="return torch.einsum('tbo,tbi->oi', error * surrogate, trace)",
         reference=_ref_weight_grad)
def check_three_factor(weight_grad: Callable) -> bool:
    """``weight_grad(error, surrogate, trace) -> [N_out, N_in]``: the OTTT update accumulated
    over time, :math:`\\sum_t (e[t] \\odot \\sigma'[t])^\\top \\hat a[t]`, from per-step errors
    ``[T, B, N_out]``, surrogate derivatives ``[T, B, N_out]`` and traces ``[T, B, N_in]``."""
    name = "three_factor"
    need_callable("check_three_factor", weight_grad)
    gen = torch.Generator().manual_seed(1002)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        T = 1 if i == 0 else randint(gen, 2, 10)
        B, n_out, n_in = randint(gen, 1, 5), randint(gen, 1, 6), randint(gen, 1, 6)
        err = torch.randn(T, B, n_out, generator=gen, dtype=dtype)
        sg = torch.rand(T, B, n_out, generator=gen, dtype=dtype)
        tr = torch.rand(T, B, n_in, generator=gen, dtype=dtype) * 2
        ref = _ref_weight_grad(err, sg, tr)
        got = answer_tensor(call(weight_grad, err.clone(), sg.clone(), tr.clone()),
                            (n_out, n_in), "the [N_out, N_in] update")
        if close(got, ref):
            continue
        if close(got, _ref_weight_grad(err, torch.ones_like(sg), tr)):
            return failed(name, "the surrogate factor is missing")
        if T > 1 and close(got, _ref_weight_grad(err, sg, tr[-1:].expand_as(tr))):
            return failed(name, "you used the last trace at every step")
        if close(got, ref / (T * B)) or close(got, ref / T) or close(got, ref / B):
            return failed(name, "you averaged: the update is a sum over time and batch")
        return failed(name, f"values differ from the reference (T={T}, B={B})")
    return passed(name)


# =========================================================================== predict, interpret
@checker("prediction_ottt_cosine_T",
         idea="OTTT drops the paths through earlier spikes and resets; are there more of them, "
              "or fewer, in a longer window?",
         equation="compare cosines[max T] with cosines[min T] (hidden weights)",
         code='my_prediction = "lower"  # or "higher": commit before the run')
def check_prediction_ottt_cosine_T(my_prediction, cosines) -> bool:
    """Predict-then-observe: is the OTTT/BPTT gradient cosine of the hidden weights ``"higher"``
    or ``"lower"`` at the longest window measured than at the shortest? Any honest answer
    passes; the measurement is printed."""
    name = "prediction_ottt_cosine_T"
    if not (isinstance(cosines, dict) and len(cosines) >= 2):
        raise TypeError("check_prediction_ottt_cosine_T expects the notebook's cosines dict "
                        "{T: cosine}, two T or more")
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'higher' or 'lower'")
    guess = need_choice(my_prediction, ("higher", "lower"))
    lo, hi = min(cosines), max(cosines)
    measured = "higher" if cosines[hi] > cosines[lo] else "lower"
    why = ("cosines " + ", ".join(f"T = {t}: {cosines[t]:+.3f}" for t in sorted(cosines))
           + "; OTTT ignores the later effects of earlier spikes and resets, and how much "
           "that matters depends on how many there are, not on T alone")
    return predicted(name, guess, measured, guess == measured, why)


def _final(checker_name: str, final) -> tuple[float, float]:
    keys = ("bptt", "ottt (A)")
    ok = (isinstance(final, dict) and all(k in final for k in keys)
          and all(isinstance(final[k], (list, tuple)) and final[k] for k in keys))
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's final dict {{rule: [accuracy "
                        "per seed]}} with 'bptt' and 'ottt (A)'")
    b, o = (torch.tensor([float(v) for v in final[k]], dtype=torch.float64) for k in keys)
    spread = (float(b.std()) if len(b) > 1 else 0.0) + (float(o.std()) if len(o) > 1 else 0.0)
    return float(b.mean() - o.mean()), spread


@checker("ottt_gap",
         idea="take the mean accuracy over seeds of BPTT and of OTTT (A) from the printed lines "
              "and subtract, in percentage points",
         equation="100 * (mean(final['bptt']) - mean(final['ottt (A)']))",
         code="answer = 100 * gap")
def check_ottt_gap(answer, final) -> bool:
    """Interpret: BPTT's lead over OTTT (A) in accuracy points (mean over the learner's seeds,
    negative when behind), within half a point."""
    name = "ottt_gap"
    gap, spread = _final("check_ottt_gap", final)
    if unanswered(answer):
        return failed(name, "no answer yet: write the gap in accuracy points")
    got = need_number("check_ottt_gap", answer)
    verdict = judge_points(name, got, gap, f"{100 * gap:+.1f} points, seed spreads "
                           f"{100 * spread:.1f} points", "BPTT minus OTTT (A)")
    if verdict is not None:
        return verdict
    return failed(name, f"{got:g} is not the gap of your run")

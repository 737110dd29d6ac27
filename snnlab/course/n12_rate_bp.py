"""Notebook 12: rate-based backpropagation.

The simulate functions, dashboards and exercise checkers of
``notebooks/12_rate_based_bp.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import neurons as N
from .._checks import check_float, check_int
from ..plot import PALETTE, new_axes, set_labels, show
from ..rules.rate_bp import eligibility
from .ui import (
    Dashboard,
    answer_tensor,
    build,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_choice,
    need_number,
    passed,
    predicted,
    randint,
    unanswered,
    uniform,
    where,
)

__all__ = ["simulate_rate_sensitivity", "rate_sensitivity_dashboard", "check_rate_kappa",
           "check_rate_eligibility", "check_prediction_latency_cosine", "check_best_cosine_T"]


def simulate_rate_sensitivity(*, current: float = 0.3, beta: float = 0.9, T: int = 16,
                              surrogate: str = "fast_sigmoid", h: float = 0.2) -> dict:
    r"""One LIF neuron (soft, detached reset) driven by a constant current: its rate, the
    rate-based BP eligibility :math:`e = \frac1T\sum_t\sigma'(u[t]-\vartheta)\kappa[t]` that
    stands in for :math:`\partial r/\partial c`, and the slope of the *true* rate-current curve
    by a finite difference of width ``h`` (the rate is a staircase in c; e approximates its
    smoothed slope). Also returns the rate-current curve on a grid for plotting."""
    current = check_float("current", current)
    beta = check_float("beta", beta, low=0.0, high=1.0, low_open=True)
    T = check_int("T", T, low=1)
    h = check_float("h", h, low=0.0, low_open=True)
    neuron = N.LIF(beta=beta, surrogate=surrogate)

    def run(c):
        c = torch.as_tensor(c, dtype=torch.float64).reshape(1, -1)
        return neuron.simulate(c.expand(T, *c.shape[1:]))

    s, u = run(current)
    e = float(eligibility(neuron, u, s))
    grid = torch.linspace(0.0, 1.5, 301, dtype=torch.float64)
    sg, _ = run(grid)
    rates = sg.mean(0)
    fd = float((run(current + h)[0].mean() - run(current - h)[0].mean()) / (2 * h))
    return {"u": u[:, 0], "spikes": s[:, 0], "rate": float(s.mean()), "eligibility": e,
            "fd_slope": fd, "grid": grid, "rates": rates}


def rate_sensitivity_dashboard(**start) -> Dashboard:
    """Sliders for the current, the leak and T: the rate staircase with e's tangent."""
    import ipywidgets as W

    controls = {
        "current": W.FloatSlider(value=start.get("current", 0.3), min=0.0, max=1.5, step=0.01,
                                 description="current c", continuous_update=False),
        "beta": W.FloatSlider(value=start.get("beta", 0.9), min=0.05, max=1.0, step=0.05,
                              description="leak β", continuous_update=False),
        "T": W.IntSlider(value=start.get("T", 16), min=2, max=64, description="T",
                         continuous_update=False),
    }

    def draw(r):
        ax = new_axes(figsize=(6.5, 3.4))
        ax.plot(r["grid"].numpy(), r["rates"].numpy(), color=PALETTE[0], lw=2,
                label="rate r(c) of the spike pass")
        c = float(controls["current"].value)
        xs = torch.tensor([c - 0.2, c + 0.2])
        ax.plot(xs.numpy(), (r["rate"] + r["eligibility"] * (xs - c)).numpy(), "--",
                color=PALETTE[1], lw=2, label="slope e used by rate BP")
        ax.plot([c], [r["rate"]], "o", color=PALETTE[1])
        ax.legend(fontsize=8)
        set_labels(ax, "constant input current c", "rate",
                   f"e = {r['eligibility']:.2f}, finite-difference slope {r['fd_slope']:.2f}")
        show(ax)

    return build(controls, lambda **kw: simulate_rate_sensitivity(**kw), draw)


def _ref_kappa(beta, T):
    """kappa[0..T-1], the closed form :mod:`snnlab.rules.rate_bp` uses for a LIF neuron with a
    detached soft reset (``tests/test_checkers_wrong_answers.py`` checks the two agree)."""
    beta = float(beta)
    T = int(T)
    t = torch.arange(1, T + 1, dtype=torch.float64)
    return t if beta == 1.0 else (1 - beta ** t) / (1 - beta)


@checker("rate_kappa",
         idea="kappa says how much the membrane has piled up from a constant unit input: each "
              "step adds one new unit and keeps what the leak lets through of the past",
         equation="kappa[0] = 1, kappa[t] = 1 + beta·kappa[t-1] (so kappa[t] = (1 - "
                  "beta^(t+1))/(1 - beta), and t + 1 for beta = 1)",
         code="k, out = 0.0, []\nfor t in range(T):\n    k = 1 + beta * k\n    out.append(k)\n"
              "return torch.tensor(out)",
         reference=_ref_kappa)
def check_rate_kappa(kappa_fn: Callable) -> bool:
    """``kappa_fn(beta, T) -> [T]``: sensitivity of the membrane to a constant input,
    :math:`\\kappa[0] = 1`, :math:`\\kappa[t] = 1 + \\beta\\,\\kappa[t-1]` (detached soft reset),
    for beta in (0, 1] and T >= 1."""
    name = "rate_kappa"
    need_callable("check_rate_kappa", kappa_fn)
    gen = torch.Generator().manual_seed(1201)
    cases = [(0.8, 10), (1.0, 6), (0.3, 1)] + [(uniform(gen, 0.05, 0.99), randint(gen, 2, 40))
                                               for _ in range(6)]
    for beta, T in cases:
        ref = _ref_kappa(beta, T)
        case = where(dict(beta=beta, T=T))
        got = answer_tensor(call(kappa_fn, beta, T), (T,), f"kappa ({case})")
        if close(got, ref):
            continue
        if close(got, torch.ones(T, dtype=torch.float64)):
            return failed(name, f"the leak's memory is missing ({case})")
        if close(got, _ref_kappa(0.8, T)):
            return failed(name, f"your kappa ignores beta ({case})")
        if T > 1 and close(got[1:], ref[:-1]):
            return failed(name, f"off by one step ({case}): kappa[0] is already 1")
        return failed(name, f"values differ from the reference ({case})")
    return passed(name, "kappa -> 1/(1-beta) for a leaky neuron")


def _ref_eligibility(sg, kappa_t):
    sg, kappa_t = torch.as_tensor(sg), torch.as_tensor(kappa_t)
    return (sg * kappa_t.to(sg.dtype).reshape(-1, *([1] * (sg.ndim - 1)))).mean(0)


@checker("rate_eligibility",
         idea="the rate's sensitivity to the current is the time average of the surrogate "
              "derivative, where every step is weighted by how much input the membrane has "
              "piled up by then",
         equation="e[b, n] = 1/T Σ_t σ'[t, b, n]·kappa[t]",
         code="return (sg * kappa.view(-1, 1, 1)).mean(0)",
         reference=_ref_eligibility)
def check_rate_eligibility(eligibility_fn: Callable) -> bool:
    """``eligibility_fn(sg, kappa) -> [B, N]``: the rate pass's :math:`\\partial r/\\partial c`,
    :math:`e = \\frac1T\\sum_t \\sigma'[t]\\,\\kappa[t]`, from surrogate derivatives
    ``sg [T, B, N]`` and ``kappa [T]``."""
    name = "rate_eligibility"
    need_callable("check_rate_eligibility", eligibility_fn)
    gen = torch.Generator().manual_seed(1202)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        T = 1 if i == 0 else randint(gen, 2, 16)
        B, n = randint(gen, 1, 5), randint(gen, 1, 6)
        sg = torch.rand(T, B, n, generator=gen, dtype=dtype)
        kappa = _ref_kappa(uniform(gen, 0.3, 1.0), T).to(dtype)
        ref = _ref_eligibility(sg, kappa)
        got = answer_tensor(call(eligibility_fn, sg.clone(), kappa.clone()), (B, n),
                            "the eligibility [B, N]")
        if close(got, ref):
            continue
        if T > 1 and close(got, ref * T):
            return failed(name, "that is the sum over t; the rate is a mean over time")
        if T > 1 and close(got, sg.mean(0).double()):
            return failed(name, "kappa is missing")
        return failed(name, f"values differ from the reference (T={T})")
    return passed(name)


# =========================================================================== predict, interpret
def _cosines(checker_name: str, cosines) -> dict:
    """``{code: {T: cosine}}`` as the notebook's gradient comparison builds it."""
    ok = (isinstance(cosines, dict) and {"direct", "latency"} <= set(cosines)
          and all(isinstance(v, dict) and v for v in cosines.values()))
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's cosines dict "
                        "{code: {T: cosine}} with 'direct' and 'latency'")
    return cosines


@checker("prediction_latency_cosine",
         idea="the rate pass sees only the time-averaged input; how much of a latency code "
              "survives averaging, compared with a value that is the same at every step?",
         equation="compare cosine(rate BP, BPTT) at the largest T for the latency and the "
                  "direct code",
         code='my_prediction = "lower"  # or "higher": commit before the run')
def check_prediction_latency_cosine(my_prediction, cosines) -> bool:
    """Predict-then-observe: at the largest T measured, is the rate-BP/BPTT cosine of the
    latency code ``"higher"`` or ``"lower"`` than the direct code's? Any honest answer passes;
    the measurement and the reason are printed."""
    name = "prediction_latency_cosine"
    cosines = _cosines("check_prediction_latency_cosine", cosines)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'higher' or 'lower'")
    guess = need_choice(my_prediction, ("higher", "lower"))
    T = max(cosines["direct"])
    lat, direct = cosines["latency"][T], cosines["direct"][T]
    measured = "higher" if lat > direct else "lower"
    why = (f"at T = {T}: latency {lat:+.3f}, direct {direct:+.3f}; the rate pass averages the "
           "input over time, which keeps a direct value whole but throws away *when* a latency "
           "spike came")
    return predicted(name, guess, measured, guess == measured, why)


@checker("best_cosine_T",
         idea="read the direct-code curve of your figure (or the printed line) and find its "
              "highest point",
         equation="the T of max over T of cosines['direct'][T]",
         code="answer = max(cosines['direct'], key=cosines['direct'].get)")
def check_best_cosine_T(answer, cosines) -> bool:
    """Interpret: the ``T`` at which the direct code's rate-BP/BPTT cosine was highest in the
    learner's own run (``cosines`` from the notebook)."""
    name = "best_cosine_T"
    cosines = _cosines("check_best_cosine_T", cosines)
    if unanswered(answer):
        return failed(name, "no answer yet: write one of the T values you measured")
    got = need_number("check_best_cosine_T", answer)
    direct = cosines["direct"]
    want = max(direct, key=direct.get)
    if got == want:
        return passed(name, f"cosine {direct[want]:+.3f} at T = {want}")
    if got not in direct:
        return failed(name, f"{got:g} is not one of the T values measured, {sorted(direct)}")
    return failed(name, f"at T = {got:g} the cosine is {direct[int(got)]:+.3f}; another T "
                  "has a higher one")

"""Notebook 01: the LIF neuron, its firing rate, the IF neuron.

The simulate functions, dashboards and exercise checkers of
``notebooks/01_spiking_neurons.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import functional as F
from .. import surrogate as S
from .._checks import check_choice, check_float, check_int
from ..plot import membrane, show
from .ui import (
    Dashboard,
    LearnerError,
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
    rand_shape,
    returned_number,
    unanswered,
    uniform,
    where,
)

__all__ = ["simulate_lif", "lif_dashboard", "check_lif_step", "lif_rate_closed_form",
           "check_firing_rate", "check_if_rate", "smallest_firing_current",
           "check_prediction_lif_spikes", "check_smallest_current", "simulate_population",
           "check_prediction_reset", "check_noise_below_rheobase"]


def simulate_lif(*, current: float = 1.5, threshold: float = 1.0, reset: str = "subtract",
                 tau_ms: float | None = 10.0, beta: float | None = None, T: int = 100,
                 dt_ms: float = 1.0, noise: float = 0.0, seed: int = 0) -> dict:
    r"""One LIF neuron driven by a constant current (+ optional Gaussian noise).

    Uses :func:`snnlab.functional.lif_sequence`: :math:`u[t] = \beta v[t-1] + I[t]` with
    :math:`\beta = e^{-dt/\tau}` (give ``tau_ms`` or ``beta``; ``tau_ms=inf`` or ``beta=1``
    is the non-leaky IF neuron).

    Returns ``dict(t_ms, u, s, v_inf, beta, n_spikes, rate_hz)``: the membrane before reset
    ``u [T]``, spikes ``s [T]``, the steady state :math:`I/(1-\beta)` the membrane would reach
    without a threshold, and the firing rate in Hz.
    """
    current = check_float("current", current)
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    reset = check_choice("reset", reset, F.RESETS)
    T = check_int("T", T, low=1, high=100_000)
    dt_ms = check_float("dt_ms", dt_ms, low=0.0, low_open=True)
    noise = check_float("noise", noise, low=0.0)
    if beta is None:
        if tau_ms is None:
            raise ValueError("give tau_ms or beta")
        if isinstance(tau_ms, (int, float)) and math.isinf(tau_ms) and tau_ms > 0:
            beta = 1.0
        else:
            tau_ms = check_float("tau_ms", tau_ms, low=0.0, low_open=True)
            beta = math.exp(-dt_ms / tau_ms)
    else:
        beta = check_float("beta", beta, low=0.0, high=1.0, low_open=True)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    i_seq = torch.full((T, 1), current, dtype=torch.float64)
    if noise > 0:
        i_seq = i_seq + noise * torch.randn(T, 1, generator=gen, dtype=torch.float64)
    s, u = F.lif_sequence(i_seq, beta=beta, threshold=threshold, reset_mode=reset,
                          surrogate=S.FastSigmoid())
    n = int(s.sum())
    v_inf = current / (1.0 - beta) if beta < 1.0 else math.inf
    return {"t_ms": torch.arange(T, dtype=torch.float64) * dt_ms, "u": u[:, 0], "s": s[:, 0],
            "beta": beta, "v_inf": v_inf, "n_spikes": n, "rate_hz": 1000.0 * n / (T * dt_ms),
            "current": current, "threshold": threshold, "reset": reset, "T": T}


def lif_dashboard(*, current: float = 0.3, threshold: float = 1.0, tau_ms: float = 10.0,
                  reset: str = "subtract", T: int = 100, dt_ms: float = 1.0) -> Dashboard:
    """Sliders for the membrane time constant, threshold, input current and reset mode."""
    import ipywidgets as W

    controls = {
        "tau_ms": W.FloatSlider(value=tau_ms, min=1.0, max=100.0, step=1.0,
                                description="τ (ms)", continuous_update=False),
        "threshold": W.FloatSlider(value=threshold, min=0.1, max=3.0, step=0.1,
                                   description="threshold", continuous_update=False),
        "current": W.FloatSlider(value=current, min=0.0, max=1.0, step=0.01,
                                 description="current I", continuous_update=False),
        "reset": W.Dropdown(options=list(F.RESETS), value=reset, description="reset"),
    }

    def compute(**kw):
        return simulate_lif(T=T, dt_ms=dt_ms, **kw)

    def draw(r):
        ax = membrane(r["u"], threshold=controls["threshold"].value, spikes=r["s"],
                      dt_ms=dt_ms, title=f"LIF: {r['n_spikes']} spikes, {r['rate_hz']:.0f} Hz "
                      f"(β = {r['beta']:.3f})")
        show(ax)

    layout = W.VBox([W.HBox([controls["tau_ms"], controls["threshold"]]),
                     W.HBox([controls["current"], controls["reset"]])])
    return build(controls, compute, draw, layout)


def _lif_reference(v, current, beta, threshold):
    """Exercise 1's answer from :mod:`snnlab.functional`: eqs. (1), (2), (3a)."""
    u = F.charge(v, current, beta)
    s = (u > threshold).to(u.dtype)
    return s, F.reset(u, s, threshold, "subtract", detach=True)


def _lif_cases(gen):
    """Random states, currents, leaks and thresholds over their valid ranges, plus the edges:
    a membrane landing exactly on the threshold (no spike: strictly above), beta = 1 (IF)."""
    for i in range(12):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = rand_shape(gen)
        thr = uniform(gen, 0.2, 3.0)
        v = torch.rand(shape, generator=gen, dtype=dtype) * 1.5 * thr
        current = (torch.rand(shape, generator=gen, dtype=dtype) - 0.2) * thr
        yield v, current, uniform(gen, 0.05, 1.0), thr
    yield (torch.tensor([0.5, 0.25, 0.0, 2.0]), torch.tensor([0.5, 0.75, 0.0, 0.5]), 1.0, 1.0)


@checker("lif_step",
         idea="a LIF step does three things in order: leak the old state and add the input "
              "(charge), spike where the membrane is above the threshold (fire), and take the "
              "threshold away from the neurons that spiked (reset by subtraction)",
         equation="u = beta·v + I;  s = H(u - threshold) (1 where u > threshold, else 0);  "
                  "v_new = u - threshold·s",
         code="u = beta * v + current\ns = (u > threshold).float()\nv_new = u - threshold * s\n"
              "return s, v_new",
         reference=_lif_reference)
def check_lif_step(lif_step: Callable) -> bool:
    """``lif_step(v, current, beta, threshold) -> (s, v_new)``: charge, fire, reset by
    subtraction (eqs. 1, 2, 3a); ``s`` a float tensor of 0s and 1s."""
    name = "lif_step"
    need_callable("check_lif_step", lif_step)
    gen = torch.Generator().manual_seed(101)
    for v, current, beta, thr in _lif_cases(gen):
        case = where(dict(beta=beta, threshold=thr))
        out = call(lif_step, v.clone(), current.clone(), beta, thr)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return failed(name, f"expected a tuple (s, v_new), got {type(out).__name__}")
        s = answer_tensor(out[0], v.shape, "s")
        v_new = answer_tensor(out[1], v.shape, "v_new")
        s_ref, v_ref = _lif_reference(v, current, beta, thr)
        if not close(s, s_ref):
            u = F.charge(v, current, beta)
            if close(s, (u >= thr).double()):
                return failed(name, f"a membrane exactly at the threshold spiked ({case})")
            return failed(name, f"wrong spikes for {case}")
        if not close(v_new, v_ref):
            u = F.charge(v, current, beta)
            if close(v_new, u * (1 - s_ref)):
                return failed(name, f"you reset to zero ({case}); this exercise asks for "
                              "reset by subtraction")
            return failed(name, f"wrong new state for {case}")
    return passed(name)


def _simulated_rate(current: float, beta: float, threshold: float, reset: str,
                    T: int = 2000) -> float:
    i_seq = torch.full((T, 1), current, dtype=torch.float64)
    s, _ = F.lif_sequence(i_seq, beta=beta, threshold=threshold, reset_mode=reset,
                          surrogate=S.FastSigmoid())
    return float(s.sum()) / T


def lif_rate_closed_form(current: float, beta: float, threshold: float) -> float:
    r"""Spikes per step of a LIF neuron with reset to zero under a constant current ``I``.

    From rest, :math:`u[n] = I(1-\beta^n)/(1-\beta)` after n steps, so the neuron fires first
    at the smallest :math:`n` with :math:`u[n] > \vartheta` and then repeats every n steps:
    rate :math:`= 1/n`, and 0 when :math:`I/(1-\beta) \le \vartheta` (it never gets there).
    """
    if current <= 0:
        return 0.0
    if beta >= 1.0:
        n = math.floor(threshold / current) + 1
    else:
        if current / (1.0 - beta) <= threshold:
            return 0.0
        n, u = 0, 0.0
        while u <= threshold:  # exact on the discrete grid (the log formula has rounding edges)
            u = beta * u + current
            n += 1
    return 1.0 / n


def _firing_cases(gen):
    """Random leaks, thresholds and currents whose rate is 0 or at least 1/10 per step (so a
    simulation of a few hundred steps is within 2.5 %), and the edges: no current, a negative
    one, and one just too weak to ever reach the threshold."""
    cases = []
    while len(cases) < 14:
        beta, thr = uniform(gen, 0.5, 0.98), uniform(gen, 0.3, 3.0)
        cur = uniform(gen, 0.0, 1.2) * thr
        if lif_rate_closed_form(cur, beta, thr) == 0 or lif_rate_closed_form(cur, beta, thr) >= 0.1:
            cases.append((cur, beta, thr))
    beta, thr = uniform(gen, 0.6, 0.95), uniform(gen, 0.5, 2.0)
    cases += [(0.0, beta, thr), (-0.2, beta, thr), (0.97 * thr * (1 - beta), beta, thr)]
    return cases


@checker("firing_rate",
         idea="after a reset to zero the neuron starts from rest again, so it needs the same "
              "number of steps n to reach the threshold every time; the leak caps how high the "
              "membrane can ever get",
         equation="from rest u[n] = I·(1 - beta^n)/(1 - beta); n = the first step with "
                  "u[n] > threshold; rate = 1/n spikes per step, and 0 when "
                  "I/(1 - beta) <= threshold",
         code="if current <= 0 or current / (1 - beta) <= threshold:\n    return 0.0\n"
              "n, u = 0, 0.0\nwhile u <= threshold:\n    u = beta * u + current\n    n += 1\n"
              "return 1 / n",
         reference=lif_rate_closed_form)
def check_firing_rate(firing_rate: Callable) -> bool:
    """``firing_rate(current, beta, threshold) -> spikes per step`` of a LIF neuron with reset to
    zero under a constant current (analytically or by simulating; within 2.5 %)."""
    name = "firing_rate"
    need_callable("check_firing_rate", firing_rate)
    gen = torch.Generator().manual_seed(102)
    for cur, beta, thr in _firing_cases(gen):
        case = where(dict(current=cur, beta=beta, threshold=thr))
        got = returned_number(call(firing_rate, cur, beta, thr))
        ref = lif_rate_closed_form(cur, beta, thr)
        if not math.isfinite(got):
            return failed(name, f"{case}: you return {got}")
        if ref == 0.0 and abs(got) > 1e-9:
            return failed(name, f"{case}: the neuron never fires but you return {got:.3g}")
        if ref > 0 and abs(got - ref) > 0.025 * ref:
            unit = " (looks like Hz: give spikes per step)" if got > 1 else ""
            return failed(name, f"{case}: expected {ref:.4f} spikes/step, got "
                          f"{got:.4f}{unit}")
    return passed(name)


@checker("if_rate",
         idea="without a leak and with reset by subtraction no charge is ever lost: every bit "
              "of input ends up in some spike",
         equation="in the long run spikes per step = I/threshold (here 0.25/1)",
         code="if_rate = 0.25 / 1.0")
def check_if_rate(answer) -> bool:
    """The long-run rate of an IF neuron (beta = 1, reset by subtraction) with current 0.25 and
    threshold 1, in spikes per step (a number; ``None`` or ``...`` means "not answered yet")."""
    name = "if_rate"
    if unanswered(answer):
        return failed(name, "no answer yet: replace ... by a number")
    got = need_number("check_if_rate", answer)
    ref = _simulated_rate(0.25, 1.0, 1.0, "subtract", T=4000)
    if abs(got - ref) <= 0.01:
        return passed(name, f"{ref:.3f} spikes per step")
    return failed(name, f"expected about {ref:.3f}, got {got:.3g}")


# ------------------------------------------------------------------ predict, observe, interpret
def _run_dict(checker_name: str, run, keys) -> dict:
    """The run's result dict (from :func:`simulate_lif` & co.); ``TypeError`` otherwise."""
    if not isinstance(run, dict) or any(k not in run for k in keys):
        raise TypeError(f"{checker_name} expects the result dict of the run (with "
                        f"{', '.join(keys)}), got {type(run).__name__}")
    return run


def _honest_number(answer, *, low: float = 0.0) -> float:
    """A prediction or a reading that is a finite number >= ``low``."""
    try:
        got = need_number("prediction", answer)
    except TypeError:
        raise LearnerError(f"write a number, not {type(answer).__name__}") from None
    if not math.isfinite(got) or got < low:
        raise LearnerError(f"{got} cannot be right: expected a finite number >= {low:g}")
    return got


@checker("prediction_lif_spikes",
         idea="before running, work out where the membrane would settle without a threshold: if "
              "that is above the threshold the neuron fires regularly, and the time it takes to "
              "climb from rest to the threshold sets how many spikes fit",
         equation="without threshold V -> I/(1 - beta); from rest u[n] = I(1 - beta^n)/(1 - "
                  "beta); a spike every n steps gives about T/n spikes",
         code="my_prediction = 12  # any number you commit to before the run")
def check_prediction_lif_spikes(my_prediction, run) -> bool:
    """Predict-then-observe: how many spikes the run (a :func:`simulate_lif` result) emitted.
    Any number passes; whether it was within 20 % (or 1 spike) is recorded and explained."""
    name = "prediction_lif_spikes"
    run = _run_dict("check_prediction_lif_spikes", run, ("n_spikes", "v_inf", "beta", "T"))
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write a number before you run the cell")
    guess = _honest_number(my_prediction)
    n = run["n_spikes"]
    right = abs(guess - n) <= max(1.0, 0.2 * n)
    if n == 0:
        why = (f"the membrane settles at I/(1-β) = {run['v_inf']:.2f}, not above the threshold "
               f"{run['threshold']:g}: it never fires")
    else:
        why = (f"the membrane heads for I/(1-β) = {run['v_inf']:.2f} > threshold "
               f"{run['threshold']:g}, so it fires regularly: {n} spikes in {run['T']} steps, "
               f"about one every {run['T'] / n:.1f} steps")
    return predicted(name, f"{guess:g} spikes", f"{n} spikes", right, why)


def smallest_firing_current(*, beta: float, threshold: float, T: int, reset: str = "subtract",
                            step: float = 0.01, high: float = 1.0) -> float:
    """The smallest current on the grid ``0, step, 2 step, ... high`` (the dashboard's slider)
    that makes a LIF neuron spike at least once in ``T`` steps; ``nan`` if none does."""
    grid = torch.arange(0.0, high + step / 2, step, dtype=torch.float64)
    s, _ = F.lif_sequence(grid.expand(T, -1), beta=beta, threshold=threshold, reset_mode=reset,
                          surrogate=S.FastSigmoid())
    fires = (s.sum(0) > 0).nonzero()
    return float(grid[fires[0, 0]]) if len(fires) else math.nan


@checker("smallest_current",
         idea="the leak caps the membrane: a current too weak for the cap to reach the "
              "threshold is never answered, however long you wait",
         equation="the neuron fires when I/(1 - beta) > threshold, i.e. I > (1 - beta)·"
                  "threshold (rheobase); on a 0.01 slider, the first value above it (if it "
                  "gets there within T steps)",
         code="# move the current slider down until the title says 0 spikes, then one step up\n"
              "smallest = dash.controls['current'].value")
def check_smallest_current(answer, run) -> bool:
    """Interpret: the smallest slider current (steps of 0.01) at which the neuron of ``run``
    (a :func:`simulate_lif` result or ``dash.result``: its leak, threshold, reset and T) still
    fires; recomputed from the run's own settings."""
    name = "smallest_current"
    run = _run_dict("check_smallest_current", run, ("beta", "threshold", "T", "reset"))
    if unanswered(answer):
        return failed(name, "no answer yet: read the current off the slider")
    got = _honest_number(answer)
    want = smallest_firing_current(beta=run["beta"], threshold=run["threshold"], T=run["T"],
                                   reset=run["reset"])
    rheo = (1 - run["beta"]) * run["threshold"]
    if math.isnan(want):
        return failed(name, "at these settings no current up to 1 fires: lower the threshold "
                      "or raise τ, then read again")
    if abs(got - want) <= 0.002:  # a slider value, exact up to float rounding
        return passed(name, f"{want:.2f}; the rheobase (1-β)ϑ is {rheo:.4f}")
    if got < want:
        return failed(name, f"at {got:g} the neuron stays silent for all {run['T']} steps")
    return failed(name, f"{got:g} fires, but a smaller current on the slider fires too")


def simulate_population(*, n: int = 200, T: int = 200, beta: float = math.exp(-0.1),
                        threshold: float = 1.0, max_current: float = 0.25, noise: float = 0.1,
                        seed: int = 0) -> dict:
    r"""``n`` LIF neurons (reset by subtraction), neuron i with mean current
    ``max_current * i / (n - 1)`` plus Gaussian noise of std ``noise`` at every step.

    Returns ``dict(spikes [T, n], membrane [T, n], mean_current [n], rheobase, below [n] bool,
    silent [n] bool, fired_below)``: ``fired_below`` is the fraction of the neurons whose mean
    current is below the rheobase :math:`(1-\beta)\vartheta` that fired at least once."""
    n = check_int("n", n, low=2)
    T = check_int("T", T, low=1, high=100_000)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    mean_current = torch.linspace(0.0, max_current, n)
    drive = mean_current + noise * torch.randn(T, n, generator=gen)
    s, u = F.lif_sequence(drive, beta=beta, threshold=threshold, reset_mode="subtract",
                          surrogate=S.FastSigmoid())
    rheobase = (1 - beta) * threshold
    below = mean_current < rheobase
    silent = s.sum(0) == 0
    fired_below = float((~silent[below]).float().mean()) if bool(below.any()) else math.nan
    return {"spikes": s, "membrane": u, "mean_current": mean_current, "rheobase": rheobase,
            "below": below, "silent": silent, "fired_below": fired_below, "beta": beta,
            "threshold": threshold}


def _reset_counts(run) -> dict:
    if not isinstance(run, dict) or set(run) != {"subtract", "zero"}:
        raise TypeError("check_prediction_reset expects the run's spike counts, a dict "
                        "{'subtract': n, 'zero': n}")
    return {k: int(v) for k, v in run.items()}


@checker("prediction_reset",
         idea="think about what each reset does with the charge that overshot the threshold: "
              "one keeps it for the next spike, the other throws it away",
         equation="subtract: v = u - threshold (overshoot kept); zero: v = 0 (overshoot lost); "
                  "a strong input overshoots by a lot",
         code='my_prediction = "subtract"  # or "zero" or "same": commit before the run')
def check_prediction_reset(my_prediction, counts) -> bool:
    """Predict-then-observe: which reset (``"subtract"``, ``"zero"``, or ``"same"``) fired more
    in the run whose spike counts are ``counts = {"subtract": n, "zero": n}``."""
    name = "prediction_reset"
    counts = _reset_counts(counts)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'subtract', 'zero' or 'same'")
    guess = need_choice(my_prediction, ("subtract", "zero", "same"))
    sub, zero = counts["subtract"], counts["zero"]
    measured = "same" if sub == zero else ("subtract" if sub > zero else "zero")
    why = (f"subtract {sub} spikes, zero {zero}: a strong input overshoots the threshold, reset "
           "by subtraction keeps the overshoot for the next spike, reset to zero throws it away")
    return predicted(name, repr(guess), repr(measured), guess == measured, why)


@checker("noise_below_rheobase",
         idea="the neurons whose mean current is below the rheobase would never fire without "
              "noise; count how many of them fired anyway in your run, out of how many there are",
         equation="fraction = (# neurons with mean current < (1 - beta)·threshold that spiked "
                  "at least once) / (# neurons with mean current < (1 - beta)·threshold)",
         code='below = pop["below"]\nanswer = float((pop["spikes"].sum(0)[below] > 0).float()'
              '.mean())')
def check_noise_below_rheobase(answer, pop) -> bool:
    """Interpret: the fraction (0-1) of the sub-rheobase neurons of the population run ``pop``
    (a :func:`simulate_population` result) that fired at least once; recomputed from ``pop``."""
    name = "noise_below_rheobase"
    pop = _run_dict("check_noise_below_rheobase", pop, ("spikes", "below"))
    if unanswered(answer):
        return failed(name, "no answer yet: read it off your run")
    got = _honest_number(answer)
    below = pop["below"]
    fired = pop["spikes"].sum(0)[below] > 0
    want = float(fired.float().mean())
    if abs(got - want) <= 0.01:
        return passed(name, f"{int(fired.sum())} of {int(below.sum())} neurons below rheobase "
                      "fired: the noise lifted them over the threshold now and then")
    if abs(got - 100 * want) <= 1.0:
        return failed(name, "that looks like a percentage: give a fraction between 0 and 1")
    if abs(got - int(fired.sum())) < 0.5:
        return failed(name, "that is the count; divide by the number of neurons below rheobase")
    return failed(name, f"your run says otherwise ({int(below.sum())} neurons are below "
                  "rheobase)")

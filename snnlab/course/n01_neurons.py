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
    answer_tensor,
    build,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_number,
    passed,
    rand_shape,
    returned_number,
    unanswered,
    uniform,
    where,
)

__all__ = ["simulate_lif", "lif_dashboard", "check_lif_step", "lif_rate_closed_form",
           "check_firing_rate", "check_if_rate"]


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
            "beta": beta, "v_inf": v_inf, "n_spikes": n, "rate_hz": 1000.0 * n / (T * dt_ms)}


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

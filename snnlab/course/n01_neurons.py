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
    as_tensor,
    build,
    call,
    failed,
    need_callable,
    need_number,
    passed,
    unanswered,
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
    u = F.charge(v, current, beta)
    s = (u > threshold).to(u.dtype)
    return s, F.reset(u, s, threshold, "subtract", detach=True)


def check_lif_step(lif_step: Callable) -> bool:
    """``lif_step(v, current, beta, threshold) -> (s, v_new)``: charge, fire, reset by
    subtraction (eqs. 1, 2, 3a)."""
    name = "lif_step"
    need_callable("check_lif_step", lif_step)
    g = torch.Generator().manual_seed(0)
    v = torch.rand(64, generator=g) * 1.5
    current = torch.rand(64, generator=g) * 0.8 - 0.1
    cases = [(0.9, 1.0), (0.5, 0.7), (1.0, 1.2)]
    try:
        for beta, thr in cases:
            out = call(lif_step, v.clone(), current.clone(), beta, thr)
            if not isinstance(out, tuple) or len(out) != 2:
                return failed(name, f"expected a tuple (s, v_new), got {type(out).__name__}",
                              "end with `return s, v_new`")
            s, v_new = (as_tensor(o, v) for o in out)
            if s is None or v_new is None or s.shape != v.shape or v_new.shape != v.shape:
                return failed(name, "s and v_new must be tensors shaped like v",
                              "work elementwise on the whole tensor, no loops needed")
            s_ref, v_ref = _lif_reference(v, current, beta, thr)
            if not torch.equal(s, s_ref):
                return failed(name, f"wrong spikes for beta={beta}, threshold={thr}",
                              "charge first, u = beta*v + current, then s = (u > threshold)")
            if not torch.allclose(v_new, v_ref, atol=1e-6):
                if torch.allclose(v_new, (F.charge(v, current, beta)) * (1 - s_ref), atol=1e-6):
                    return failed(name, "you reset to zero", "this exercise asks for reset "
                                  "by subtraction: v_new = u - threshold * s")
                return failed(name, f"wrong new state for beta={beta}, threshold={thr}",
                              "v_new = u - threshold * s, with u the membrane before reset")
    except LearnerError as e:
        return failed(name, str(e), "implement the three lines charge, fire, reset")
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


def check_firing_rate(firing_rate: Callable) -> bool:
    """``firing_rate(current, beta, threshold) -> spikes per step`` of a LIF neuron with reset to
    zero under a constant current (analytically or by simulating; within 2%)."""
    name = "firing_rate"
    need_callable("check_firing_rate", firing_rate)
    cases = [(0.3, 0.9, 1.0), (0.15, 0.9, 1.0), (0.05, 0.9, 1.0), (0.6, 0.8, 1.5),
             (1.5, 0.95, 1.0)]
    try:
        for cur, beta, thr in cases:
            got = as_tensor(call(firing_rate, cur, beta, thr))
            if got is None or got.numel() != 1:
                return failed(name, "return one number (spikes per time step)",
                              "count the spikes and divide by the number of steps")
            ref = _simulated_rate(cur, beta, thr, "zero")
            got = float(got)
            if ref == 0.0 and got != 0.0:
                return failed(name, f"I={cur}, beta={beta}: the neuron never fires but you "
                              f"return {got:.3g}",
                              "the membrane saturates at I/(1-beta); below threshold no spikes")
            if ref > 0 and abs(got - ref) > 0.02 * ref:
                unit = " (looks like Hz: give spikes per step)" if got > 1 else ""
                return failed(name, f"I={cur}, beta={beta}, threshold={thr}: expected "
                              f"{ref:.4f} spikes/step, got {got:.4f}{unit}",
                              "after a reset to zero the neuron needs the same number of steps "
                              "n to reach threshold again; the rate is 1/n")
    except LearnerError as e:
        return failed(name, str(e), "simulate a few hundred steps with your lif step, or use "
                      "u[n] = I (1 - beta^n) / (1 - beta)")
    return passed(name)


def check_if_rate(answer) -> bool:
    """The long-run rate of an IF neuron (beta = 1, reset by subtraction) with current 0.25 and
    threshold 1, in spikes per step (a number; ``None`` or ``...`` means "not answered yet")."""
    name = "if_rate"
    if unanswered(answer):
        return failed(name, "no answer yet", "replace ... by a number")
    need_number("check_if_rate", answer)
    ref = _simulated_rate(0.25, 1.0, 1.0, "subtract", T=4000)
    if abs(answer - ref) <= 0.01:
        return passed(name, f"{ref:.3f} spikes per step")
    return failed(name, f"expected about {ref:.3f}, got {answer:.3g}",
                  "without leak and with reset by subtraction no charge is ever lost, so in "
                  "the long run the rate is I/θ")

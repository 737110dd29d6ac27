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
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_rate_sensitivity", "rate_sensitivity_dashboard", "check_rate_kappa",
           "check_rate_eligibility"]


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


def check_rate_kappa(kappa_fn: Callable) -> bool:
    """``kappa_fn(beta, T) -> [T]``: sensitivity of the membrane to a constant input,
    :math:`\\kappa[0] = 1`, :math:`\\kappa[t] = 1 + \\beta\\,\\kappa[t-1]` (detached soft reset)."""
    name = "rate_kappa"
    need_callable("check_rate_kappa", kappa_fn)
    beta, T = 0.8, 10
    ref = torch.tensor([(1 - beta ** (t + 1)) / (1 - beta) for t in range(T)])
    try:
        got = as_tensor(call(kappa_fn, beta, T), ref)
    except LearnerError as e:
        return failed(name, str(e), "kappa[t] = 1 + beta * kappa[t-1], kappa[0] = 1")
    if got is None or got.shape != ref.shape:
        return failed(name, f"return {T} values", "one per time step")
    if torch.allclose(got, ref, atol=1e-4):
        return passed(name, f"kappa -> 1/(1-beta) = {1 / (1 - beta):.1f}")
    if torch.allclose(got, torch.ones(T)):
        return failed(name, "the leak's memory is missing", "add beta * kappa[t-1]")
    return failed(name, "values differ from the reference", "start at kappa[0] = 1")


def check_rate_eligibility(eligibility_fn: Callable) -> bool:
    """``eligibility_fn(sg, kappa) -> [B, N]``: the rate pass's :math:`\\partial r/\\partial c`,
    :math:`e = \\frac1T\\sum_t \\sigma'[t]\\,\\kappa[t]`, from surrogate derivatives
    ``sg [T, B, N]`` and ``kappa [T]``."""
    name = "rate_eligibility"
    need_callable("check_rate_eligibility", eligibility_fn)
    g = torch.Generator().manual_seed(12)
    sg = torch.rand(7, 3, 4, generator=g)
    kappa = torch.linspace(1, 3, 7)
    ref = (sg * kappa.view(7, 1, 1)).mean(0)
    try:
        got = as_tensor(call(eligibility_fn, sg.clone(), kappa.clone()), ref)
    except LearnerError as e:
        return failed(name, str(e), "(sg * kappa.view(-1, 1, 1)).mean(0)")
    if got is None or got.shape != ref.shape:
        return failed(name, "return [B, N]", "average over the time axis 0")
    if torch.allclose(got, ref, atol=1e-5):
        return passed(name)
    if torch.allclose(got, ref * 7, atol=1e-4):
        return failed(name, "that is the sum over t", "the rate is a mean: divide by T")
    if torch.allclose(got, sg.mean(0), atol=1e-5):
        return failed(name, "kappa is missing", "weight each step by kappa[t]")
    return failed(name, "values differ from the reference", "broadcast kappa over B and N")

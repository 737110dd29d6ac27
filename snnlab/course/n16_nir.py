"""Notebook 16: deploying with NIR.

The simulate functions, dashboards and exercise checkers of
``notebooks/16_deploy_with_nir.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import functional as F
from ..export import simulate_readings
from ..plot import new_axes, set_labels, show
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["nir_readings_dashboard", "check_nir_lif", "check_nir_euler_step"]


def nir_readings_dashboard(**start) -> Dashboard:
    """Sliders for beta and the input current: one exported LIF neuron as three NIR readers run
    it (forward Euler, exact exponential, Norse ignoring R); the pure update is
    :func:`snnlab.export.simulate_readings`."""
    import ipywidgets as W

    controls = {
        "beta": W.FloatSlider(value=start.get("beta", 0.9), min=0.5, max=0.98, step=0.01,
                              description="β", continuous_update=False),
        "current": W.FloatSlider(value=start.get("current", 0.3), min=0.0, max=2.0, step=0.02,
                                 description="input I", continuous_update=False),
    }

    def draw(r):
        ax = new_axes(figsize=(7.0, 3.2))
        for name, rd in r["readers"].items():
            ax.plot(rd["membrane"].numpy(), lw=1.8,
                    label=f"{name}: {int(rd['spikes'].sum())} spikes")
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.legend(fontsize=8)
        p = r["params"]
        set_labels(ax, "time step", "membrane u",
                   f"tau = {p['tau'] * 1e3:.3g} ms, R = {p['r']:.3g} (dt = 0.1 ms)")
        show(ax)

    return build(controls, lambda **kw: simulate_readings(**kw), draw)


def check_nir_lif(lif_to_nir: Callable) -> bool:
    """``lif_to_nir(beta, dt) -> (tau, r)``: the NIR LIF parameters that make one forward-Euler
    step of :math:`\\tau\\dot v = -v + R I` equal snnlab's ``u = beta v + I``."""
    name = "nir_lif"
    need_callable("check_nir_lif", lif_to_nir)
    cases = [(0.9, 1e-4), (0.5, 1e-3), (0.99, 2e-4)]
    for beta, dt in cases:
        tau, r = dt / (1 - beta), 1 / (1 - beta)
        try:
            got = call(lif_to_nir, beta, dt)
        except LearnerError as e:
            return failed(name, str(e), "Euler: beta = 1 - dt/tau, gain R dt/tau = 1")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return failed(name, "return two numbers (tau, r)", "return tau, r")
        g_tau, g_r = (float(v) for v in got)
        if math.isclose(g_tau, -dt / math.log(beta), rel_tol=1e-6):
            return failed(name, "that tau is the exact-exponential reading beta = exp(-dt/tau)",
                          "one forward-Euler step decays by 1 - dt/tau")
        if not math.isclose(g_tau, tau, rel_tol=1e-6):
            return failed(name, f"tau wrong for beta={beta}, dt={dt}", "solve beta = 1 - dt/tau")
        if math.isclose(g_r, 1.0, rel_tol=1e-6):
            return failed(name, "with R = 1 the input is scaled by dt/tau = 1 - beta",
                          "choose R so that R * dt / tau = 1")
        if not math.isclose(g_r, r, rel_tol=1e-6):
            return failed(name, f"r wrong for beta={beta}", "R * dt / tau must be 1")
    return passed(name, "tau = dt/(1-beta), R = 1/(1-beta)")


def check_nir_euler_step(euler_step: Callable) -> bool:
    """``euler_step(v, current, tau, r, dt) -> v_new``: one forward-Euler step of NIR's
    :math:`\\tau\\dot v = (0 - v) + R I` (no spike), elementwise on tensors."""
    name = "nir_euler_step"
    need_callable("check_nir_euler_step", euler_step)
    g = torch.Generator().manual_seed(16)
    v, current = torch.rand(32, generator=g), torch.randn(32, generator=g)
    tau, r, dt = 1e-3, 7.0, 1e-4
    ref = v + dt / tau * (-v + r * current)
    try:
        got = as_tensor(call(euler_step, v.clone(), current.clone(), tau, r, dt), ref)
    except LearnerError as e:
        return failed(name, str(e), "v + dt / tau * (-v + r * current)")
    if got is None or got.shape != ref.shape:
        return failed(name, "return a tensor shaped like v", "work elementwise")
    if torch.allclose(got, ref, atol=1e-6):
        beta = 1 - dt / tau
        same = F.charge(v, current * r * dt / tau, beta)
        return passed(name, f"= snnlab's beta v + I' with beta = {beta:.2f}, "
                            f"I' = R dt/tau I" if torch.allclose(got, same, atol=1e-6) else "")
    if torch.allclose(got, v + dt / tau * (-v) + r * current, atol=1e-6):
        return failed(name, "the input is not multiplied by dt/tau", "dv = dt/tau * (-v + R I)")
    return failed(name, "values differ from the reference", "v_new = v + dt/tau * (R I - v)")

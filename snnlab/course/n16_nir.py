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
from ..export import nir_lif_parameters, simulate_readings
from ..plot import new_axes, set_labels, show
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
    rand_shape,
    returned_number,
    unanswered,
    uniform,
    where,
)

__all__ = ["nir_readings_dashboard", "check_nir_lif", "check_nir_euler_step",
           "check_prediction_norse_lif", "check_reset_spike_difference"]


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


def _ref_lif_to_nir(beta, dt):
    p = nir_lif_parameters(float(beta), float(dt))
    return p["tau"], p["r"]


@checker("nir_lif",
         idea="write one forward-Euler step of the NIR equation and match it term by term with "
              "snnlab's step: the factor in front of v must be beta, the factor in front of the "
              "input must be 1",
         equation="Euler: v_new = (1 - dt/tau)·v + (R·dt/tau)·I, so beta = 1 - dt/tau and "
                  "R·dt/tau = 1: tau = dt/(1 - beta), R = 1/(1 - beta)",
         code="tau = dt / (1 - beta)\nr = tau / dt\nreturn tau, r",
         reference=_ref_lif_to_nir)
def check_nir_lif(lif_to_nir: Callable) -> bool:
    """``lif_to_nir(beta, dt) -> (tau, r)``: the NIR LIF parameters that make one forward-Euler
    step of :math:`\\tau\\dot v = -v + R I` equal snnlab's ``u = beta v + I``."""
    name = "nir_lif"
    need_callable("check_nir_lif", lif_to_nir)
    gen = torch.Generator().manual_seed(1601)
    cases = [(0.9, 1e-4), (0.0, 1e-3)] + [(uniform(gen, 0.05, 0.995), 10 ** uniform(gen, -5, -2))
                                          for _ in range(6)]
    for beta, dt in cases:
        tau, r = _ref_lif_to_nir(beta, dt)
        case = where(dict(beta=beta, dt=dt))
        got = call(lif_to_nir, beta, dt)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return failed(name, "return two numbers (tau, r)")
        g_tau = returned_number(got[0])
        g_r = returned_number(got[1])
        if beta > 0 and math.isclose(g_tau, -dt / math.log(beta), rel_tol=1e-6):
            return failed(name, "that tau is the exact-exponential reading; a forward-Euler "
                          "step decays by a linear factor")
        if not math.isclose(g_tau, tau, rel_tol=1e-6):
            return failed(name, f"tau wrong for {case}")
        if math.isclose(g_r, 1.0, rel_tol=1e-6) and not math.isclose(r, 1.0):
            return failed(name, f"with R = 1 the input is scaled by dt/tau ({case})")
        if not math.isclose(g_r, r, rel_tol=1e-6):
            return failed(name, f"r wrong for {case}")
    return passed(name, "tau = dt/(1-beta), R = 1/(1-beta)")


def _ref_euler_step(v, current, tau, r, dt):
    v, current = torch.as_tensor(v), torch.as_tensor(current)
    return F.charge(v, current * r * dt / tau, 1 - dt / tau)


@checker("nir_euler_step",
         idea="forward Euler moves the membrane by one time step along its current slope; the "
              "slope pulls v back towards zero and pushes it with the scaled input, both "
              "divided by the time constant",
         equation="v_new = v + dt/tau·(-v + R·I)",
         code="return v + dt / tau * (-v + r * current)",
         reference=_ref_euler_step)
def check_nir_euler_step(euler_step: Callable) -> bool:
    """``euler_step(v, current, tau, r, dt) -> v_new``: one forward-Euler step of NIR's
    :math:`\\tau\\dot v = (0 - v) + R I` (no spike), elementwise on tensors."""
    name = "nir_euler_step"
    need_callable("check_nir_euler_step", euler_step)
    gen = torch.Generator().manual_seed(1602)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = rand_shape(gen, 2, 8)
        v = torch.rand(shape, generator=gen, dtype=dtype)
        current = torch.randn(shape, generator=gen, dtype=dtype)
        dt = 10 ** uniform(gen, -5, -3)
        tau, r = dt * uniform(gen, 1.5, 50), uniform(gen, 0.5, 20)
        ref = _ref_euler_step(v, current, tau, r, dt)
        case = where(dict(tau=tau, r=r, dt=dt))
        got = answer_tensor(call(euler_step, v.clone(), current.clone(), tau, r, dt), shape)
        if close(got, ref, atol=1e-5):
            continue
        if close(got, (v + dt / tau * (-v) + r * current).double(), atol=1e-5):
            return failed(name, f"the input is not multiplied by dt/tau ({case})")
        if close(got, (v + dt / tau * (-v + current)).double(), atol=1e-5):
            return failed(name, f"the resistance R is missing ({case})")
        return failed(name, f"values differ from the reference ({case})")
    return passed(name, "one Euler step = snnlab's beta v + I' with beta = 1 - dt/tau, "
                        "I' = R dt/tau I")


# =========================================================================== predict, interpret
def _counts(checker_name: str, counts, keys) -> dict:
    ok = isinstance(counts, dict) and all(k in counts for k in keys)
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's counts dict {{reader: number of "
                        f"hidden spikes}} with {list(keys)}")
    return {k: float(counts[k]) for k in keys}


_SHARES = {"same": "three quarters or more", "half": "a quarter to three quarters",
           "few": "less than a quarter"}


@checker("prediction_norse_lif",
         idea="a neuron that sees a tenth of its input current must integrate for longer to reach "
              "the threshold; does it get there within the window at all?",
         equation="share = counts['norse lif'] / counts['snnlab']: same >= 0.75, half in "
                  "[0.25, 0.75), few < 0.25",
         code='my_prediction = "few"  # or "half" or "same": commit before the run')
def check_prediction_norse_lif(my_prediction, counts) -> bool:
    """Predict-then-observe: from plain ``LIF`` nodes, does Norse keep about the ``"same"``
    number of hidden spikes as snnlab, about ``"half"``, or ``"few"`` (under a quarter)? Any
    honest answer passes; the measured share is printed."""
    name = "prediction_norse_lif"
    c = _counts("check_prediction_norse_lif", counts, ("snnlab", "norse lif"))
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'same', 'half' or 'few'")
    guess = need_choice(my_prediction, ("same", "half", "few"))
    share = c["norse lif"] / c["snnlab"] if c["snnlab"] else float("nan")
    measured = "same" if share >= 0.75 else ("half" if share >= 0.25 else "few")
    why = (f"Norse from plain LIF nodes: {c['norse lif']:.0f} spikes, snnlab {c['snnlab']:.0f} "
           f"(share {share:.2f}: {_SHARES[measured]}); it ignores R, so each neuron sees "
           "(1 - beta) of its input")
    return predicted(name, guess, measured, guess == measured, why)


@checker("reset_spike_difference",
         idea="read the two spike totals of the reset printout: the subtracting network's and "
              "the zero-reset twin's that snnTorch runs",
         equation="counts['subtract'] - counts['snnlab']",
         code="answer = counts['subtract'] - counts['snnlab']")
def check_reset_spike_difference(answer, counts) -> bool:
    """Interpret: how many more hidden spikes (negative: fewer) the subtracting network emits
    than its zero-reset twin, on the learner's own samples (exact)."""
    name = "reset_spike_difference"
    c = _counts("check_reset_spike_difference", counts, ("snnlab", "subtract"))
    if unanswered(answer):
        return failed(name, "no answer yet: write the difference of the two spike totals")
    got = need_number("check_reset_spike_difference", answer)
    want = c["subtract"] - c["snnlab"]
    if got == want:
        why = ("a subtracting neuron keeps the charge above threshold, so it fires again "
               "sooner" if want > 0 else "the two resets change which neurons fire when")
        return passed(name, f"{want:+.0f} spikes: {why}")
    if got == -want:
        return failed(name, "the sign is reversed: the subtracting network minus the zero-reset")
    if got in (c["subtract"], c["snnlab"]):
        return failed(name, "that is one of the totals; give their difference")
    return failed(name, f"{got:g} is not the difference in your run")

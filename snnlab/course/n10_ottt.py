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
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_ottt_trace", "ottt_trace_dashboard", "check_ottt_trace", "check_three_factor"]


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


def check_ottt_trace(trace_step: Callable) -> bool:
    """``trace_step(trace, s, lam) -> new trace``: OTTT's presynaptic trace
    :math:`\\hat a[t] = \\lambda \\hat a[t-1] + s[t]`, run over a spike train by the checker."""
    name = "ottt_trace"
    need_callable("check_ottt_trace", trace_step)
    g = torch.Generator().manual_seed(10)
    spikes = (torch.rand(12, 3, 5, generator=g) < 0.3).float()
    lam = 0.7
    ref = torch.zeros_like(spikes[0])
    got = torch.zeros_like(spikes[0])
    try:
        for s in spikes:
            ref = lam * ref + s
            got = as_tensor(call(trace_step, got.clone(), s.clone(), lam), ref)
            if got is None or got.shape != ref.shape:
                return failed(name, "return the new trace, shaped like s", "lam * trace + s")
    except LearnerError as e:
        return failed(name, str(e), "lam * trace + s")
    if torch.allclose(got, ref, atol=1e-5):
        return passed(name, "the trace equals du/dW of a LIF membrane with leak lam")
    if torch.allclose(got, spikes.sum(0), atol=1e-5):
        return failed(name, "that is a plain spike count", "decay the old trace by lam first")
    return failed(name, "values differ from lam * trace + s",
                  "decay the previous trace, then add this step's spikes")


def check_three_factor(weight_grad: Callable) -> bool:
    """``weight_grad(error, surrogate, trace) -> [N_out, N_in]``: the OTTT update accumulated
    over time, :math:`\\sum_t (e[t] \\odot \\sigma'[t])^\\top \\hat a[t]`, from per-step errors
    ``[T, B, N_out]``, surrogate derivatives ``[T, B, N_out]`` and traces ``[T, B, N_in]``."""
    name = "three_factor"
    need_callable("check_three_factor", weight_grad)
    g = torch.Generator().manual_seed(11)
    err = torch.randn(6, 4, 3, generator=g)
    sg = torch.rand(6, 4, 3, generator=g)
    tr = torch.rand(6, 4, 5, generator=g) * 2
    ref = torch.einsum("tbo,tbi->oi", err * sg, tr)
    try:
        got = as_tensor(call(weight_grad, err.clone(), sg.clone(), tr.clone()), ref)
    except LearnerError as e:
        return failed(name, str(e), "sum over t of (error * surrogate)[t].T @ trace[t]")
    if got is None or tuple(got.shape) != (3, 5):
        return failed(name, f"return a [N_out, N_in] = (3, 5) matrix, got "
                      f"{None if got is None else tuple(got.shape)}", "like a Linear weight")
    if torch.allclose(got, ref, atol=1e-4):
        return passed(name)
    if torch.allclose(got, torch.einsum("tbo,tbi->oi", err, tr), atol=1e-4):
        return failed(name, "the surrogate factor is missing", "multiply error * surrogate")
    if torch.allclose(got, torch.einsum("tbo,tbi->oi", err * sg, tr[-1:].expand_as(tr)),
                      atol=1e-4):
        return failed(name, "you used the last trace at every step", "use trace[t] at step t")
    return failed(name, "values differ from the reference",
                  "torch.einsum('tbo,tbi->oi', error * surrogate, trace)")

"""Notebook 14: EICIL (excitatory-inhibitory cycles).

The simulate functions, dashboards and exercise checkers of ``notebooks/14_eicil.ipynb``, side
by side (the pattern is described in :mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from .._checks import check_int
from ..plot import PALETTE, new_axes, set_labels, show
from ..rules.eicil import EICIL, stdp_correlations, weight_sparsity
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_inhibition", "inhibition_dashboard", "check_stdp_traces",
           "check_inhibitory_update"]


def simulate_inhibition(model, x_seq: torch.Tensor, y: torch.Tensor, *, eta_i: float = 0.02,
                        a_plus: float = 1.0, a_minus: float = 1.5, steps: int = 20,
                        contraction: float = 0.5) -> dict:
    """Apply ``steps`` EICIL inhibitory updates (on this one batch) to a *copy* of ``model``;
    report firing rate, weight sparsity and batch accuracy before and after. ``model`` is not
    changed."""
    steps = check_int("steps", steps, low=0)
    rule = EICIL(eta_i=eta_i, a_plus=a_plus, a_minus=a_minus, contraction=contraction)
    net = copy.deepcopy(model)

    @torch.no_grad()
    def stats(m):
        rec = m.run(x_seq)
        rate = sum(float(s.mean()) for s in rec.spikes) / max(len(rec.spikes), 1)
        return rate, weight_sparsity(m), float((rec.logits.argmax(1) == y).float().mean())

    before = stats(net)
    for _ in range(steps):
        rule.inhibit(net, x_seq)
    after = stats(net)
    keys = ("firing_rate", "sparsity", "accuracy")
    return {**{k + "_before": v for k, v in zip(keys, before)},
            **{k + "_after": v for k, v in zip(keys, after)}}


def inhibition_dashboard(model, x_seq: torch.Tensor, y: torch.Tensor, *, eta_i: float = 0.02,
                         a_minus: float = 1.5, steps: int = 20) -> Dashboard:
    """Sliders for the inhibitory rate, the depression amplitude and the number of steps; bars
    of firing rate, sparsity and accuracy before and after (on a copy of the model)."""
    import ipywidgets as W

    controls = {
        "eta_i": W.FloatLogSlider(value=eta_i, base=10, min=-3, max=-0.5, step=0.25,
                                  description="η_I", continuous_update=False),
        "a_minus": W.FloatSlider(value=a_minus, min=0.5, max=3.0, step=0.25, description="A₋",
                                 continuous_update=False),
        "steps": W.IntSlider(value=steps, min=0, max=60, step=5, description="steps",
                             continuous_update=False),
    }

    def compute(**kw):
        return simulate_inhibition(model, x_seq, y, **kw)

    def draw(r):
        ax = new_axes()
        keys = ("firing_rate", "sparsity", "accuracy")
        x = torch.arange(3).numpy()
        ax.bar(x - 0.2, [r[k + "_before"] for k in keys], 0.4, color=PALETTE[0], label="before")
        ax.bar(x + 0.2, [r[k + "_after"] for k in keys], 0.4, color=PALETTE[1], label="after")
        ax.set_xticks(x, ["firing rate", "weight sparsity", "batch accuracy"])
        ax.legend(fontsize=8)
        set_labels(ax, "", "fraction", "One inhibitory phase on a copy of the network")
        show(ax)

    return build(controls, compute, draw)


def check_stdp_traces(stdp: Callable) -> bool:
    """``stdp(pre [T,B,in], post [T,B,out], lam) -> (P, D)`` with traces decaying by ``lam``:
    P pairs each post spike with the pre trace up to it, D each pre input with the post trace up
    to it; both ``[out, in]``, averaged over batch and T."""
    name = "stdp_traces"
    need_callable("check_stdp_traces", stdp)
    g = torch.Generator().manual_seed(5)
    pre = (torch.rand(6, 3, 4, generator=g) < 0.5).float()
    post = (torch.rand(6, 3, 2, generator=g) < 0.4).float()
    P, D = stdp_correlations(pre, post, 0.7, 0.7)
    try:
        got = call(stdp, pre.clone(), post.clone(), 0.7)
        gP, gD = (as_tensor(v, P) for v in got)
    except LearnerError as e:
        return failed(name, str(e), "loop over t: update both traces, then accumulate")
    except (TypeError, ValueError):
        return failed(name, "return two tensors (P, D)", "return P, D")
    if gP is None or gD is None or gP.shape != P.shape or gD.shape != D.shape:
        return failed(name, f"P and D must have shape [out, in] = {tuple(P.shape)}",
                      "post[t].T @ x_hat")
    if torch.allclose(gP, P, atol=1e-5) and torch.allclose(gD, D, atol=1e-5):
        return passed(name)
    if torch.allclose(gP, P * 18, atol=1e-4) or torch.allclose(gD, D * 18, atol=1e-4):
        return failed(name, "not normalised", "divide the sums by B * T")
    if torch.allclose(gP, D, atol=1e-5):
        return failed(name, "P and D are swapped", "P uses the post spikes and the pre trace")
    return failed(name, "values differ from the reference",
                  "update the trace before using it: x_hat = lam * x_hat + pre[t]")


def check_inhibitory_update(update: Callable) -> bool:
    """``update(W, P, D, eta, a_plus, a_minus) -> W_new``: only positive weights change, by
    ``eta * (a_plus * P - a_minus * D)``, and none is pushed below zero."""
    name = "inhibitory_update"
    need_callable("check_inhibitory_update", update)
    W = torch.tensor([[0.5, -0.3, 0.0, 0.02], [0.1, 0.2, -0.1, 0.3]])
    P = torch.tensor([[0.2, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.1]])
    D = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.5, 0.5, 0.2]])
    eta, ap, am = 0.1, 1.0, 1.5
    new = W + eta * (ap * P - am * D)
    ref = torch.where(W > 0, new.clamp(min=0.0), W)
    try:
        got = as_tensor(call(update, W.clone(), P.clone(), D.clone(), eta, ap, am), ref)
    except LearnerError as e:
        return failed(name, str(e), "torch.where(W > 0, new.clamp(min=0), W)")
    if got is None or got.shape != W.shape:
        return failed(name, "return the new weight matrix", "same shape as W")
    if torch.allclose(got, ref, atol=1e-6):
        return passed(name)
    if torch.allclose(got, new, atol=1e-6):
        return failed(name, "negative and zero weights changed, and weights flipped sign",
                      "update only W > 0 and clamp at 0")
    if torch.allclose(got, torch.where(W > 0, new, W), atol=1e-6):
        return failed(name, "a weight was pushed below zero", "clamp(min=0): silence, don't flip")
    return failed(name, "values differ from the reference", "new = W + eta*(a_plus*P - a_minus*D)")

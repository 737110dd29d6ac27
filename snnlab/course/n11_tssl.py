"""Notebook 11: TSSL-BP.

The simulate functions, dashboards and exercise checkers of ``notebooks/11_tssl_bp.ipynb``, side
by side (the pattern is described in :mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import neurons as N
from .._checks import check_choice, check_float, check_int
from ..plot import PALETTE, set_labels, show, subplots
from ..rules.tssl import psp, tssl_spikes
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_tssl_neuron", "tssl_neuron_dashboard", "check_psp_kernel",
           "check_spike_time_derivative"]


def simulate_tssl_neuron(*, current: float = 0.5, tau_m: float = 5.0, tau_s: float = 3.0,
                         T: int = 12, pattern: str = "alternate") -> dict:
    r"""One PSP neuron of TSSL-BP driven by a constant current, trained towards a target spike
    train (``pattern``: ``"alternate"`` [0,1,0,1...], ``"late"`` only the last third,
    ``"silent"``). Returns its membrane, spikes, PSP, the target PSP and the gradient of the
    kernel loss with respect to the input current at every step, split into the TSSL-BP parts:
    ``grads`` maps ``inter`` (spike times only), ``inter+intra`` (plus the reset dependency),
    ``fallback`` (the sigmoid surrogate where the PSP is low) and ``all``."""
    current = check_float("current", current, low=0.0)
    tau_m = check_float("tau_m", tau_m, low=1.0, low_open=True)
    tau_s = check_float("tau_s", tau_s, low=1.0, low_open=True)
    T = check_int("T", T, low=2)
    pattern = check_choice("pattern", pattern, ("alternate", "late", "silent"))
    if pattern == "alternate":
        target = torch.tensor([t % 2 for t in range(T)], dtype=torch.float64)
    elif pattern == "late":
        target = (torch.arange(T) >= 2 * T // 3).double()
    else:
        target = torch.zeros(T, dtype=torch.float64)
    target_psp = psp(target[:, None], tau_s)[:, 0]
    parts = {"inter": dict(intra=False, fallback=False),
             "inter+intra": dict(fallback=False),
             "fallback": dict(inter=False, intra=False),
             "all": {}}
    grads = {}
    for name, kw in parts.items():
        c = torch.full((T, 1), current, dtype=torch.float64, requires_grad=True)
        s = tssl_spikes(c, tau_m=tau_m, tau_s=tau_s, **kw)
        a = psp(s, tau_s)[:, 0]
        loss = 0.5 * ((a - target_psp) ** 2).sum()
        (grads[name],) = torch.autograd.grad(loss, c)
        grads[name] = grads[name][:, 0]
    # the membrane to plot: the same neuron (leak 1 - 1/tau_m, reset to zero) without the PSP
    neuron = N.LIF(beta=1 - 1 / tau_m, threshold=1.0, reset="zero")
    _, u = neuron.simulate(torch.full((T, 1), current, dtype=torch.float64))
    return {"u": u[:, 0], "spikes": s.detach()[:, 0],
            "psp": a.detach(), "target_psp": target_psp, "target": target,
            "loss": float(loss.detach()), "grads": grads}


def tssl_neuron_dashboard(**start) -> Dashboard:
    """Sliders for the current and the time constants; bars of the gradient per step."""
    import ipywidgets as W

    controls = {
        "current": W.FloatSlider(value=start.get("current", 0.5), min=0.0, max=1.5, step=0.02,
                                 description="current", continuous_update=False),
        "tau_m": W.FloatSlider(value=start.get("tau_m", 5.0), min=1.5, max=20.0, step=0.5,
                               description="τ_m", continuous_update=False),
        "pattern": W.Dropdown(options=["alternate", "late", "silent"],
                              value=start.get("pattern", "alternate"), description="target"),
    }

    def draw(r):

        fig, axes = subplots(1, 2, figsize=(11.0, 3.2))
        t = torch.arange(len(r["u"])).numpy()
        axes[0].plot(t, r["psp"].numpy(), color=PALETTE[0], lw=2, label="PSP a[t]")
        axes[0].plot(t, r["target_psp"].numpy(), "--", color=PALETTE[1], lw=2, label="target")
        axes[0].vlines(t[r["spikes"].numpy() > 0], 0, 0.1, color=PALETTE[7], lw=2,
                       label="spikes")
        axes[0].legend(fontsize=8)
        set_labels(axes[0], "time step", "PSP", f"kernel loss {r['loss']:.3f}")
        width = 0.2
        for i, (name, g) in enumerate(r["grads"].items()):
            axes[1].bar(t + (i - 1.5) * width, g.numpy(), width, color=PALETTE[i], label=name)
        axes[1].axhline(0, color="k", lw=0.5)
        axes[1].legend(fontsize=8)
        set_labels(axes[1], "time step", "∂L/∂current", "TSSL-BP gradient by part")
        fig.tight_layout()
        show(fig)

    return build(controls, lambda **kw: simulate_tssl_neuron(T=start.get("T", 12), **kw), draw)


def check_psp_kernel(psp_kernel: Callable) -> bool:
    """``psp_kernel(T, tau_s) -> [T]``: TSSL-BP's normalised PSP of one spike at t = 0,
    :math:`\\epsilon[k] = (1 - 1/\\tau_s)^k / \\tau_s`."""
    name = "psp_kernel"
    need_callable("check_psp_kernel", psp_kernel)
    T, tau_s = 8, 3.0
    ref = torch.tensor([(1 - 1 / tau_s) ** k / tau_s for k in range(T)])
    try:
        got = as_tensor(call(psp_kernel, T, tau_s), ref)
    except LearnerError as e:
        return failed(name, str(e), "(1 - 1/tau_s) ** k / tau_s for k = 0..T-1")
    if got is None or got.shape != ref.shape:
        return failed(name, f"return {T} values", "one per delay k = 0..T-1")
    if torch.allclose(got, ref, atol=1e-5):
        return passed(name, f"sum over {T} steps = {float(ref.sum()):.3f}, -> 1 for long T")
    if torch.allclose(got, ref * tau_s, atol=1e-5):
        return failed(name, "not normalised", "divide by tau_s so the kernel integrates to ~1")
    return failed(name, "values differ from the reference",
                  "first-order trace: a[t] = (1 - 1/tau_s) a[t-1] + s[t]/tau_s")


def check_spike_time_derivative(dt_du: Callable) -> bool:
    """``dt_du(du) -> |dt/du|``: TSSL-BP's spike-time sensitivity ``1/du`` for a rising membrane
    (increment ``du``), clamped to [0, 8] as the reference code does (0 where du <= 0)."""
    name = "spike_time_derivative"
    need_callable("check_spike_time_derivative", dt_du)
    du = torch.tensor([0.5, 1.0, 0.05, 0.2, -0.3, 2.0, 0.1])
    ref = torch.where(du > 0, (1 / du).clamp(max=8.0), torch.zeros_like(du))
    try:
        got = as_tensor(call(dt_du, du.clone()), ref)
    except LearnerError as e:
        return failed(name, str(e), "torch.clamp(1 / du, 0, 8)")
    if got is None or got.shape != du.shape:
        return failed(name, "return one value per entry of du", "elementwise")
    if torch.allclose(got, ref, atol=1e-5):
        return passed(name)
    if torch.allclose(got[du > 0.125], ref[du > 0.125], atol=1e-5):
        return failed(name, "small or negative increments are not handled",
                      "clamp to [0, 8]: a falling membrane gives no timing gradient")
    return failed(name, "values differ from clamp(1/du, 0, 8)",
                  "a spike moves earlier by du_extra/du when u rises by du per step")

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
from .ui import (
    Dashboard,
    answer_tensor,
    build,
    call,
    checker,
    close,
    failed,
    judge_points,
    need_callable,
    need_choice,
    need_number,
    passed,
    predicted,
    rand_shape,
    randint,
    unanswered,
    uniform,
    where,
)

__all__ = ["simulate_tssl_neuron", "tssl_neuron_dashboard", "check_psp_kernel",
           "check_spike_time_derivative", "check_prediction_tssl_vs_surrogate", "check_tssl_gap"]


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


def _ref_psp_kernel(T, tau_s):
    """The PSP of one spike at t = 0, from the rule's own :func:`~snnlab.rules.tssl.psp`."""
    one = torch.zeros(int(T), 1, dtype=torch.float64)
    if T:
        one[0] = 1.0
    return psp(one, tau_s)[:, 0]


@checker("psp_kernel",
         idea="one input spike leaves a trace that starts at 1/tau_s and then fades by the "
              "same factor at every step; the slower the synapse (larger tau_s), the lower the "
              "start and the slower the fade",
         equation="ε[k] = (1 - 1/tau_s)^k / tau_s for k = 0..T-1",
         code="k = torch.arange(T, dtype=torch.float64)\nreturn (1 - 1 / tau_s) ** k / tau_s",
         reference=_ref_psp_kernel)
def check_psp_kernel(psp_kernel: Callable) -> bool:
    """``psp_kernel(T, tau_s) -> [T]``: TSSL-BP's normalised PSP of one spike at t = 0,
    :math:`\\epsilon[k] = (1 - 1/\\tau_s)^k / \\tau_s`, for T >= 1 and tau_s > 1."""
    name = "psp_kernel"
    need_callable("check_psp_kernel", psp_kernel)
    gen = torch.Generator().manual_seed(1101)
    cases = [(8, 3.0), (1, 2.0)] + [(randint(gen, 2, 40), uniform(gen, 1.05, 20.0))
                                    for _ in range(6)]
    for T, tau_s in cases:
        ref = _ref_psp_kernel(T, tau_s)
        case = where(dict(T=T, tau_s=tau_s))
        got = answer_tensor(call(psp_kernel, T, tau_s), (T,), f"the kernel ({case})")
        if close(got, ref):
            continue
        if close(got, ref * tau_s):
            return failed(name, f"not normalised ({case}): the kernel must integrate to about 1")
        if close(got, _ref_psp_kernel(T, 3.0)):
            return failed(name, f"your kernel ignores tau_s ({case})")
        if T > 1 and close(got[:-1], ref[1:]):
            return failed(name, f"off by one step ({case}): the kernel starts at k = 0")
        return failed(name, f"values differ from the reference ({case})")
    return passed(name, "the trace of one spike, normalised")


def _ref_dt_du(du):
    du = torch.as_tensor(du)
    return torch.where(du > 0, (1 / du).clamp(max=8.0), torch.zeros_like(du))


@checker("spike_time_derivative",
         idea="a membrane that rises fast crosses the threshold at a well-defined time, one "
              "that rises slowly could cross much earlier or later; a membrane that does not "
              "rise gives no timing gradient at all, and a very slow one is capped",
         equation="|dt/du| = min(1/Δu, 8) where Δu > 0, and 0 where Δu <= 0 (also at Δu = 0)",
         code="return torch.where(du > 0, (1 / du).clamp(max=8.0), torch.zeros_like(du))",
         reference=_ref_dt_du)
def check_spike_time_derivative(dt_du: Callable) -> bool:
    """``dt_du(du) -> |dt/du|``: TSSL-BP's spike-time sensitivity ``1/du`` for a rising membrane
    (increment ``du``), clamped to [0, 8] (0 where du <= 0, including du = 0)."""
    name = "spike_time_derivative"
    need_callable("check_spike_time_derivative", dt_du)
    gen = torch.Generator().manual_seed(1102)
    edges = [0.0, -0.0, 0.125, 0.124, 0.126, 1e-9, -1e-9, -3.0, 5.0]
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        du = (torch.rand(rand_shape(gen, 2, 8), generator=gen, dtype=dtype) - 0.3) * 2
        du = torch.cat([du.reshape(-1), torch.tensor(edges, dtype=dtype)]) if i < 2 else du
        ref = _ref_dt_du(du)
        got = answer_tensor(call(dt_du, du.clone()), du.shape)
        if close(got, ref):
            continue
        bad = (got - ref.double()).abs() > 1e-4 * (1 + ref.double().abs())
        if not bool(torch.isfinite(got).all()):
            return failed(name, "your result has inf or NaN: a tiny or zero increment must "
                          "give a finite value")
        if bool((bad & (du == 0)).any()) and not bool((bad & (du != 0)).any()):
            v = float(got[bad & (du == 0)][0])
            return failed(name, f"at du = 0 you return {v:g}; a membrane that does not rise "
                          "gives 0")
        if bool((bad & (du < 0)).any()):
            return failed(name, "a falling membrane (du < 0) must give 0")
        if bool((bad & (du > 0) & (du < 0.125)).any()):
            return failed(name, "very small increments are not capped at 8")
        return failed(name, "values differ from the reference")
    return passed(name)


# =========================================================================== predict, interpret
def _seed_accs(checker_name: str, accs) -> tuple[float, float, float]:
    """``(gap, spread, n)``: mean TSSL-BP minus mean surrogate-only accuracy, and the sum of the
    two sample standard deviations, from the notebook's ``accs`` ({label: [acc per seed]})."""
    keys = ("TSSL-BP", "surrogate only")
    ok = (isinstance(accs, dict) and all(k in accs for k in keys)
          and all(isinstance(accs[k], (list, tuple)) and len(accs[k]) >= 2 for k in keys))
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's accs dict {{label: [accuracy "
                        "per seed]}} with 'TSSL-BP' and 'surrogate only', two seeds or more")
    t, sur = (torch.tensor([float(v) for v in accs[k]], dtype=torch.float64) for k in keys)
    return float(t.mean() - sur.mean()), float(t.std() + sur.std()), len(t)


@checker("prediction_tssl_vs_surrogate",
         idea="what do the timing terms add on a task scored by the class with the most output "
              "potential, where nothing asks for a spike at a precise step?",
         equation="gap = mean(TSSL-BP) - mean(surrogate only); tied when |gap| is at most the "
                  "two seed standard deviations added (and at least one point)",
         code='my_prediction = "tied"  # or "higher" or "lower": commit before the run')
def check_prediction_tssl_vs_surrogate(my_prediction, accs) -> bool:
    """Predict-then-observe: over the seeds, is TSSL-BP ``"higher"`` than its surrogate-only
    ablation, ``"tied"`` (the gap within the two seed spreads added, one point at least), or
    ``"lower"``? Any honest answer passes; the measurement is printed."""
    name = "prediction_tssl_vs_surrogate"
    gap, spread, n = _seed_accs("check_prediction_tssl_vs_surrogate", accs)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'higher', 'tied' or 'lower'")
    guess = need_choice(my_prediction, ("higher", "tied", "lower"))
    band = max(spread, 0.01)
    measured = "tied" if abs(gap) <= band else ("higher" if gap > 0 else "lower")
    why = (f"over {n} seeds TSSL-BP is {100 * gap:+.1f} points from the surrogate alone, with "
           f"seed spreads adding up to {100 * spread:.1f} points; on digits the class is read "
           "from summed potentials, so the spike-time terms have little to add")
    return predicted(name, guess, measured, guess == measured, why)


@checker("tssl_gap",
         idea="take the mean accuracy over seeds of each of the two runs from the printed lines "
              "and subtract, in percentage points",
         equation="100 * (mean(accs['TSSL-BP']) - mean(accs['surrogate only']))",
         code="answer = 100 * gap")
def check_tssl_gap(answer, accs) -> bool:
    """Interpret: TSSL-BP's lead over its surrogate-only ablation in accuracy points (mean over
    the learner's seeds, negative when behind), within half a point."""
    name = "tssl_gap"
    gap, spread, _ = _seed_accs("check_tssl_gap", accs)
    if unanswered(answer):
        return failed(name, "no answer yet: write the gap in accuracy points")
    got = need_number("check_tssl_gap", answer)
    verdict = judge_points(name, got, gap, f"{100 * gap:+.1f} points, seed spreads "
                           f"{100 * spread:.1f} points", "TSSL-BP minus the surrogate only")
    if verdict is not None:
        return verdict
    return failed(name, f"{got:g} is not the gap of your run")

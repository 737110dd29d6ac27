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
from ..rules.eicil import inhibitory_update as ref_inhibitory_update
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
    randint,
    unanswered,
    uniform,
    where,
)

__all__ = ["simulate_inhibition", "inhibition_dashboard", "check_stdp_traces",
           "check_inhibitory_update", "check_prediction_cycle_rate", "check_spike_ratio"]


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


def _ref_stdp(pre, post, lam):
    return stdp_correlations(torch.as_tensor(pre), torch.as_tensor(post), lam, lam)


@checker("stdp_traces",
         idea="keep a fading memory (trace) of each side's spikes; when a post spike happens, "
              "pair it with the memory of the pre spikes up to then (potentiation), and when a "
              "pre spike arrives, pair it with the memory of the post spikes (depression); "
              "average over batch and time",
         equation="x̂ = lam·x̂ + pre[t], ŷ = lam·ŷ + post[t]; P += post[t]ᵀ x̂, "
                  "D += ŷᵀ pre[t]; P, D /= B·T",
         code="T, B = pre.shape[:2]\nx_hat = torch.zeros_like(pre[0])\n"
              "y_hat = torch.zeros_like(post[0])\n"
              "P = pre.new_zeros(post.shape[-1], pre.shape[-1])\nD = torch.zeros_like(P)\n"
              "for t in range(T):\n    x_hat = lam * x_hat + pre[t]\n"
              "    y_hat = lam * y_hat + post[t]\n    P += post[t].T @ x_hat\n"
              "    D += y_hat.T @ pre[t]\nreturn P / (B * T), D / (B * T)",
         reference=_ref_stdp)
def check_stdp_traces(stdp: Callable) -> bool:
    """``stdp(pre [T,B,in], post [T,B,out], lam) -> (P, D)`` with traces decaying by ``lam``:
    P pairs each post spike with the pre trace up to it, D each pre input with the post trace up
    to it; both ``[out, in]``, averaged over batch and T."""
    name = "stdp_traces"
    need_callable("check_stdp_traces", stdp)
    gen = torch.Generator().manual_seed(1401)
    for i, lam in enumerate([0.7, 0.0] + [uniform(gen, 0.05, 0.99) for _ in range(4)]):
        dtype = torch.float32 if i % 2 else torch.float64
        T, B = randint(gen, 1, 10), randint(gen, 1, 4)
        n_in, n_out = randint(gen, 1, 6), randint(gen, 1, 5)
        pre = (torch.rand(T, B, n_in, generator=gen, dtype=dtype) < 0.5).to(dtype)
        post = (torch.rand(T, B, n_out, generator=gen, dtype=dtype) < 0.4).to(dtype)
        P, D = _ref_stdp(pre, post, lam)
        out = call(stdp, pre.clone(), post.clone(), lam)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return failed(name, "return two tensors (P, D)")
        gP = answer_tensor(out[0], P.shape, "P [out, in]")
        gD = answer_tensor(out[1], D.shape, "D [out, in]")
        if close(gP, P) and close(gD, D):
            continue
        case = where(dict(lam=lam, T=T, B=B))
        if close(gP, P * B * T) or close(gD, D * B * T):
            return failed(name, f"not normalised ({case}): average over batch and time")
        if close(gP, D) and close(gD, P):
            return failed(name, "P and D are swapped")
        if close(gP, stdp_correlations(pre, post, 0.7, 0.7)[0].double()):
            return failed(name, f"your traces ignore lam ({case})")
        return failed(name, f"values differ from the reference ({case})")
    return passed(name)


def _ref_inhibitory_update(W, P, D, eta, a_plus, a_minus):
    return ref_inhibitory_update(torch.as_tensor(W).clone(), torch.as_tensor(P),
                                 torch.as_tensor(D), eta=eta, a_plus=a_plus, a_minus=a_minus)


@checker("inhibitory_update",
         idea="only the excitatory (positive) weights learn: each moves up with the causal "
              "pairings and down with the anti-causal ones, and one pushed past zero stops at "
              "zero (silenced, never turned inhibitory); zero and negative weights stay as they "
              "are",
         equation="W_new = clip(W + eta·(a_plus·P - a_minus·D), min 0) where W > 0, else W",
         code="new = (W + eta * (a_plus * P - a_minus * D)).clamp(min=0)\n"
              "return torch.where(W > 0, new, W)",
         reference=_ref_inhibitory_update)
def check_inhibitory_update(update: Callable) -> bool:
    """``update(W, P, D, eta, a_plus, a_minus) -> W_new``: only positive weights change, by
    ``eta * (a_plus * P - a_minus * D)``, and none is pushed below zero."""
    name = "inhibitory_update"
    need_callable("check_inhibitory_update", update)
    gen = torch.Generator().manual_seed(1402)
    for i in range(8):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = (randint(gen, 1, 6), randint(gen, 2, 7))
        W = torch.randn(shape, generator=gen, dtype=dtype) * 0.3
        W.view(-1)[0] = 0.0
        P = torch.rand(shape, generator=gen, dtype=dtype)
        D = torch.rand(shape, generator=gen, dtype=dtype)
        eta, ap, am = uniform(gen, 0.01, 0.5), uniform(gen, 0.2, 3.0), uniform(gen, 0.2, 3.0)
        ref = _ref_inhibitory_update(W, P, D, eta, ap, am)
        case = where(dict(eta=eta, a_plus=ap, a_minus=am))
        got = answer_tensor(call(update, W.clone(), P.clone(), D.clone(), eta, ap, am), shape,
                            "W_new")
        if close(got, ref, atol=1e-6):
            continue
        new = W + eta * (ap * P - am * D)
        if close(got, new, atol=1e-6):
            return failed(name, "negative and zero weights changed, and weights flipped sign")
        if close(got, torch.where(W > 0, new, W), atol=1e-6):
            return failed(name, "a weight was pushed below zero (silence it at 0 instead)")
        if close(got, torch.where(W > 0, new.clamp(min=0), W), atol=1e-6):
            return failed(name, "zero weights changed: only positive weights learn")
        for label, alt in (("a_plus", (eta, 1.0, am)), ("a_minus", (eta, ap, 1.5)),
                           ("eta", (0.1, ap, am))):  # the parameter hard-coded to a constant
            if close(got, _ref_inhibitory_update(W, P, D, *alt), atol=1e-6):
                return failed(name, f"your update ignores {label} ({case})")
        return failed(name, f"values differ from the reference ({case})")
    return passed(name)


# =========================================================================== predict, interpret
_BPTT, _CYCLE = "BPTT only", "EICIL-style"


def _final_rates(checker_name: str, rates) -> tuple[float, float]:
    """``(BPTT only, EICIL-style)`` final hidden firing rates from the notebook's ``rates``
    ({label: final firing rate}, numbers or one-element tensors/arrays)."""
    ok = isinstance(rates, dict) and all(k in rates for k in (_BPTT, _CYCLE))
    if ok:
        try:
            b, c = (float(torch.as_tensor(rates[k], dtype=torch.float64).reshape(()))
                    for k in (_BPTT, _CYCLE))
        except (TypeError, ValueError, RuntimeError):
            ok = False
    if not ok or not (b >= 0 and c >= 0):
        raise TypeError(f"{checker_name} expects the notebook's rates dict {{label: final hidden "
                        f"firing rate}} with {_BPTT!r} and {_CYCLE!r}")
    return b, c


@checker("prediction_cycle_rate",
         idea="the inhibitory phase only ever lowers or silences excitatory weights, and the "
              "run ends on an inhibitory epoch: what does that do to how often the hidden "
              "neurons fire?",
         equation="compare rates['EICIL-style'] with rates['BPTT only']; within 5% of BPTT's "
                  "rate counts as the same",
         code='my_prediction = "lower"  # or "same" or "higher": commit before the run')
def check_prediction_cycle_rate(my_prediction, rates) -> bool:
    """Predict-then-observe: does the EICIL-style run end with a ``"lower"``, the ``"same"``
    (within 5%) or a ``"higher"`` hidden firing rate than BPTT only? Any honest answer passes;
    the measurement and the reason are printed."""
    name = "prediction_cycle_rate"
    b, c = _final_rates("check_prediction_cycle_rate", rates)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'lower', 'same' or 'higher'")
    guess = need_choice(my_prediction, ("lower", "same", "higher"))
    measured = "same" if abs(c - b) <= 0.05 * b else "lower" if c < b else "higher"
    why = (f"final hidden firing rate: BPTT only {b:.3f}, EICIL-style {c:.3f}; an inhibitory "
           "epoch depresses and silences excitatory synapses, so less current reaches the "
           "hidden neurons")
    return predicted(name, guess, measured, guess == measured, why)


@checker("spike_ratio",
         idea="take the two final firing rates of the printed summary and ask how many times "
              "one holds the other",
         equation="rates['BPTT only'] / rates['EICIL-style']",
         code="answer = rates['BPTT only'] / rates['EICIL-style']")
def check_spike_ratio(answer, rates) -> bool:
    """Interpret: how many times more often the hidden neurons of BPTT only fire than those of
    the EICIL-style run at the end of the learner's own training (within 3%)."""
    name = "spike_ratio"
    b, c = _final_rates("check_spike_ratio", rates)
    if c <= 0:
        raise TypeError("check_spike_ratio: the EICIL-style network is silent (rate 0); there "
                        "is no ratio to read")
    if unanswered(answer):
        return failed(name, "no answer yet: write the ratio (a number like 1.5)")
    got = need_number("check_spike_ratio", answer)
    r = b / c
    if abs(got - r) <= 0.03 * r:
        return passed(name, f"x{r:.2f} fewer spikes with the cycle")
    if abs(got - 1 / r) <= 0.03 / r:
        return failed(name, "that is the inverse; the question asks for BPTT only's rate "
                      "over the cycle's")
    if abs(got - (b - c)) <= 0.005:
        return failed(name, "that is the difference of the rates; the question asks for a ratio")
    if abs(got - 100 * r) <= 3 * r:
        return failed(name, f"{got:g} looks like a percentage; give the ratio itself")
    return failed(name, f"{got:g} is not the ratio of the firing rates in your run")

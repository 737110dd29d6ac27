"""Notebook 07: tandem learning.

The simulate functions, dashboards and exercise checkers of
``notebooks/07_tandem_learning.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import functional as F
from .. import surrogate as S
from ..plot import PALETTE, subplots
from .ui import (
    answer_tensor,
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
    seed_stats,
    unanswered,
    uniform,
)

__all__ = ["check_tandem_count", "check_straight_through", "accuracy_vs_T_seeds",
           "check_prediction_shortest_window", "check_half_start_gain"]


def _ref_tandem_count(W, b, x, T):
    W, b, x = (torch.as_tensor(t) for t in (W, b, x))
    s, _ = F.lif_sequence((x @ W.T + b / T).expand(T, *x.shape[:-1], W.shape[0]), beta=1.0,
                          surrogate=S.FastSigmoid())
    return s.sum(0)


@checker("tandem_count",
         idea="over the whole window the IF neuron collects T times the weighted input plus "
              "the bias once, and every spike removes one threshold (1): so the count is the "
              "number of whole units collected, kept between 0 and T",
         equation="count = clip(floor(T·(W x) + b), 0, T)",
         code="return torch.clamp(torch.floor(T * x @ W.T + b), 0, T)",
         reference=_ref_tandem_count)
def check_tandem_count(tandem_count: Callable) -> bool:
    """Your ``tandem_count(W, b, x, T)``: the spike counts of an IF layer (threshold 1, reset
    by subtraction) that receives ``W x + b / T`` at each of T steps (Wu et al. 2021):
    ``clip(floor(T W x + b), 0, T)``."""
    name = "tandem_count"
    need_callable("check_tandem_count", tandem_count)
    gen = torch.Generator().manual_seed(701)
    for i, T in enumerate((1, 4, randint(gen, 2, 32), randint(gen, 2, 32), randint(gen, 2, 32))):
        dtype = torch.float32 if i % 2 else torch.float64
        n_out, n_in, B = randint(gen, 5, 30), randint(gen, 1, 8), randint(gen, 1, 6)
        W = torch.randn(n_out, n_in, generator=gen, dtype=dtype) * uniform(gen, 0.2, 2)
        b = torch.randn(n_out, generator=gen, dtype=dtype) * uniform(gen, 0.1, 3)
        x = torch.rand(B, n_in, generator=gen, dtype=dtype)
        want = _ref_tandem_count(W, b, x, T)
        charge = T * x @ W.T + b
        ok = (charge - charge.round()).abs() > 1e-4  # ignore exact-integer boundaries
        got = answer_tensor(call(tandem_count, W.clone(), b.clone(), x.clone(), T), want.shape)
        if close(got[ok], want[ok]):
            continue
        if close(got[ok].clamp(0, T), want[ok]):
            return failed(name, f"counts outside [0, T] (T={T}): a neuron fires at most once "
                          "per step and never below zero")
        if close(got[ok], torch.clamp(torch.floor(T * (x @ W.T + b)), 0, T)[ok].double()):
            return failed(name, f"the bias is counted T times (T={T}): the layer gets b/T "
                          "per step")
        return failed(name, f"wrong counts for T={T}")
    return passed(name, "your closed form equals the simulated IF counts")


def _ref_straight_through(c, a):
    return a + (torch.as_tensor(c, dtype=a.dtype) - a).detach()


@checker("straight_through",
         idea="the forward value must be the SNN's count, but the backward pass must see only "
              "the ANN's activation: add to the activation a correction that autograd does not "
              "track",
         equation="out = a + stopgrad(c - a): value c, d out/d a = 1",
         code="return a + (c - a).detach()",
         reference=_ref_straight_through)
def check_straight_through(straight_through: Callable) -> bool:
    """Your ``straight_through(c, a)`` returns a tensor whose *value* is ``c`` (the SNN's
    counts) and whose *gradient* flows to ``a`` (the ANN's activations) unchanged."""
    name = "straight_through"
    need_callable("check_straight_through", straight_through)
    gen = torch.Generator().manual_seed(702)
    for i in range(5):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = rand_shape(gen, 3, 6)
        c = torch.randint(0, 9, shape, generator=gen).to(dtype)
        a = (torch.rand(shape, generator=gen, dtype=dtype) * 9).requires_grad_(True)
        g = torch.randn(shape, generator=gen, dtype=dtype)
        out = call(straight_through, c.clone(), a)
        if not isinstance(out, torch.Tensor):
            return failed(name, f"return a tensor, got {type(out).__name__}")
        got = answer_tensor(out.detach(), shape)
        if not close(got, c):
            return failed(name, "the value is not the count c")
        if out.grad_fn is None:
            return failed(name, "no gradient reaches a")
        (grad,) = call(torch.autograd.grad, out, a, g, allow_unused=True)
        if grad is None or not close(grad.double(), g):
            return failed(name, "the gradient reaching a is changed: d out / d a must be 1")
    return passed(name, "count forward, ANN gradient backward")


# =========================================================================== seeds
def accuracy_vs_T_seeds(results: dict, *, reference: dict | None = None, ax=None,
                        title: str | None = None):
    """Accuracy (%) against the window T (log scale), mean over seeds with ± one standard
    deviation as error bars, for ``results = {label: {T: [accuracy per seed]}}``; ``reference``
    ``{label: [accuracy per seed]}`` draws a dashed line at the mean and a band of ± one std."""
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a dict label -> {T: [accuracy per seed]}")
    if ax is None:
        _, ax = subplots(figsize=(6.4, 3.6), layout="constrained")
    for i, (label, by_T) in enumerate(results.items()):
        Ts = sorted(by_T)
        ms = [100 * seed_stats(by_T[T])[0] for T in Ts]
        sd = [100 * seed_stats(by_T[T])[1] for T in Ts]
        n = len(by_T[Ts[0]])
        ax.errorbar(Ts, ms, yerr=sd, marker="o", ms=4, capsize=3,
                    color=PALETTE[i % len(PALETTE)], label=f"{label} ({n} seeds)")
    for j, (label, accs) in enumerate((reference or {}).items()):
        m, sd = seed_stats(accs)
        c = PALETTE[(len(results) + j) % len(PALETTE)]
        ax.axhline(100 * m, ls="--", lw=1, color=c, label=f"{label} ({len(accs)} seeds)")
        ax.axhspan(100 * (m - sd), 100 * (m + sd), color=c, alpha=0.15, lw=0)
    ax.set_xscale("log", base=2)
    Ts = sorted({T for by_T in results.values() for T in by_T})
    ax.set_xticks(Ts, [str(T) for T in Ts])
    ax.set_xlabel("window T (time steps)")
    ax.set_ylabel("test accuracy (%), mean ± std")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def _results(checker_name: str, results, labels) -> dict:
    ok = (isinstance(results, dict) and all(k in results for k in labels)
          and all(isinstance(results[k], dict) and results[k] for k in labels))
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's results dict {{label: {{T: "
                        f"[accuracy per seed]}}}} with {list(labels)}")
    return results


_TANDEM, _CONV0, _CONV5 = "tandem", "conversion v0=0", "conversion v0=θ/2"


@checker("prediction_shortest_window",
         idea="at the shortest window each hidden neuron has only a few spikes: which method "
              "was trained, or calibrated, for that?",
         equation="the label with the highest mean over seeds at min(T)",
         code='my_prediction = "tandem"  # or "conversion v0=0" or "conversion v0=θ/2"')
def check_prediction_shortest_window(my_prediction, results) -> bool:
    """Predict-then-observe: at the shortest window measured, which is most accurate (mean over
    seeds): ``"tandem"``, ``"conversion v0=0"`` or ``"conversion v0=θ/2"``? Any honest answer
    passes; the measured means and spreads are printed."""
    name = "prediction_shortest_window"
    labels = (_TANDEM, _CONV0, _CONV5)
    results = _results("check_prediction_shortest_window", results, labels)
    if unanswered(my_prediction):
        return failed(name, f"no prediction yet: write one of {list(labels)}")
    guess = need_choice(my_prediction, labels)
    T = min(results[_TANDEM])
    stats = {k: seed_stats(results[k][T]) for k in labels}
    best = max(labels, key=lambda k: stats[k][0])
    # within the seeds' spread of the best counts as right too
    right = stats[guess][0] >= stats[best][0] - max(stats[best][1] + stats[guess][1], 0.005)
    why = f"at T = {T}: " + ", ".join(f"{k} {100 * m:.1f} ± {100 * sd:.1f}%"
                                       for k, (m, sd) in stats.items())
    return predicted(name, guess, best, right, why)


@checker("half_start_gain",
         idea="take the two conversion lines at the shortest window of the printed table and "
              "subtract, in accuracy points",
         equation="100 * (mean(results['conversion v0=θ/2'][T]) - "
                  "mean(results['conversion v0=0'][T])) at the smallest T",
         code="T = min(TS)\nanswer = 100 * (seed_stats(results['conversion v0=θ/2'][T])[0] - "
              "seed_stats(results['conversion v0=0'][T])[0])")
def check_half_start_gain(answer, results) -> bool:
    """Interpret: how many accuracy points the half-threshold start adds to conversion at the
    shortest window of the learner's run (mean over seeds), within half a point."""
    name = "half_start_gain"
    results = _results("check_half_start_gain", results, (_CONV0, _CONV5))
    if unanswered(answer):
        return failed(name, "no answer yet: write the gain in accuracy points")
    got = need_number("check_half_start_gain", answer)
    T = min(results[_CONV0])
    gain = seed_stats(results[_CONV5][T])[0] - seed_stats(results[_CONV0][T])[0]
    verdict = judge_points(name, got, gain, f"{100 * gain:+.1f} points at T = {T}",
                           "half-full start minus empty start")
    if verdict is not None:
        return verdict
    return failed(name, f"{got:g} is not the gain at T = {T} in your run")

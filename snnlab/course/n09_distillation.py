"""Notebook 09: distillation with HTA-KL, and DA-LIF.

The simulate functions, dashboards and exercise checkers of
``notebooks/09_distillation_hta_kl_dalif.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_float, check_int
from ..plot import head_tail, show
from ..rules.kd import head_mask as ref_head_mask
from ..rules.kd import hta_kl_divergence, soft_targets
from ..rules.kd import hta_weights as ref_hta_weights
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
    randint,
    unanswered,
    uniform,
)

__all__ = ["simulate_head_tail", "head_tail_dashboard", "check_head_mask", "check_hta_weights",
           "head_size_by_tau", "check_prediction_hot_head", "check_kd_gain"]


def simulate_head_tail(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                       mu: float = 0.5, tau: float = 4.0, sample: int = 0) -> dict:
    """HTA-KL's pieces for one sample: teacher/student distributions at temperature ``tau``,
    the head mask for threshold ``mu``, the adaptive weights and both divergences.

    Returns ``dict(p, q, mask, w_head, w_tail, fkl, rkl, loss, n_head)`` (tensors for the sample,
    numbers for the scalars)."""
    for nm, t in (("teacher_logits", teacher_logits), ("student_logits", student_logits)):
        if not isinstance(t, torch.Tensor) or t.ndim != 2:
            raise TypeError(f"{nm} must be a [B, C] tensor of logits")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher_logits {tuple(teacher_logits.shape)} and student_logits "
                         f"{tuple(student_logits.shape)} must have the same shape")
    sample = check_int("sample", sample, low=0, high=teacher_logits.shape[0] - 1)
    tau = check_float("tau", tau, low=0.0, low_open=True)
    z, o = teacher_logits[sample:sample + 1].detach(), student_logits[sample:sample + 1].detach()
    loss, parts = hta_kl_divergence(z, o, tau=tau, mu=mu, return_parts=True)
    return {"p": parts["p"][0], "q": parts["q"][0], "mask": parts["mask"][0],
            "w_head": float(parts["w_head"]), "w_tail": float(parts["w_tail"]),
            "fkl": float(parts["fkl"]), "rkl": float(parts["rkl"]), "loss": float(loss),
            "n_head": int(parts["mask"].sum())}


def head_tail_dashboard(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                        mu: float = 0.5, tau: float = 4.0) -> Dashboard:
    """Sliders for μ, τ and the sample; plots the head/tail split and prints the weights."""
    import ipywidgets as W

    n = teacher_logits.shape[0]
    controls = {
        "mu": W.FloatSlider(value=mu, min=0.05, max=1.0, step=0.05, description="μ",
                            continuous_update=False),
        "tau": W.FloatSlider(value=tau, min=0.5, max=8.0, step=0.5, description="τ",
                             continuous_update=False),
        "sample": W.IntSlider(value=0, min=0, max=max(n - 1, 0), description="sample",
                              continuous_update=False),
    }

    def compute(**kw):
        return simulate_head_tail(teacher_logits, student_logits, **kw)

    def draw(r):
        ax = head_tail(r, title=f"{r['n_head']} head classes: w_H = {r['w_head']:.2f}, "
                                f"w_T = {r['w_tail']:.2f}; FKL {r['fkl']:.3f}, "
                                f"RKL {r['rkl']:.3f}, L_HTA {r['loss']:.3f}")
        show(ax)

    return build(controls, compute, draw)


def _probabilities(gen, dtype):
    B, C = randint(gen, 1, 6), randint(gen, 2, 12)
    return torch.softmax(torch.randn(B, C, generator=gen, dtype=dtype) * uniform(gen, 0.3, 4), -1)


@checker("head_mask",
         idea="rank the classes from most to least probable and take them into the head one "
              "by one until the head holds at least mu of the probability; then put the flags "
              "back in the classes' original order",
         equation="class c is in the head if the probability of the classes ranked above it is "
                  "< mu (sort descending, cumsum - p < mu, scatter back)",
         code="p_sorted, order = p.sort(-1, descending=True)\n"
              "in_head = (p_sorted.cumsum(-1) - p_sorted) < mu\n"
              "return torch.zeros_like(in_head).scatter(-1, order, in_head)",
         reference=lambda p, mu: ref_head_mask(torch.as_tensor(p), mu))
def check_head_mask(head_mask: Callable, mu: float = 0.5) -> bool:
    """``head_mask(p, mu) -> bool [B, C]``: the smallest set of most probable classes whose
    cumulative probability reaches ``mu``, in the original class order (HTA-KL's head); tested
    at ``mu`` and at other thresholds in (0, 1]."""
    name = "head_mask"
    need_callable("check_head_mask", head_mask)
    gen = torch.Generator().manual_seed(901)
    mus = [float(mu), 1.0] + [uniform(gen, 0.05, 0.99) for _ in range(5)]
    for i, m in enumerate(mus):
        p = _probabilities(gen, torch.float32 if i % 2 else torch.float64)
        ref = ref_head_mask(p, m)
        got = answer_tensor(call(head_mask, p.clone(), m), p.shape, "the mask", bools=True)
        if not bool(((got == 0) | (got == 1)).all()):
            return failed(name, "the mask must hold only True/False (or 1/0)")
        if torch.equal(got.bool(), ref):
            continue
        p_sorted, order = p.sort(-1, descending=True)
        if torch.equal(got.bool(), (p_sorted.cumsum(-1) - p_sorted) < m):
            return failed(name, "the mask is still in sorted order")
        if torch.equal(got.bool(), torch.zeros_like(ref).scatter(-1, order,
                                                                 p_sorted.cumsum(-1) < m)):
            return failed(name, f"the class that crosses mu is missing (mu={m:.3g})")
        return failed(name, f"the mask differs from the reference (mu={m:.3g})")
    return passed(name)


def _ref_hta_weights(p, q, mask):
    return ref_hta_weights(torch.as_tensor(p), torch.as_tensor(q), torch.as_tensor(mask).bool())


@checker("hta_weights",
         idea="measure how far the student is from the teacher on the head classes and on the "
              "tail classes separately, and turn the two gaps into shares of their total",
         equation="g_head = Σ_head |p - q|, g_tail = Σ_tail |p - q|; w_head = g_head/(g_head + "
                  "g_tail), w_tail = g_tail/(g_head + g_tail) (w = (1, 0) where p = q)",
         code="gap = (p - q).abs()\ng_head = (gap * mask).sum(-1)\n"
              "g_tail = (gap * ~mask).sum(-1)\ntotal = g_head + g_tail\n"
              "w_tail = torch.where(total > 0, g_tail / total, torch.zeros_like(total))\n"
              "return 1 - w_tail, w_tail",
         reference=_ref_hta_weights)
def check_hta_weights(hta_weights: Callable) -> bool:
    """``hta_weights(p, q, mask) -> (w_head, w_tail)``: gaps |p - q| summed over head and tail,
    normalised to sum to one per sample."""
    name = "hta_weights"
    need_callable("check_hta_weights", hta_weights)
    gen = torch.Generator().manual_seed(902)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        p = _probabilities(gen, dtype)
        q = torch.softmax(torch.randn(p.shape, generator=gen, dtype=dtype), -1)
        mask = torch.rand(p.shape, generator=gen) < uniform(gen, 0.2, 0.8)
        mask[:, 0] = True
        if p.shape[1] > 1:
            mask[:, -1] = False
        wh, wt = ref_hta_weights(p, q, mask)
        out = call(hta_weights, p.clone(), q.clone(), mask.clone())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return failed(name, "return two tensors (w_head, w_tail)")
        gh = answer_tensor(out[0], wh.shape, "w_head")
        gt = answer_tensor(out[1], wt.shape, "w_tail")
        if close(gh, wh) and close(gt, wt):
            continue
        if close(gh, wt) and close(gt, wh):
            return failed(name, "head and tail are swapped")
        if not close(gh + gt, torch.ones_like(gh)):
            return failed(name, "the two weights of a sample must add up to one")
        return failed(name, "values differ from the reference (use absolute differences)")
    return passed(name)


# =========================================================================== predict, interpret
def head_size_by_tau(teacher_logits: torch.Tensor, taus=(1.0, 2.0, 4.0, 8.0), *,
                     mu: float = 0.5) -> dict:
    """``{tau: [B] head sizes}``: how many classes HTA-KL's head (threshold ``mu``) holds for
    each sample of ``teacher_logits [B, C]`` at each temperature (the mean over the batch is
    what the notebook prints)."""
    if not isinstance(teacher_logits, torch.Tensor) or teacher_logits.ndim != 2:
        raise TypeError("teacher_logits must be a [B, C] tensor of logits")
    z = teacher_logits.detach()
    return {float(tau): ref_head_mask(soft_targets(z, check_float("tau", tau, low=0.0,
                                                                  low_open=True)), mu).sum(-1)
            for tau in taus}


def _head_means(checker_name: str, head_sizes) -> dict[float, float]:
    """``{tau: mean head size}`` from the notebook's ``head_sizes`` ({tau: sizes per sample, or
    their mean}), two temperatures or more."""
    ok = isinstance(head_sizes, dict) and len(head_sizes) >= 2
    out = {}
    if ok:
        try:
            for tau, v in head_sizes.items():
                t = torch.as_tensor(v, dtype=torch.float64)
                out[float(tau)] = float(t.mean())
        except (TypeError, ValueError, RuntimeError):
            ok = False
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's head_sizes dict {{tau: head "
                        "size per sample}} with two temperatures or more")
    return out


@checker("prediction_hot_head",
         idea="a higher temperature divides every logit by more: the distribution flattens. "
              "How many of the top classes does it then take to hold half of the probability?",
         equation="head size at tau = number of top classes of softmax(z/tau) whose cumulative "
                  "probability first reaches mu; compare its batch mean at the largest and the "
                  "smallest tau",
         code='my_prediction = "more"  # or "fewer" or "same": commit before the run')
def check_prediction_hot_head(my_prediction, head_sizes) -> bool:
    """Predict-then-observe: at the hottest temperature measured, does the teacher's head
    (mu = 0.5) hold ``"more"``, ``"fewer"`` or the ``"same"`` number of classes as at the
    coolest, on average over the batch? Any honest answer passes; the measurement is printed."""
    name = "prediction_hot_head"
    means = _head_means("check_prediction_hot_head", head_sizes)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'more', 'fewer' or 'same'")
    guess = need_choice(my_prediction, ("more", "fewer", "same"))
    cool, hot = min(means), max(means)
    diff = means[hot] - means[cool]
    measured = "more" if diff > 1e-6 else "fewer" if diff < -1e-6 else "same"
    why = (f"head at mu = 0.5: {means[cool]:.2f} classes at tau = {cool:g}, {means[hot]:.2f} at "
           f"tau = {hot:g}; dividing the logits by a larger tau flattens p, so the top classes "
           "hold less each and it takes more of them to reach mu")
    return predicted(name, guess, measured, guess == measured, why)


_CE, _KD = "CE only", "KD"


def _kd_results(checker_name: str, results) -> dict:
    """The notebook's ``results`` ({label: {T: test accuracy}}) with 'CE only' and 'KD'."""
    ok = (isinstance(results, dict) and all(k in results for k in (_CE, _KD))
          and all(isinstance(results[k], dict) and results[k] for k in (_CE, _KD))
          and set(results[_CE]) == set(results[_KD]))
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's results dict {{label: {{T: test "
                        "accuracy}}}} with 'CE only' and 'KD' at the same T values")
    return results


@checker("kd_gain",
         idea="take the two lines of the printed table at the smallest T, the KD student and "
              "the CE-only one, and subtract, in accuracy points",
         equation="100 * (results['KD'][T] - results['CE only'][T]) at T = min(TS)",
         code="T = min(TS)\nanswer = 100 * (results['KD'][T] - results['CE only'][T])")
def check_kd_gain(answer, results) -> bool:
    """Interpret: by how many accuracy points the KD student beats the CE-only student at the
    smallest T of the learner's own run (negative if it trails), within half a point."""
    name = "kd_gain"
    results = _kd_results("check_kd_gain", results)
    if unanswered(answer):
        return failed(name, "no answer yet: write the gain in accuracy points")
    got = need_number("check_kd_gain", answer)
    T = min(results[_CE])
    gain = float(results[_KD][T]) - float(results[_CE][T])
    verdict = judge_points(name, got, gain, f"{100 * gain:+.1f} points at T = {T}",
                           "KD minus CE only")
    if verdict is not None:
        return verdict
    others = [t for t in results[_CE] if t != T
              and abs(got - 100 * (float(results[_KD][t]) - float(results[_CE][t]))) <= 0.5]
    if others:
        return failed(name, f"that is the gain at T = {others[0]}; the question asks about the "
                      f"smallest T, {T}")
    return failed(name, f"{got:g} is not the gain at T = {T} in your run")

"""Notebook 05: activation- against timing-based gradients.

The simulate functions, dashboards and exercise checkers of
``notebooks/05_activation_vs_timing.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as TF

from ..rules.antlr import decision_stats, input_timing_gradient, make_model
from ..train import train
from .ui import (
    answer_tensor,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_choice,
    passed,
    predicted,
    rand_shape,
    randint,
    returned_number,
    unanswered,
    uniform,
)

__all__ = ["check_timing_error", "check_cosine",
           "train_seeds", "gap_and_spread", "check_prediction_best_rule", "check_seed_spread"]


def _ref_timing_error(A, s):
    A, s = torch.as_tensor(A), torch.as_tensor(s)
    return input_timing_gradient(s, A)


@checker("timing_error",
         idea="moving a spike one step later or earlier changes which step's activation error "
              "it meets, so its timing error is the change of that error across the spike "
              "(a central difference in time), and zero where there is no spike",
         equation="δt[t] = s[t]·(A[t+1] - A[t-1]) / 2, with A[T] = 0 and A[-1] = A[0]",
         code="nxt = torch.cat([A[1:], torch.zeros_like(A[:1])])\n"
              "prv = torch.cat([A[:1], A[:-1]])\nreturn s * (nxt - prv) / 2",
         reference=_ref_timing_error)
def check_timing_error(timing_error: Callable) -> bool:
    """``timing_error(A, s) -> s * (A[t+1] - A[t-1]) / 2`` with ``A[T] = 0`` and ``A[-1] = A[0]``:
    the spike-time error as the central difference in time of the activation error, i.e.
    :func:`snnlab.rules.antlr.input_timing_gradient`. A teaching approximation: the rules
    compute the layer below's timing error with the official code's reset-gated traces of the
    direct membrane error, eq. (8) of :mod:`snnlab.rules.antlr`."""
    name = "timing_error"
    need_callable("check_timing_error", timing_error)
    gen = torch.Generator().manual_seed(501)
    for i, T in enumerate((1, 2, 15, randint(gen, 3, 30), randint(gen, 3, 30))):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = (T, *rand_shape(gen, 2, 5))
        A = torch.randn(shape, generator=gen, dtype=dtype)
        s = (torch.rand(shape, generator=gen, dtype=dtype) > 0.5).to(dtype)
        s[0] = 1.0
        s[-1] = 1.0
        ref = input_timing_gradient(s, A)
        got = answer_tensor(call(timing_error, A.clone(), s.clone()), shape)
        if close(got, ref):
            continue
        if close(got, -ref):
            return failed(name, "wrong sign: moving the spike later reads the error of the "
                          "next step")
        if close(got, 2 * ref):
            return failed(name, "twice too large: a central difference spans two steps")
        if T > 2 and close(got[1:-1], ref[1:-1]):
            return failed(name, "the first or last step is wrong: mind what lies before the "
                          "start and after the end")
        return failed(name, f"values differ from the reference (T={T})")
    return passed(name)


def _ref_cosine(a, b):
    a, b = torch.as_tensor(a).reshape(-1), torch.as_tensor(b).reshape(-1)
    return float(TF.cosine_similarity(a.double(), b.double(), dim=0, eps=1e-300))


@checker("cosine",
         idea="the cosine of the angle between two gradients: how much they point the same way, "
              "whatever their lengths; flatten each tensor into one long vector first",
         equation="cos(a, b) = Σ a·b / (‖a‖·‖b‖) over all elements",
         code="return float((a * b).sum() / (a.norm() * b.norm()))",
         reference=_ref_cosine)
def check_cosine(cosine: Callable) -> bool:
    """``cosine(a, b) -> float``: the cosine similarity of two gradient tensors of any (equal)
    shape (a number; a 0-d tensor counts)."""
    name = "cosine"
    need_callable("check_cosine", cosine)
    gen = torch.Generator().manual_seed(502)
    for i in range(8):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = rand_shape(gen, 3, 6)
        a = torch.randn(shape, generator=gen, dtype=dtype) * uniform(gen, 0.01, 100)
        if i == 0:
            b = a * 3.0
        elif i == 1:
            b = -a * 0.5
        else:
            b = torch.randn(shape, generator=gen, dtype=dtype) * uniform(gen, 0.01, 100) + \
                uniform(gen, -1, 1) * a
        ref = _ref_cosine(a, b)
        got = returned_number(call(cosine, a.clone(), b.clone()))
        if abs(got - ref) <= 1e-4:
            continue
        if abs(got - float((a * b).sum())) <= 1e-3 * max(1.0, abs(got)):
            return failed(name, "that is the dot product: it grows with the lengths")
        if abs(got - abs(ref)) <= 1e-4:
            return failed(name, "the sign is lost: opposite gradients have cosine -1")
        return failed(name, f"expected {ref:.4f}, got {got:.4f} for tensors of shape "
                      f"{tuple(shape)}")
    return passed(name)


# ------------------------------------------------------------------ several seeds
def train_seeds(rules, data, *, seeds, T: int, epochs: int, hidden: int = 60,
                done: dict | None = None, **train_kw) -> dict:
    """Train each rule of ``rules`` once per seed of ``seeds`` on ``data`` (a latency data set
    of :func:`snnlab.rules.antlr.latency_dataset`), each time from the ANTLR network
    :func:`~snnlab.rules.antlr.make_model` built with that seed, and summarise.

    Returns rule -> ``dict(acc, spikes, curves, acc_mean, acc_std, spikes_mean, spikes_std,
    curve_mean, curve_std)``: the final test accuracy (first-spike decision) and hidden+output
    spikes per sample of each seed, each seed's test accuracy after every epoch, and their mean
    and standard deviation over seeds (0 for one seed).

    ``done`` maps ``(rule, seed)`` to a ``(net, history)`` pair already trained with these
    settings (from that seed's network); those runs are summarised instead of repeated."""
    seeds = [int(s) for s in seeds]
    done = {} if done is None else dict(done)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    n_in, n_out = int(data.input_shape[0]), int(data.n_classes)
    out = {}
    for rule in rules:
        accs, spikes, curves = [], [], []
        for seed in seeds:
            if (str(rule), seed) in done:
                net, hist = done[(str(rule), seed)]
            else:
                net = make_model(n_in, [hidden], n_out, seed=seed)
                hist = train(net, data, rule, T=T, epochs=epochs, seed=seed, encoding="latency",
                             progress=False, **train_kw)
            if len(hist.column("test_acc")) != epochs:
                raise ValueError(f"the run given for {rule!r}, seed {seed} has "
                                 f"{len(hist.column('test_acc'))} epochs, not {epochs}")
            stats = decision_stats(net, data.test, T)
            accs.append(stats["acc"])
            spikes.append(stats["spikes_per_sample"])
            curves.append(hist.column("test_acc"))
        a, s, c = (torch.tensor(v, dtype=torch.float64) for v in (accs, spikes, curves))

        def std(v):
            return v.std(0) if len(seeds) > 1 else torch.zeros_like(v[0])

        out[str(rule)] = {"acc": accs, "spikes": spikes, "curves": curves,
                          "acc_mean": float(a.mean()), "acc_std": float(std(a)),
                          "spikes_mean": float(s.mean()), "spikes_std": float(std(s)),
                          "curve_mean": c.mean(0).tolist(), "curve_std": std(c).tolist()}
    return out


def gap_and_spread(summary: dict) -> tuple[float, float]:
    """(best mean accuracy - worst mean accuracy, largest seed-to-seed standard deviation) of a
    :func:`train_seeds` summary, both as fractions."""
    means = [r["acc_mean"] for r in summary.values()]
    return max(means) - min(means), max(r["acc_std"] for r in summary.values())


def _summary(checker_name: str, summary) -> dict:
    if not isinstance(summary, dict) or not summary or not all(
            isinstance(r, dict) and "acc_mean" in r and "acc_std" in r for r in summary.values()):
        raise TypeError(f"{checker_name} expects the result of train_seeds (rule -> dict with "
                        "acc_mean, acc_std)")
    return summary


@checker("prediction_best_rule",
         idea="each route sees something the other misses: which matters more for accuracy on "
              "a small task where every neuron fires about once, and would one run tell you?",
         equation="compare the mean test accuracy over seeds, and the gap between rules with "
                  "the seed-to-seed standard deviation",
         code='my_prediction = "antlr"  # or "bptt" or "timing": commit before the run')
def check_prediction_best_rule(my_prediction, summary) -> bool:
    """Predict-then-observe: which rule reaches the highest mean test accuracy over the seeds
    of ``summary`` (a :func:`train_seeds` result); the explanation says whether the gap is
    larger than the seed-to-seed spread."""
    name = "prediction_best_rule"
    summary = _summary("check_prediction_best_rule", summary)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write one of " + ", ".join(map(repr, summary)))
    guess = need_choice(my_prediction, list(summary))
    best = max(summary, key=lambda r: summary[r]["acc_mean"])
    gap, spread = gap_and_spread(summary)
    n = len(next(iter(summary.values()))["acc"])
    verdict = ("larger than" if gap > spread else "within") + " the seed-to-seed spread"
    why = ("mean ± std over " + f"{n} seeds: " + ", ".join(
        f"{r} {100 * v['acc_mean']:.1f} ± {100 * v['acc_std']:.1f}%" for r, v in summary.items())
        + f"; the best-worst gap ({100 * gap:.1f} points) is {verdict}")
    return predicted(name, repr(guess), repr(best), guess == best, why)


@checker("seed_spread",
         idea="compare two numbers of your table: how far apart the rules' mean accuracies are, "
              "and how much one rule's accuracy moves from one seed to the next",
         equation="yes if max(mean) - min(mean) > max over rules of std over seeds, else no",
         code="gap = max(r['acc_mean'] for r in summary.values()) - "
              "min(r['acc_mean'] for r in summary.values())\n"
              "spread = max(r['acc_std'] for r in summary.values())\n"
              'answer = "yes" if gap > spread else "no"')
def check_seed_spread(answer, summary) -> bool:
    """Interpret: is the gap between the best and the worst rule's mean accuracy larger than the
    largest seed-to-seed standard deviation in ``summary`` (a :func:`train_seeds` result)?
    ``"yes"``/``"no"`` (or ``"a"``/``"b"``)."""
    name = "seed_spread"
    summary = _summary("check_seed_spread", summary)
    if unanswered(answer):
        return failed(name, "no answer yet: write 'yes' or 'no'")
    got = need_choice(answer, ("yes", "no"))
    gap, spread = gap_and_spread(summary)
    want = "yes" if gap > spread else "no"
    detail = f"gap {100 * gap:.1f} points, largest std {100 * spread:.1f} points"
    if got == want:
        return passed(name, detail)
    return failed(name, "compare the gap between the rules' means with their standard "
                  "deviations again")

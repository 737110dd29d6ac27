"""Checkers that cannot be fooled: for every ``check_*`` that :mod:`snnlab.exercises` exports, a
table of known-wrong answers (a dropped parameter, a hard-coded constant, a wrong sign, an
off-by-one time index, a sum instead of a mean, booleans instead of floats, a deterministic code
instead of a random one, the untouched stub) that must each be rejected with one ❌ line and no
exception, and correct answers in several forms (torch float32/float64, numpy, list, 0-d tensor)
that must pass. Also: hints progress (idea, then equation, code only on request), the global
random state is untouched, and :func:`use_or_reference` keeps later notebook cells running."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import snnlab
from snnlab import course as C
from snnlab import exercises as E
from snnlab.course import ui
from snnlab.course.n12_rate_bp import _ref_eligibility, _ref_kappa
from snnlab.rules.rate_bp import eligibility as rule_eligibility

ROOT = Path(__file__).resolve().parents[1]
CHECKERS = sorted(n for n in E.__all__ if n.startswith("check_"))


@pytest.fixture(autouse=True)
def _fresh():
    E.reset_progress()
    yield
    E.reset_progress()


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: implement me")


def ref(checker: str):
    return ui.reference(checker)


# ------------------------------------------------------------------ correct answers, other forms
def _convert(out, how):
    if isinstance(out, (tuple, list)) and not isinstance(out, torch.Tensor):
        return type(out)(_convert(o, how) for o in out)
    if isinstance(out, torch.Tensor):
        return how(out.detach())
    return out


FORMS = {
    "float32": lambda t: t.float() if t.dtype != torch.bool else t,
    "float64": lambda t: t.double() if t.dtype != torch.bool else t,
    "numpy": lambda t: t.numpy(),
    "list": lambda t: t.tolist(),
}


def in_form(fn, form):
    return lambda *a, **k: _convert(fn(*a, **k), FORMS[form])


def number_forms(fn):
    return {"float": lambda *a: float(fn(*a)),
            "numpy_float64": lambda *a: np.float64(fn(*a)),
            "tensor0d": lambda *a: torch.tensor(float(fn(*a))),
            "tensor0d_f32": lambda *a: torch.tensor(float(fn(*a)), dtype=torch.float32)}


AUTOGRAD = {"check_spike_function", "check_straight_through", "check_rate_mse"}
NUMBERS = {"check_cosine", "check_energy_estimate", "check_firing_rate"}
VALUES = {"check_if_rate": 0.25, "check_spike_count": 6.0}
# checkers of a prediction or an interpretation of the learner's own run (tables further down)
RUN_READERS = {"check_prediction_most_accurate", "check_seed_gap",
               "check_prediction_latency_cosine", "check_best_cosine_T",
               "check_prediction_quantisation_T", "check_steps_to_match",
               "check_prediction_tssl_vs_surrogate", "check_tssl_gap",
               "check_prediction_shortest_window", "check_half_start_gain",
               "check_prediction_online_memory", "check_offline_memory_ratio",
               "check_prediction_ottt_cosine_T", "check_ottt_gap",
               "check_prediction_norse_lif", "check_reset_spike_difference",
               "check_prediction_hot_head", "check_kd_gain",
               "check_prediction_worst_nonideality", "check_recovered_share",
               "check_prediction_cycle_rate", "check_spike_ratio"}


# Predict-then-observe and interpret checkers take the run's result as a second argument: a
# small run (or a stand-in with the run's shape) for each, and answers that must pass.
def _summary(means, stds):
    return {r: {"acc": [m], "acc_mean": m, "acc_std": sd} for r, m, sd in
            zip(("bptt", "timing", "antlr"), means, stds)}


RUNS = {
    "check_prediction_lif_spikes": lambda: C.simulate_lif(current=0.3, T=100),
    "check_smallest_current": lambda: C.simulate_lif(current=0.3, T=100),
    "check_prediction_reset": lambda: {"subtract": 22, "zero": 20},
    "check_noise_below_rheobase": lambda: C.simulate_population(n=50, T=100),
    "check_prediction_best_code": lambda: {"rate": [0.3, 0.1], "latency": [0.2, 0.02],
                                           "delta": [0.1, 0.1]},
    "check_best_encoding": lambda: {("direct", 4): (0.9, 0.0), ("rate", 4): (0.7, 30.0),
                                    ("direct", 16): (0.95, 0.0)},
    "check_prediction_true_gradient": lambda: ui.History("x", [{"test_acc": 0.1}]),
    "check_surrogate_reach": lambda: torch.linspace(-1, 1, 201),
    "check_prediction_grazing": lambda: C.weight_scale_sweep(),
    "check_first_firing_scale": lambda: C.weight_scale_sweep(),
    "check_prediction_best_rule": lambda: _summary((0.8, 0.7, 0.75), (0.01, 0.02, 0.01)),
    "check_seed_spread": lambda: _summary((0.8, 0.7, 0.75), (0.01, 0.02, 0.01)),
}
RUN_GOOD = {  # answers that pass (any honest prediction passes a prediction checker)
    "check_prediction_lif_spikes": [25, 3.0, np.int64(40), torch.tensor(0.0)],
    "check_smallest_current": [0.1, np.float64(0.1), torch.tensor(0.1)],
    "check_prediction_reset": ["subtract", "zero", "same", " Subtract ", "a"],
    "check_noise_below_rheobase": [lambda run: run["fired_below"]],
    "check_prediction_best_code": ["latency", "rate", "delta", "LATENCY"],
    "check_best_encoding": ["direct", "Direct"],
    "check_prediction_true_gradient": [0.1, 0.9, 50, torch.tensor(0.3)],
    "check_surrogate_reach": [lambda d: 100 * C.simulate_surrogate(
        name="fast_sigmoid", scale=25.0, distances=d)["reach"]],
    "check_prediction_grazing": ["grow", "shrink", "stay"],
    "check_first_firing_scale": [lambda sw: sw["first_firing"]],
    "check_prediction_best_rule": ["bptt", "timing", "antlr", "c"],
    "check_seed_spread": ["yes", "a"],
}


def _run_kw(checker):
    return (RUNS[checker](),) if checker in RUNS else ()


def _good(checker, answer, run):
    return answer(*run) if checker in RUN_GOOD and callable(answer) else answer


def _good_cases():
    cases = []
    for c in CHECKERS:
        if c == "check_bptt_accuracy":
            continue  # trains a network: tests/test_plot_widgets_exercises.py
        if c in RUN_GOOD:
            cases += [(c, f"good{i}", a) for i, a in enumerate(RUN_GOOD[c])]
            continue
        if c in RUN_READERS:
            continue  # read the learner's run: test_answer_about_the_run_passes
        if c in VALUES:
            v = VALUES[c]
            forms = {"float": v, "int": int(v) if v == int(v) else v, "numpy": np.float64(v),
                     "tensor0d": torch.tensor(v), "list": [v]}
            if c == "check_spike_count":
                forms["product_tensor"] = 20 * torch.tensor(0.3)
            cases += [(c, f, a) for f, a in forms.items()]
        elif c in NUMBERS:
            cases += [(c, f, a) for f, a in number_forms(ref(c)).items()]
        elif c in AUTOGRAD:
            cases.append((c, "tensor", ref(c)))
        elif c == "check_pareto":
            r = ref(c)
            cases += [(c, "list", r), (c, "tuple", lambda rows, r=r: tuple(r(rows))),
                      (c, "set", lambda rows, r=r: set(r(rows)))]
        else:
            cases += [(c, f, in_form(ref(c), f)) for f in FORMS]
    return cases


@pytest.mark.parametrize("checker, form, answer", _good_cases(),
                         ids=[f"{c}-{f}" for c, f, _ in _good_cases()])
def test_correct_answer_in_any_form_passes(checker, form, answer, capsys):
    run = _run_kw(checker)
    assert getattr(E, checker)(_good(checker, answer, run), *run) is True, \
        capsys.readouterr().out
    assert capsys.readouterr().out.startswith("✅")


# ------------------------------------------------------------------ wrong answers
def _lif_ok(v, c, beta, thr):
    u = beta * v + c
    s = (u > thr).float()
    return s, u - thr * s


def _rate_regular(x, T):  # right mean, no randomness: spikes when the running sum crosses 1
    t = torch.arange(1, T + 1, dtype=x.dtype).reshape(T, *([1] * x.ndim))
    return (torch.floor(t * x) > torch.floor((t - 1) * x)).float()


def _rate_random_phase(x, T):  # regular, but with a random phase per call
    t = torch.arange(1, T + 1, dtype=x.dtype).reshape(T, *([1] * x.ndim)) + torch.rand(())
    return (torch.floor(t * x) > torch.floor((t - 1) * x)).float()


def _rate_seeded(x, T):  # resets the global seed: the same "random" train every call
    torch.manual_seed(0)
    return torch.bernoulli(x.expand(T, *x.shape))


def _latency(x, T, scale=None, rnd=torch.round):
    t = rnd((1 - x) * (T - 1 if scale is None else scale))
    steps = torch.arange(T).reshape(T, *([1] * x.ndim))
    return ((steps == t) & (x > 0)).float()


class _Spike(torch.autograd.Function):
    scale, use_grad, ge = 10.0, True, False

    @classmethod
    def forward(cls, ctx, x):
        ctx.save_for_backward(x)
        return ((x >= 0) if cls.ge else (x > 0)).to(x.dtype)

    @classmethod
    def backward(cls, ctx, g):
        (x,) = ctx.saved_tensors
        d = 1 / (cls.scale * x.abs() + 1) ** 2
        return g * d if cls.use_grad else d


def _spike_variant(**kw):
    return type("V", (_Spike,), kw).apply


class _BoolSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x > 0

    @staticmethod
    def backward(ctx, g):
        return g


def _vdot(v, s, vdot_min, *, reset=True, clamp=True, shift=1, floor=None):
    prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])
    s_prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]]) if shift else s
    out = v - ((1 - s_prev) if reset else 1) * prev
    return out.clamp(min=floor if floor is not None else vdot_min) if clamp else out


def _timing_error(A, s, *, sign=1, last=None, first=None):
    nxt = torch.cat([A[1:], torch.zeros_like(A[:1]) if last is None else A[-1:]])
    prv = torch.cat([A[:1] if first is None else torch.zeros_like(A[:1]), A[:-1]])
    return sign * s * (nxt - prv) / 2


def _staircase(z, lam, T, v0, *, clip=True, use_v0=True):
    n = torch.floor(T * z / lam + (v0 if use_v0 else 0))
    return lam / T * (n.clamp(0, T) if clip else n)


def _psp(T, tau_s, *, norm=True, shift=0, tau=None):
    tau_s = tau if tau is not None else tau_s
    k = torch.arange(T, dtype=torch.float64) + shift
    return (1 - 1 / tau_s) ** k / (tau_s if norm else 1)


def _kappa(beta, T, *, shift=0, b=None):
    beta = b if b is not None else beta
    t = torch.arange(1 + shift, T + 1 + shift, dtype=torch.float64)
    return t if beta == 1 else (1 - beta ** t) / (1 - beta)


def _inhib(W, P, D, eta, ap, am, *, clamp=True, only_pos=True, ap_=None):
    ap = ap if ap_ is None else ap_
    new = W + eta * (ap * P - am * D)
    new = new.clamp(min=0) if clamp else new
    return torch.where(W > 0, new, W) if only_pos else new


def _stdp(pre, post, lam, *, norm=True, lam_=None, swap=False):
    lam = lam if lam_ is None else lam_
    T, B = pre.shape[:2]
    x_hat, y_hat = torch.zeros_like(pre[0]), torch.zeros_like(post[0])
    P = pre.new_zeros(post.shape[-1], pre.shape[-1])
    D = torch.zeros_like(P)
    for t in range(T):
        x_hat = lam * x_hat + pre[t]
        y_hat = lam * y_hat + post[t]
        P += post[t].T @ x_hat
        D += y_hat.T @ pre[t]
    P, D = (P / (B * T), D / (B * T)) if norm else (P, D)
    return (D, P) if swap else (P, D)


def _pareto_strict(rows):
    return [r["rule"] for r in rows
            if not any(o is not r and o["energy_nj_per_sample"] <= r["energy_nj_per_sample"]
                       and o["test_acc"] >= r["test_acc"] for o in rows)]


def _ottt(trace, s, lam):
    return lam * trace + s


WRONG = {
    "check_lif_step": {
        "stub": stub,
        "reset to zero": lambda v, c, b, t: (lambda s, u: (s, u * (1 - s)))(
            ((b * v + c) > t).float(), b * v + c),
        "dropped beta": lambda v, c, b, t: _lif_ok(v, c, 1.0, t),
        "hard-coded threshold 1": lambda v, c, b, t: _lif_ok(v, c, b, 1.0),
        "fires at u >= threshold": lambda v, c, b, t: (lambda u: (
            (u >= t).float(), u - t * (u >= t).float()))(b * v + c),
        "booleans instead of floats": lambda v, c, b, t: (
            (b * v + c) > t, _lif_ok(v, c, b, t)[1]),
        "not a tuple": lambda v, c, b, t: v,
        "wrong sign of the reset": lambda v, c, b, t: (lambda s, u: (s, u + t * s))(
            *_lif_ok(v, c, b, t)[:1], b * v + c),
    },
    "check_firing_rate": {
        "stub": stub,
        "in Hz": lambda c, b, t: 1000 * E.lif_rate_closed_form(c, b, t),
        "IF rate, leak dropped": lambda c, b, t: c / t,
        "hard-coded threshold": lambda c, b, t: E.lif_rate_closed_form(c, b, 1.0),
        "off by one step": lambda c, b, t: (lambda r: 1 / (1 / r + 1) if r else 0.0)(
            E.lif_rate_closed_form(c, b, t)),
        "never zero": lambda c, b, t: max(E.lif_rate_closed_form(c, b, t), 0.05),
        "NaN": lambda c, b, t: float("nan"),
    },
    "check_if_rate": {"stub": ..., "None": None, "leaky guess": 0.2, "hard 0": 0.0,
                      "count not rate": 25.0, "array": np.array([0.25, 0.25])},
    "check_rate_code": {
        "stub": stub,
        "no randomness (x itself)": lambda x, T: x.expand(T, *x.shape),
        "deterministic regular code": _rate_regular,
        "regular code, random phase": _rate_random_phase,
        "re-seeds the global RNG": _rate_seeded,
        "one random number per step": lambda x, T: (torch.rand(T, *[1] * x.ndim) < x).float(),
        "one random number per input": lambda x, T: (torch.rand(x.shape) < x).float().expand(
            T, *x.shape),
        "booleans instead of floats": lambda x, T: torch.rand(T, *x.shape) < x,
        "probability 1 - x": lambda x, T: torch.bernoulli((1 - x).expand(T, *x.shape)),
        "time last": lambda x, T: torch.bernoulli(x.expand(T, *x.shape)).movedim(0, -1),
        "off-by-one length": lambda x, T: torch.bernoulli(x.expand(T + 1, *x.shape)),
    },
    "check_latency_code": {
        "stub": stub,
        "reversed": lambda x, T: _latency(x, T).flip(0),
        "scaled by T (off by one)": lambda x, T: _latency(x, T, scale=T).clamp(max=1),
        "floor instead of round": lambda x, T: _latency(x, T, rnd=torch.floor),
        "x = 0 fires": lambda x, T: _latency(x + 0.0 * x, T) + ((x == 0) & (
            torch.arange(T).reshape(T, *([1] * x.ndim)) == T - 1)).float(),
        "all ones": lambda x, T: torch.ones(T, *x.shape),
        "booleans instead of floats": lambda x, T: _latency(x, T).bool(),
    },
    "check_spike_count": {"stub": ..., "None": None, "the rate": 0.3, "T": 20.0,
                          "off by one": 7.0, "tensor of the wrong value": torch.tensor(6.5)},
    "check_surrogate_derivative": {
        "stub": stub,
        "not squared": lambda x, k: 1 / (k * x.abs() + 1),
        "dropped scale (hard-coded 10)": lambda x, k: 1 / (10 * x.abs() + 1) ** 2,
        "x instead of |x|": lambda x, k: 1 / (k * x + 1) ** 2,
        "times scale": lambda x, k: k / (k * x.abs() + 1) ** 2,
        "booleans": lambda x, k: x.abs() < 1 / k,
    },
    "check_spike_function": {
        "stub": stub,
        "true (zero) gradient": _spike_variant(use_grad=True, scale=float("inf")),
        "no gradient": lambda x: (x > 0).float(),
        "ignores grad_output": _spike_variant(use_grad=False),
        "wrong scale": _spike_variant(scale=3.0),
        "fires at x = 0": _spike_variant(ge=True),
        "booleans instead of floats": _BoolSpike.apply,
    },
    "check_vdot_estimate": {
        "stub": stub,
        "no reset": lambda v, s, m: _vdot(v, s, m, reset=False),
        "no clamp": lambda v, s, m: _vdot(v, s, m, clamp=False),
        "hard-coded vdot_min 0.01": lambda v, s, m: _vdot(v, s, m, floor=0.01),
        "off-by-one spike index": lambda v, s, m: _vdot(v, s, m, shift=0),
    },
    "check_timing_dv": {
        "stub": stub,
        "wrong sign": lambda g, s, vd: s * g / vd,
        "no spike mask": lambda g, s, vd: -g / vd,
        "times the slope": lambda g, s, vd: -s * g * vd,
        "booleans": lambda g, s, vd: (-s * g / vd) > 0,
    },
    "check_timing_error": {
        "stub": stub,
        "wrong sign": lambda A, s: _timing_error(A, s, sign=-1),
        "no half": lambda A, s: 2 * _timing_error(A, s),
        "A[T] = A[T-1] at the end": lambda A, s: _timing_error(A, s, last=True),
        "A[-1] = 0 at the start": lambda A, s: _timing_error(A, s, first=True),
        "no spike mask": lambda A, s: _timing_error(A, torch.ones_like(s)),
    },
    "check_cosine": {
        "stub": stub,
        "dot product": lambda a, b: float((a * b).sum()),
        "absolute value": lambda a, b: abs(float((a * b).sum() / (a.norm() * b.norm()))),
        "per row, not flattened": lambda a, b: torch.nn.functional.cosine_similarity(
            a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)),
        "hard-coded 1": lambda a, b: 1.0,
        "mean instead of sum": lambda a, b: float((a * b).mean() / (a.norm() * b.norm())),
    },
    "check_staircase": {
        "stub": stub,
        "no clip": lambda z, lam, T, v0: _staircase(z, lam, T, v0, clip=False),
        "dropped v0": lambda z, lam, T, v0: _staircase(z, lam, T, v0, use_v0=False),
        "round instead of floor": lambda z, lam, T, v0: lam / T * torch.round(
            T * z / lam + v0).clamp(0, T),
        "the ReLU": lambda z, lam, T, v0: z.clamp(0, lam),
    },
    "check_weight_normalisation": {
        "stub": stub,
        "dropped lam_prev": lambda W, b, lp, lam: (W / lam, b / lam),
        "bias times lam_prev": lambda W, b, lp, lam: (W * lp / lam, b * lp / lam),
        "inverted": lambda W, b, lp, lam: (W * lam / lp, b * lam),
        "not a pair": lambda W, b, lp, lam: W * lp / lam,
    },
    "check_tandem_count": {
        "stub": stub,
        "no clip": lambda W, b, x, T: torch.floor(T * x @ W.T + b),
        "bias T times": lambda W, b, x, T: torch.clamp(torch.floor(T * (x @ W.T + b)), 0, T),
        "round instead of floor": lambda W, b, x, T: torch.clamp(torch.round(T * x @ W.T + b),
                                                                 0, T),
        "hard-coded T = 4": lambda W, b, x, T: torch.clamp(torch.floor(4 * x @ W.T + b), 0, 4),
    },
    "check_straight_through": {
        "stub": stub,
        "the count alone": lambda c, a: c,
        "the activation alone": lambda c, a: a,
        "detaches everything": lambda c, a: (a + (c - a)).detach(),
        "scaled gradient": lambda c, a: a * (c / a).detach(),
    },
    "check_ltl_target": {
        "stub": stub,
        "no clip": lambda a, p: a / snnlab.conversion.percentile(a, p),
        "dropped p (max)": lambda a, p: a / a.max(),
        "hard-coded p = 99.9": lambda a, p: (a / snnlab.conversion.percentile(a, 99.9)).clamp(
            0, 1),
        "per-column percentile": lambda a, p: (a / torch.quantile(a, p / 100, dim=0)).clamp(0, 1),
    },
    "check_rate_mse": {
        "stub": stub,
        "count instead of rate": lambda s, t: ((s.sum(0) - t) ** 2).mean(),
        "sum instead of mean": lambda s, t: ((s.mean(0) - t) ** 2).sum(),
        "detached": lambda s, t: ((s.detach().mean(0) - t) ** 2).mean(),
        "a float": lambda s, t: float(((s.mean(0) - t) ** 2).mean()),
        "absolute error": lambda s, t: (s.mean(0) - t).abs().mean(),
    },
    "check_head_mask": {
        "stub": stub,
        "sorted order": lambda p, mu: (lambda ps: (ps.cumsum(-1) - ps) < mu)(
            p.sort(-1, descending=True)[0]),
        "crossing class missing": lambda p, mu: (lambda ps, o: torch.zeros_like(
            p, dtype=torch.bool).scatter(-1, o, ps.cumsum(-1) < mu))(
            *p.sort(-1, descending=True)),
        "dropped mu (hard-coded 0.5)": lambda p, mu: snnlab.rules.kd.head_mask(p, 0.5),
        "threshold on p itself": lambda p, mu: p >= mu * p.max(-1, keepdim=True).values,
    },
    "check_hta_weights": {
        "stub": stub,
        "swapped": lambda p, q, m: snnlab.rules.kd.hta_weights(p, q, m)[::-1],
        "not normalised": lambda p, q, m: (((p - q).abs() * m).sum(-1),
                                           ((p - q).abs() * ~m).sum(-1)),
        "signed gaps": lambda p, q, m: (lambda h, t: (h / (h + t), t / (h + t)))(
            ((p - q) * m).sum(-1), ((p - q) * ~m).sum(-1)),
        "one tensor": lambda p, q, m: snnlab.rules.kd.hta_weights(p, q, m)[0],
    },
    "check_ottt_trace": {
        "stub": stub,
        "spike count (lam dropped)": lambda tr, s, lam: tr + s,
        "hard-coded lam 0.7": lambda tr, s, lam: 0.7 * tr + s,
        "decays the new spike too": lambda tr, s, lam: lam * (tr + s),
        "forgets the past": lambda tr, s, lam: s,
    },
    "check_three_factor": {
        "stub": stub,
        "no surrogate": lambda e, sg, tr: torch.einsum("tbo,tbi->oi", e, tr),
        "last trace only": lambda e, sg, tr: torch.einsum("tbo,bi->oi", e * sg, tr[-1]),
        "mean instead of sum": lambda e, sg, tr: torch.einsum("tbo,tbi->oi", e * sg, tr) / (
            e.shape[0] * e.shape[1]),
        "transposed": lambda e, sg, tr: torch.einsum("tbo,tbi->io", e * sg, tr),
        "off-by-one trace": lambda e, sg, tr: torch.einsum(
            "tbo,tbi->oi", e * sg, torch.cat([torch.zeros_like(tr[:1]), tr[:-1]])),
    },
    "check_psp_kernel": {
        "stub": stub,
        "dropped tau_s (hard-coded 3)": lambda T, tau: _psp(T, tau, tau=3.0),
        "not normalised": lambda T, tau: _psp(T, tau, norm=False),
        "off by one (k from 1)": lambda T, tau: _psp(T, tau, shift=1),
        "exp(-k/tau)": lambda T, tau: torch.exp(-torch.arange(T) / tau) / tau,
        "a list of the wrong length": lambda T, tau: _psp(T, tau).tolist()[:-1] or [0.0, 0.0],
    },
    "check_spike_time_derivative": {
        "stub": stub,
        "its old hint: 8 at du = 0": lambda du: torch.clamp(1 / du, 0, 8),
        "no cap": lambda du: torch.where(du > 0, 1 / du, torch.zeros_like(du)),
        "abs for falling membranes": lambda du: (1 / du.abs()).clamp(max=8).nan_to_num(0.0),
        "inf at 0": lambda du: torch.where(du >= 0, 1 / du, torch.zeros_like(du)).clamp(
            max=float("inf")),
    },
    "check_rate_kappa": {
        "stub": stub,
        "hard-coded beta 0.8": lambda beta, T: _kappa(beta, T, b=0.8),
        "no leak memory": lambda beta, T: torch.ones(T),
        "off by one (kappa[0] = 1 + beta)": lambda beta, T: _kappa(beta, T, shift=1),
        "steady state only": lambda beta, T: torch.full((T,), 1 / (1 - beta) if beta < 1 else T),
        "booleans": lambda beta, T: torch.ones(T, dtype=torch.bool),
    },
    "check_rate_eligibility": {
        "stub": stub,
        "sum instead of mean": lambda sg, k: (sg * k.view(-1, 1, 1)).sum(0),
        "kappa dropped": lambda sg, k: sg.mean(0),
        "kappa reversed in time": lambda sg, k: (sg * k.flip(0).view(-1, 1, 1)).mean(0),
        "mean over the batch too": lambda sg, k: (sg * k.view(-1, 1, 1)).mean((0, 1)),
    },
    "check_quantise": {
        "stub": stub,
        "2**bits steps": lambda g, b, lo, hi: lo + torch.round((g - lo) / ((hi - lo) / 2 ** b)) * (
            (hi - lo) / 2 ** b),
        "levels from 0": lambda g, b, lo, hi: torch.round(g / ((hi - lo) / (2 ** b - 1))) * (
            (hi - lo) / (2 ** b - 1)),
        "dropped g_max (hard-coded 1)": lambda g, b, lo, hi: lo + torch.round(
            (g - lo) / ((1 - lo) / (2 ** b - 1))) * ((1 - lo) / (2 ** b - 1)),
        "floor instead of round": lambda g, b, lo, hi: lo + torch.floor(
            (g - lo) / ((hi - lo) / (2 ** b - 1))) * ((hi - lo) / (2 ** b - 1)),
    },
    "check_read_noise_std": {
        "stub": stub,
        "the variance": lambda x, gp, gn, sr, sc: (sr * sc) ** 2 * (
            (x * x) @ (gp ** 2 + gn ** 2).T),
        "added stds": lambda x, gp, gn, sr, sc: sr * sc * (x.abs() @ (gp + gn).T),
        "dropped scale": lambda x, gp, gn, sr, sc: sr * torch.sqrt(
            (x * x) @ (gp ** 2 + gn ** 2).T),
        "difference of conductances": lambda x, gp, gn, sr, sc: sr * sc * torch.sqrt(
            (x * x) @ ((gp - gn) ** 2).T),
    },
    "check_stdp_traces": {
        "stub": stub,
        "not normalised": lambda pre, post, lam: _stdp(pre, post, lam, norm=False),
        "P and D swapped": lambda pre, post, lam: _stdp(pre, post, lam, swap=True),
        "hard-coded lam 0.7": lambda pre, post, lam: _stdp(pre, post, lam, lam_=0.7),
        "one tensor": lambda pre, post, lam: _stdp(pre, post, lam)[0],
    },
    "check_inhibitory_update": {
        "stub": stub,
        "dropped a_plus (hard-coded 1)": lambda W, P, D, e, ap, am: _inhib(W, P, D, e, ap, am,
                                                                           ap_=1.0),
        "no clamp at 0": lambda W, P, D, e, ap, am: _inhib(W, P, D, e, ap, am, clamp=False),
        "updates every weight": lambda W, P, D, e, ap, am: _inhib(W, P, D, e, ap, am,
                                                                  only_pos=False),
        "wrong sign": lambda W, P, D, e, ap, am: _inhib(W, P, D, e, -ap, -am),
        "updates zero weights": lambda W, P, D, e, ap, am: torch.where(
            W >= 0, (W + e * (ap * P - am * D)).clamp(min=0), W),
    },
    "check_energy_estimate": {
        "stub": stub,
        "in pJ": lambda s, m: m * 4.6 + s * 0.9,
        "costs swapped": lambda s, m: (s * 4.6 + m * 0.9) / 1000,
        "MACs dropped": lambda s, m: s * 0.9 / 1000,
        "a string": lambda s, m: "1.0",
    },
    "check_pareto": {
        "stub": stub,
        "ties dominate": _pareto_strict,
        "best accuracy only": lambda rows: [max(rows, key=lambda r: r["test_acc"])["rule"]]
        if rows else [],
        "a string": lambda rows: "a",
        "every rule": lambda rows: [r["rule"] for r in rows],
    },
    "check_nir_lif": {
        "stub": stub,
        "exact exponential": lambda b, dt: (lambda tau: (tau, 1 / (1 - b)))(
            -dt / np.log(b) if b > 0 else dt),
        "R = 1": lambda b, dt: (dt / (1 - b), 1.0),
        "tau in steps": lambda b, dt: (1 / (1 - b), 1 / (1 - b)),
        "not a pair": lambda b, dt: dt / (1 - b),
    },
    "check_nir_euler_step": {
        "stub": stub,
        "input not scaled by dt/tau": lambda v, c, tau, r, dt: v + dt / tau * (-v) + r * c,
        "dropped R": lambda v, c, tau, r, dt: v + dt / tau * (-v + c),
        "wrong sign of the leak": lambda v, c, tau, r, dt: v + dt / tau * (v + r * c),
        "exact exponential": lambda v, c, tau, r, dt: np.exp(-dt / tau) * v + (
            1 - np.exp(-dt / tau)) * r * c,
    },
}


def _tandem_if_net():
    data = snnlab.load("digits")
    torch.manual_seed(0)
    net = snnlab.models.mlp(64, [32], 10, neuron="if")
    snnlab.train(net, data, "tandem", T=4, epochs=2, progress=False)
    return net


WRONG.update({  # predict-then-observe: only a missing or dishonest prediction fails
    "check_prediction_lif_spikes": {"stub": None, "ellipsis": ..., "a word": "many",
                                    "negative": -3, "nan": float("nan"), "two numbers": [1, 2]},
    "check_prediction_reset": {"stub": None, "ellipsis": ..., "not a choice": "both",
                               "a number": 3, "a list": ["subtract"]},
    "check_prediction_best_code": {"stub": None, "ellipsis": ..., "not a code": "direct",
                                   "a number": 1, "a letter out of range": "z"},
    "check_prediction_true_gradient": {"stub": None, "ellipsis": ..., "a word": "chance",
                                       "negative": -0.1, "over 100": 250},
    "check_prediction_grazing": {"stub": None, "ellipsis": ..., "not a choice": "explode",
                                 "a number": 8.0, "a boolean": True},
    "check_prediction_best_rule": {"stub": None, "ellipsis": ..., "not a rule": "ttfs",
                                   "a number": 0.8, "a list": ["bptt"]},
    # interpret: checked against the run's own numbers
    "check_smallest_current": {"stub": None, "ellipsis": ..., "the rheobase itself": 0.0952,
                               "one step too low": 0.09, "one step too high": 0.11,
                               "the slider's start": 0.3, "a word": "0.1"},
    "check_noise_below_rheobase": {"stub": None, "ellipsis": ..., "percent": 52.6,
                                   "a constant": 0.5, "all fired": 1.0, "none fired": 0.0},
    "check_best_encoding": {"stub": None, "ellipsis": ..., "a worse one": "rate",
                            "not in the run": "latency", "a number": 0.9},
    "check_surrogate_reach": {"stub": None, "ellipsis": ..., "a fraction": 0.9,
                              "a constant 50": 50.0, "all": 100.0, "a word": "most"},
    "check_first_firing_scale": {"stub": None, "ellipsis": ..., "the sweep's start": 0.6,
                                 "one step too high": 0.925, "one": 1.0, "a word": "0.9"},
    "check_seed_spread": {"stub": None, "ellipsis": ..., "the wrong one": "no",
                          "not a choice": "maybe", "a boolean": True},
})
WRONG["check_bptt_accuracy"] = {
    "stub": stub,
    "not a network": lambda d: "model",
    "tandem-trained IF network": lambda d: _tandem_if_net(),
    "untrained LIF network": lambda d: snnlab.models.mlp(64, [32], 10),
}

# Checkers that read the learner's own run take it as a second argument: CONTEXT builds it (a
# small made-up run), GOOD lists answers that must pass with it, WRONG (above) the ones that
# must not. A prediction passes whatever it says (committing to one is the exercise); it fails
# only when missing or not one of the options.
def _seed_table(accs):  # rule -> per-seed accuracies, as compare_seeds tabulates them
    rows = []
    for rule, a in accs.items():
        m = sum(a) / len(a)
        sd = (sum((v - m) ** 2 for v in a) / (len(a) - 1)) ** 0.5
        rows.append(dict(rule=rule, test_acc=m, test_acc_std=sd, accs=a, chance=0.1,
                         epochs=1, T=8, encoding="direct", curve=[m]))
    return rows


_SEEDS_CLEAR = _seed_table({"bptt": [0.90, 0.92], "ottt": [0.70, 0.72], "timing": [0.2, 0.3]})
_SEEDS_TIED = _seed_table({"bptt": [0.80, 0.90], "ottt": [0.82, 0.86], "timing": [0.2, 0.3]})
_COSINES = {"direct": {2: 0.99, 8: 0.97, 32: 0.95}, "rate": {2: 0.9, 8: 0.95, 32: 0.96},
            "latency": {2: 0.9, 8: 0.8, 32: 0.6}}
_CONV_CURVES = {"percentile, v0=0.0θ": {2: 0.34, 8: 0.87, 32: 0.90},
                "max, v0=0.0θ": {2: 0.14, 8: 0.88, 32: 0.89}}
_TSSL_ACCS = {"TSSL-BP": [0.80, 0.84], "surrogate only": [0.82, 0.86],
              "BPTT (LIF)": [0.90, 0.92]}
_WINDOWS = {"tandem": {1: [0.84, 0.85], 4: [0.86, 0.87]},
            "conversion v0=0": {1: [0.12, 0.13], 4: [0.86, 0.87]},
            "conversion v0=θ/2": {1: [0.78, 0.80], 4: [0.87, 0.88]}}
_MEM = {"offline": {8: 871428, 32: 3230724}, "online": {8: 150532, 32: 150532},
        "BPTT": {8: 710148, 32: 2676228}}
_OTTT = {"bptt": [0.83, 0.82], "ottt (A)": [0.81, 0.80], "ottt (O)": [0.88, 0.88]}
_SPIKES = {"snnlab": 1665, "norse lif": 0, "subtract": 1917}
_HEADS = {1.0: torch.tensor([1, 2, 1, 3]), 2.0: torch.tensor([2, 2, 2, 3]),
          4.0: torch.tensor([3, 4, 3, 5]), 8.0: torch.tensor([4, 5, 4, 6])}
_KD = {"CE only": {1: 0.345, 2: 0.303, 4: 0.255}, "KD": {1: 0.368, 2: 0.338, 4: 0.288},
       "HTA-KL": {1: 0.343, 2: 0.363, 4: 0.265}}
_SWEEPS = {"bits": {1: [0.10, 0.12], 4: [0.95, 0.95]},
           "stuck_on": {0.0: [0.95, 0.95], 0.1: [0.50, 0.60]},
           "drift_time": {1.0: [0.95, 0.95], 1e5: [0.52, 0.54]},
           "threshold_mismatch": {0.0: [0.95, 0.95], 0.4: [0.90, 0.92]}}
_CALIB = {"online LTL": [(0.875, 0.944), (0.839, 0.950)],
          "offline LTL": [(0.875, 0.940), (0.839, 0.930)],
          "BPTT": [(0.875, 0.933), (0.839, 0.933)]}  # with clean 0.958: 89.1%, 77.2%, 75.2%
_RATES = {"BPTT only": 0.407, "EICIL-style": 0.209}
CONTEXT = {
    "check_prediction_most_accurate": lambda: (_SEEDS_CLEAR,),
    "check_seed_gap": lambda: (_SEEDS_CLEAR,),
    "check_prediction_latency_cosine": lambda: (_COSINES,),
    "check_best_cosine_T": lambda: (_COSINES,),
    "check_prediction_quantisation_T": lambda: ({4: 0.24, 16: 0.062, 64: 0.016},),
    "check_steps_to_match": lambda: (_CONV_CURVES, 0.90),
    "check_prediction_tssl_vs_surrogate": lambda: (_TSSL_ACCS,),
    "check_tssl_gap": lambda: (_TSSL_ACCS,),
    "check_prediction_shortest_window": lambda: (_WINDOWS,),
    "check_half_start_gain": lambda: (_WINDOWS,),
    "check_prediction_online_memory": lambda: (_MEM,),
    "check_offline_memory_ratio": lambda: (_MEM,),
    "check_prediction_ottt_cosine_T": lambda: ({2: 0.999, 8: 0.971, 32: 0.995},),
    "check_ottt_gap": lambda: (_OTTT,),
    "check_prediction_norse_lif": lambda: (_SPIKES,),
    "check_reset_spike_difference": lambda: (_SPIKES,),
    "check_prediction_hot_head": lambda: (_HEADS,),
    "check_kd_gain": lambda: (_KD,),
    "check_prediction_worst_nonideality": lambda: (_SWEEPS,),
    "check_recovered_share": lambda: (_CALIB, 0.958),
    "check_prediction_cycle_rate": lambda: (_RATES,),
    "check_spike_ratio": lambda: (_RATES,),
}
GOOD = {
    "check_prediction_most_accurate": ["bptt", "timing", "OTTT ", "c"],
    "check_seed_gap": ["yes", "Yes", "a"],
    "check_prediction_latency_cosine": ["lower", "higher", "b"],
    "check_best_cosine_T": [2, 2.0, np.int64(2), torch.tensor(2)],
    "check_prediction_quantisation_T": ["quarter", "half", "same", " Quarter", "c"],
    "check_steps_to_match": [8, 8.0, np.int64(8), torch.tensor(8)],
    "check_prediction_tssl_vs_surrogate": ["tied", "higher", "lower", "B"],
    "check_tssl_gap": [-2.0, -2, np.float64(-1.8), torch.tensor(-2.3)],
    "check_prediction_shortest_window": ["tandem", "conversion v0=0", "conversion v0=θ/2", "a"],
    "check_half_start_gain": [66.5, 67, np.float64(66.2), torch.tensor(66.9)],
    "check_prediction_online_memory": ["flat", "grows with T", "b", "Flat "],
    "check_offline_memory_ratio": [3.71, 3.7, np.float64(3.6), torch.tensor(3.8)],
    "check_prediction_ottt_cosine_T": ["lower", "higher", "a", " LOWER"],
    "check_ottt_gap": [2.0, 2, np.float64(1.7), torch.tensor(2.4)],
    "check_prediction_norse_lif": ["few", "same", "half", "C"],
    "check_reset_spike_difference": [252, 252.0, np.int64(252), torch.tensor(252)],
    "check_prediction_hot_head": ["more", "fewer", "same", " More", "c"],
    "check_kd_gain": [2.3, 2, np.float64(2.5), torch.tensor(2.1, dtype=torch.float32)],
    "check_prediction_worst_nonideality": ["bits", "stuck_on", "drift_time",
                                           "threshold_mismatch", "d"],
    "check_recovered_share": [89.1, 89, np.float64(88.0), torch.tensor(90.0)],
    "check_prediction_cycle_rate": ["lower", "same", "higher", "A", " LOWER"],
    "check_spike_ratio": [1.95, 2, np.float64(1.9), torch.tensor(1.96, dtype=torch.float64)],
}
WRONG.update({
    "check_prediction_most_accurate": {
        "stub": ..., "None": None, "not a rule of the table": "tandem", "a number": "7"},
    "check_seed_gap": {
        "stub": ..., "the opposite": "no", "not yes or no": "maybe", "a letter too far": "c"},
    "check_prediction_latency_cosine": {
        "stub": ..., "None": None, "not an option": "same", "a number": "0.5"},
    "check_best_cosine_T": {
        "stub": ..., "the largest T": 32, "the worst T": 32.0, "not a T measured": 4,
        "the cosine instead of T": 0.99},
    "check_prediction_quantisation_T": {
        "stub": ..., "None": None, "not an option": "tenth", "a number": 0.25},
    "check_steps_to_match": {
        "stub": ..., "the largest T": 32, "a T too short": 2, "not a T measured": 4,
        "the accuracy instead of T": 0.87},
    "check_prediction_tssl_vs_surrogate": {
        "stub": ..., "None": None, "not an option": "same", "a number": 0.0},
    "check_tssl_gap": {
        "stub": ..., "a fraction, not points": -0.02, "the sign reversed": 2.0,
        "zero (guessing a tie)": 0.0, "the surrogate's accuracy": 84.0},
    "check_prediction_shortest_window": {
        "stub": ..., "None": None, "not a method": "bptt", "a number": 1.0},
    "check_half_start_gain": {
        "stub": ..., "a fraction, not points": 0.665, "the sign reversed": -66.5,
        "the gain at the longest T": 1.0, "zero": 0},
    "check_prediction_online_memory": {
        "stub": ..., "None": None, "not an option": "linear", "a number": 1.0},
    "check_offline_memory_ratio": {
        "stub": ..., "the ratio of the windows": 4, "the inverse": 0.27,
        "online's ratio": 1.0, "bytes instead of a ratio": 3230724},
    "check_prediction_ottt_cosine_T": {
        "stub": ..., "None": None, "not an option": "same", "a number": 0.99},
    "check_ottt_gap": {
        "stub": ..., "a fraction, not points": 0.02, "the sign reversed": -2.0,
        "zero (guessing a tie)": 0.0, "OTTT (O) instead": -5.5},
    "check_prediction_norse_lif": {
        "stub": ..., "None": None, "not an option": "none", "a number": 0},
    "check_reset_spike_difference": {
        "stub": ..., "the sign reversed": -252, "the subtracting total": 1917,
        "the zero-reset total": 1665, "off by one": 251},
    "check_prediction_hot_head": {
        "stub": ..., "None": None, "not an option": "bigger", "a number": 3},
    "check_kd_gain": {
        "stub": ..., "a fraction, not points": 0.023, "the sign reversed": -2.3,
        "the gain at T = 2": 3.5, "HTA-KL instead of KD": -0.2, "zero (guessing a tie)": 0},
    "check_prediction_worst_nonideality": {
        "stub": ..., "None": None, "not a swept parameter": "sigma", "a number": 1,
        "a letter too far": "e"},
    "check_recovered_share": {
        "stub": ..., "a fraction, not a percentage": 0.891, "the points won back": 9.0,
        "offline LTL's share": 77.2, "BPTT's share": 75.2, "everything": 100,
        "the points lost": 10.1},
    "check_prediction_cycle_rate": {
        "stub": ..., "None": None, "not an option": "half", "a number": 0.5},
    "check_spike_ratio": {
        "stub": ..., "the inverse": 0.51, "the difference of the rates": 0.198,
        "a percentage": 195, "one (no change)": 1.0, "the accuracy ratio": 1.02},
})


def test_answer_about_the_run_passes(capsys):
    assert set(CONTEXT) == set(GOOD) == RUN_READERS
    for checker, answers in GOOD.items():
        for a in answers:
            assert getattr(E, checker)(a, *CONTEXT[checker]()) is True, (checker, a)
            assert capsys.readouterr().out.startswith("✅")
    # the right interpretation follows the run, not a constant
    assert E.check_seed_gap("no", _SEEDS_TIED) is True
    assert E.check_seed_gap("yes", _SEEDS_TIED) is False
    cos = {k: dict(v) for k, v in _COSINES.items()}
    cos["direct"][32] = 1.0
    assert E.check_best_cosine_T(32, cos) is True
    assert E.check_best_cosine_T(2, cos) is False
    slow = {k: dict(v) for k, v in _CONV_CURVES.items()}
    slow["percentile, v0=0.0θ"][8] = 0.80
    assert E.check_steps_to_match(32, slow, 0.90) is True
    assert E.check_steps_to_match(8, slow, 0.90) is False
    ahead = {"TSSL-BP": [0.90, 0.91], "surrogate only": [0.80, 0.81]}
    assert E.check_tssl_gap(10, ahead) is True
    assert E.check_tssl_gap(-2, ahead) is False
    E.check_prediction_tssl_vs_surrogate("tied", ahead)
    assert E.PROGRESS.predictions["prediction_tssl_vs_surrogate"] is False
    E.check_prediction_tssl_vs_surrogate("tied", _TSSL_ACCS)
    assert E.PROGRESS.predictions["prediction_tssl_vs_surrogate"] is True
    other = {k: {T: list(v) for T, v in d.items()} for k, d in _WINDOWS.items()}
    other["conversion v0=θ/2"][1] = [0.20, 0.22]
    assert E.check_half_start_gain(8.5, other) is True
    assert E.check_half_start_gain(66.5, other) is False
    longer = {k: {**v, 64: v[32] * 2} for k, v in _MEM.items()}
    assert E.check_offline_memory_ratio(7.42, longer) is True
    assert E.check_offline_memory_ratio(3.71, longer) is False
    assert E.check_ottt_gap(-5, {"bptt": [0.80], "ottt (A)": [0.85]}) is True
    assert E.check_ottt_gap(2, {"bptt": [0.80], "ottt (A)": [0.85]}) is False
    assert E.check_reset_spike_difference(-10, {"snnlab": 100, "subtract": 90}) is True
    assert E.check_reset_spike_difference(252, {"snnlab": 100, "subtract": 90}) is False
    # notebooks 09, 13, 14: the right answer is computed from the run it is given
    kd = {k: dict(v) for k, v in _KD.items()}
    kd["KD"][1] = 0.300
    assert E.check_kd_gain(-4.5, kd) is True and E.check_kd_gain(2.3, kd) is False
    calib = {k: list(v) for k, v in _CALIB.items()}
    calib["online LTL"] = [(0.875, 0.900), (0.839, 0.880)]
    assert E.check_recovered_share(32.7, calib, 0.958) is True
    assert E.check_recovered_share(89.1, calib, 0.958) is False
    assert E.check_spike_ratio(1.0, {"BPTT only": 0.3, "EICIL-style": 0.3}) is True
    assert E.check_spike_ratio(1.95, {"BPTT only": 0.3, "EICIL-style": 0.3}) is False
    # the run's numbers may come as tensors or numpy values too
    assert E.check_spike_ratio(1.95, {k: torch.tensor(v) for k, v in _RATES.items()}) is True
    assert E.check_spike_ratio(1.95, {k: np.float64(v) for k, v in _RATES.items()}) is True
    assert E.check_prediction_hot_head("more", {k: v.numpy() for k, v in _HEADS.items()})
    assert E.check_prediction_hot_head("more", {k: v.tolist() for k, v in _HEADS.items()})
    assert E.check_kd_gain(2.3, {k: {t: torch.tensor(a) for t, a in v.items()}
                                 for k, v in _KD.items()}) is True
    assert E.check_recovered_share(89.1, {k: torch.tensor(v) for k, v in _CALIB.items()},
                                   torch.tensor(0.958)) is True
    # the prediction checkers measure the run they are given
    E.check_prediction_hot_head("same", {1.0: [5, 5], 8.0: [5, 5]})
    assert E.PROGRESS.predictions["prediction_hot_head"] is True
    E.check_prediction_hot_head("same", _HEADS)
    assert E.PROGRESS.predictions["prediction_hot_head"] is False
    E.check_prediction_cycle_rate("same", {"BPTT only": 0.40, "EICIL-style": 0.39})
    assert E.PROGRESS.predictions["prediction_cycle_rate"] is True
    E.check_prediction_cycle_rate("lower", {"BPTT only": 0.40, "EICIL-style": 0.45})
    assert E.PROGRESS.predictions["prediction_cycle_rate"] is False
    E.check_prediction_worst_nonideality("bits", _SWEEPS)
    assert E.PROGRESS.predictions["prediction_worst_nonideality"] is True
    E.check_prediction_worst_nonideality("stuck_on", _SWEEPS)
    assert E.PROGRESS.predictions["prediction_worst_nonideality"] is False
    near = dict(_SWEEPS, drift_time={1.0: [0.95, 0.95], 1e5: [0.08, 0.20]})  # within the spread
    E.check_prediction_worst_nonideality("bits", near)
    assert E.PROGRESS.predictions["prediction_worst_nonideality"] is True
    # a hardware.SweepResult works as well as the {value: [accuracy per chip]} dicts above
    from snnlab.hardware.sweeps import SweepResult

    real = {p: SweepResult(p, list(d), [0, 1], [list(a) for a in d.values()])
            for p, d in _SWEEPS.items()}
    assert E.check_prediction_worst_nonideality("drift_time", real) is True
    assert "bits = 1 11.0" in capsys.readouterr().out


def test_a_prediction_is_recorded_right_or_wrong(capsys):
    E.check_prediction_most_accurate("timing", _SEEDS_CLEAR)
    assert E.PROGRESS.predictions["prediction_most_accurate"] is False
    E.check_prediction_most_accurate("bptt", _SEEDS_CLEAR)
    assert E.PROGRESS.predictions["prediction_most_accurate"] is True
    E.check_prediction_most_accurate("ottt", _SEEDS_TIED)  # within the seeds' spread
    assert E.PROGRESS.predictions["prediction_most_accurate"] is True
    out = capsys.readouterr().out
    assert "±" in out


# The bugs measured in issue 17 each have their row above:
ISSUE_ROWS = [("check_psp_kernel", "dropped tau_s (hard-coded 3)"),
              ("check_inhibitory_update", "dropped a_plus (hard-coded 1)"),
              ("check_rate_kappa", "hard-coded beta 0.8"),
              ("check_rate_code", "deterministic regular code"),
              ("check_rate_code", "re-seeds the global RNG"),
              ("check_bptt_accuracy", "tandem-trained IF network"),
              ("check_spike_time_derivative", "its old hint: 8 at du = 0")]


def test_every_checker_has_a_wrong_answer_table():
    assert sorted(WRONG) == CHECKERS
    for name, rows in WRONG.items():
        assert "stub" in rows and len(rows) >= 4, name
    for checker, row in ISSUE_ROWS:
        assert row in WRONG[checker]


ROWS = [(c, label) for c in CHECKERS for label in WRONG[c]]


@pytest.mark.parametrize("checker, label", ROWS, ids=[f"{c}-{lb}" for c, lb in ROWS])
def test_wrong_answer_is_rejected(checker, label, capsys):
    answer = WRONG[checker][label]
    args = (answer, snnlab.load("digits")) if checker == "check_bptt_accuracy" else (answer,)
    args += _run_kw(checker)
    args += CONTEXT[checker]() if checker in CONTEXT else ()
    kw = {"T": 4, "target": 0.5} if checker == "check_bptt_accuracy" else {}
    before = torch.get_rng_state()
    assert getattr(E, checker)(*args, **kw) is False
    out = capsys.readouterr().out
    name = checker.removeprefix("check_")
    assert out.startswith(f"❌ {name}:") and out.count("\n") == 1 and "— hint: " in out, out
    assert E.PROGRESS[name] is False and E.PROGRESS.failures[name] == 1
    assert torch.equal(torch.get_rng_state(), before)


def test_the_old_spike_time_hint_fails_at_du_zero(capsys):
    assert E.check_spike_time_derivative(lambda du: torch.clamp(1 / du, 0, 8)) is False
    assert "du = 0" in capsys.readouterr().out


# ------------------------------------------------------------------ global random state
def _global_state():
    return torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()


@pytest.mark.parametrize("checker", [c for c in CHECKERS if c != "check_bptt_accuracy"])
def test_no_checker_moves_the_global_random_state(checker, capsys):
    def noisy(fn):  # a learner's function that draws from every global generator
        def run(*a, **k):
            torch.rand(3)
            random.random()
            np.random.rand()
            return fn(*a, **k)
        return run

    torch.manual_seed(1234)
    random.seed(1234)
    np.random.seed(1234)
    t0, p0, n0 = _global_state()
    if checker in CONTEXT:
        ctx = CONTEXT[checker]()
        assert getattr(E, checker)(GOOD[checker][0], *ctx) is True
        getattr(E, checker)(..., *ctx)
        t1, p1, n1 = _global_state()
        assert torch.equal(t0, t1) and p0 == p1 and np.array_equal(n0, n1)
        return
    run = _run_kw(checker)
    if checker in RUN_GOOD:
        t0, p0, n0 = _global_state()  # building the run may draw; the checks must not
        answer = _good(checker, RUN_GOOD[checker][0], run)
    else:
        answer = VALUES[checker] if checker in VALUES else noisy(ref(checker))
    assert getattr(E, checker)(answer, *run) is True
    getattr(E, checker)(... if checker in VALUES or checker in RUN_GOOD else stub, *run)
    t1, p1, n1 = _global_state()
    assert torch.equal(t0, t1) and p0 == p1 and np.array_equal(n0, n1)


def test_course_code_never_seeds_the_global_generators():
    """No call of torch.manual_seed, random.seed or np.random.seed in the course's code (the
    hints' code strings may show a learner how to seed; only calls count)."""
    import ast

    for path in sorted((ROOT / "snnlab" / "course").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = ast.unparse(node.func.value)
                bad = (node.func.attr == "manual_seed" and owner in ("torch", "torch.random")
                       or node.func.attr == "seed" and owner in ("random", "np.random",
                                                                 "numpy.random"))
                assert not bad, (path.name, ast.unparse(node))


# ------------------------------------------------------------------ progressive hints
_CODE = re.compile(r"\breturn\b|torch\.|[A-Za-z_]\w*\s*=\s*[^=\s]|\*\*|\w\(|\.\w+\(")


def _hint(out: str) -> str:
    return out.split("— hint: ", 1)[1].strip()


@pytest.mark.parametrize("checker", CHECKERS)
def test_hints_progress_from_idea_to_equation_and_code_only_on_request(checker, capsys):
    fn = getattr(E, checker)
    args = (stub, snnlab.load("digits")) if checker == "check_bptt_accuracy" else (stub,)
    if checker in VALUES or checker in RUNS:
        args = (..., *_run_kw(checker))
    if checker in VALUES:
        args = (...,)
    if checker in CONTEXT:
        args = (..., *CONTEXT[checker]())
    name = checker.removeprefix("check_")
    hints = ui.HINTS[name]
    fn(*args)
    first = _hint(capsys.readouterr().out)
    assert first == hints.idea
    assert not _CODE.search(first), (checker, first)
    assert not _CODE.search(hints.idea)
    fn(*args)
    second = _hint(capsys.readouterr().out)
    assert second.startswith(hints.equation) and hints.code not in second
    fn(*args)
    assert _hint(capsys.readouterr().out).startswith(hints.equation)
    assert E.PROGRESS.failures[name] == 3
    fn(*args, hint="code")
    out = capsys.readouterr().out
    assert out.startswith(f"❌ {name}:") and all(line in out for line in hints.code.splitlines())
    E.reset_progress()
    fn(*args, hint="equation")
    assert _hint(capsys.readouterr().out).startswith(hints.equation)
    text = E.show_solution(checker)
    out = capsys.readouterr().out
    assert all(line in text and line in out for line in hints.code.splitlines())


def test_hint_argument_is_validated_and_in_the_signature():
    import inspect

    for c in CHECKERS:
        params = inspect.signature(getattr(E, c)).parameters
        assert params["hint"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(ValueError, match="hint"):
        E.check_lif_step(stub, hint="everything")
    with pytest.raises(ValueError, match="unknown checker"):
        E.show_solution("check_nothing")


# ------------------------------------------------------------------ later cells never break
# (checker, how the later notebook cell calls the function, in notebooks/src)
LATER = {
    "05": ("check_cosine", "cosine", lambda: (torch.randn(4, 3), torch.randn(4, 3))),
    "10": ("check_three_factor", "weight_grad",
           lambda: (torch.randn(5, 2, 3), torch.rand(5, 2, 3), torch.rand(5, 2, 4))),
    "12a": ("check_rate_kappa", "kappa", lambda: (0.9, 8)),
    "12b": ("check_rate_eligibility", "eligibility", lambda: (torch.rand(8, 2, 3),
                                                               _ref_kappa(0.9, 8))),
    "13": ("check_read_noise_std", "read_noise_std",
           lambda: (torch.rand(1, 5), torch.rand(4, 5), torch.rand(4, 5), 0.2, 0.7)),
    "15a": ("check_energy_estimate", "energy_nj", lambda: (1981.0, 33280.0)),
    "15b": ("check_pareto", "pareto",
            lambda: ([dict(rule="a", energy_nj_per_sample=1.0, test_acc=0.7),
                      dict(rule="b", energy_nj_per_sample=2.0, test_acc=0.6)],)),
}


@pytest.mark.parametrize("key", sorted(LATER))
def test_unsolved_stub_falls_back_to_the_reference(key, capsys):
    checker, fn_name, make_args = LATER[key]
    wrapped = E.use_or_reference(stub, checker, fn_name)
    args = make_args()
    want = ref(checker)(*args)
    got = wrapped(*args)
    got2 = wrapped(*args)
    assert got == want if not isinstance(want, torch.Tensor) else torch.equal(got, want)
    assert got2 is not None
    out = capsys.readouterr().out
    assert out == (f"ℹ️ {fn_name} is not solved yet: using snnlab's reference so the rest of "
                   "the notebook runs\n")  # one note, however often it is called


def test_use_or_reference_uses_the_learners_function_once_its_checker_passed(capsys):
    calls = []

    def cosine(a, b):
        calls.append(1)
        return ref("check_cosine")(a, b)

    wrapped = E.use_or_reference(cosine, "check_cosine")
    wrapped(torch.ones(2), torch.ones(2))
    assert calls == [] and "cosine is not solved yet" in capsys.readouterr().out
    assert E.check_cosine(cosine) is True
    capsys.readouterr()
    calls.clear()
    assert wrapped(torch.ones(2), -torch.ones(2)) == pytest.approx(-1.0)
    assert calls == [1] and capsys.readouterr().out == ""
    # with a plain reference function (no checker), only NotImplementedError falls back
    direct = E.use_or_reference(lambda a: a + 1, lambda a: 0, "inc")
    assert direct(1) == 2
    assert E.use_or_reference(stub, lambda a: 0, "inc")(1) == 0


@pytest.mark.parametrize("nb, names", [("05", ["cosine"]), ("10", ["weight_grad"]),
                                       ("12", ["kappa", "eligibility"]),
                                       ("13", ["read_noise_std"]),
                                       ("15", ["energy_nj", "pareto"])])
def test_notebooks_wrap_the_stubs_their_later_cells_call(nb, names):
    src = next((ROOT / "notebooks" / "src").glob(f"{nb}_*.py")).read_text()
    for fn in names:
        wrap = re.search(rf"^{fn} = exercises\.use_or_reference\({fn}, \"check_\w+\"\)$", src,
                         re.M)
        assert wrap, (nb, fn)
        stub_at = src.index("raise NotImplementedError")
        later = [m.start() for m in re.finditer(rf"\b{fn}\(", src)]
        used_after = [i for i in later if i > wrap.start()]
        assert used_after and wrap.start() > stub_at, (nb, fn)


def test_rate_bp_references_match_the_rule():
    gen = torch.Generator().manual_seed(0)
    neuron = snnlab.neurons.LIF(beta=0.85, surrogate="fast_sigmoid")
    c = torch.rand(1, 3, 4, generator=gen, dtype=torch.float64).expand(9, 3, 4)
    with torch.no_grad():
        s, u = neuron.simulate(c)
    sg = neuron.surrogate.derivative(u - neuron.threshold)
    assert torch.allclose(_ref_eligibility(sg, _ref_kappa(0.85, 9)),
                          rule_eligibility(neuron, u, s).double(), atol=1e-8)

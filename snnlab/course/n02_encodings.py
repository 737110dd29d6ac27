"""Notebook 02: encodings: rate, latency and delta codes.

The simulate functions, dashboards and exercise checkers of ``notebooks/02_encodings.ipynb``,
side by side (the pattern is described in :mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_int
from ..encoding import METHODS, encode
from ..plot import raster, show
from .ui import (
    Dashboard,
    LearnerError,
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
    randint,
    unanswered,
)

__all__ = ["simulate_encoding", "encoding_dashboard", "check_rate_code", "check_latency_code",
           "check_spike_count", "check_prediction_best_code", "check_best_encoding"]


def simulate_encoding(x: torch.Tensor, *, T: int = 16, method: str = "rate", gain: float = 1.0,
                      seed: int = 0) -> dict:
    """Encode one sample ``x [...]`` and summarise it.

    Returns ``dict(seq [T, N], n_spikes, spikes_per_step, reconstruction, error)`` where the
    reconstruction is the time average of the sequence (what a rate decoder sees) and ``error``
    its mean absolute difference from ``x``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    T = check_int("T", T, low=1, high=10_000)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    flat = x.reshape(1, -1).float()
    seq = encode(flat, T, method, gain=gain, generator=gen)[:, 0]
    if method == "latency":  # decode the spike time back to an intensity
        t = torch.arange(T, dtype=seq.dtype)[:, None]
        t_spike = (seq * t).sum(0)
        recon = torch.where(seq.sum(0) > 0, 1.0 - t_spike / max(T - 1, 1),
                            torch.zeros_like(t_spike))
    elif method == "delta":
        recon = seq.cumsum(0)[-1]
    else:
        recon = seq.mean(0) / (gain if method == "rate" and gain > 0 else 1.0)
    return {"seq": seq, "n_spikes": int(seq.abs().sum()), "spikes_per_step":
            float(seq.abs().sum()) / T, "reconstruction": recon,
            "error": float((recon - flat[0]).abs().mean())}


def encoding_dashboard(x: torch.Tensor, *, T: int = 16, method: str = "rate",
                       gain: float = 1.0) -> Dashboard:
    """Sliders for the number of steps T and the rate gain; a method dropdown; one raster."""
    import ipywidgets as W

    controls = {
        "method": W.Dropdown(options=[m for m in METHODS if m != "frames"], value=method,
                             description="method"),
        "T": W.IntSlider(value=T, min=1, max=64, step=1, description="T (steps)",
                         continuous_update=False),
        "gain": W.FloatSlider(value=gain, min=0.0, max=2.0, step=0.05, description="rate gain",
                              continuous_update=False),
    }

    def compute(**kw):
        return simulate_encoding(x, **kw)

    def draw(r):
        ax = raster(r["seq"], title=f"{r['n_spikes']} spikes; rate-decoding error "
                    f"{r['error']:.3f}")
        ax.set_ylabel("input index")
        show(ax)

    return build(controls, compute, draw)


def _rate_reference(x, T):
    return encode(torch.as_tensor(x), T, "rate")


def _rate_inputs(gen):
    """Intensities over [0, 1], with exact 0s and 1s, in a random 1-D or 2-D shape."""
    for i, T in enumerate((1, 2000, 3000)):
        shape = (randint(gen, 12, 20),) if i % 2 else (randint(gen, 3, 5), randint(gen, 4, 6))
        x = torch.rand(shape, generator=gen, dtype=torch.float64 if i % 2 else torch.float32)
        flat = x.view(-1)
        flat[0], flat[1], flat[2], flat[3] = 0.0, 1.0, 0.5, 0.5
        yield x, T


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(a.norm() * b.norm())
    return float((a * b).sum()) / den if den > 0 else 0.0


@checker("rate_code",
         idea="at every time step, every input flips its own biased coin: it spikes with "
              "probability equal to its intensity, independently of the other steps and inputs",
         equation="s[t, i] = 1 with probability x[i] (a Bernoulli draw), else 0, for t = 0..T-1; "
                  "the output has shape [T, *x.shape]",
         code="return torch.bernoulli(x.expand(T, *x.shape))",
         reference=_rate_reference)
def check_rate_code(rate_encode: Callable) -> bool:
    """``rate_encode(x, T) -> [T, *x.shape]`` of 0/1 spikes with P(spike) = x per step, each
    step and input drawn independently."""
    name = "rate_code"
    need_callable("check_rate_code", rate_encode)
    gen = torch.Generator().manual_seed(201)
    for x, T in _rate_inputs(gen):
        seq = answer_tensor(call(rate_encode, x.clone(), T), (T, *x.shape), "the spike train")
        if not bool(((seq == 0) | (seq == 1)).all()):
            return failed(name, "the output must contain only 0 and 1")
        if not bool((seq[:, x == 0] == 0).all()) or not bool((seq[:, x == 1] == 1).all()):
            return failed(name, "an input with x = 0 must never spike, one with x = 1 always")
        if T < 100:
            continue
        mean = seq.mean(0)
        xd = x.double()
        bound = 6 * (xd * (1 - xd) / T).sqrt() + 1e-3
        worst = float(((mean - xd).abs() - bound).max())
        if worst > 0:
            err = float((mean - xd).abs().max())
            return failed(name, f"the spike probability does not match x (worst error "
                          f"{err:.3f} over T={T} steps)")
        again = answer_tensor(call(rate_encode, x.clone(), T), (T, *x.shape), "the spike train")
        if torch.equal(seq, again):
            return failed(name, "the spikes are deterministic: two calls gave the same train "
                          "(a rate code draws new random numbers every time)")
        inner = ((xd > 0.1) & (xd < 0.9)).view(-1)
        flat = seq.reshape(T, -1)[:, inner]
        lag = sum(_corr(flat[1:, j], flat[:-1, j]) for j in range(flat.shape[1]))
        lag /= max(flat.shape[1], 1)
        if abs(lag) > 0.1:
            return failed(name, f"consecutive steps are correlated ({lag:+.2f}): the spikes "
                          "follow a pattern in time instead of independent draws")
        pairs = [_corr(flat[:, j], flat[:, j + 1]) for j in range(flat.shape[1] - 1)]
        if pairs and abs(sum(pairs) / len(pairs)) > 0.1:
            return failed(name, "different inputs spike together: each input needs its own "
                          "random number at each step")
    return passed(name, "independent Bernoulli spikes with probability x")


def _latency_reference(x, T):
    return encode(torch.as_tensor(x), T, "latency")


def _latency_inputs(gen):
    for i, T in enumerate((1, 2, 5, 16, randint(gen, 3, 40), randint(gen, 3, 40))):
        shape = rand_shape(gen, 2, 8)
        x = torch.rand(shape, generator=gen, dtype=torch.float32 if i % 2 else torch.float64)
        if T > 1:  # keep away from exact halves, where rounding conventions differ
            frac = ((1 - x) * (T - 1)) % 1
            x = torch.where((frac - 0.5).abs() < 0.02, x + 0.05 / (T - 1), x).clamp(0, 1)
        flat = x.view(-1)
        flat[: min(3, flat.numel())] = torch.tensor([0.0, 1.0, 1e-3], dtype=x.dtype)[
            : min(3, flat.numel())]
        yield x, T


@checker("latency_code",
         idea="each input spikes exactly once, and the brighter it is the earlier it fires: "
              "full intensity at the first step, a faint input at the last one, and an input "
              "of zero never",
         equation="t_spike = round((1 - x)·(T - 1)); s[t] = 1 where t = t_spike and x > 0, "
                  "else 0; shape [T, *x.shape]",
         code="t_spike = torch.round((1 - x) * (T - 1))\n"
              "steps = torch.arange(T).reshape(T, *([1] * x.ndim))\n"
              "return ((steps == t_spike) & (x > 0)).float()",
         reference=_latency_reference)
def check_latency_code(latency_encode: Callable) -> bool:
    """``latency_encode(x, T) -> [T, *x.shape]``: one spike at ``round((1 - x)(T - 1))``, none
    where ``x == 0`` (same as ``snnlab.encode(x, T, "latency")``)."""
    name = "latency_code"
    need_callable("check_latency_code", latency_encode)
    gen = torch.Generator().manual_seed(202)
    for x, T in _latency_inputs(gen):
        ref = encode(x, T, "latency")
        got = answer_tensor(call(latency_encode, x.clone(), T), ref.shape, f"the train (T={T})")
        if close(got, ref):
            continue
        if T > 1 and close(got.flip(0), ref):
            return failed(name, "your spike times are reversed: bright pixels (x near 1) must "
                          "fire first")
        n = got.sum(0)
        if bool((n[x > 0] != 1).any()):
            return failed(name, f"every nonzero input must spike exactly once (T={T})")
        if bool((n[x == 0] != 0).any()):
            return failed(name, "inputs with x = 0 must stay silent")
        return failed(name, f"some spike times are off for T={T}")
    return passed(name)


@checker("spike_count",
         idea="each of the T steps spikes with the same probability, so the expected count is "
              "that probability added up over the steps",
         equation="E[count] = T·min(max(gain·x, 0), 1)",
         code="expected_spikes = T * gain * x  # e.g. 20 * 0.3")
def check_spike_count(answer, *, x: float = 0.3, T: int = 20, gain: float = 1.0) -> bool:
    """Expected number of spikes of one rate-coded input ``x`` over ``T`` steps (a number:
    ``int``, ``float``, numpy scalar or one-element tensor)."""
    name = "spike_count"
    if unanswered(answer):
        return failed(name, "no answer yet: replace ... by a number")
    got = need_number("check_spike_count", answer)
    ref = T * min(max(gain * x, 0.0), 1.0)
    if abs(got - ref) <= 1e-5 * max(1.0, ref):
        return passed(name, f"{ref:g} spikes on average")
    return failed(name, f"expected {ref:g}, got {got:g}")


# ------------------------------------------------------------------ predict, observe, interpret
def _last_errors(checker_name: str, error) -> dict:
    if not isinstance(error, dict) or not error or not all(
            isinstance(v, (list, tuple)) and v for v in error.values()):
        raise TypeError(f"{checker_name} expects the run's errors, a dict method -> [error at "
                        "each T]")
    return {m: float(v[-1]) for m, v in error.items()}


@checker("prediction_best_code",
         idea="at many time steps, ask what limits each code: a random count, the rounding of "
              "a spike time to the time grid, or a single on/off event per pixel",
         equation="rate: error ~ sqrt(x(1-x)/T); latency: error ~ 1/(2(T-1)) (rounding); delta "
                  "on a static image: one threshold event, error independent of T",
         code='my_prediction = "latency"  # or "rate" or "delta": commit before the run')
def check_prediction_best_code(my_prediction, error) -> bool:
    """Predict-then-observe: which code (``"rate"``, ``"latency"``, ``"delta"``) has the smallest
    decoding error at the largest T of the sweep; ``error`` is the sweep's dict method -> list of
    errors (one per T)."""
    name = "prediction_best_code"
    last = _last_errors("check_prediction_best_code", error)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'rate', 'latency' or 'delta'")
    guess = need_choice(my_prediction, sorted(last))
    best = min(last, key=last.get)
    why = ("errors at the largest T: " + ", ".join(f"{m} {e:.3f}" for m, e in last.items())
           + "; the latency code's only error is rounding a spike time to the grid, which "
           "shrinks like 1/T, while a rate count shrinks only like 1/√T")
    return predicted(name, repr(guess), repr(best), guess == best, why)


def _results_at(checker_name: str, results, T: int) -> dict:
    if not isinstance(results, dict) or not all(
            isinstance(k, tuple) and len(k) == 2 for k in results):
        raise TypeError(f"{checker_name} expects the run's results, a dict (method, T) -> "
                        "(test accuracy, spikes)")
    accs = {m: float(v[0]) for (m, t), v in results.items() if t == T}
    if not accs:
        raise LearnerError(f"your run has no results at T = {T}")
    return accs


@checker("best_encoding",
         idea="read the table your run printed: among the rows with the smallest T, which "
              "encoding has the largest test accuracy",
         equation="best = argmax over methods of test accuracy at T = TRAIN_T[0]",
         code="accs = {m: acc for (m, t), (acc, spk) in results.items() if t == TRAIN_T[0]}\n"
              "answer = max(accs, key=accs.get)")
def check_best_encoding(answer, results, *, T: int | None = None) -> bool:
    """Interpret: the encoding with the highest test accuracy in the run's ``results`` (dict
    ``(method, T) -> (accuracy, spikes)``) at ``T`` (default: the smallest T of the run); any
    of tied best methods counts."""
    name = "best_encoding"
    if not isinstance(results, dict) or not results:
        raise TypeError("check_best_encoding expects the run's results dict")
    T = min(t for _, t in results) if T is None else int(T)
    accs = _results_at("check_best_encoding", results, T)
    if unanswered(answer):
        return failed(name, "no answer yet: read it off the table")
    got = need_choice(answer, sorted(accs))
    top = max(accs.values())
    if accs[got] >= top - 1e-9:
        return passed(name, f"{got}: {100 * accs[got]:.1f}% at T = {T}")
    return failed(name, f"at T = {T} {got} reached {100 * accs[got]:.1f}%, and another "
                  f"encoding did better ({100 * top:.1f}%)")

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
    as_tensor,
    build,
    call,
    failed,
    need_callable,
    need_number,
    passed,
    unanswered,
)

__all__ = ["simulate_encoding", "encoding_dashboard", "check_rate_code", "check_latency_code",
           "check_spike_count"]


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


def check_rate_code(rate_encode: Callable) -> bool:
    """``rate_encode(x, T) -> [T, *x.shape]`` of 0/1 spikes with P(spike) = x per step."""
    name = "rate_code"
    need_callable("check_rate_code", rate_encode)
    torch.manual_seed(0)
    x = torch.linspace(0.0, 1.0, 11)
    T = 4000
    try:
        seq = as_tensor(call(rate_encode, x.clone(), T))
    except LearnerError as e:
        return failed(name, str(e), "torch.bernoulli(x.expand(T, *x.shape)) draws it at once")
    if seq is None or tuple(seq.shape) != (T, *x.shape):
        got = None if seq is None else tuple(seq.shape)
        return failed(name, f"expected shape {(T, *x.shape)}, got {got}",
                      "time goes first: [T, ...]")
    if not bool(((seq == 0) | (seq == 1)).all()):
        return failed(name, "the output must contain only 0 and 1", "a spike is 1, silence 0")
    mean = seq.float().mean(0)
    err = float((mean - x).abs().max())
    if err > 0.04:
        return failed(name, f"the spike probability does not match x (worst error {err:.2f})",
                      "each step spikes independently with probability x")
    if bool((seq.float().std(0)[1:-1] == 0).any()):
        return failed(name, "the spikes are deterministic", "draw random numbers")
    return passed(name, f"mean rate within {err:.3f} of x")


def check_latency_code(latency_encode: Callable) -> bool:
    """``latency_encode(x, T) -> [T, *x.shape]``: one spike at ``round((1 - x)(T - 1))``, none
    where ``x == 0`` (same as ``snnlab.encode(x, T, "latency")``)."""
    name = "latency_code"
    need_callable("check_latency_code", latency_encode)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 16, generator=g)
    x[:, :3] = torch.tensor([0.0, 1.0, 0.5])
    for T in (5, 16):
        ref = encode(x, T, "latency")
        try:
            got = as_tensor(call(latency_encode, x.clone(), T), ref)
        except LearnerError as e:
            return failed(name, str(e), "build it from t_spike = round((1 - x) * (T - 1))")
        if got is None or got.shape != ref.shape:
            return failed(name, f"expected shape {tuple(ref.shape)}, got "
                          f"{None if got is None else tuple(got.shape)}", "time goes first")
        if torch.equal(got, ref):
            continue
        if torch.equal(got.flip(0), ref):
            return failed(name, "your spike times are reversed",
                          "bright pixels (x near 1) must fire FIRST, at t = 0")
        n = got.sum(0)
        if bool((n[x > 0] != 1).any()):
            return failed(name, "every nonzero pixel must spike exactly once",
                          "compare torch.arange(T) with t_spike to get a one-hot over time")
        if bool((n[x == 0] != 0).any()):
            return failed(name, "pixels with x = 0 must stay silent",
                          "multiply the one-hot by (x > 0)")
        return failed(name, f"spike times differ from round((1 - x)(T - 1)) for T={T}",
                      "use torch.round, and scale by T - 1 so x = 0+ fires at the last step")
    return passed(name)


def check_spike_count(answer, *, x: float = 0.3, T: int = 20, gain: float = 1.0) -> bool:
    """Expected number of spikes of one rate-coded input ``x`` over ``T`` steps (a number)."""
    name = "spike_count"
    if unanswered(answer):
        return failed(name, "no answer yet", "replace ... by a number")
    need_number("check_spike_count", answer)
    ref = T * min(max(gain * x, 0.0), 1.0)
    if abs(answer - ref) <= 1e-6 * max(1.0, ref):
        return passed(name, f"{ref:g} spikes on average")
    return failed(name, f"expected {ref:g}, got {answer:g}",
                  "each of the T steps spikes with probability gain·x: the mean is T·gain·x")

r"""Encoders: turn a static sample ``x [B, ...]`` (values in [0, 1]) into a time-major
sequence ``[T, B, ...]`` that a :class:`~snnlab.models.SpikingNet` consumes.

=========  ==========================================================================
method     what the network sees at step t
=========  ==========================================================================
direct     the analogue value itself, every step (the first layer turns it into spikes)
rate       a Bernoulli spike with probability ``gain * x`` (Poisson-like rate code)
latency    one spike at :math:`t_i = \mathrm{round}((1 - x_i)(T - 1))`: bright = early
           (time-to-first-spike); values below ``min_value`` stay silent
delta      ±1 events where the signal changes by more than ``threshold`` between steps;
           a static image is a step signal, so it gives a single burst at t = 0
frames     ``x`` already has time first per sample (``[B, T, ...]``, e.g. N-MNIST frames)
=========  ==========================================================================
"""

from __future__ import annotations

import torch

from ._checks import MAX_T, check_choice, check_float, check_int, check_memory, check_tensor

METHODS = ("direct", "rate", "latency", "delta", "frames")

__all__ = ["encode", "encode_rows", "METHODS"]


def encode(x: torch.Tensor, T: int, method: str = "direct", *, gain: float = 1.0,
           min_value: float = 0.0, threshold: float = 0.1, off_spikes: bool = True,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode ``x [B, ...]`` into ``[T, B, ...]``; see the module docstring for the methods.

    Args:
        x: a batch of samples, floating point; rate and latency expect values in [0, 1].
        T: number of time steps (>= 1).
        method: one of ``direct``, ``rate``, ``latency``, ``delta``, ``frames``.
        gain: rate code, spike probability per step is ``clamp(gain * x, 0, 1)``.
        min_value: latency code, values <= this never spike.
        threshold: delta code, smallest change that emits an event.
        off_spikes: delta code, also emit -1 events for decreases.
        generator: random generator for the rate code (reproducible encodings).

    The output has ``x``'s dtype. ``direct`` and ``frames`` return views (no copy); the other
    methods allocate ``[T, B, ...]``, refused beforehand (``ValueError`` naming ``T``) when that
    would not fit in memory (see :func:`snnlab._checks.check_memory`).
    """
    check_int("T", T, low=1, high=MAX_T)
    method = check_choice("method", method, METHODS)
    check_tensor("x", x, min_ndim=1, finite=True)
    if not torch.is_floating_point(x):
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    # bytes per output element that must exist at once: rate draws one array, latency two bool
    # masks and the result, delta the shifted signal, the change and the events
    per_element = {"rate": 1, "latency": 1, "delta": 3}.get(method, 0) * x.element_size() \
        + (2 if method == "latency" else 0)
    check_memory(f"T={T} for x of shape {tuple(x.shape)} (method={method!r})",
                 float(T) * x.numel() * per_element, purpose="the encoded sequence")
    if method == "direct":
        return x.unsqueeze(0).expand(T, *x.shape)
    if method == "frames":
        if x.ndim < 3:
            raise ValueError(f"method='frames' needs x [B, T, ...], got shape {tuple(x.shape)}")
        if x.shape[1] != T:
            raise ValueError(f"method='frames': x has {x.shape[1]} frames but T={T}")
        return x.transpose(0, 1)
    if method == "rate":
        gain = check_float("gain", gain, low=0.0)
        p = (gain * x).clamp(0.0, 1.0).unsqueeze(0).expand(T, *x.shape)
        return torch.bernoulli(p, generator=generator)
    if method == "latency":
        min_value = check_float("min_value", min_value)
        t_spike = torch.round((1.0 - x.clamp(0.0, 1.0)) * (T - 1)).long()
        steps = torch.arange(T, device=x.device).view(T, *([1] * x.ndim))
        out = (steps == t_spike.unsqueeze(0)) & (x > min_value).unsqueeze(0)
        return out.to(x.dtype)
    # delta: events where the (held) signal changes between consecutive steps
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    signal = x.unsqueeze(0).expand(T, *x.shape)
    previous = torch.cat([torch.zeros_like(signal[:1]), signal[:-1]])
    change = signal - previous
    events = (change >= threshold).to(x.dtype)
    if off_spikes:
        events = events - (change <= -threshold).to(x.dtype)
    return events


def encode_rows(x_rows: torch.Tensor, T: int, method: str = "direct", *, rows: slice, n: int,
                gain: float = 1.0, generator: torch.Generator | None = None,
                **kw) -> torch.Tensor:
    """Rows ``rows`` of ``encode(x, T, method, generator=generator)`` for a batch ``x`` of ``n``
    samples, computed from ``x_rows = x[rows]`` alone, with the same random numbers, and
    leaving ``generator`` in the same state (data-parallel training: each process encodes its
    shard only). Every code but ``rate`` is per sample; the rate code's ``torch.bernoulli``
    draws one uniform per element of ``[T, n, ...]`` in memory order, so the same uniforms are
    drawn here one time step at a time (``[n, ...]`` each, never ``[T, n, ...]``) and only this
    shard's rows are compared (``tests/test_distributed.py`` checks the equality bit for bit)."""
    if method != "rate" or (rows.start == 0 and rows.stop == n):
        return encode(x_rows, T, method, gain=gain, generator=generator, **kw)
    check_int("T", T, low=1)
    check_tensor("x", x_rows, min_ndim=1, finite=True)
    if not torch.is_floating_point(x_rows):
        raise TypeError(f"x must be a floating-point tensor, got dtype {x_rows.dtype}")
    check_int("n", n, low=x_rows.shape[0])
    gain = check_float("gain", gain, low=0.0)
    p = (gain * x_rows).clamp(0.0, 1.0)
    out = torch.empty((T, *x_rows.shape), dtype=x_rows.dtype, device=x_rows.device)
    for t in range(T):
        u = torch.rand((n, *x_rows.shape[1:]), generator=generator, dtype=x_rows.dtype,
                       device=x_rows.device)
        out[t] = (u[rows] < p).to(x_rows.dtype)
    return out

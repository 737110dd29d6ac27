"""Input validation shared by every public function.

Each helper raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value)
with a message that names the parameter and says what is allowed, so a learner never meets a
deep traceback or a silent NaN.

Sizes have absolute bounds (:data:`MAX_T` time steps, :data:`MAX_SIZE` neurons or features per
layer, :data:`MAX_CLASSES` classes, :data:`MAX_BATCH` samples per batch, :data:`MAX_LR`) and,
before anything big is allocated, a memory estimate: :func:`check_memory` compares it with the
machine's physical memory, or with ``$SNNLAB_MAX_BYTES`` when set (e.g. ``8G``). The estimates
count only the arrays that must exist at once, so they are lower bounds: a run is refused only
when even that much would not fit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence

import torch

__all__ = ["check_int", "check_float", "check_choice", "check_tensor", "check_labels",
           "check_sequence", "check_n_classes", "check_memory", "max_bytes", "format_bytes",
           "MAX_T", "MAX_SIZE", "MAX_CLASSES", "MAX_BATCH", "MAX_LR", "MAX_SEED", "MAX_EPOCHS"]

MAX_T = 1_000_000  # time steps
MAX_SIZE = 100_000_000  # neurons (or input features, or channels) in one layer
MAX_CLASSES = 1_000_000
MAX_BATCH = 100_000_000  # samples per batch (a batch larger than the data set is one batch)
MAX_LR = 1e6  # far beyond any useful step; past ~3e38 every optimiser step overflows float32
MAX_SEED = 2 ** 32 - 1  # what every generator in use (torch, numpy, scikit-learn) accepts
MAX_EPOCHS = 1_000_000


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_float(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not (lo_ok and hi_ok):
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        lb = "(" if low_open or low is None else "["
        rb = ")" if high_open or high is None else "]"
        raise ValueError(f"{name} must be in {lb}{lo}, {hi}{rb}, got {value}")
    return value


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {choices}")
    return value


def check_tensor(
    name: str,
    x,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    floating: bool = False,
    finite: bool = True,
) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                f"got shape {tuple(x.shape)}"
            )
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    if finite and torch.is_floating_point(x) and not math.isfinite(float(x.sum())):
        # one reduction pass; a sum can only be non-finite if some value is (or it overflows,
        # which the exact elementwise check below then tells apart)
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or inf values")
    return x


def check_labels(name: str, y, n: int | None, n_classes: int | None = None) -> torch.Tensor:
    """Integer class indices ``[n]`` in ``[0, n_classes)``; the error names the first offending
    label and where it is. ``n=None`` skips the length check."""
    check_tensor(name, y, ndim=1, finite=False)
    if torch.is_floating_point(y) or torch.is_complex(y) or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but the batch has {n} samples")
    bad = y < 0
    if n_classes is not None:
        bad |= y >= n_classes
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        allowed = ("[0, n_classes)" if n_classes is None
                   else f"[0, {n_classes}) (n_classes={n_classes})")
        raise ValueError(f"{name} must be class indices in {allowed}; found label {int(y[i])} "
                         f"at index {i}")
    return y


def check_n_classes(name: str, value) -> int:
    """A class count: an int in ``[1, MAX_CLASSES]``."""
    return check_int(name, value, low=1, high=MAX_CLASSES)


def check_sequence(name: str, x_seq, feature_shape: Sequence[int] | None = None, *,
                   dtype: torch.dtype | None = None) -> torch.Tensor:
    """A time-major input ``[T, B, *feature_shape]`` with at most :data:`MAX_T` steps.

    With ``dtype`` (a network's parameter dtype), floating input of another precision (float64,
    float16, bfloat16) is cast to it and the cast tensor returned; integer and bool input is
    refused (spikes are 0.0/1.0 floats)."""
    check_tensor(name, x_seq, min_ndim=3 if not feature_shape else 2 + len(feature_shape))
    if not torch.is_floating_point(x_seq):
        raise TypeError(f"{name} must be float (currents or 0/1 spikes), got dtype {x_seq.dtype}")
    if feature_shape is not None and tuple(x_seq.shape[2:]) != tuple(feature_shape):
        raise ValueError(
            f"{name} must have shape [T, B, {', '.join(map(str, feature_shape))}] (time-major), "
            f"got {tuple(x_seq.shape)}; did you forget snnlab.encoding.encode(x, T)?"
        )
    if x_seq.shape[0] > MAX_T:
        raise ValueError(f"{name} has T={x_seq.shape[0]} time steps; at most {MAX_T} are allowed")
    if dtype is not None and x_seq.dtype != dtype:
        x_seq = x_seq.to(dtype)
    return x_seq


# --------------------------------------------------------------------------- memory
_UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}


def _parse_bytes(text: str) -> int:
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in ("K", "M", "G", "T") else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"SNNLAB_MAX_BYTES must be a positive number of bytes such as "
                         f"8000000000, 8G or 512M; got {text!r}")
    return int(value * _UNITS[unit])


def max_bytes() -> int:
    """The memory one array (or one run's stored arrays) may take: ``$SNNLAB_MAX_BYTES`` if set
    (bytes, or with a K/M/G/T suffix), else the machine's physical memory."""
    env = os.environ.get("SNNLAB_MAX_BYTES")
    if env:
        return _parse_bytes(env)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): no bound
        return 2 ** 62


def format_bytes(n: float) -> str:
    """``83886080`` -> ``'80 MiB'`` (two significant digits at least)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if n >= 10 or unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.0f} EiB"  # pragma: no cover


def check_memory(what: str, bytes_needed: float, limit: int | None = None, *,
                 purpose: str = "") -> None:
    """Refuse, before allocating, what would need more than ``limit`` bytes (default
    :func:`max_bytes`). ``what`` names the parameters, e.g. ``"T=10000000 with batch 64 and 128
    hidden neurons"``; the message reads ``<what> needs about 2.8 TiB for <purpose>; this
    machine has 23 GiB``."""
    limit = max_bytes() if limit is None else limit
    if bytes_needed > limit:
        where = ("SNNLAB_MAX_BYTES allows" if os.environ.get("SNNLAB_MAX_BYTES")
                 else "this machine has")
        raise ValueError(f"{what} needs about {format_bytes(bytes_needed)}"
                         f"{' for ' + purpose if purpose else ''}; {where} "
                         f"{format_bytes(limit)} (set SNNLAB_MAX_BYTES to change the bound)")

"""Input validation shared by every public function.

Each helper raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value)
with a message that names the parameter and says what is allowed, so a learner never meets a
deep traceback or a silent NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

__all__ = ["check_int", "check_float", "check_choice", "check_tensor", "check_labels",
           "check_sequence"]


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


def check_labels(name: str, y, n: int, n_classes: int | None = None) -> torch.Tensor:
    check_tensor(name, y, ndim=1, finite=False)
    if torch.is_floating_point(y) or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but the batch has {n} samples")
    if bool((y < 0).any()) or (n_classes is not None and bool((y >= n_classes).any())):
        hi = "n_classes-1" if n_classes is None else str(n_classes - 1)
        raise ValueError(f"{name} must be class indices in [0, {hi}]")
    return y


def check_sequence(name: str, x_seq, feature_shape: Sequence[int] | None = None) -> torch.Tensor:
    """A time-major input ``[T, B, *feature_shape]``."""
    check_tensor(name, x_seq, min_ndim=3 if not feature_shape else 2 + len(feature_shape))
    if not torch.is_floating_point(x_seq):
        raise TypeError(f"{name} must be float (currents or 0/1 spikes), got dtype {x_seq.dtype}")
    if feature_shape is not None and tuple(x_seq.shape[2:]) != tuple(feature_shape):
        raise ValueError(
            f"{name} must have shape [T, B, {', '.join(map(str, feature_shape))}] (time-major), "
            f"got {tuple(x_seq.shape)}; did you forget snnlab.encoding.encode(x, T)?"
        )
    return x_seq

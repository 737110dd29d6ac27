"""Notebook 05: activation- against timing-based gradients.

The simulate functions, dashboards and exercise checkers of
``notebooks/05_activation_vs_timing.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..rules.antlr import input_timing_gradient
from .ui import LearnerError, as_tensor, call, failed, need_callable, passed

__all__ = ["check_timing_error", "check_cosine"]


def check_timing_error(timing_error: Callable) -> bool:
    """``timing_error(A, s) -> s * (A[t+1] - A[t-1]) / 2`` with ``A[T] = 0`` and ``A[-1] = A[0]``:
    eq. (7) of :mod:`snnlab.rules.antlr`, the spike-time error from the activation error."""
    name = "timing_error"
    need_callable("check_timing_error", timing_error)
    g = torch.Generator().manual_seed(6)
    A = torch.randn(15, 3, generator=g)
    s = (torch.rand(15, 3, generator=g) > 0.6).float()
    s[0, 0] = s[-1, 1] = 1.0
    ref = input_timing_gradient(s, A)
    try:
        got = as_tensor(call(timing_error, A.clone(), s.clone()), ref)
    except LearnerError as e:
        return failed(name, str(e), "nxt = torch.cat([A[1:], zeros]), prv = torch.cat([A[:1], "
                                     "A[:-1]])")
    if got is None or got.shape != ref.shape:
        return failed(name, "return a tensor shaped like A", "whole-tensor shifts, no loop")
    if torch.allclose(got, ref, atol=1e-6):
        return passed(name)
    if torch.allclose(got, -ref, atol=1e-6):
        return failed(name, "wrong sign", "moving the spike later means reading A at t+1")
    inner = slice(1, -1)
    if torch.allclose(got[inner], ref[inner], atol=1e-6):
        return failed(name, "the first or last step is wrong",
                      "use A[T] = 0 (nothing after the end) and A[-1] = A[0]")
    return failed(name, "values differ from s·(A[t+1] - A[t-1])/2",
                  "a central difference in time, masked by the spikes")


def check_cosine(cosine: Callable) -> bool:
    """``cosine(a, b) -> float``: the cosine similarity of two gradient tensors of any shape."""
    name = "cosine"
    need_callable("check_cosine", cosine)
    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    ref = float((a * b).sum() / (a.norm() * b.norm()))
    try:
        got = float(call(cosine, a.clone(), b.clone()))
        same = float(call(cosine, a.clone(), 3 * a.clone()))
    except LearnerError as e:
        return failed(name, str(e), "(a * b).sum() / (a.norm() * b.norm())")
    except (TypeError, ValueError):
        return failed(name, "return a number", "float(...) of a one-element tensor")
    if abs(got - ref) < 1e-5 and abs(same - 1.0) < 1e-5:
        return passed(name)
    if abs(got - float((a * b).sum())) < 1e-4:
        return failed(name, "that is the dot product", "divide by both norms")
    return failed(name, f"expected {ref:.4f}, got {got:.4f}", "flatten both tensors first")

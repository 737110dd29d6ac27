"""Notebook 05: activation- against timing-based gradients.

The simulate functions, dashboards and exercise checkers of
``notebooks/05_activation_vs_timing.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as TF

from ..rules.antlr import input_timing_gradient
from .ui import (
    answer_tensor,
    call,
    checker,
    close,
    failed,
    need_callable,
    passed,
    rand_shape,
    randint,
    returned_number,
    uniform,
)

__all__ = ["check_timing_error", "check_cosine"]


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
    eq. (7) of :mod:`snnlab.rules.antlr`, the spike-time error from the activation error."""
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

"""Notebook 07: tandem learning.

The simulate functions, dashboards and exercise checkers of
``notebooks/07_tandem_learning.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import functional as F
from .. import surrogate as S
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
    uniform,
)

__all__ = ["check_tandem_count", "check_straight_through"]


def _ref_tandem_count(W, b, x, T):
    W, b, x = (torch.as_tensor(t) for t in (W, b, x))
    s, _ = F.lif_sequence((x @ W.T + b / T).expand(T, *x.shape[:-1], W.shape[0]), beta=1.0,
                          surrogate=S.FastSigmoid())
    return s.sum(0)


@checker("tandem_count",
         idea="over the whole window the IF neuron collects T times the weighted input plus "
              "the bias once, and every spike removes one threshold (1): so the count is the "
              "number of whole units collected, kept between 0 and T",
         equation="count = clip(floor(T·(W x) + b), 0, T)",
         code="return torch.clamp(torch.floor(T * x @ W.T + b), 0, T)",
         reference=_ref_tandem_count)
def check_tandem_count(tandem_count: Callable) -> bool:
    """Your ``tandem_count(W, b, x, T)``: the spike counts of an IF layer (threshold 1, reset
    by subtraction) that receives ``W x + b / T`` at each of T steps (Wu et al. 2021):
    ``clip(floor(T W x + b), 0, T)``."""
    name = "tandem_count"
    need_callable("check_tandem_count", tandem_count)
    gen = torch.Generator().manual_seed(701)
    for i, T in enumerate((1, 4, randint(gen, 2, 32), randint(gen, 2, 32), randint(gen, 2, 32))):
        dtype = torch.float32 if i % 2 else torch.float64
        n_out, n_in, B = randint(gen, 5, 30), randint(gen, 1, 8), randint(gen, 1, 6)
        W = torch.randn(n_out, n_in, generator=gen, dtype=dtype) * uniform(gen, 0.2, 2)
        b = torch.randn(n_out, generator=gen, dtype=dtype) * uniform(gen, 0.1, 3)
        x = torch.rand(B, n_in, generator=gen, dtype=dtype)
        want = _ref_tandem_count(W, b, x, T)
        charge = T * x @ W.T + b
        ok = (charge - charge.round()).abs() > 1e-4  # ignore exact-integer boundaries
        got = answer_tensor(call(tandem_count, W.clone(), b.clone(), x.clone(), T), want.shape)
        if close(got[ok], want[ok]):
            continue
        if close(got[ok].clamp(0, T), want[ok]):
            return failed(name, f"counts outside [0, T] (T={T}): a neuron fires at most once "
                          "per step and never below zero")
        if close(got[ok], torch.clamp(torch.floor(T * (x @ W.T + b)), 0, T)[ok].double()):
            return failed(name, f"the bias is counted T times (T={T}): the layer gets b/T "
                          "per step")
        return failed(name, f"wrong counts for T={T}")
    return passed(name, "your closed form equals the simulated IF counts")


def _ref_straight_through(c, a):
    return a + (torch.as_tensor(c, dtype=a.dtype) - a).detach()


@checker("straight_through",
         idea="the forward value must be the SNN's count, but the backward pass must see only "
              "the ANN's activation: add to the activation a correction that autograd does not "
              "track",
         equation="out = a + stopgrad(c - a): value c, d out/d a = 1",
         code="return a + (c - a).detach()",
         reference=_ref_straight_through)
def check_straight_through(straight_through: Callable) -> bool:
    """Your ``straight_through(c, a)`` returns a tensor whose *value* is ``c`` (the SNN's
    counts) and whose *gradient* flows to ``a`` (the ANN's activations) unchanged."""
    name = "straight_through"
    need_callable("check_straight_through", straight_through)
    gen = torch.Generator().manual_seed(702)
    for i in range(5):
        dtype = torch.float32 if i % 2 else torch.float64
        shape = rand_shape(gen, 3, 6)
        c = torch.randint(0, 9, shape, generator=gen).to(dtype)
        a = (torch.rand(shape, generator=gen, dtype=dtype) * 9).requires_grad_(True)
        g = torch.randn(shape, generator=gen, dtype=dtype)
        out = call(straight_through, c.clone(), a)
        if not isinstance(out, torch.Tensor):
            return failed(name, f"return a tensor, got {type(out).__name__}")
        got = answer_tensor(out.detach(), shape)
        if not close(got, c):
            return failed(name, "the value is not the count c")
        if out.grad_fn is None:
            return failed(name, "no gradient reaches a")
        (grad,) = call(torch.autograd.grad, out, a, g, allow_unused=True)
        if grad is None or not close(grad.double(), g):
            return failed(name, "the gradient reaching a is changed: d out / d a must be 1")
    return passed(name, "count forward, ANN gradient backward")

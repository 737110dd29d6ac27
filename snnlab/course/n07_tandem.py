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
from .ui import LearnerError, as_tensor, call, failed, need_callable, passed

__all__ = ["check_tandem_count", "check_straight_through"]


def check_tandem_count(tandem_count: Callable) -> bool:
    """Your ``tandem_count(W, b, x, T)``: the spike counts of an IF layer (threshold 1, reset
    by subtraction) that receives ``W x + b / T`` at each of T steps (Wu et al. 2021):
    ``clip(floor(T W x + b), 0, T)``."""
    name = "tandem_count"
    need_callable("check_tandem_count", tandem_count)
    gen = torch.Generator().manual_seed(2)
    W, b, x = torch.randn(30, 6, generator=gen), torch.randn(30, generator=gen), \
        torch.rand(5, 6, generator=gen)
    for T in (1, 4, 9):
        charge = T * x @ W.T + b
        s, _ = F.lif_sequence((x @ W.T + b / T).expand(T, -1, -1), beta=1.0,
                              surrogate=S.FastSigmoid())
        want = s.sum(0)
        ok = (charge - charge.round()).abs() > 1e-4  # ignore exact-integer boundaries
        try:
            got = as_tensor(call(tandem_count, W, b, x, T), want)
        except LearnerError as e:
            return failed(name, str(e), "torch.clamp(torch.floor(T * x @ W.T + b), 0, T)")
        if got is None or got.shape != want.shape:
            return failed(name, f"expected shape {tuple(want.shape)}", "one count per sample "
                          "and neuron")
        if not torch.equal(got[ok], want[ok]):
            if torch.equal(got[ok].clamp(0, T), want[ok]):
                return failed(name, "counts outside [0, T]", "a neuron fires at most once per "
                              "step and never below zero: clip")
            return failed(name, f"wrong counts for T={T}", "the whole window integrates "
                          "T (W x) + b; each spike removes 1")
    return passed(name, "your closed form equals the simulated IF counts")


def check_straight_through(straight_through: Callable) -> bool:
    """Your ``straight_through(c, a)`` returns a tensor whose *value* is ``c`` (the SNN's
    counts) and whose *gradient* flows to ``a`` (the ANN's activations) unchanged."""
    name = "straight_through"
    need_callable("check_straight_through", straight_through)
    c = torch.tensor([0.0, 2.0, 3.0, 1.0])
    a = torch.tensor([0.4, 1.7, 3.2, 0.0], requires_grad=True)
    g = torch.tensor([1.0, -2.0, 0.5, 3.0])
    try:
        out = call(straight_through, c, a)
    except LearnerError as e:
        return failed(name, str(e), "return a + (c - a).detach()")
    if not isinstance(out, torch.Tensor) or out.shape != c.shape:
        return failed(name, "return a tensor shaped like c", "return a + (c - a).detach()")
    if not torch.allclose(out.detach(), c):
        return failed(name, "the value is not the count c", "the forward value must be c")
    if out.grad_fn is None:
        return failed(name, "no gradient reaches a", "do not detach a itself, only (c - a)")
    (grad,) = torch.autograd.grad(out, a, g)
    if not torch.allclose(grad, g):
        return failed(name, "the gradient reaching a is changed", "d out / d a must be 1: "
                      "a + (c - a).detach()")
    return passed(name, "count forward, ANN gradient backward")

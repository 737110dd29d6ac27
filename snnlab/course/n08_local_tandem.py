"""Notebook 08: local tandem learning (LTL).

The simulate functions, dashboards and exercise checkers of
``notebooks/08_local_tandem_learning.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..conversion import percentile
from .ui import LearnerError, as_tensor, call, failed, need_callable, passed

__all__ = ["check_ltl_target", "check_rate_mse"]


def check_ltl_target(ltl_target: Callable) -> bool:
    """Your ``ltl_target(a, p)`` divides a teacher activation tensor by its ``p``-th percentile
    (nearest rank, over the whole tensor) and clips to [0, 1] (eq. 1 of the LTL rule)."""
    name = "ltl_target"
    need_callable("check_ltl_target", ltl_target)
    gen = torch.Generator().manual_seed(3)
    a = (torch.randn(32, 20, generator=gen) * 0.8).clamp(0, 2)
    for p in (99.9, 99.0, 90.0):
        want = (a / percentile(a, p)).clamp(0, 1)
        try:
            got = as_tensor(call(ltl_target, a.clone(), p), want)
        except LearnerError as e:
            return failed(name, str(e), "(a / scale).clamp(0, 1) with scale from kthvalue")
        if got is None or got.shape != want.shape:
            return failed(name, f"expected shape {tuple(want.shape)}", "one target per unit")
        if not torch.allclose(got, want, atol=1e-3):
            if float(got.max()) > 1 + 1e-6:
                return failed(name, "targets above 1", "clip to [0, 1]: a rate cannot exceed 1")
            return failed(name, f"wrong for p={p}", "scale = the k-th smallest of all elements "
                          "with k = 1 + round(p / 100 * (n - 1))")
    return passed(name, "teacher activations as firing-rate targets")


def check_rate_mse(rate_mse: Callable) -> bool:
    """Your ``rate_mse(spikes, target)``: mean squared error between a layer's firing rate
    (``spikes [T, B, n]`` averaged over time) and its target ``[B, n]``, differentiable in the
    spikes."""
    name = "rate_mse"
    need_callable("check_rate_mse", rate_mse)
    gen = torch.Generator().manual_seed(4)
    s = (torch.rand(6, 3, 5, generator=gen) < 0.4).float().requires_grad_()
    target = torch.rand(3, 5, generator=gen)
    want = ((s.detach().mean(0) - target) ** 2).mean()
    try:
        got = call(rate_mse, s, target)
    except LearnerError as e:
        return failed(name, str(e), "torch.nn.functional.mse_loss(spikes.mean(0), target)")
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        return failed(name, "return a scalar tensor", "mse_loss(...) returns one")
    if not torch.allclose(got.detach().reshape(()), want, atol=1e-6):
        if torch.allclose(got.detach().reshape(()), ((s.detach().sum(0) - target) ** 2).mean()):
            return failed(name, "you compared the count, not the rate", "divide by T: "
                          "spikes.mean(0)")
        return failed(name, "wrong value", "mse_loss(spikes.mean(0), target)")
    if got.grad_fn is None:
        return failed(name, "no gradient reaches the spikes", "do not detach the spikes")
    return passed(name, "the local loss of one LTL layer")

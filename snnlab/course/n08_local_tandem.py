"""Notebook 08: local tandem learning (LTL).

The simulate functions, dashboards and exercise checkers of
``notebooks/08_local_tandem_learning.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as TF

from ..conversion import percentile
from .ui import (
    answer_tensor,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_choice,
    need_number,
    passed,
    predicted,
    randint,
    unanswered,
    uniform,
)

__all__ = ["check_ltl_target", "check_rate_mse", "check_prediction_online_memory",
           "check_offline_memory_ratio"]


def _ref_ltl_target(a, p):
    a = torch.as_tensor(a)
    return (a / percentile(a, p)).clamp(0, 1)


@checker("ltl_target",
         idea="scale the teacher's activations so that a high percentile of them becomes "
              "firing rate 1, and cut everything to what a rate can be, between 0 and 1; the "
              "percentile is taken over all elements at once, by nearest rank",
         equation="target = clip(a / P_p(a), 0, 1), P_p(a) = the k-th smallest element, "
                  "k = 1 + round(p/100·(n - 1))",
         code="flat = a.reshape(-1)\nk = 1 + round(p / 100 * (flat.numel() - 1))\n"
              "scale = flat.kthvalue(k).values\nreturn (a / scale).clamp(0, 1)",
         reference=_ref_ltl_target)
def check_ltl_target(ltl_target: Callable) -> bool:
    """Your ``ltl_target(a, p)`` divides a teacher activation tensor by its ``p``-th percentile
    (nearest rank, over the whole tensor) and clips to [0, 1] (eq. 1 of the LTL rule)."""
    name = "ltl_target"
    need_callable("check_ltl_target", ltl_target)
    gen = torch.Generator().manual_seed(801)
    cases = [99.9, 99.0, 100.0, 50.0] + [uniform(gen, 50, 100) for _ in range(4)]
    for i, p in enumerate(cases):
        dtype = torch.float32 if i % 2 else torch.float64
        a = (torch.randn(randint(gen, 4, 40), randint(gen, 3, 30), generator=gen, dtype=dtype)
             * uniform(gen, 0.2, 5) + 0.5).clamp(min=0)
        want = _ref_ltl_target(a, p)
        got = answer_tensor(call(ltl_target, a.clone(), p), a.shape)
        if close(got, want, atol=1e-3):
            continue
        if float(got.max()) > 1 + 1e-6:
            return failed(name, f"targets above 1 (p={p:.3g}): a rate cannot exceed 1")
        if close(got, (a / a.max()).double(), atol=1e-3):
            return failed(name, f"you scaled by the maximum, ignoring p (p={p:.3g})")
        return failed(name, f"wrong for p={p:.3g}")
    return passed(name, "teacher activations as firing-rate targets")


def _ref_rate_mse(spikes, target):
    return TF.mse_loss(spikes.mean(0), torch.as_tensor(target, dtype=spikes.dtype))


@checker("rate_mse",
         idea="a layer's firing rate is its spikes averaged over time; the loss is the average "
              "squared gap between that rate and the target, kept differentiable in the spikes",
         equation="L = mean over (b, n) of (1/T Σ_t s[t, b, n] - target[b, n])²",
         code="return torch.nn.functional.mse_loss(spikes.mean(0), target)",
         reference=_ref_rate_mse)
def check_rate_mse(rate_mse: Callable) -> bool:
    """Your ``rate_mse(spikes, target)``: mean squared error between a layer's firing rate
    (``spikes [T, B, n]`` averaged over time) and its target ``[B, n]``, differentiable in the
    spikes (a scalar tensor)."""
    name = "rate_mse"
    need_callable("check_rate_mse", rate_mse)
    gen = torch.Generator().manual_seed(802)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        T, B, n = (1 if i == 0 else randint(gen, 2, 12)), randint(gen, 1, 5), randint(gen, 1, 7)
        s0 = (torch.rand(T, B, n, generator=gen, dtype=dtype) < uniform(gen, 0.1, 0.9))
        s = s0.to(dtype).requires_grad_(True)
        target = torch.rand(B, n, generator=gen, dtype=dtype)
        want = ((s.detach().mean(0) - target) ** 2).mean()
        out = call(rate_mse, s, target.clone())
        if not isinstance(out, torch.Tensor):
            return failed(name, f"return a scalar tensor (for autograd), got "
                          f"{type(out).__name__}")
        loss = out.detach()
        got = answer_tensor(loss.reshape(()) if loss.numel() == 1 else loss, (), "the loss")
        if not close(got, want, atol=1e-6):
            rate = s.detach().mean(0)
            if close(got, ((s.detach().sum(0) - target) ** 2).mean(), atol=1e-6):
                return failed(name, "you compared the count, not the rate")
            if close(got, ((rate - target) ** 2).sum(), atol=1e-6):
                return failed(name, "that is the sum of the squared errors; the loss is their "
                              "mean")
            return failed(name, f"wrong value (T={T}, B={B}, n={n})")
        if out.grad_fn is None:
            return failed(name, "no gradient reaches the spikes")
        (g,) = torch.autograd.grad(out.sum(), s)
        g_ref = 2 * (s.detach().mean(0) - target) / (T * B * n)
        if not close(g.double(), g_ref.expand_as(g)):
            return failed(name, "the gradient reaching the spikes is wrong")
    return passed(name, "the local loss of one LTL layer")


# =========================================================================== predict, interpret
def _mem(checker_name: str, mem, keys) -> dict:
    ok = (isinstance(mem, dict) and all(k in mem for k in keys)
          and all(isinstance(mem[k], dict) and len(mem[k]) >= 2 for k in keys))
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's mem dict {{method: {{T: bytes}}}} "
                        f"with {list(keys)}, two T or more")
    return mem


def _ratio(m: dict) -> tuple[int, int, float]:
    lo, hi = min(m), max(m)
    return lo, hi, m[hi] / m[lo]


@checker("prediction_online_memory",
         idea="what does online LTL keep for the backward pass once a step's gradient has been "
              "computed and added up?",
         equation="compare mem['online'][max T] / mem['online'][min T] with 1 and with "
                  "max T / min T",
         code='my_prediction = "flat"  # or "grows with T": commit before the run')
def check_prediction_online_memory(my_prediction, mem) -> bool:
    """Predict-then-observe: is online LTL's training memory ``"flat"`` in T or does it
    ``"grow with T"``? Any honest answer passes; the measured ratio is printed."""
    name = "prediction_online_memory"
    mem = _mem("check_prediction_online_memory", mem, ("online", "offline"))
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'flat' or 'grows with T'")
    guess = need_choice(my_prediction, ("flat", "grows with T"))
    lo, hi, r_on = _ratio(mem["online"])
    _, _, r_off = _ratio(mem["offline"])
    measured = "flat" if r_on < 1 + 0.25 * (hi / lo - 1) else "grows with T"
    why = (f"T {lo} -> {hi} ({hi / lo:g}x the steps): online x{r_on:.2f}, offline x{r_off:.2f}; "
           "online LTL back-propagates each step as soon as it is computed and detaches the "
           "state, so it keeps one step's tensors whatever T is")
    return predicted(name, guess, measured, guess == measured, why)


@checker("offline_memory_ratio",
         idea="read the offline line of the printed memory table: the last ratio it prints",
         equation="mem['offline'][max T] / mem['offline'][min T]",
         code="answer = mem['offline'][max(MEM_TS)] / mem['offline'][min(MEM_TS)]")
def check_offline_memory_ratio(answer, mem) -> bool:
    """Interpret: how many times more memory offline LTL saved for its backward pass at the
    longest window than at the shortest, in the learner's own measurement (within 5%)."""
    name = "offline_memory_ratio"
    mem = _mem("check_offline_memory_ratio", mem, ("offline",))
    if unanswered(answer):
        return failed(name, "no answer yet: write the ratio (a number like 3.7)")
    got = need_number("check_offline_memory_ratio", answer)
    lo, hi, r = _ratio(mem["offline"])
    if abs(got - r) <= 0.05 * r:
        return passed(name, f"x{r:.2f} for {hi / lo:g}x the steps")
    if abs(got - hi / lo) <= 1e-9 and abs(r - hi / lo) > 0.05 * r:
        return failed(name, f"{got:g} is the ratio of the windows, not of the measured memory")
    if abs(got - 1 / r) <= 0.05 / r:
        return failed(name, "that is the inverse: the longest window over the shortest")
    return failed(name, f"{got:g} is not the ratio measured in your run")

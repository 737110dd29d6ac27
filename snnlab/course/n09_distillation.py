"""Notebook 09: distillation with HTA-KL, and DA-LIF.

The simulate functions, dashboards and exercise checkers of
``notebooks/09_distillation_hta_kl_dalif.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_float, check_int
from ..plot import head_tail, show
from ..rules.kd import head_mask as ref_head_mask
from ..rules.kd import hta_kl_divergence
from ..rules.kd import hta_weights as ref_hta_weights
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_head_tail", "head_tail_dashboard", "check_head_mask", "check_hta_weights"]


def simulate_head_tail(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                       mu: float = 0.5, tau: float = 4.0, sample: int = 0) -> dict:
    """HTA-KL's pieces for one sample: teacher/student distributions at temperature ``tau``,
    the head mask for threshold ``mu``, the adaptive weights and both divergences.

    Returns ``dict(p, q, mask, w_head, w_tail, fkl, rkl, loss, n_head)`` (tensors for the sample,
    numbers for the scalars)."""
    for nm, t in (("teacher_logits", teacher_logits), ("student_logits", student_logits)):
        if not isinstance(t, torch.Tensor) or t.ndim != 2:
            raise TypeError(f"{nm} must be a [B, C] tensor of logits")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher_logits {tuple(teacher_logits.shape)} and student_logits "
                         f"{tuple(student_logits.shape)} must have the same shape")
    sample = check_int("sample", sample, low=0, high=teacher_logits.shape[0] - 1)
    tau = check_float("tau", tau, low=0.0, low_open=True)
    z, o = teacher_logits[sample:sample + 1].detach(), student_logits[sample:sample + 1].detach()
    loss, parts = hta_kl_divergence(z, o, tau=tau, mu=mu, return_parts=True)
    return {"p": parts["p"][0], "q": parts["q"][0], "mask": parts["mask"][0],
            "w_head": float(parts["w_head"]), "w_tail": float(parts["w_tail"]),
            "fkl": float(parts["fkl"]), "rkl": float(parts["rkl"]), "loss": float(loss),
            "n_head": int(parts["mask"].sum())}


def head_tail_dashboard(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                        mu: float = 0.5, tau: float = 4.0) -> Dashboard:
    """Sliders for μ, τ and the sample; plots the head/tail split and prints the weights."""
    import ipywidgets as W

    n = teacher_logits.shape[0]
    controls = {
        "mu": W.FloatSlider(value=mu, min=0.05, max=1.0, step=0.05, description="μ",
                            continuous_update=False),
        "tau": W.FloatSlider(value=tau, min=0.5, max=8.0, step=0.5, description="τ",
                             continuous_update=False),
        "sample": W.IntSlider(value=0, min=0, max=max(n - 1, 0), description="sample",
                              continuous_update=False),
    }

    def compute(**kw):
        return simulate_head_tail(teacher_logits, student_logits, **kw)

    def draw(r):
        ax = head_tail(r, title=f"{r['n_head']} head classes: w_H = {r['w_head']:.2f}, "
                                f"w_T = {r['w_tail']:.2f}; FKL {r['fkl']:.3f}, "
                                f"RKL {r['rkl']:.3f}, L_HTA {r['loss']:.3f}")
        show(ax)

    return build(controls, compute, draw)


def check_head_mask(head_mask: Callable, mu: float = 0.5) -> bool:
    """``head_mask(p, mu) -> bool [B, C]``: the smallest set of most probable classes whose
    cumulative probability reaches ``mu``, in the original class order (HTA-KL's head)."""
    name = "head_mask"
    need_callable("check_head_mask", head_mask)
    g = torch.Generator().manual_seed(3)
    p = torch.softmax(torch.randn(6, 10, generator=g) * 2, -1)
    ref = ref_head_mask(p, mu)
    try:
        got = call(head_mask, p.clone(), mu)
    except LearnerError as e:
        return failed(name, str(e), "sort descending, cumsum, keep classes whose mass above < mu")
    got = as_tensor(got)
    if got is None or got.shape != p.shape:
        return failed(name, "return a [B, C] mask shaped like p", "one flag per class")
    got = got.bool()
    if torch.equal(got, ref):
        return passed(name, f"{float(ref.sum(-1).float().mean()):.1f} head classes on average")
    p_sorted, order = p.sort(-1, descending=True)
    if torch.equal(got, (p_sorted.cumsum(-1) - p_sorted) < mu):
        return failed(name, "the mask is still in sorted order",
                      "scatter it back: torch.zeros_like(mask).scatter(-1, order, mask)")
    if torch.equal(got, torch.zeros_like(ref).scatter(-1, order, p_sorted.cumsum(-1) < mu)):
        return failed(name, "the class that crosses mu is missing",
                      "compare the mass *above* each class (cumsum - p) with mu")
    return failed(name, "the mask differs from the reference", "sort with descending=True")


def check_hta_weights(hta_weights: Callable) -> bool:
    """``hta_weights(p, q, mask) -> (w_head, w_tail)``: gaps |p - q| summed over head and tail,
    normalised to sum to one per sample."""
    name = "hta_weights"
    need_callable("check_hta_weights", hta_weights)
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(5, 8, generator=g), -1)
    q = torch.softmax(torch.randn(5, 8, generator=g), -1)
    mask = torch.rand(5, 8, generator=g) < 0.4
    mask[:, 0] = True
    wh, wt = ref_hta_weights(p, q, mask)
    try:
        got = call(hta_weights, p.clone(), q.clone(), mask.clone())
        gh, gt = (as_tensor(v, wh) for v in got)
    except LearnerError as e:
        return failed(name, str(e), "g_head = ((p - q).abs() * mask).sum(-1)")
    except (TypeError, ValueError):
        return failed(name, "return two tensors (w_head, w_tail)", "return w_head, w_tail")
    if gh is None or gt is None or gh.shape != wh.shape:
        return failed(name, "each weight must have one value per sample ([B])", "sum(-1)")
    if torch.allclose(gh, wh, atol=1e-5) and torch.allclose(gt, wt, atol=1e-5):
        return passed(name)
    if torch.allclose(gh, wt, atol=1e-5):
        return failed(name, "head and tail are swapped", "the head gap uses mask, the tail ~mask")
    if not torch.allclose(gh + gt, torch.ones_like(gh), atol=1e-5):
        return failed(name, "the weights must sum to one", "divide both gaps by their sum")
    return failed(name, "values differ from the reference", "use absolute differences |p - q|")

"""Notebook 06: ANN-to-SNN conversion and its errors.

The simulate functions, dashboards and exercise checkers of
``notebooks/06_conversion_errors.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import conversion as C
from .._checks import check_int
from ..conversion import staircase as ref_staircase
from ..encoding import encode
from ..plot import conversion_errors, raster, show, subplots
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_conversion", "conversion_dashboard", "check_staircase",
           "check_weight_normalisation"]


def simulate_conversion(ann, x_calib: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *,
                        T: int = 8, threshold_scale: float = 1.0, p: float = 99.9,
                        v0: float = 0.0, norm: str = "percentile") -> dict:
    """Convert ``ann`` with the given knobs and evaluate the SNN on ``(x, y)`` for T steps.

    Returns ``dict(acc, ann_acc, rows, spikes, scales)``: SNN and ANN accuracy, the per-layer
    error decomposition of :func:`snnlab.conversion.errors`, the first hidden layer's spikes
    ``[T, B, n]`` and the normalisation factors used."""
    T = check_int("T", T, low=1, high=4096)
    snn = C.convert(ann, x_calib, norm=norm, p=p, v0=v0, threshold_scale=threshold_scale)
    with torch.no_grad():
        rec = snn.run(encode(x, T))
        acc = float((rec.logits.argmax(1) == y).float().mean())
        ann_acc = float((ann(x).argmax(1) == y).float().mean())
        rows = C.errors(ann, snn, x, T)
    return {"acc": acc, "ann_acc": ann_acc, "rows": rows, "spikes": rec.spikes[0],
            "scales": snn.conversion["scales"]}


def conversion_dashboard(ann, x_calib: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *,
                         T: int = 8, threshold_scale: float = 1.0, p: float = 99.9,
                         v0: float = 0.0) -> Dashboard:
    """Sliders for T, the threshold scale, the normalisation percentile and the initial
    membrane; shows accuracy, the per-layer error bars and a raster of the first hidden
    layer."""
    import ipywidgets as W

    controls = {
        "T": W.IntSlider(value=T, min=1, max=64, description="T", continuous_update=False),
        "threshold_scale": W.FloatSlider(value=threshold_scale, min=0.2, max=2.0, step=0.05,
                                         description="θ scale", continuous_update=False),
        "p": W.FloatSlider(value=p, min=90.0, max=100.0, step=0.1, description="percentile",
                           continuous_update=False),
        "v0": W.FloatSlider(value=v0, min=0.0, max=1.0, step=0.05, description="v0 / θ",
                            continuous_update=False),
    }

    def compute(**kw):
        return simulate_conversion(ann, x_calib, x, y, **kw)

    def draw(r):
        fig, axes = subplots(1, 2, figsize=(10, 3.4), constrained_layout=True)
        conversion_errors(r["rows"], ax=axes[0],
                          title=f"SNN {100 * r['acc']:.1f}% vs ANN {100 * r['ann_acc']:.1f}%")
        raster(r["spikes"], ax=axes[1], title="layer 1 spikes, sample 0")
        show(fig)

    layout = W.VBox([W.HBox([controls["T"], controls["threshold_scale"]]),
                     W.HBox([controls["p"], controls["v0"]])])
    return build(controls, compute, draw, layout)


def check_staircase(staircase: Callable) -> bool:
    """Your ``staircase(z, lam, T, v0)``: what an IF neuron (threshold ``lam``, reset by
    subtraction, initial membrane ``v0 * lam``) outputs in ANN units after T steps of constant
    input ``z``: ``lam / T * clip(floor(T z / lam + v0), 0, T)``."""
    name = "staircase"
    need_callable("check_staircase", staircase)
    z = torch.linspace(-0.5, 3.0, 301, dtype=torch.float64) + 1e-4
    for lam, T, v0 in ((1.0, 4, 0.0), (2.0, 8, 0.5), (1.5, 3, 0.5)):
        want = ref_staircase(z, lam, T, v0)
        try:
            got = as_tensor(call(staircase, z.clone(), lam, T, v0), want)
        except LearnerError as e:
            return failed(name, str(e), "(lam / T) * torch.clamp(torch.floor(T * z / lam + v0),"
                          " 0, T)")
        if got is None or got.shape != want.shape:
            return failed(name, f"expected a tensor of shape {tuple(want.shape)}",
                          "return one value per input current")
        if not torch.allclose(got, want, atol=1e-6):
            if float(got.max()) > lam + 1e-6:
                return failed(name, "values above lam", "at most one spike per step: clip the "
                              "count to [0, T]")
            if v0 and torch.allclose(got, ref_staircase(z, lam, T, 0.0), atol=1e-6):
                return failed(name, f"wrong for v0={v0}", "the initial membrane adds v0 "
                              "(in units of the threshold) before the floor")
            return failed(name, f"wrong for lam={lam}, T={T}, v0={v0}",
                          "count = floor(T z / lam + v0) spikes, each worth lam / T")
    return passed(name, "the IF neuron's even-input staircase")


def check_weight_normalisation(normalise: Callable) -> bool:
    """Your ``normalise(W, b, lam_prev, lam)`` returns ``(W * lam_prev / lam, b / lam)``
    (Diehl et al. 2015), so that a layer whose activations reach ``lam`` fires at rate 1."""
    name = "weight_normalisation"
    need_callable("check_weight_normalisation", normalise)
    gen = torch.Generator().manual_seed(0)
    W, b = torch.randn(4, 3, generator=gen), torch.randn(4, generator=gen)
    for lam_prev, lam in ((1.0, 2.0), (3.0, 0.5)):
        try:
            out = call(normalise, W.clone(), b.clone(), lam_prev, lam)
        except LearnerError as e:
            return failed(name, str(e), "return (W * lam_prev / lam, b / lam)")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return failed(name, "return a pair (W_new, b_new)", "return W_new, b_new")
        w2, b2 = as_tensor(out[0], W), as_tensor(out[1], b)
        if w2 is None or b2 is None or w2.shape != W.shape or b2.shape != b.shape:
            return failed(name, "wrong shapes", "keep the shapes of W and b")
        if not torch.allclose(b2, b / lam, atol=1e-6):
            return failed(name, "the bias is wrong", "the bias only divides by this layer's "
                          "lam: it does not see the previous layer's spikes")
        if not torch.allclose(w2, W * lam_prev / lam, atol=1e-6):
            return failed(name, "the weights are wrong", "a spike of the previous layer stands "
                          "for lam_prev, so multiply by lam_prev and divide by lam")
    return passed(name, "rates in [0, 1] now mean activations in [0, lam]")

"""Notebook 06: ANN-to-SNN conversion and its errors.

The simulate functions, dashboards and exercise checkers of
``notebooks/06_conversion_errors.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import conversion as C
from .._checks import check_int
from ..conversion import staircase as ref_staircase
from ..encoding import encode
from ..plot import PALETTE, conversion_errors, raster, show, subplots
from .ui import (
    Dashboard,
    answer_tensor,
    build,
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
    where,
)

__all__ = ["simulate_conversion", "conversion_dashboard", "check_staircase",
           "check_weight_normalisation", "error_terms_figure", "check_prediction_quantisation_T",
           "check_steps_to_match"]


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


def _ref_staircase(z, lam, T, v0):
    return ref_staircase(torch.as_tensor(z), lam, T, v0)


@checker("staircase",
         idea="an IF neuron driven by a constant input fires once every time its membrane "
              "gains one threshold's worth of charge: count the whole thresholds it collects "
              "in T steps (starting from its initial charge), never fewer than 0 nor more than "
              "one per step, and give each spike the worth of the threshold spread over T",
         equation="output = lam/T · clip(floor(T·z/lam + v0), 0, T)",
         code="return lam / T * torch.clamp(torch.floor(T * z / lam + v0), 0, T)",
         reference=_ref_staircase)
def check_staircase(staircase: Callable) -> bool:
    """Your ``staircase(z, lam, T, v0)``: what an IF neuron (threshold ``lam``, reset by
    subtraction, initial membrane ``v0 * lam``) outputs in ANN units after T steps of constant
    input ``z``: ``lam / T * clip(floor(T z / lam + v0), 0, T)``."""
    name = "staircase"
    need_callable("check_staircase", staircase)
    gen = torch.Generator().manual_seed(601)
    cases = [(1.0, 1, 0.0), (1.0, 4, 0.0), (2.0, 8, 0.5)]
    cases += [(uniform(gen, 0.2, 4.0), randint(gen, 1, 64), uniform(gen, 0.0, 1.0))
              for _ in range(6)]
    for i, (lam, T, v0) in enumerate(cases):
        dtype = torch.float32 if i % 2 else torch.float64
        z = torch.linspace(-0.5, 1.5, 157, dtype=dtype) * lam * 1.3
        grid = T * z / lam + v0  # keep away from the jumps, where rounding decides
        z = torch.where((grid - grid.round()).abs() < 1e-3, z + 2e-3 * lam / T, z)
        want = ref_staircase(z, lam, T, v0)
        case = where(dict(lam=lam, T=T, v0=v0))
        got = answer_tensor(call(staircase, z.clone(), lam, T, v0), z.shape)
        if close(got, want):
            continue
        if float(got.max()) > lam + 1e-6:
            return failed(name, f"values above lam ({case}): at most one spike per step")
        if float(got.min()) < -1e-9:
            return failed(name, f"negative values ({case}): a neuron cannot spike a negative "
                          "number of times")
        if v0 and close(got, ref_staircase(z, lam, T, 0.0).double()):
            return failed(name, f"the initial membrane v0 is ignored ({case})")
        return failed(name, f"wrong for {case}")
    return passed(name, "the IF neuron's even-input staircase")


def _ref_normalise(W, b, lam_prev, lam):
    return torch.as_tensor(W) * lam_prev / lam, torch.as_tensor(b) / lam


@checker("weight_normalisation",
         idea="a spike of the previous layer stands for its whole scale lam_prev, and this "
              "layer's threshold must stand for its own scale lam; the bias does not come from "
              "spikes, so only this layer's scale touches it",
         equation="W_new = W·lam_prev/lam;  b_new = b/lam",
         code="return W * lam_prev / lam, b / lam",
         reference=_ref_normalise)
def check_weight_normalisation(normalise: Callable) -> bool:
    """Your ``normalise(W, b, lam_prev, lam)`` returns ``(W * lam_prev / lam, b / lam)``
    (Diehl et al. 2015), so that a layer whose activations reach ``lam`` fires at rate 1."""
    name = "weight_normalisation"
    need_callable("check_weight_normalisation", normalise)
    gen = torch.Generator().manual_seed(602)
    for i in range(8):
        dtype = torch.float32 if i % 2 else torch.float64
        n_out, n_in = randint(gen, 1, 7), randint(gen, 1, 7)
        W = torch.randn(n_out, n_in, generator=gen, dtype=dtype)
        b = torch.randn(n_out, generator=gen, dtype=dtype)
        lam_prev, lam = (1.0, 1.0) if i == 0 else (uniform(gen, 0.1, 5), uniform(gen, 0.1, 5))
        out = call(normalise, W.clone(), b.clone(), lam_prev, lam)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return failed(name, "return a pair (W_new, b_new)")
        w2 = answer_tensor(out[0], W.shape, "W_new")
        b2 = answer_tensor(out[1], b.shape, "b_new")
        case = where(dict(lam_prev=lam_prev, lam=lam))
        if not close(b2, b / lam):
            return failed(name, f"the bias is wrong ({case}): it does not see the previous "
                          "layer's spikes")
        if not close(w2, W * lam_prev / lam):
            if close(w2, W / lam):
                return failed(name, f"the weights ignore lam_prev ({case})")
            return failed(name, f"the weights are wrong ({case})")
    return passed(name, "rates in [0, 1] now mean activations in [0, lam]")


# =========================================================================== the three terms
_TERMS = ("clipping", "quantisation", "unevenness")


def error_terms_figure(settings: dict, *, title: str | None = None):
    """One panel per error term (clipping, quantisation, unevenness), each with its own y
    axis, bars per hidden layer for every setting (``{label: rows of conversion.errors}``);
    a term that is zero in one setting stays visible in the others. Returns the figure."""
    if not isinstance(settings, dict) or not settings:
        raise TypeError("settings must be a dict label -> rows of snnlab.conversion.errors")
    fig, axes = subplots(1, 3, figsize=(11, 3.8), layout="constrained")
    labels = list(settings)
    n_layers = len(next(iter(settings.values())))
    width = 0.8 / len(labels)
    for ax, term in zip(axes, _TERMS):
        for j, lab in enumerate(labels):
            xs = [i + (j - (len(labels) - 1) / 2) * width for i in range(n_layers)]
            vals = [r[term] for r in settings[lab]]
            ax.bar(xs, vals, width, color=PALETTE[j % len(PALETTE)], label=lab)
            for x_, v in zip(xs, vals):
                ax.text(x_, v, f"{v:.3f}", ha="center", va="bottom", fontsize=6, rotation=90)
        ax.set_xticks(range(n_layers), [f"layer {i + 1}" for i in range(n_layers)])
        ax.set_title(term)
        ax.margins(y=0.25)
    axes[0].set_ylabel("mean |error| (ANN units)")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=len(labels), fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def _quant(checker_name: str, table) -> dict:
    ok = isinstance(table, dict) and len(table) >= 2 and all(
        isinstance(v, (int, float)) for v in table.values())
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's quant_by_T dict {{T: layer-1 "
                        "quantisation error}} with at least two T")
    return table


@checker("prediction_quantisation_T",
         idea="the staircase's steps are theta/T wide; what happens to the average distance "
              "to a staircase when its steps get four times narrower?",
         equation="compare quant_by_T[16] / quant_by_T[4] with 1, 1/2 and 1/4",
         code='my_prediction = "quarter"  # or "half" or "same": commit before the run')
def check_prediction_quantisation_T(my_prediction, quant_by_T) -> bool:
    """Predict-then-observe: when T grows four-fold (smallest to next T measured, four times
    larger), does the layer-1 quantisation error stay the ``"same"``, ``"half"`` or fall to a
    ``"quarter"``? Any honest answer passes; the measured ratio is printed."""
    name = "prediction_quantisation_T"
    table = _quant("check_prediction_quantisation_T", quant_by_T)
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write 'same', 'half' or 'quarter'")
    guess = need_choice(my_prediction, ("same", "half", "quarter"))
    T0 = min(table)
    T1 = min(table, key=lambda t: abs(t - 4 * T0))
    ratio = table[T1] / table[T0] if table[T0] else float("nan")
    options = {"same": 1.0, "half": 0.5, "quarter": 0.25}
    measured = min(options, key=lambda o: abs(math.log(options[o]) - math.log(max(ratio, 1e-9))))
    why = (f"T {T0} -> {T1}: {table[T0]:.4f} -> {table[T1]:.4f} (ratio {ratio:.2f}); each "
           "step of the staircase is theta/T wide, so the average rounding error shrinks like 1/T")
    return predicted(name, guess, measured, guess == measured, why)


@checker("steps_to_match",
         idea="read the printed line of the percentile norm started from an empty membrane, "
              "from the left, and stop at the first T whose accuracy is within 5 points of the "
              "ANN's",
         equation="min T in curves['percentile, v0=0.0θ'] with acc >= ann_acc - 0.05",
         code="c = curves['percentile, v0=0.0θ']\n"
              "answer = min(T for T in c if c[T] >= ann.test_acc - 0.05)")
def check_steps_to_match(answer, curves, ann_acc) -> bool:
    """Interpret: the smallest T at which the learner's p99.9 SNN (``v0 = 0``) came within
    5 accuracy points of its ANN (``curves`` and the ANN accuracy from the notebook)."""
    name = "steps_to_match"
    key = "percentile, v0=0.0θ"
    if not isinstance(curves, dict) or key not in curves:
        raise TypeError(f"check_steps_to_match expects the notebook's curves dict with {key!r}")
    ann_acc = need_number("check_steps_to_match", ann_acc)
    if unanswered(answer):
        return failed(name, "no answer yet: write one of the T values measured")
    got = need_number("check_steps_to_match", answer)
    c = curves[key]
    close_enough = [T for T in sorted(c) if c[T] >= ann_acc - 0.05]
    if not close_enough:
        if got == -1:
            return passed(name, "no T measured came within 5 points")
        return failed(name, "no T measured came within 5 points of the ANN; answer -1")
    want = close_enough[0]
    if got == want:
        return passed(name, f"T = {want}: {c[want]:.3f} vs the ANN's {ann_acc:.3f}")
    if got not in c:
        return failed(name, f"{got:g} is not one of the T values measured, {sorted(c)}")
    if c[int(got)] < ann_acc - 0.05:
        return failed(name, f"at T = {got:g} the SNN has {c[int(got)]:.3f}, more than 5 points "
                      f"below the ANN's {ann_acc:.3f}")
    return failed(name, f"at T = {got:g} it is close, but a smaller T already was")

"""Notebook 03: surrogate gradients and BPTT.

The simulate functions, dashboards and exercise checkers of
``notebooks/03_surrogate_bptt.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import surrogate as S
from .._checks import check_choice, check_float
from ..models import SpikingNet
from ..plot import LABEL_SIZE, PALETTE, new_axes, set_labels, show
from ..train import evaluate
from .ui import Dashboard, LearnerError, as_tensor, build, call, failed, need_callable, passed

__all__ = ["simulate_surrogate", "surrogate_dashboard", "check_surrogate_derivative",
           "check_spike_function", "check_bptt_accuracy"]


def simulate_surrogate(*, name: str = "fast_sigmoid", scale: float | None = None,
                       distances: torch.Tensor | None = None, x_range: float = 1.5,
                       rel: float = 0.01) -> dict:
    r"""A surrogate's derivative :math:`\sigma'(x)` on a grid, and how much of a network it
    reaches.

    Args:
        name, scale: the surrogate (:func:`snnlab.surrogate.get`).
        distances: optional membrane distances to threshold :math:`u - \vartheta` recorded from a
            network; the result then says which fraction of them gets a gradient larger than
            ``rel`` times the peak (a very sharp surrogate reaches few neurons).

    Returns ``dict(x, derivative, peak, area, reach)`` (``reach`` is None without distances).
    """
    sg = S.get(check_choice("name", name, S.available()), scale)
    x_range = check_float("x_range", x_range, low=0.0, low_open=True)
    rel = check_float("rel", rel, low=0.0, high=1.0)
    x = torch.linspace(-x_range, x_range, 601, dtype=torch.float64)
    d = sg.derivative(x)
    peak = float(sg.derivative(torch.zeros(1, dtype=torch.float64)))
    reach = None
    if distances is not None:
        if not isinstance(distances, torch.Tensor):
            raise TypeError(f"distances must be a torch.Tensor, got {type(distances).__name__}")
        reach = float((sg.derivative(distances.detach().double()) > rel * peak).double().mean())
    area = float(torch.trapezoid(d, x))
    return {"x": x, "derivative": d, "peak": peak, "area": area, "reach": reach,
            "surrogate": repr(sg)}


def surrogate_dashboard(distances: torch.Tensor | None = None, *, name: str = "fast_sigmoid",
                        scale: float = 25.0) -> Dashboard:
    """Dropdown for the surrogate and a slider for its sharpness; with ``distances`` (recorded
    ``u - θ``) the plot overlays their histogram and reports the fraction of neuron-steps the
    gradient reaches."""
    import ipywidgets as W

    controls = {
        "name": W.Dropdown(options=S.available(), value=name, description="surrogate"),
        "scale": W.FloatLogSlider(value=scale, base=10, min=-0.5, max=2.5, step=0.05,
                                  description="scale k", continuous_update=False),
    }

    def compute(**kw):
        return simulate_surrogate(distances=distances, **kw)

    def draw(r):
        ax = new_axes()
        ax.plot(r["x"].numpy(), r["derivative"].numpy(), color=PALETTE[0], lw=2,
                label=r["surrogate"])
        title = f"{r['surrogate']}: peak {r['peak']:.2f}, area {r['area']:.2f}"
        if distances is not None:
            ax2 = ax.twinx()
            d = distances.detach().reshape(-1).double().clamp(r["x"][0], r["x"][-1])
            ax2.hist(d.numpy(), bins=80, color=PALETTE[1], alpha=0.4)
            ax2.set_ylabel("recorded neuron-steps", fontsize=LABEL_SIZE)
            title += f"; reaches {100 * r['reach']:.0f}% of neuron-steps"
        set_labels(ax, "distance to threshold u - θ (a.u.)", "σ'(u - θ)", title)
        show(ax)

    return build(controls, compute, draw)


def check_surrogate_derivative(derivative: Callable, scale: float = 10.0) -> bool:
    """``derivative(x, scale) -> 1 / (scale*|x| + 1)**2`` (the fast-sigmoid surrogate)."""
    name = "surrogate_derivative"
    need_callable("check_surrogate_derivative", derivative)
    x = torch.linspace(-2.0, 2.0, 81)
    ref = S.FastSigmoid(scale).derivative(x)
    try:
        got = as_tensor(call(derivative, x.clone(), scale), ref)
    except LearnerError as e:
        return failed(name, str(e), "1 / (scale * x.abs() + 1) ** 2")
    if got is None or got.shape != x.shape:
        return failed(name, "return a tensor shaped like x", "work elementwise")
    if torch.allclose(got, ref, atol=1e-6):
        return passed(name)
    if torch.allclose(got, 1.0 / (scale * x.abs() + 1.0), atol=1e-6):
        return failed(name, "the denominator must be squared", "(scale*|x| + 1) ** 2")
    if float(got[40]) != 1.0:
        return failed(name, f"at x = 0 the derivative must be 1, got {float(got[40]):.3g}",
                      "the peak sits at the threshold")
    return failed(name, "values differ from 1/(scale|x|+1)^2", "use x.abs(), not x")


def check_spike_function(spike: Callable, scale: float = 10.0) -> bool:
    """``spike(x)``: Heaviside ``(x > 0)`` forward, fast-sigmoid derivative (``scale``) backward
    (e.g. ``MySpike.apply`` of an ``autograd.Function``)."""
    name = "spike_function"
    need_callable("check_spike_function", spike)
    x = torch.linspace(-1.0, 1.0, 41, dtype=torch.float64).requires_grad_(True)
    try:
        out = call(spike, x)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            return failed(name, "spike(x) must return a tensor shaped like x",
                          "forward returns (x > 0).to(x.dtype)")
        if not torch.equal(out.detach(), (x.detach() > 0).to(out.dtype)):
            return failed(name, "the forward pass must be the step H(x): 1 where x > 0",
                          "(x > 0).to(x.dtype)")
        if not out.requires_grad:
            return failed(name, "no gradient flows through your spike",
                          "wrap it in a torch.autograd.Function with a custom backward")
        (g,) = call(torch.autograd.grad, out.sum(), x)
    except LearnerError as e:
        return failed(name, str(e), "forward: save x, return (x > 0); backward: grad * σ'(x)")
    ref = S.FastSigmoid(scale).derivative(x.detach())
    if torch.allclose(g, ref, atol=1e-6):
        return passed(name)
    if float(g.abs().max()) == 0.0:
        return failed(name, "the gradient is zero everywhere (the true Heaviside gradient)",
                      "in backward return grad_output * surrogate derivative, not zero")
    return failed(name, "the backward pass is not the fast-sigmoid derivative",
                  f"grad_output / ({scale:g} * x.abs() + 1) ** 2")


def check_bptt_accuracy(model_or_train_fn, data, *, T: int = 8, encoding: str = "direct",
                        target: float = 0.9) -> bool:
    """The test accuracy of a trained network reaches ``target``.

    Pass the trained :class:`~snnlab.models.SpikingNet`, or your function
    ``train_fn(data) -> SpikingNet`` (it is called once here).
    """
    name = "bptt_accuracy"
    model = model_or_train_fn
    if not isinstance(model, SpikingNet):
        if not callable(model):
            raise TypeError("check_bptt_accuracy expects a SpikingNet or a function "
                            f"train_fn(data) -> SpikingNet, got {type(model).__name__}")
        try:
            model = call(model_or_train_fn, data)
        except LearnerError as e:
            return failed(name, str(e), "build snnlab.models.mlp(...) and snnlab.train it "
                          "with rule='bptt', then return the model")
        if not isinstance(model, SpikingNet):
            return failed(name, f"your function returned {type(model).__name__}, not a "
                          "SpikingNet", "return the trained model itself")
    dataset = getattr(data, "test", data)
    try:
        acc = evaluate(model, dataset, T, encoding=encoding)["acc"]
    except (TypeError, ValueError) as e:
        return failed(name, f"could not evaluate: {e}", "train the model on the same data "
                      "and T")
    if acc >= target:
        return passed(name, f"test accuracy {acc:.3f} ≥ {target:.2f}")
    return failed(name, f"test accuracy {acc:.3f} < {target:.2f}",
                  "train with a surrogate (not the true step), lr ≈ 2e-3, a few more epochs")

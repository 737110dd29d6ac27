"""Notebook 03: surrogate gradients and BPTT.

The simulate functions, dashboards and exercise checkers of
``notebooks/03_surrogate_bptt.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as TF

from .. import neurons as N
from .. import surrogate as S
from .._checks import check_choice, check_float
from ..encoding import encode
from ..models import SpikingNet
from ..plot import LABEL_SIZE, PALETTE, new_axes, set_labels, show
from ..train import evaluate
from .ui import (
    Dashboard,
    LearnerError,
    answer_tensor,
    build,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_number,
    passed,
    predicted,
    rand_shape,
    unanswered,
    uniform,
)

__all__ = ["simulate_surrogate", "surrogate_dashboard", "check_surrogate_derivative",
           "check_spike_function", "check_bptt_accuracy",
           "check_prediction_true_gradient", "check_surrogate_reach"]


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


def _fast_sigmoid_reference(x, scale):
    return S.FastSigmoid(scale).derivative(torch.as_tensor(x))


def _x_cases(gen):
    """Random points of random shapes and dtypes, always including 0 and both signs."""
    for i in range(6):
        x = (torch.rand(rand_shape(gen, 3, 7), generator=gen,
                        dtype=torch.float32 if i % 2 else torch.float64) - 0.5) * 4
        x.view(-1)[0] = 0.0
        yield x


@checker("surrogate_derivative",
         idea="the fast sigmoid's derivative is largest (exactly 1) at the threshold and falls "
              "off symmetrically on both sides; the scale says how fast it falls",
         equation="σ'(x) = 1 / (scale·|x| + 1)²",
         code="return 1 / (scale * x.abs() + 1) ** 2",
         reference=_fast_sigmoid_reference)
def check_surrogate_derivative(derivative: Callable, scale: float = 10.0) -> bool:
    """``derivative(x, scale) -> 1 / (scale*|x| + 1)**2`` (the fast-sigmoid surrogate), tested
    at ``scale`` and at other scales in (0.5, 50)."""
    name = "surrogate_derivative"
    need_callable("check_surrogate_derivative", derivative)
    gen = torch.Generator().manual_seed(301)
    scales = [float(scale)] + [uniform(gen, 0.5, 50.0) for _ in range(5)]
    for k, x in zip(scales, _x_cases(gen)):
        ref = S.FastSigmoid(k).derivative(x)
        got = answer_tensor(call(derivative, x.clone(), k), x.shape)
        if close(got, ref):
            continue
        if close(got, (1.0 / (k * x.abs() + 1.0)).double()):
            return failed(name, f"the denominator must be squared (scale={k:.3g})")
        if abs(float(got.view(-1)[0]) - 1.0) > 1e-5:
            return failed(name, f"at x = 0 the derivative must be 1, got "
                          f"{float(got.view(-1)[0]):.3g}")
        if k != float(scale) and close(got, S.FastSigmoid(scale).derivative(x).double()):
            return failed(name, f"your function ignores scale (tested with scale={k:.3g})")
        return failed(name, f"values differ from the fast-sigmoid derivative (scale={k:.3g})")
    return passed(name)


class _ReferenceSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * S.FastSigmoid(10.0).derivative(x)


@checker("spike_function",
         idea="the forward pass is the real spike (a step at zero); the backward pass pretends "
              "the step was smooth, multiplying the incoming gradient by the surrogate's "
              "derivative at the saved input",
         equation="forward: s = H(x) = 1 where x > 0, else 0;  backward: dL/dx = dL/ds · "
                  "1/(scale·|x| + 1)²",
         code="class MySpike(torch.autograd.Function):\n    @staticmethod\n"
              "    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
              "        return (x > 0).to(x.dtype)\n\n    @staticmethod\n"
              "    def backward(ctx, grad_output):\n        (x,) = ctx.saved_tensors\n"
              "        return grad_output / (10.0 * x.abs() + 1) ** 2",
         reference=_ReferenceSpike.apply)
def check_spike_function(spike: Callable, scale: float = 10.0) -> bool:
    """``spike(x)``: Heaviside ``(x > 0)`` forward (a float tensor), fast-sigmoid derivative
    (``scale``) times the incoming gradient backward (e.g. ``MySpike.apply``)."""
    name = "spike_function"
    need_callable("check_spike_function", spike)
    gen = torch.Generator().manual_seed(302)
    for x0 in _x_cases(gen):
        x = x0.clone().requires_grad_(True)
        out = call(spike, x)
        if not isinstance(out, torch.Tensor):
            return failed(name, f"spike(x) must return a tensor, got {type(out).__name__}")
        got = answer_tensor(out.detach(), x.shape, "spike(x)")
        if not close(got, (x0 > 0).double()):
            if close(got, (x0 >= 0).double()):
                return failed(name, "at x = 0 there is no spike: the step is 1 only where "
                              "x > 0")
            return failed(name, "the forward pass must be the step: 1 where x > 0, else 0")
        if not out.requires_grad:
            return failed(name, "no gradient flows through your spike (a custom backward is "
                          "needed)")
        g_out = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        (g,) = call(torch.autograd.grad, out, x, g_out)
        ref = g_out * S.FastSigmoid(scale).derivative(x0)
        if close(g.double(), ref):
            continue
        if float(g.abs().max()) == 0.0:
            return failed(name, "the gradient is zero everywhere (the true step's gradient)")
        if close(g.double(), S.FastSigmoid(scale).derivative(x0).double()):
            return failed(name, "the backward pass ignores the incoming gradient (it must "
                          "multiply it)")
        return failed(name, f"the backward pass is not the fast-sigmoid derivative at "
                      f"scale={scale:g}")
    return passed(name)


def _bptt_problem(model, data, T: int, encoding: str) -> str | None:
    """Why ``model`` is not a LIF SpikingNet that BPTT can train, or None."""
    if type(model) is not SpikingNet:
        return f"expected a snnlab SpikingNet, got {type(model).__name__}"
    for i, neuron in enumerate(model.neurons()):
        if type(neuron) is not N.LIF:
            return (f"hidden layer {i} has {type(neuron).__name__} neurons; this exercise "
                    "trains LIF neurons")
        if float(neuron.beta) >= 1.0:
            return f"hidden layer {i} has no leak (beta = 1): that is an IF neuron"
        if neuron.surrogate is None:
            return f"hidden layer {i} has no surrogate gradient"
    if not model.layers:
        return "the network has no hidden spiking layer"
    dataset = getattr(data, "test", data)
    xb, yb = dataset.tensors[0][:64], dataset.tensors[1][:64]
    weights = [layer.synapse.weight for layer in model.layers]
    loss = TF.cross_entropy(model(encode(xb, T, encoding, generator=torch.Generator()
                                         .manual_seed(0))), yb)
    grads = torch.autograd.grad(loss, weights, allow_unused=True)
    for i, g in enumerate(grads):
        if g is None or float(g.abs().sum()) == 0.0:
            return f"no gradient reaches hidden layer {i} through time"
    return None


@checker("bptt_accuracy",
         idea="a surrogate gradient lets backpropagation through time train a LIF network "
              "like any recurrent net; build the network the exercise names and train it a "
              "few epochs with the bptt rule",
         equation="net = mlp(64, [64], 10, surrogate=\"atan\"); train(net, data, \"bptt\", "
                  "T=8, epochs≈5, lr≈2e-3); then test accuracy ≥ target",
         code="def train_fn(data):\n    torch.manual_seed(0)\n"
              "    net = snnlab.models.mlp(64, [64], 10, surrogate=\"atan\")\n"
              "    snnlab.train(net, data, \"bptt\", T=8, epochs=5, lr=2e-3, progress=False)\n"
              "    return net")
def check_bptt_accuracy(model_or_train_fn, data, *, T: int = 8, encoding: str = "direct",
                        target: float = 0.9) -> bool:
    """The network is a LIF :class:`~snnlab.models.SpikingNet` that BPTT trains (leaky LIF
    neurons with a surrogate, gradients reaching every layer) and its test accuracy, measured
    here, reaches ``target``.

    Pass the trained network, or your function ``train_fn(data) -> SpikingNet`` (called once
    here)."""
    name = "bptt_accuracy"
    model = model_or_train_fn
    if not isinstance(model, SpikingNet):
        if not callable(model):
            raise TypeError("check_bptt_accuracy expects a SpikingNet or a function "
                            f"train_fn(data) -> SpikingNet, got {type(model).__name__}")
        model = call(model_or_train_fn, data)
        if not isinstance(model, SpikingNet):
            return failed(name, f"your function returned {type(model).__name__}, not a "
                          "SpikingNet")
    dataset = getattr(data, "test", data)
    try:
        problem = _bptt_problem(model, data, T, encoding)
        acc = evaluate(model, dataset, T, encoding=encoding)["acc"]
    except (TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
        return failed(name, f"could not run your network on the test set: {e}")
    if problem:
        return failed(name, problem)
    if acc >= target:
        return passed(name, f"test accuracy {acc:.3f} ≥ {target:.2f}")
    return failed(name, f"test accuracy {acc:.3f} < {target:.2f}")


# ------------------------------------------------------------------ predict, observe, interpret
@checker("prediction_true_gradient",
         idea="think about what a zero derivative does to every weight update, and what a "
              "network with its initial, random weights scores on ten classes",
         equation="dL/dw = ... · H'(u - threshold) = 0 for every weight, so w stays at its "
                  "initial value: accuracy about 1 / (number of classes)",
         code="my_prediction = 0.1  # any accuracy between 0 and 1: commit before the run")
def check_prediction_true_gradient(my_prediction, history) -> bool:
    """Predict-then-observe: the test accuracy (0-1) of the network trained with the true
    (zero) derivative; ``history`` is that run's :class:`snnlab.train.History`. Right within 5
    points; any number in [0, 1] (or a percentage) passes."""
    name = "prediction_true_gradient"
    acc = getattr(history, "test_acc", None)
    if acc is None:
        raise TypeError("check_prediction_true_gradient expects the run's History (with "
                        "test_acc)")
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write an accuracy between 0 and 1")
    try:
        guess = need_number("prediction", my_prediction)
    except TypeError:
        raise LearnerError(f"write a number, not {type(my_prediction).__name__}") from None
    if 1.0 < guess <= 100.0:
        guess /= 100.0  # a percentage is an honest format
    if not 0.0 <= guess <= 1.0:
        raise LearnerError(f"{guess} is not an accuracy: expected a number between 0 and 1")
    right = abs(guess - float(acc)) <= 0.05
    why = ("every weight got a zero gradient, so the network kept its random initial weights "
           "and guesses: about 1 in 10 on ten classes")
    return predicted(name, f"{guess:.2f}", f"{float(acc):.2f}", right, why)


@checker("surrogate_reach",
         idea="the reach is the share of recorded membrane distances at which the surrogate's "
              "derivative is still larger than a hundredth of its peak",
         equation="reach = mean over neurons and steps of [σ'(u - ϑ) > 0.01·σ'(0)], in percent",
         code='r = widgets.simulate_surrogate(name="fast_sigmoid", scale=25.0, '
              'distances=distances)\nanswer = 100 * r["reach"]')
def check_surrogate_reach(answer, distances, *, name: str = "fast_sigmoid",
                          scale: float = 25.0) -> bool:
    """Interpret: the percentage of neuron-steps of the trained network (``distances`` = its
    recorded ``u - threshold``) that the surrogate ``name`` with sharpness ``scale`` reaches
    (derivative above 1 % of its peak); recomputed from ``distances``, within 1 point."""
    cname = "surrogate_reach"
    if not isinstance(distances, torch.Tensor):
        raise TypeError("check_surrogate_reach expects the recorded distances (a tensor)")
    if unanswered(answer):
        return failed(cname, "no answer yet: read the percentage off your run")
    try:
        got = need_number("answer", answer)
    except TypeError:
        raise LearnerError(f"write a number, not {type(answer).__name__}") from None
    want = 100 * simulate_surrogate(name=name, scale=scale, distances=distances)["reach"]
    if abs(got - want) <= 1.0:
        return passed(cname, f"{want:.1f}% of neuron-steps get a gradient at k = {scale:g}")
    if abs(100 * got - want) <= 1.0:
        return failed(cname, "that is a fraction: give it in percent")
    return failed(cname, f"not what your network gives at k = {scale:g}")

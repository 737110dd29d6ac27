"""Interactive dashboards: pure update functions plus thin ipywidgets builders.

The pattern every dashboard here follows (append new ones the same way):

* a **pure function** ``simulate_<thing>(**params) -> dict`` that does all the work with
  :mod:`snnlab` and returns plain tensors and numbers; it is tested in pytest like any function;
* a **builder** ``<thing>_dashboard(...) -> Dashboard`` that imports ipywidgets *inside* the
  function (so ``import snnlab.widgets`` works without it), makes the sliders, and redraws into
  an ``Output`` by calling the pure function and a plot from :mod:`snnlab.plot`.

A :class:`Dashboard` exposes ``controls`` (name -> widget), ``output``, ``result`` (the last
dict the pure function returned) and ``widget`` (the laid-out box to display). Setting
``dash.controls["threshold"].value = 1.5`` re-runs the update immediately, also without a kernel,
so tests can drive a dashboard and check ``dash.result``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import functional as F
from . import surrogate as S
from ._checks import check_choice, check_float, check_int

__all__ = ["Dashboard", "simulate_lif", "lif_dashboard", "simulate_encoding",
           "encoding_dashboard", "simulate_surrogate", "surrogate_dashboard", "LiveCurve",
           "simulate_chip", "chip_dashboard"]


@dataclass
class Dashboard:
    """Widgets of one dashboard; ``update()`` re-runs the pure function and redraws."""

    controls: dict
    output: object
    widget: object
    update: Callable[..., dict]
    result: dict = field(default_factory=dict)

    def _ipython_display_(self):  # show the laid-out box when a dashboard ends a cell
        from IPython.display import display

        display(self.widget)


def _build(controls: dict, compute: Callable[..., dict], draw: Callable[[dict], None],
           layout=None) -> Dashboard:
    """Wire sliders to ``compute(**values)`` and ``draw(result)`` inside an Output."""
    import ipywidgets as W

    out = W.Output()
    box = W.VBox([layout or W.HBox(list(controls.values())), out])
    dash = Dashboard(controls=controls, output=out, widget=box, update=lambda: {})

    def update(_change=None) -> dict:
        dash.result = compute(**{k: w.value for k, w in controls.items()})
        with out:
            out.clear_output(wait=True)
            draw(dash.result)
        return dash.result

    dash.update = update
    for w in controls.values():
        w.observe(update, names="value")
    update()
    return dash


def _show(fig_or_ax) -> None:
    import matplotlib.pyplot as plt

    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    plt.show()
    plt.close(fig)


# --------------------------------------------------------------------------- LIF neuron
def simulate_lif(*, current: float = 1.5, threshold: float = 1.0, reset: str = "subtract",
                 tau_ms: float | None = 10.0, beta: float | None = None, T: int = 100,
                 dt_ms: float = 1.0, noise: float = 0.0, seed: int = 0) -> dict:
    r"""One LIF neuron driven by a constant current (+ optional Gaussian noise).

    Uses :func:`snnlab.functional.lif_sequence`: :math:`u[t] = \beta v[t-1] + I[t]` with
    :math:`\beta = e^{-dt/\tau}` (give ``tau_ms`` or ``beta``; ``tau_ms=inf`` or ``beta=1``
    is the non-leaky IF neuron).

    Returns ``dict(t_ms, u, s, v_inf, beta, n_spikes, rate_hz)``: the membrane before reset
    ``u [T]``, spikes ``s [T]``, the steady state :math:`I/(1-\beta)` the membrane would reach
    without a threshold, and the firing rate in Hz.
    """
    current = check_float("current", current)
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    reset = check_choice("reset", reset, F.RESETS)
    T = check_int("T", T, low=1, high=100_000)
    dt_ms = check_float("dt_ms", dt_ms, low=0.0, low_open=True)
    noise = check_float("noise", noise, low=0.0)
    if beta is None:
        if tau_ms is None:
            raise ValueError("give tau_ms or beta")
        if isinstance(tau_ms, (int, float)) and math.isinf(tau_ms) and tau_ms > 0:
            beta = 1.0
        else:
            tau_ms = check_float("tau_ms", tau_ms, low=0.0, low_open=True)
            beta = math.exp(-dt_ms / tau_ms)
    else:
        beta = check_float("beta", beta, low=0.0, high=1.0, low_open=True)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    i_seq = torch.full((T, 1), current, dtype=torch.float64)
    if noise > 0:
        i_seq = i_seq + noise * torch.randn(T, 1, generator=gen, dtype=torch.float64)
    s, u = F.lif_sequence(i_seq, beta=beta, threshold=threshold, reset_mode=reset,
                          surrogate=S.FastSigmoid())
    n = int(s.sum())
    v_inf = current / (1.0 - beta) if beta < 1.0 else math.inf
    return {"t_ms": torch.arange(T, dtype=torch.float64) * dt_ms, "u": u[:, 0], "s": s[:, 0],
            "beta": beta, "v_inf": v_inf, "n_spikes": n, "rate_hz": 1000.0 * n / (T * dt_ms)}


def lif_dashboard(*, current: float = 0.3, threshold: float = 1.0, tau_ms: float = 10.0,
                  reset: str = "subtract", T: int = 100, dt_ms: float = 1.0) -> Dashboard:
    """Sliders for the membrane time constant, threshold, input current and reset mode."""
    import ipywidgets as W

    from .plot import membrane

    controls = {
        "tau_ms": W.FloatSlider(value=tau_ms, min=1.0, max=100.0, step=1.0,
                                description="τ (ms)", continuous_update=False),
        "threshold": W.FloatSlider(value=threshold, min=0.1, max=3.0, step=0.1,
                                   description="threshold", continuous_update=False),
        "current": W.FloatSlider(value=current, min=0.0, max=1.0, step=0.01,
                                 description="current I", continuous_update=False),
        "reset": W.Dropdown(options=list(F.RESETS), value=reset, description="reset"),
    }

    def compute(**kw):
        return simulate_lif(T=T, dt_ms=dt_ms, **kw)

    def draw(r):
        ax = membrane(r["u"], threshold=controls["threshold"].value, spikes=r["s"],
                      dt_ms=dt_ms, title=f"LIF: {r['n_spikes']} spikes, {r['rate_hz']:.0f} Hz "
                      f"(β = {r['beta']:.3f})")
        _show(ax)

    layout = W.VBox([W.HBox([controls["tau_ms"], controls["threshold"]]),
                     W.HBox([controls["current"], controls["reset"]])])
    return _build(controls, compute, draw, layout)


# --------------------------------------------------------------------------- encodings
def simulate_encoding(x: torch.Tensor, *, T: int = 16, method: str = "rate", gain: float = 1.0,
                      seed: int = 0) -> dict:
    """Encode one sample ``x [...]`` and summarise it.

    Returns ``dict(seq [T, N], n_spikes, spikes_per_step, reconstruction, error)`` where the
    reconstruction is the time average of the sequence (what a rate decoder sees) and ``error``
    its mean absolute difference from ``x``.
    """
    from .encoding import encode

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    T = check_int("T", T, low=1, high=10_000)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    flat = x.reshape(1, -1).float()
    seq = encode(flat, T, method, gain=gain, generator=gen)[:, 0]
    if method == "latency":  # decode the spike time back to an intensity
        t = torch.arange(T, dtype=seq.dtype)[:, None]
        t_spike = (seq * t).sum(0)
        recon = torch.where(seq.sum(0) > 0, 1.0 - t_spike / max(T - 1, 1),
                            torch.zeros_like(t_spike))
    elif method == "delta":
        recon = seq.cumsum(0)[-1]
    else:
        recon = seq.mean(0) / (gain if method == "rate" and gain > 0 else 1.0)
    return {"seq": seq, "n_spikes": int(seq.abs().sum()), "spikes_per_step":
            float(seq.abs().sum()) / T, "reconstruction": recon,
            "error": float((recon - flat[0]).abs().mean())}


def encoding_dashboard(x: torch.Tensor, *, T: int = 16, method: str = "rate",
                       gain: float = 1.0) -> Dashboard:
    """Sliders for the number of steps T and the rate gain; a method dropdown; one raster."""
    import ipywidgets as W

    from .encoding import METHODS
    from .plot import raster

    controls = {
        "method": W.Dropdown(options=[m for m in METHODS if m != "frames"], value=method,
                             description="method"),
        "T": W.IntSlider(value=T, min=1, max=64, step=1, description="T (steps)",
                         continuous_update=False),
        "gain": W.FloatSlider(value=gain, min=0.0, max=2.0, step=0.05, description="rate gain",
                              continuous_update=False),
    }

    def compute(**kw):
        return simulate_encoding(x, **kw)

    def draw(r):
        ax = raster(r["seq"], title=f"{r['n_spikes']} spikes; rate-decoding error "
                    f"{r['error']:.3f}")
        ax.set_ylabel("input index")
        _show(ax)

    return _build(controls, compute, draw)


# --------------------------------------------------------------------------- surrogates
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

    from .plot import LABEL_SIZE, PALETTE, _axes, _label

    controls = {
        "name": W.Dropdown(options=S.available(), value=name, description="surrogate"),
        "scale": W.FloatLogSlider(value=scale, base=10, min=-0.5, max=2.5, step=0.05,
                                  description="scale k", continuous_update=False),
    }

    def compute(**kw):
        return simulate_surrogate(distances=distances, **kw)

    def draw(r):
        ax = _axes()
        ax.plot(r["x"].numpy(), r["derivative"].numpy(), color=PALETTE[0], lw=2,
                label=r["surrogate"])
        title = f"{r['surrogate']}: peak {r['peak']:.2f}, area {r['area']:.2f}"
        if distances is not None:
            ax2 = ax.twinx()
            d = distances.detach().reshape(-1).double().clamp(r["x"][0], r["x"][-1])
            ax2.hist(d.numpy(), bins=80, color=PALETTE[1], alpha=0.4)
            ax2.set_ylabel("recorded neuron-steps", fontsize=LABEL_SIZE)
            title += f"; reaches {100 * r['reach']:.0f}% of neuron-steps"
        _label(ax, "distance to threshold u - θ (a.u.)", "σ'(u - θ)", title)
        _show(ax)

    return _build(controls, compute, draw)


# --------------------------------------------------------------------------- live curves
class LiveCurve:
    """A ``snnlab.train(..., callback=LiveCurve())`` callback: prints one line per epoch and, in
    a notebook, redraws one training-curve figure in place (headless runs just print).

    ``records`` keeps everything it was given, so it also works as a simple logger.
    """

    def __init__(self, keys=("train_loss", "test_acc"), *, plot: bool = True, name="run"):
        self.keys = tuple(keys)
        self.plot = bool(plot)
        self.name = name
        self.records: list[dict] = []
        self._handle = None

    def __call__(self, record: dict) -> None:
        self.records.append(dict(record))
        parts = [f"epoch {record.get('epoch', len(self.records)):>3}"]
        parts += [f"{k} {record[k]:.4f}" for k in self.keys if record.get(k) is not None]
        print("  ".join(parts))
        if self.plot:
            self._redraw()

    def _redraw(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython ships with the [lab] extra
            return
        if get_ipython() is None:  # not in a kernel: printing is enough
            return
        import matplotlib.pyplot as plt

        from .plot import training_curves
        from .train import History

        ax = training_curves({self.name: History(self.name, self.records)}, keys=self.keys,
                             title=f"Training {self.name} (live)")
        fig = ax.figure
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)


# --------------------------------------------------------------------------- hardware chip
def simulate_chip(model, data, *, sigma: float = 0.0, variation: str = "lognormal",
                  bits: int = 0, stuck: float = 0.0, log10_drift_s: float = 0.0,
                  read_noise: float = 0.0, threshold_mismatch: float = 0.0, seed: int = 0,
                  T: int = 8, layer: int = 0, drift_nu: float = 0.06,
                  drift_nu_std: float = 0.02) -> dict:
    """Program ``model`` onto one chip and compare it with the ideal network.

    ``bits=0`` means analogue devices; ``stuck`` is the total fault rate, split evenly between
    stuck-on and stuck-off; the chip is read ``10**log10_drift_s`` seconds after programming
    (PCM-like drift exponent ``drift_nu ± drift_nu_std``; nothing drifts before 20 s).
    Returns ``dict(view, noise, acc_ideal, acc_chip)`` where ``view`` is a
    :class:`snnlab.hardware.ChipView`.
    """
    from .hardware import NoiseModel, chip_view

    stuck = check_float("stuck", stuck, low=0.0, high=1.0)
    bits = check_int("bits", bits, low=0, high=16)
    drift_s = 10.0 ** check_float("log10_drift_s", log10_drift_s, low=0.0, high=12.0)
    noise = NoiseModel(sigma=sigma, variation=variation, bits=bits or None,
                       stuck_on=stuck / 2, stuck_off=stuck / 2, drift_nu=drift_nu,
                       drift_nu_std=drift_nu_std, drift_time=drift_s, read_noise=read_noise,
                       threshold_mismatch=threshold_mismatch)
    view = chip_view(model, data, noise, seed=seed, T=T, layer=layer)
    return {"view": view, "noise": noise, "acc_ideal": view.acc_ideal, "acc_chip": view.acc_chip}


def chip_dashboard(model, data, *, T: int = 8, layer: int = 0, **start) -> Dashboard:
    """Sliders for every non-ideality of :class:`snnlab.hardware.NoiseModel` (σ, bits, fault
    rate, drift time, read noise, threshold mismatch) and the chip's seed; redraws the weight
    histograms, the ideal and chip rasters and both accuracies (:func:`snnlab.plot.chip_view`).
    Leave all but one at zero to see each non-ideality alone."""
    import ipywidgets as W

    from .plot import chip_view

    def slider(cls, key, value, **kw):
        return cls(value=start.get(key, value), continuous_update=False,
                   style={"description_width": "initial"}, **kw)

    controls = {
        "sigma": slider(W.FloatSlider, "sigma", 0.0, min=0.0, max=1.0, step=0.05,
                        description="variation σ"),
        "variation": W.Dropdown(options=["lognormal", "gaussian"],
                                value=start.get("variation", "lognormal"),
                                description="distribution"),
        "bits": slider(W.IntSlider, "bits", 0, min=0, max=8, description="bits (0 = analogue)"),
        "stuck": slider(W.FloatSlider, "stuck", 0.0, min=0.0, max=0.4, step=0.01,
                        description="stuck-at rate"),
        "log10_drift_s": slider(W.FloatSlider, "log10_drift_s", 0.0, min=0.0, max=8.0,
                                step=0.5, description="log10 drift time (s)"),
        "read_noise": slider(W.FloatSlider, "read_noise", 0.0, min=0.0, max=0.5, step=0.01,
                             description="read noise σ_r"),
        "threshold_mismatch": slider(W.FloatSlider, "threshold_mismatch", 0.0, min=0.0,
                                     max=0.5, step=0.05, description="threshold mismatch"),
        "seed": slider(W.IntSlider, "seed", 0, min=0, max=9, description="chip seed"),
    }

    def compute(**kw):
        return simulate_chip(model, data, T=T, layer=layer, **kw)

    def draw(r):
        _show(chip_view(r["view"]))

    c = controls
    layout = W.VBox([W.HBox([c["sigma"], c["variation"], c["bits"]]),
                     W.HBox([c["stuck"], c["log10_drift_s"], c["read_noise"]]),
                     W.HBox([c["threshold_mismatch"], c["seed"]])])
    return _build(controls, compute, draw, layout)


# --------------------------------------------------------------------------- ANN-to-SNN conversion
def simulate_conversion(ann, x_calib: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *,
                        T: int = 8, threshold_scale: float = 1.0, p: float = 99.9,
                        v0: float = 0.0, norm: str = "percentile") -> dict:
    """Convert ``ann`` with the given knobs and evaluate the SNN on ``(x, y)`` for T steps.

    Returns ``dict(acc, ann_acc, rows, spikes, scales)``: SNN and ANN accuracy, the per-layer
    error decomposition of :func:`snnlab.conversion.errors`, the first hidden layer's spikes
    ``[T, B, n]`` and the normalisation factors used."""
    from . import conversion as C
    from .encoding import encode

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
    import matplotlib.pyplot as plt

    from .plot import conversion_errors, raster

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
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), constrained_layout=True)
        conversion_errors(r["rows"], ax=axes[0],
                          title=f"SNN {100 * r['acc']:.1f}% vs ANN {100 * r['ann_acc']:.1f}%")
        raster(r["spikes"], ax=axes[1], title="layer 1 spikes, sample 0")
        _show(fig)

    layout = W.VBox([W.HBox([controls["T"], controls["threshold_scale"]]),
                     W.HBox([controls["p"], controls["v0"]])])
    return _build(controls, compute, draw, layout)


# --------------------------------------------------------------------------- HTA-KL head/tail
def simulate_head_tail(teacher_logits: torch.Tensor, student_logits: torch.Tensor, *,
                       mu: float = 0.5, tau: float = 4.0, sample: int = 0) -> dict:
    """HTA-KL's pieces for one sample: teacher/student distributions at temperature ``tau``,
    the head mask for threshold ``mu``, the adaptive weights and both divergences.

    Returns ``dict(p, q, mask, w_head, w_tail, fkl, rkl, loss, n_head)`` (tensors for the sample,
    numbers for the scalars)."""
    from .rules.kd import hta_kl_divergence

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

    from .plot import head_tail

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
        _show(ax)

    return _build(controls, compute, draw)


# --------------------------------------------------------------------------- EICIL inhibition
def simulate_inhibition(model, x_seq: torch.Tensor, y: torch.Tensor, *, eta_i: float = 0.02,
                        a_plus: float = 1.0, a_minus: float = 1.5, steps: int = 20,
                        contraction: float = 0.5) -> dict:
    """Apply ``steps`` EICIL inhibitory updates (on this one batch) to a *copy* of ``model``;
    report firing rate, weight sparsity and batch accuracy before and after. ``model`` is not
    changed."""
    import copy

    from .rules.eicil import EICIL, weight_sparsity

    steps = check_int("steps", steps, low=0)
    rule = EICIL(eta_i=eta_i, a_plus=a_plus, a_minus=a_minus, contraction=contraction)
    net = copy.deepcopy(model)

    @torch.no_grad()
    def stats(m):
        rec = m.run(x_seq)
        rate = sum(float(s.mean()) for s in rec.spikes) / max(len(rec.spikes), 1)
        return rate, weight_sparsity(m), float((rec.logits.argmax(1) == y).float().mean())

    before = stats(net)
    for _ in range(steps):
        rule.inhibit(net, x_seq)
    after = stats(net)
    keys = ("firing_rate", "sparsity", "accuracy")
    return {**{k + "_before": v for k, v in zip(keys, before)},
            **{k + "_after": v for k, v in zip(keys, after)}}


def inhibition_dashboard(model, x_seq: torch.Tensor, y: torch.Tensor, *, eta_i: float = 0.02,
                         a_minus: float = 1.5, steps: int = 20) -> Dashboard:
    """Sliders for the inhibitory rate, the depression amplitude and the number of steps; bars
    of firing rate, sparsity and accuracy before and after (on a copy of the model)."""
    import ipywidgets as W

    from .plot import PALETTE, _axes, _label

    controls = {
        "eta_i": W.FloatLogSlider(value=eta_i, base=10, min=-3, max=-0.5, step=0.25,
                                  description="η_I", continuous_update=False),
        "a_minus": W.FloatSlider(value=a_minus, min=0.5, max=3.0, step=0.25, description="A₋",
                                 continuous_update=False),
        "steps": W.IntSlider(value=steps, min=0, max=60, step=5, description="steps",
                             continuous_update=False),
    }

    def compute(**kw):
        return simulate_inhibition(model, x_seq, y, **kw)

    def draw(r):
        ax = _axes()
        keys = ("firing_rate", "sparsity", "accuracy")
        x = torch.arange(3).numpy()
        ax.bar(x - 0.2, [r[k + "_before"] for k in keys], 0.4, color=PALETTE[0], label="before")
        ax.bar(x + 0.2, [r[k + "_after"] for k in keys], 0.4, color=PALETTE[1], label="after")
        ax.set_xticks(x, ["firing rate", "weight sparsity", "batch accuracy"])
        ax.legend(fontsize=8)
        _label(ax, "", "fraction", "One inhibitory phase on a copy of the network")
        _show(ax)

    return _build(controls, compute, draw)


# --------------------------------------------------------------------------- 10 OTTT trace
def simulate_ottt_trace(*, rate: float = 0.3, beta: float = 0.9, trace_decay: float = 0.9,
                        T: int = 40, seed: int = 0) -> dict:
    r"""One presynaptic Bernoulli spike train, OTTT's trace of it, and what the trace stands in
    for: the exact sensitivity of a LIF membrane (leak ``beta``, detached reset) to the weight,
    :math:`\partial u[t]/\partial w = \sum_{k\le t}\beta^{t-k}s[k]`.

    Returns ``dict(spikes, trace, sensitivity, rel_error)``; ``rel_error`` is 0 exactly when
    ``trace_decay == beta``."""
    rate = check_float("rate", rate, low=0.0, high=1.0)
    beta = check_float("beta", beta, low=0.0, high=1.0)
    trace_decay = check_float("trace_decay", trace_decay, low=0.0, high=1.0)
    T = check_int("T", T, low=1)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    s = (torch.rand(T, generator=g, dtype=torch.float64) < rate).double()
    trace = F.leaky_integrate_reference(s, trace_decay)
    sens = F.leaky_integrate_reference(s, beta)
    err = float((trace - sens).norm() / sens.norm().clamp(min=1e-12))
    return {"spikes": s, "trace": trace, "sensitivity": sens, "rel_error": err}


def ottt_trace_dashboard(**start) -> Dashboard:
    """Sliders for the input rate, the membrane leak and the trace decay."""
    import ipywidgets as W

    from .plot import PALETTE, _axes, _label

    r0 = simulate_ottt_trace(**start)
    controls = {
        "rate": W.FloatSlider(value=start.get("rate", 0.3), min=0.0, max=1.0, step=0.05,
                              description="input rate", continuous_update=False),
        "beta": W.FloatSlider(value=start.get("beta", 0.9), min=0.0, max=1.0, step=0.05,
                              description="membrane β", continuous_update=False),
        "trace_decay": W.FloatSlider(value=start.get("trace_decay", 0.9), min=0.0, max=1.0,
                                     step=0.05, description="trace λ", continuous_update=False),
    }
    T = len(r0["spikes"])

    def draw(r):
        ax = _axes(figsize=(7.0, 3.2))
        t = torch.arange(T).numpy()
        ax.vlines(t[r["spikes"].numpy() > 0], 0, 0.4, color=PALETTE[7], lw=1.5, label="spikes")
        ax.plot(t, r["sensitivity"].numpy(), color=PALETTE[0], lw=2, label="∂u/∂w (BPTT)")
        ax.plot(t, r["trace"].numpy(), "--", color=PALETTE[1], lw=2, label="trace â (OTTT)")
        ax.legend(fontsize=8)
        _label(ax, "time step", "value", f"relative error of the trace {r['rel_error']:.2f}")
        _show(ax)

    return _build(controls, lambda **kw: simulate_ottt_trace(T=T, **kw), draw)


# --------------------------------------------------------------------------- 11 TSSL neuron
def simulate_tssl_neuron(*, current: float = 0.5, tau_m: float = 5.0, tau_s: float = 3.0,
                         T: int = 12, pattern: str = "alternate") -> dict:
    r"""One PSP neuron of TSSL-BP driven by a constant current, trained towards a target spike
    train (``pattern``: ``"alternate"`` [0,1,0,1...], ``"late"`` only the last third,
    ``"silent"``). Returns its membrane, spikes, PSP, the target PSP and the gradient of the
    kernel loss with respect to the input current at every step, split into the TSSL-BP parts:
    ``grads`` maps ``inter`` (spike times only), ``inter+intra`` (plus the reset dependency),
    ``fallback`` (the sigmoid surrogate where the PSP is low) and ``all``."""
    from .rules.tssl import psp, tssl_spikes

    current = check_float("current", current, low=0.0)
    tau_m = check_float("tau_m", tau_m, low=1.0, low_open=True)
    tau_s = check_float("tau_s", tau_s, low=1.0, low_open=True)
    T = check_int("T", T, low=2)
    pattern = check_choice("pattern", pattern, ("alternate", "late", "silent"))
    if pattern == "alternate":
        target = torch.tensor([t % 2 for t in range(T)], dtype=torch.float64)
    elif pattern == "late":
        target = (torch.arange(T) >= 2 * T // 3).double()
    else:
        target = torch.zeros(T, dtype=torch.float64)
    target_psp = psp(target[:, None], tau_s)[:, 0]
    parts = {"inter": dict(intra=False, fallback=False),
             "inter+intra": dict(fallback=False),
             "fallback": dict(inter=False, intra=False),
             "all": {}}
    grads = {}
    for name, kw in parts.items():
        c = torch.full((T, 1), current, dtype=torch.float64, requires_grad=True)
        s = tssl_spikes(c, tau_m=tau_m, tau_s=tau_s, **kw)
        a = psp(s, tau_s)[:, 0]
        loss = 0.5 * ((a - target_psp) ** 2).sum()
        (grads[name],) = torch.autograd.grad(loss, c)
        grads[name] = grads[name][:, 0]
    beta = 1 - 1 / tau_m
    u, v = [], 0.0
    for _ in range(T):
        u_t = beta * v + current
        u.append(u_t)
        v = 0.0 if u_t > 1.0 else u_t
    return {"u": torch.tensor(u, dtype=torch.float64), "spikes": s.detach()[:, 0],
            "psp": a.detach(), "target_psp": target_psp, "target": target,
            "loss": float(loss.detach()), "grads": grads}


def tssl_neuron_dashboard(**start) -> Dashboard:
    """Sliders for the current and the time constants; bars of the gradient per step."""
    import ipywidgets as W

    from .plot import PALETTE, _label

    controls = {
        "current": W.FloatSlider(value=start.get("current", 0.5), min=0.0, max=1.5, step=0.02,
                                 description="current", continuous_update=False),
        "tau_m": W.FloatSlider(value=start.get("tau_m", 5.0), min=1.5, max=20.0, step=0.5,
                               description="τ_m", continuous_update=False),
        "pattern": W.Dropdown(options=["alternate", "late", "silent"],
                              value=start.get("pattern", "alternate"), description="target"),
    }

    def draw(r):
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11.0, 3.2))
        t = torch.arange(len(r["u"])).numpy()
        axes[0].plot(t, r["psp"].numpy(), color=PALETTE[0], lw=2, label="PSP a[t]")
        axes[0].plot(t, r["target_psp"].numpy(), "--", color=PALETTE[1], lw=2, label="target")
        axes[0].vlines(t[r["spikes"].numpy() > 0], 0, 0.1, color=PALETTE[7], lw=2,
                       label="spikes")
        axes[0].legend(fontsize=8)
        _label(axes[0], "time step", "PSP", f"kernel loss {r['loss']:.3f}")
        width = 0.2
        for i, (name, g) in enumerate(r["grads"].items()):
            axes[1].bar(t + (i - 1.5) * width, g.numpy(), width, color=PALETTE[i], label=name)
        axes[1].axhline(0, color="k", lw=0.5)
        axes[1].legend(fontsize=8)
        _label(axes[1], "time step", "∂L/∂current", "TSSL-BP gradient by part")
        fig.tight_layout()
        _show(fig)

    return _build(controls, lambda **kw: simulate_tssl_neuron(T=start.get("T", 12), **kw), draw)


# --------------------------------------------------------------------------- 12 rate-based BP
def simulate_rate_sensitivity(*, current: float = 0.3, beta: float = 0.9, T: int = 16,
                              surrogate: str = "fast_sigmoid", h: float = 0.2) -> dict:
    r"""One LIF neuron (soft, detached reset) driven by a constant current: its rate, the
    rate-based BP eligibility :math:`e = \frac1T\sum_t\sigma'(u[t]-\vartheta)\kappa[t]` that
    stands in for :math:`\partial r/\partial c`, and the slope of the *true* rate-current curve
    by a finite difference of width ``h`` (the rate is a staircase in c; e approximates its
    smoothed slope). Also returns the rate-current curve on a grid for plotting."""
    from . import neurons as N
    from .rules.rate_bp import eligibility

    current = check_float("current", current)
    beta = check_float("beta", beta, low=0.0, high=1.0, low_open=True)
    T = check_int("T", T, low=1)
    h = check_float("h", h, low=0.0, low_open=True)
    neuron = N.LIF(beta=beta, surrogate=surrogate)

    def run(c):
        c = torch.as_tensor(c, dtype=torch.float64).reshape(1, -1)
        return F.lif_sequence_reference(c.expand(T, *c.shape[1:]), beta=beta,
                                        surrogate=neuron.surrogate)

    s, u = run(current)
    e = float(eligibility(neuron, u, s))
    grid = torch.linspace(0.0, 1.5, 301, dtype=torch.float64)
    sg, _ = run(grid)
    rates = sg.mean(0)
    fd = float((run(current + h)[0].mean() - run(current - h)[0].mean()) / (2 * h))
    return {"u": u[:, 0], "spikes": s[:, 0], "rate": float(s.mean()), "eligibility": e,
            "fd_slope": fd, "grid": grid, "rates": rates}


def rate_sensitivity_dashboard(**start) -> Dashboard:
    """Sliders for the current, the leak and T: the rate staircase with e's tangent."""
    import ipywidgets as W

    from .plot import PALETTE, _axes, _label

    controls = {
        "current": W.FloatSlider(value=start.get("current", 0.3), min=0.0, max=1.5, step=0.01,
                                 description="current c", continuous_update=False),
        "beta": W.FloatSlider(value=start.get("beta", 0.9), min=0.05, max=1.0, step=0.05,
                              description="leak β", continuous_update=False),
        "T": W.IntSlider(value=start.get("T", 16), min=2, max=64, description="T",
                         continuous_update=False),
    }

    def draw(r):
        ax = _axes(figsize=(6.5, 3.4))
        ax.plot(r["grid"].numpy(), r["rates"].numpy(), color=PALETTE[0], lw=2,
                label="rate r(c) of the spike pass")
        c = float(controls["current"].value)
        xs = torch.tensor([c - 0.2, c + 0.2])
        ax.plot(xs.numpy(), (r["rate"] + r["eligibility"] * (xs - c)).numpy(), "--",
                color=PALETTE[1], lw=2, label="slope e used by rate BP")
        ax.plot([c], [r["rate"]], "o", color=PALETTE[1])
        ax.legend(fontsize=8)
        _label(ax, "constant input current c", "rate",
               f"e = {r['eligibility']:.2f}, finite-difference slope {r['fd_slope']:.2f}")
        _show(ax)

    return _build(controls, lambda **kw: simulate_rate_sensitivity(**kw), draw)


__all__ += ["simulate_ottt_trace", "ottt_trace_dashboard", "simulate_tssl_neuron",
            "tssl_neuron_dashboard", "simulate_rate_sensitivity", "rate_sensitivity_dashboard"]


# --------------------------------------------------------------------------- 16 NIR readers
def nir_readings_dashboard(**start) -> Dashboard:
    """Sliders for beta and the input current: one exported LIF neuron as three NIR readers run
    it (forward Euler, exact exponential, Norse ignoring R); the pure update is
    :func:`snnlab.export.simulate_readings`."""
    import ipywidgets as W

    from .export import simulate_readings
    from .plot import _axes, _label

    controls = {
        "beta": W.FloatSlider(value=start.get("beta", 0.9), min=0.5, max=0.98, step=0.01,
                              description="β", continuous_update=False),
        "current": W.FloatSlider(value=start.get("current", 0.3), min=0.0, max=2.0, step=0.02,
                                 description="input I", continuous_update=False),
    }

    def draw(r):
        ax = _axes(figsize=(7.0, 3.2))
        for name, rd in r["readers"].items():
            ax.plot(rd["membrane"].numpy(), lw=1.8,
                    label=f"{name}: {int(rd['spikes'].sum())} spikes")
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.legend(fontsize=8)
        p = r["params"]
        _label(ax, "time step", "membrane u",
               f"tau = {p['tau'] * 1e3:.3g} ms, R = {p['r']:.3g} (dt = 0.1 ms)")
        _show(ax)

    return _build(controls, lambda **kw: simulate_readings(**kw), draw)


# --------------------------------------------------------------------------- 15 capstone
def simulate_rule_comparison(rows, *, x: str = "energy_nj_per_sample", y: str = "test_acc",
                             log_x: bool = False) -> dict:
    """Pure update of :func:`rule_comparison_dashboard`: the ``x`` and ``y`` columns of a rule
    comparison (``Comparison`` or its ``rows``), the rules on the Pareto front for that pair of
    metrics (better = the direction :data:`snnlab.plot.RULE_METRICS` gives) and the best rule on
    each axis."""
    from .compare import pareto_optimal
    from .plot import RULE_METRICS

    rows = list(getattr(rows, "rows", rows))
    if not rows:
        raise ValueError("rows must hold at least one rule")
    check_choice("x", x, tuple(RULE_METRICS))
    check_choice("y", y, tuple(RULE_METRICS))
    xs = [float(r[x]) for r in rows]
    ys = [float(r[y]) for r in rows]
    names = [str(r["rule"]) for r in rows]
    sx = -1.0 if RULE_METRICS[x][1] else 1.0  # pareto_optimal minimises cost ...
    sy = 1.0 if RULE_METRICS[y][1] else -1.0  # ... and maximises score
    keyed = [dict(rule=n, c=sx * a, s=sy * b) for n, a, b in zip(names, xs, ys)]
    best_x = names[min(range(len(rows)), key=lambda i: sx * xs[i])]
    best_y = names[max(range(len(rows)), key=lambda i: sy * ys[i])]
    return dict(rules=names, x=xs, y=ys, x_metric=x, y_metric=y, log_x=bool(log_x),
                pareto=pareto_optimal(keyed, cost="c", score="s"), best_x=best_x,
                best_y=best_y)


def rule_comparison_dashboard(comparison, **start) -> Dashboard:
    """Two menus pick the metrics on the axes of the rule-comparison scatter (and a log-x box);
    the pure update is :func:`simulate_rule_comparison`, the plot
    :func:`snnlab.plot.rule_comparison`."""
    import ipywidgets as W

    from .plot import RULE_METRICS, rule_comparison

    rows = list(getattr(comparison, "rows", comparison))
    options = [(label, key) for key, (label, _) in RULE_METRICS.items()]
    controls = {
        "x": W.Dropdown(options=options, value=start.get("x", "energy_nj_per_sample"),
                        description="x axis"),
        "y": W.Dropdown(options=options, value=start.get("y", "test_acc"),
                        description="y axis"),
        "log_x": W.Checkbox(value=start.get("log_x", False), description="log x"),
    }

    def draw(r):
        ax = rule_comparison(rows, x=r["x_metric"], y=r["y_metric"], log_x=r["log_x"])
        print(f"Pareto front: {', '.join(r['pareto'])}; best on x: {r['best_x']}, "
              f"best on y: {r['best_y']}")
        _show(ax)

    return _build(controls, lambda **kw: simulate_rule_comparison(rows, **kw), draw)


__all__ += ["simulate_rule_comparison", "rule_comparison_dashboard"]

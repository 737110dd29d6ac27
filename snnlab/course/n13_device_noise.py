"""Notebook 13: device noise and calibration.

The simulate functions, dashboards and exercise checkers of
``notebooks/13_device_noise_and_calibration.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import plot
from .._checks import check_float, check_int
from ..hardware import Crossbar, NoiseModel, chip_view
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
    seed_stats,
    unanswered,
    uniform,
    where,
)

__all__ = ["simulate_chip", "chip_dashboard", "check_quantise", "check_read_noise_std",
           "check_prediction_worst_nonideality", "check_recovered_share"]


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
        plot.show(plot.chip_view(r["view"]))

    c = controls
    layout = W.VBox([W.HBox([c["sigma"], c["variation"], c["bits"]]),
                     W.HBox([c["stuck"], c["log10_drift_s"], c["read_noise"]]),
                     W.HBox([c["threshold_mismatch"], c["seed"]])])
    return build(controls, compute, draw, layout)


def _ref_quantise(g, bits, g_min, g_max):
    xbar = Crossbar(torch.ones(1), NoiseModel(bits=int(bits), g_min=g_min, g_max=g_max),
                    torch.Generator())
    return xbar.quantise(torch.as_tensor(g))


@checker("quantise",
         idea="split the conductance range into evenly spaced levels, as many as the bits can "
              "count (the ends g_min and g_max are levels too), and move every conductance to "
              "the level nearest to it",
         equation="delta = (g_max - g_min)/(2^bits - 1); g_q = g_min + round((g - g_min)/delta)"
                  "·delta",
         code="delta = (g_max - g_min) / (2 ** bits - 1)\n"
              "return g_min + torch.round((g - g_min) / delta) * delta",
         reference=_ref_quantise)
def check_quantise(quantise: Callable) -> bool:
    """Your ``quantise(g, bits, g_min, g_max)`` rounds conductances to the nearest of the
    ``2**bits`` evenly spaced levels in ``[g_min, g_max]`` (eq. 2 of :mod:`snnlab.hardware`)."""
    name = "quantise"
    need_callable("check_quantise", quantise)
    gen = torch.Generator().manual_seed(1301)
    cases = [(1, 0.0, 1.0), (2, 0.1, 1.0)] + [
        (randint(gen, 1, 6), uniform(gen, 0.0, 0.4), uniform(gen, 0.5, 3.0)) for _ in range(6)]
    for i, (bits, g_min, g_max) in enumerate(cases):
        dtype = torch.float32 if i % 2 else torch.float64
        g = g_min + (g_max - g_min) * torch.rand(randint(gen, 50, 200), generator=gen,
                                                 dtype=dtype)
        delta = (g_max - g_min) / (2 ** bits - 1)  # keep away from the midpoints between levels
        frac = ((g - g_min) / delta) % 1
        g = torch.where((frac - 0.5).abs() < 0.01, g + 0.03 * delta, g).clamp(g_min, g_max)
        want = _ref_quantise(g, bits, g_min, g_max)
        case = where(dict(bits=bits, g_min=g_min, g_max=g_max))
        got = answer_tensor(call(quantise, g.clone(), bits, g_min, g_max), g.shape)
        if close(got, want, atol=1e-5):
            continue
        n_levels = int(got.unique().numel())
        return failed(name, f"wrong levels for {case} ({n_levels} distinct values, "
                      f"{int(want.unique().numel())} expected)")
    return passed(name, "at most 2**bits levels, nearest level chosen")


def _ref_read_noise_std(x, g_pos, g_neg, sigma_r, scale):
    x, g_pos, g_neg = (torch.as_tensor(t) for t in (x, g_pos, g_neg))
    return sigma_r * scale * torch.sqrt((x * x) @ (g_pos ** 2 + g_neg ** 2).T)


@checker("read_noise_std",
         idea="every device's read error is independent of the others, so the spreads of an "
              "output current do not add up; their squares (variances) do, each scaled by the "
              "input it multiplies, squared",
         equation="std_j = sigma_r·scale·sqrt(Σ_i x_i²·(G+_ji² + G-_ji²))",
         code="return sigma_r * scale * torch.sqrt((x * x) @ (g_pos ** 2 + g_neg ** 2).T)",
         reference=_ref_read_noise_std)
def check_read_noise_std(read_noise_std: Callable) -> bool:
    """Your ``read_noise_std(x, g_pos, g_neg, sigma_r, scale)`` gives the standard deviation of
    each output current when every device reads ``G (1 + sigma_r * xi)`` independently
    (eq. 7 of :mod:`snnlab.hardware`): ``x [B, n_in]``, ``g_pos, g_neg [n_out, n_in]``."""
    name = "read_noise_std"
    need_callable("check_read_noise_std", read_noise_std)
    gen = torch.Generator().manual_seed(1302)
    for i in range(6):
        dtype = torch.float32 if i % 2 else torch.float64
        B, n_in, n_out = randint(gen, 1, 5), randint(gen, 1, 8), randint(gen, 1, 6)
        x = torch.rand(B, n_in, generator=gen, dtype=dtype) - (0.3 if i > 2 else 0.0)
        g_pos = torch.rand(n_out, n_in, generator=gen, dtype=dtype)
        g_neg = torch.rand(n_out, n_in, generator=gen, dtype=dtype)
        sigma_r, scale = uniform(gen, 0.01, 0.5), uniform(gen, 0.1, 3.0)
        want = _ref_read_noise_std(x, g_pos, g_neg, sigma_r, scale)
        got = answer_tensor(call(read_noise_std, x.clone(), g_pos.clone(), g_neg.clone(),
                                 sigma_r, scale), (B, n_out), "the std [B, n_out]")
        if close(got, want, rtol=1e-4, atol=1e-7):
            continue
        if close(got, want ** 2, rtol=1e-4, atol=1e-9):
            return failed(name, "you returned the variance, not the standard deviation")
        if close(got, sigma_r * scale * (x.abs() @ (g_pos + g_neg).T).double(), rtol=1e-4):
            return failed(name, "you added standard deviations; independent errors add "
                          "variances")
        if close(got, want / scale, rtol=1e-4) or close(got, want / sigma_r, rtol=1e-4):
            return failed(name, "a factor is missing: both sigma_r and scale multiply the "
                          "spread")
        return failed(name, "the values differ from the reference")
    return passed(name, "variances of independent device reads add up")


# =========================================================================== predict, interpret
def _per_value(sweep) -> list[tuple]:
    """``[(value, [accuracy per chip]), ...]`` of one sweep: a :class:`SweepResult` or a dict
    ``{value: [accuracy per chip]}``."""
    if hasattr(sweep, "values") and hasattr(sweep, "before") and not isinstance(sweep, dict):
        return [(v, [float(a) for a in accs]) for v, accs in zip(sweep.values, sweep.before)]
    if isinstance(sweep, dict) and sweep:
        return [(v, [float(a) for a in torch.as_tensor(accs, dtype=torch.float64).reshape(-1)])
                for v, accs in sweep.items()]
    raise TypeError("a sweep must be a hardware.SweepResult or {value: [accuracy per chip]}")


def _worst_settings(checker_name: str, sweeps) -> dict[str, tuple[float, float, object]]:
    """``{param: (mean, std, value)}`` at each sweep's harshest value (its lowest mean
    accuracy over chips), from the notebook's ``sweeps`` ({param: sweep})."""
    if not isinstance(sweeps, dict) or len(sweeps) < 2:
        raise TypeError(f"{checker_name} expects the notebook's sweeps dict {{noise parameter: "
                        "hardware.SweepResult}} with two parameters or more")
    out = {}
    for param, sweep in sweeps.items():
        try:
            rows = [(v, *seed_stats(accs)) for v, accs in _per_value(sweep) if accs]
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{checker_name}: the sweep of {param!r} is not a "
                            "hardware.SweepResult or {value: [accuracy per chip]}") from None
        if not rows:
            raise TypeError(f"{checker_name}: the sweep of {param!r} is empty")
        v, m, sd = min(rows, key=lambda r: r[1])
        out[str(param)] = (m, sd, v)
    return out


@checker("prediction_worst_nonideality",
         idea="which flaw changes the weights a layer sums most, and systematically (the same "
              "way for many devices), rather than a little and at random?",
         equation="for each parameter, the lowest mean accuracy over chips anywhere in its sweep "
                  "(its harshest value); the worst is the parameter with the lowest of these",
         code='my_prediction = "drift_time"  # or "bits", "stuck_on", "threshold_mismatch"')
def check_prediction_worst_nonideality(my_prediction, sweeps) -> bool:
    """Predict-then-observe: which non-ideality of the robustness sweep costs the most accuracy
    at the harshest value of its sweep (mean over chips)? Any honest answer passes; a guess
    within the chips' spread of the worst counts as right. The measurement is printed."""
    name = "prediction_worst_nonideality"
    worst = _worst_settings("check_prediction_worst_nonideality", sweeps)
    if unanswered(my_prediction):
        return failed(name, f"no prediction yet: write one of {list(worst)}")
    guess = need_choice(my_prediction, list(worst))
    measured = min(worst, key=lambda k: worst[k][0])
    m_best, sd_best, _ = worst[measured]
    m_g, sd_g, _ = worst[guess]
    right = m_g <= m_best + max(sd_best + sd_g, 0.005)
    why = ("harshest setting of each sweep: " + ", ".join(
        f"{k} = {v:g} {100 * m:.1f} ± {100 * sd:.1f}%" for k, (m, sd, v) in worst.items())
        + "; flaws that shift many weights the same way do not average out over the inputs")
    return predicted(name, guess, measured, right, why)


_ONLINE = "online LTL"


def _calibration(checker_name: str, calib, clean) -> tuple[float, float, dict]:
    """``(share, lost, {label: share})``: the percentage of the lost accuracy that each method
    won back, from mean accuracies over chips, and the points online LTL's chips lost."""
    ok = isinstance(calib, dict) and _ONLINE in calib
    shares = {}
    try:
        clean = float(clean)
        for label, rows in (calib.items() if ok else ()):
            t = torch.as_tensor(rows, dtype=torch.float64)
            if t.ndim != 2 or t.shape[1] != 2 or t.shape[0] == 0:
                ok = False
                break
            before, after = float(t[:, 0].mean()), float(t[:, 1].mean())
            shares[label] = (before, after)
    except (TypeError, ValueError, RuntimeError):
        ok = False
    if not ok:
        raise TypeError(f"{checker_name} expects the notebook's calib dict {{method: [(accuracy "
                        "before, accuracy after) per chip]}} with 'online LTL', and clean (the "
                        "ideal network's accuracy)")
    lost = clean - shares[_ONLINE][0]
    out = {k: (100 * (a - b) / (clean - b) if clean - b > 0 else float("nan"))
           for k, (b, a) in shares.items()}
    return out[_ONLINE], lost, out


@checker("recovered_share",
         idea="the chips start some points below the ideal network; calibration wins some of "
              "them back. Compare what was won back with what was lost, using the means over "
              "the chips",
         equation="100 * (mean after - mean before) / (clean - mean before), for online LTL",
         code="b = sum(r[0] for r in calib['online LTL']) / len(calib['online LTL'])\n"
              "a = sum(r[1] for r in calib['online LTL']) / len(calib['online LTL'])\n"
              "answer = 100 * (a - b) / (clean - b)")
def check_recovered_share(answer, calib, clean) -> bool:
    """Interpret: what percentage of the accuracy its chips had lost did one epoch of online
    LTL win back, from the means over chips of the learner's own run (within two points)?"""
    name = "recovered_share"
    share, lost, shares = _calibration("check_recovered_share", calib, clean)
    if lost <= 0:
        raise TypeError("check_recovered_share: these chips lost no accuracy, so there is "
                        "nothing to recover; use a harsher noise model")
    if unanswered(answer):
        return failed(name, "no answer yet: write the share won back, in percent")
    got = need_number("check_recovered_share", answer)
    if abs(got - share) <= 2.0:
        return passed(name, f"{share:.0f}% of the {100 * lost:.1f} points lost")
    if abs(100 * got - share) <= 2.0:
        return failed(name, f"{got:g} looks like a fraction; give a percentage")
    if abs(got - share * lost) <= 0.3:
        return failed(name, "that is the points won back; the question asks for their share "
                      "of the points lost")
    for label, other in shares.items():
        if label != _ONLINE and abs(got - other) <= 2.0 and abs(other - share) > 2.0:
            return failed(name, f"that is {label}'s share; the question asks about online LTL")
    return failed(name, f"{got:g}% is not the share online LTL won back in your run")

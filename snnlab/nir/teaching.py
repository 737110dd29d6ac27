"""Helpers for notebook 16 (deploy with NIR): the NIR parameters of one snnlab LIF, and one
exported LIF neuron as different readers of the file would run it."""

from __future__ import annotations

import math

import torch

from .. import functional as F
from .. import surrogate as S
from .._checks import check_float, check_int
from .graph import DEFAULT_DT

__all__ = ["nir_lif_parameters", "simulate_readings"]


def nir_lif_parameters(beta: float, dt: float = DEFAULT_DT) -> dict:
    """The NIR ``LIF`` parameters of an snnlab ``LIF(beta)`` at time step ``dt`` (forward Euler):
    ``tau = dt / (1 - beta)``, ``r = tau / dt = 1 / (1 - beta)``; and, for comparison, the decay
    a reader that integrates exactly (``exp(-dt/tau)``) would use."""
    beta = check_float("beta", beta, low=0.0, high=1.0, high_open=True)
    dt = check_float("dt", dt, low=0.0, low_open=True)
    tau = dt / (1.0 - beta)
    return {"tau": tau, "r": tau / dt, "gain": 1.0, "beta_euler": 1.0 - dt / tau,
            "beta_exact": math.exp(-dt / tau)}


def simulate_readings(*, beta: float = 0.9, current: float = 0.3, T: int = 40,
                      threshold: float = 1.0, dt: float = DEFAULT_DT) -> dict:
    """One exported LIF neuron with a constant input, run as the file says by a forward-Euler
    reader (snnlab, snnTorch: ``v += dt/tau (R I - v)``), by an exact-exponential reader
    (``v = e^{-dt/tau} v + (1 - e^{-dt/tau}) R I``) and by Norse (which ignores ``R``).
    Returns the parameters and per reader the membrane ``[T]`` (before reset) and spikes.

    Every reader is snnlab's own LIF loop (:func:`snnlab.functional.lif_sequence`, reset to
    zero as NIR's ``v_reset = 0``) with that reader's decay and input gain, run in float64 and
    returned in float32."""
    p = nir_lif_parameters(beta, dt)
    current = check_float("current", current)
    T = check_int("T", T, low=1)
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    readers = {"forward Euler (snnlab, snnTorch)": (p["beta_euler"], 1.0),
               "exact exponential": (p["beta_exact"], (1 - p["beta_exact"]) * p["r"]),
               "Norse (ignores R)": (p["beta_euler"], 1.0 - p["beta_euler"])}
    out = {"params": p, "readers": {}}
    for name, (b, gain) in readers.items():
        drive = torch.full((T, 1), gain * current, dtype=torch.float64)
        s, u = F.lif_sequence(drive, beta=b, threshold=threshold, reset_mode="zero",
                              surrogate=S.get("fast_sigmoid"))
        out["readers"][name] = {"membrane": u[:, 0].float(), "spikes": s[:, 0].float()}
    return out

"""DA-LIF (learnable spatial and temporal decays) against LIF (Zhang, Yu et al. 2025)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["DALIF_VS_LIF"]

TASK = "mnist1d"


def measure(seed: int, b: Budget) -> dict:
    out = {}
    for neuron in ("dalif", "lif"):
        r = RN.fit("bptt", TASK, b, seed, model_kw={"neuron": neuron})
        out[f"acc_{neuron}"], out[f"spikes_{neuron}"] = r["acc"], r["spikes"]
    return out


DALIF_VS_LIF = register(Claim(
    id="dalif-vs-lif",
    rules=("bptt",),
    paper="Zhang, Yu, Zhang & Wang, 'DA-LIF: Dual adaptive leaky integrate-and-fire model for "
          "deep spiking neural networks', ICASSP 2025 (arXiv 2502.10422)",
    statement=("Independently learnable spatial and temporal decays (DA-LIF) give better "
               "accuracy than the standard LIF with fewer time steps, at minimal extra "
               "parameters."),
    task="MNIST-1D (standardised), direct input, MLP 40-128-128-10 trained with BPTT",
    regime="few time steps: T = 2",
    baseline="the same network with LIF neurons (fixed decay), same budget and seed",
    checks=(Check("accuracy: DA-LIF - LIF", "acc_dalif", Verdict(0.0), "acc_lif"),),
    measure=measure,
    budget=Budget(epochs=30, T=2, hidden=(128, 128)),
    fast=Budget(epochs=1, T=2, hidden=(16,), n_train=200, n_test=200),
    estimate_minutes=2.0,
    reported=("better accuracy than LIF with fewer time steps on CIFAR-10/100, ImageNet and "
              "DVS data (abstract; the paper's tables could not be read)"),
))

"""Tandem learning at very few time steps against its ANN (Wu et al. 2021)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["TANDEM_LOW_T"]

TASK = "mnist1d"


def measure(seed: int, b: Budget) -> dict:
    out = {"acc_ann": RN.ann(TASK, b, seed)["acc"]}
    for T in b.opt("Ts", (2, 4)):
        r = RN.fit("tandem", TASK, b, seed, T=T)
        out[f"acc_tandem_T{T}"], out[f"spikes_tandem_T{T}"] = r["acc"], r["spikes"]
    return out


TANDEM_LOW_T = register(Claim(
    id="tandem-low-T",
    rules=("tandem",),
    paper="Wu, Chua, Zhang, Li, Li & Tan, 'A tandem learning rule for effective training and "
          "rapid inference of deep spiking neural networks', IEEE TNNLS 2021",
    statement=("Coupling an SNN (spike counts forward) with a weight-sharing ANN (gradients "
               "backward) trains SNNs that reach the ANN's accuracy with very short windows, "
               "for rapid inference."),
    task="MNIST-1D (standardised), constant-current input, IF neurons, MLP 40-128-128-10",
    regime="few time steps: T = 2 and T = 4",
    baseline="a ReLU ANN of the same architecture and epochs",
    checks=(
        Check("accuracy: tandem at T=2 - ANN", "acc_tandem_T2", Verdict(-1.0), "acc_ann"),
        Check("accuracy: tandem at T=4 - ANN", "acc_tandem_T4", Verdict(-1.0), "acc_ann"),
    ),
    measure=measure,
    budget=Budget(epochs=30, T=4, hidden=(128, 128), options=(("Ts", (2, 4)),)),
    fast=Budget(epochs=1, T=4, hidden=(16,), n_train=200, n_test=200,
                options=(("Ts", (2, 4)),)),
    estimate_minutes=1.0,
    reported=('CIFAR-10 CifarNet about 90-91 % with a window of about 8 (shared notes, '
              'unverified)'),
))

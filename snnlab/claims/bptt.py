"""BPTT with a surrogate gradient against an ANN of the same size (Neftci, Mostafa & Zenke 2019)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["BPTT_VS_ANN"]

TASK = "mnist1d"


def measure(seed: int, b: Budget) -> dict:
    snn = RN.fit("bptt", TASK, b, seed)
    ann = RN.ann(TASK, b, seed)
    return {"acc_bptt": snn["acc"], "acc_ann": ann["acc"], "spikes_bptt": snn["spikes"]}


BPTT_VS_ANN = register(Claim(
    id="bptt-vs-ann",
    rules=("bptt",),
    paper="Neftci, Mostafa & Zenke, IEEE Signal Processing Magazine 36(6), 2019",
    statement=("Surrogate gradients let a spiking network be trained end to end with "
               "back-propagation through time, to accuracies comparable to a conventional ANN "
               "(paraphrase of the review's thesis; it states no single number)."),
    task="MNIST-1D (standardised features, 4000/1000), direct (constant-current) input",
    regime="a task a small MLP does not saturate (MNIST-1D, unlike digits), moderate T = 8",
    baseline="a ReLU ANN of the same architecture and epochs (snnlab.teacher.train_teacher)",
    checks=(Check("accuracy: BPTT SNN - ANN", "acc_bptt", Verdict(-2.0), "acc_ann"),),
    measure=measure,
    budget=Budget(epochs=30, T=8, hidden=(128, 128)),
    fast=Budget(epochs=1, T=4, hidden=(16,), n_train=200, n_test=200),
    estimate_minutes=1.0,
    notes="Margin -2 points: 'comparable' read as no worse than 2 points below the ANN.",
    reported=('no single number (the thesis of a review)'),
))

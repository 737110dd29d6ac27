"""The stand-in for EICIL (Shao et al. 2023), ``bptt_stdp_cycles``, against BPTT.

EICIL's mechanism could not be recovered from the paper text available (its abstract puts the
excitatory and inhibitory behaviours in the neuron model); the rule measured here is snnlab's
stand-in, BPTT epochs alternating with label-free depression-biased STDP, registered under a
descriptive name. The claim is the paper's; the verdict is about the stand-in only."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["EICIL_VS_BPTT"]

TASK = "mnist1d"


def measure(seed: int, b: Budget) -> dict:
    e = RN.fit("bptt_stdp_cycles", TASK, b, seed)
    p = RN.fit("bptt", TASK, b, seed)
    return {"acc_eicil": e["acc"], "acc_bptt": p["acc"], "spikes_eicil": e["spikes"],
            "spikes_bptt": p["spikes"]}


EICIL_VS_BPTT = register(Claim(
    id="stdp-cycles-vs-bptt",
    rules=("bptt_stdp_cycles",),
    paper="Shao, Fang, Li, Feng, Shen & Xu, 'EICIL: Joint excitatory inhibitory cycle iteration "
          "learning for deep spiking neural networks', NeurIPS 2023",
    statement=("Integrating excitatory and inhibitory behaviour in one training framework "
               "outperforms traditional training (here: surrogate-gradient BPTT alone)."),
    task="MNIST-1D (standardised), direct input, LIF MLP 40-128-10, T = 8",
    regime="cycles of 3 epochs (2 excitatory/BPTT, 1 inhibitory/STDP-like), 30 epochs",
    baseline="BPTT alone, same network, budget and seed",
    checks=(Check("accuracy: stand-in - BPTT", "acc_eicil", Verdict(0.0), "acc_bptt"),),
    measure=measure,
    budget=Budget(epochs=30, T=8, hidden=(128,)),
    fast=Budget(epochs=3, T=4, hidden=(16,), n_train=200, n_test=200),
    estimate_minutes=2.0,
    notes="measured on the stand-in bptt_stdp_cycles, not on EICIL (whose mechanism is not "
          "recoverable from the available text); a verdict here says nothing about EICIL itself.",
    reported=("'outperforms traditional methods on CIFAR10 and CIFAR100' (abstract, no "
              'number); the rule tested is a stand-in'),
))

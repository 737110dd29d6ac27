"""Online training through time: memory flat in T, accuracy close to BPTT (Xiao et al. 2022)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["OTTT_MEMORY", "OTTT_ACCURACY"]

PAPER = ("Xiao, Meng, Zhang, Wang & Lin, 'Online training through time for spiking neural "
         "networks', NeurIPS 2022")


def measure_memory(seed: int, b: Budget) -> dict:
    lo, hi = b.opt("Ts", (4, 32))
    out = {}
    for rule in ("ottt", "ottt_o", "bptt"):
        m = {T: RN.step_bytes(rule, "digits", b, seed, T) for T in (lo, hi)}
        out[f"growth_{rule}"] = m[hi] / m[lo]
        out[f"bytes_{rule}_T{hi}"] = m[hi]
    return out


def measure_accuracy(seed: int, b: Budget) -> dict:
    out = {}
    for rule in ("ottt", "ottt_o", "bptt"):
        r = RN.fit(rule, "mnist1d", b, seed)
        out[f"acc_{rule}"], out[f"spikes_{rule}"] = r["acc"], r["spikes"]
    return out


OTTT_MEMORY = register(Claim(
    id="ottt-memory",
    rules=("ottt", "ottt_o"),
    paper=PAPER,
    statement=("OTTT keeps presynaptic traces and back-propagates each step through space only, "
               "so its training memory is constant in the number of time steps, while BPTT's "
               "grows linearly."),
    task="sklearn digits, one training step, batch 64, LIF MLP 64-128-10",
    regime="long windows: T = 4 against T = 32",
    baseline="the same rule's memory at T = 4 (BPTT's growth is recorded alongside)",
    checks=(
        Check("memory growth T=32 / T=4 (OTTT_A)", "growth_ottt", Verdict(1.25, "below"),
              effect="value", unit="ratio"),
        Check("memory growth T=32 / T=4 (OTTT_O)", "growth_ottt_o", Verdict(1.25, "below"),
              effect="value", unit="ratio"),
    ),
    measure=measure_memory,
    budget=Budget(epochs=0, T=4, hidden=(128,), options=(("Ts", (4, 32)),)),
    fast=Budget(epochs=0, T=4, hidden=(16,), n_train=200, n_test=200,
                options=(("Ts", (4, 16)),)),
    estimate_minutes=0.1,
    notes="Deterministic measurement: every seed gives the same ratio.",
    reported=('CIFAR-10 VGG, T = 6: about 1.7 GB against about 3 GB for BPTT, constant in T '
              '(shared notes, from memory)'),
))

OTTT_ACCURACY = register(Claim(
    id="ottt-accuracy",
    rules=("ottt", "ottt_o"),
    paper=PAPER,
    statement=("OTTT reaches accuracy comparable to BPTT (CIFAR-10 VGG, T = 6: OTTT_A about "
               "93.5 %, OTTT_O about 93.5 %, BPTT about 92.8 % [notes: mem])."),
    task="MNIST-1D (standardised), direct input, LIF MLP 40-128-10",
    regime="the paper's short window, T = 6",
    baseline="BPTT with a surrogate gradient, same network, budget and seed",
    checks=(
        Check("accuracy: OTTT_A - BPTT", "acc_ottt", Verdict(-1.0), "acc_bptt"),
        Check("accuracy: OTTT_O - BPTT", "acc_ottt_o", Verdict(-1.0), "acc_bptt"),
    ),
    measure=measure_accuracy,
    budget=Budget(epochs=15, T=6, hidden=(128,)),
    fast=Budget(epochs=1, T=4, hidden=(16,), n_train=200, n_test=200),
    estimate_minutes=6.0,
    notes="'Within a point of BPTT': margin -1 point.",
    reported=('CIFAR-10 VGG, T = 6: OTTT_A about 93.52 %, OTTT_O about 93.49 %, BPTT about '
              '92.8 % (shared notes, from memory)'),
))

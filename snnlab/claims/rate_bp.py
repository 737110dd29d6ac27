"""Rate-based back-propagation: step time independent of T, and its latency-input failure
(Yu et al. 2024)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["RATE_BP_SPEED", "RATE_BP_LATENCY"]

PAPER = ("Yu, Liu, Wang, Li et al., 'Advancing training efficiency of deep spiking neural "
         "networks through rate-based backpropagation', NeurIPS 2024")


def measure_speed(seed: int, b: Budget) -> dict:
    out = {}
    for T in b.opt("Ts", (16, 32)):
        t = RN.step_seconds(("rate_bp", "bptt"), "digits", b, seed, T)
        out[f"step_ratio_T{T}"] = t["rate_bp"] / t["bptt"]
        out[f"step_s_rate_bp_T{T}"], out[f"step_s_bptt_T{T}"] = t["rate_bp"], t["bptt"]
    for rule in ("rate_bp", "bptt"):
        out[f"acc_{rule}"] = RN.fit(rule, "digits", b, seed)["acc"]
    return out


def measure_latency(seed: int, b: Budget) -> dict:
    out = {}
    for rule in ("rate_bp", "bptt"):
        r = RN.fit(rule, "manifold_latency", b, seed, encoding="latency")
        out[f"acc_{rule}"] = r["acc"]
    return out


RATE_BP_SPEED = register(Claim(
    id="rate-bp-speed",
    rules=("rate_bp",),
    paper=PAPER,
    statement=("Back-propagating once through averaged (rate) dynamics instead of through T "
               "unrolled steps cuts training memory and time, with accuracy comparable to BPTT."),
    task="sklearn digits, direct input, LIF MLP 64-256-256-10, batch 64",
    regime="long windows: step time at T = 16 and T = 32; accuracy at T = 16",
    baseline="BPTT (snnlab's fused-adjoint BPTT) on the same network, timed interleaved",
    checks=(
        Check("step time: rate-BP / BPTT at T=16", "step_ratio_T16", Verdict(0.5, "below"),
              effect="value", unit="ratio"),
        Check("step time: rate-BP / BPTT at T=32", "step_ratio_T32", Verdict(0.5, "below"),
              effect="value", unit="ratio"),
        Check("accuracy at T=16: rate-BP - BPTT", "acc_rate_bp", Verdict(-1.0), "acc_bptt"),
    ),
    measure=measure_speed,
    budget=Budget(epochs=20, T=16, hidden=(256, 256), options=(("Ts", (16, 32)),)),
    fast=Budget(epochs=1, T=16, hidden=(16,), n_train=200, n_test=200,
                options=(("Ts", (16, 32)),)),
    estimate_minutes=1.5,
    notes=("Time is the median of 7 interleaved training steps after a warm-up; the baseline "
           "is snnlab's BPTT, whose fused loop is itself fast, not the paper's."),
    reported=('lower training memory and time than BPTT at comparable accuracy (abstract); '
              "the 0.5x bar is this ledger's reading, not a paper number"),
))

RATE_BP_LATENCY = register(Claim(
    id="rate-bp-latency-failure",
    rules=("rate_bp",),
    paper=PAPER,
    statement=("The rate approximation assumes rate-coded activity; it degrades when the code "
               "is temporal rather than rate-based, e.g. latency-coded input (the failure the "
               "method warns of)."),
    task="smooth random manifolds (Zenke & Vogels 2021 style), latency-coded, LIF MLP 21-64-10",
    regime="latency input: one spike per input neuron, timing carries the class, T = 40",
    baseline="BPTT on the same network, budget and seed",
    checks=(Check("accuracy: rate-BP - BPTT (latency input)", "acc_rate_bp",
                  Verdict(-2.0, "below"), "acc_bptt"),),
    measure=measure_latency,
    budget=Budget(epochs=15, T=40, hidden=(64,)),
    fast=Budget(epochs=1, T=16, hidden=(16,), n_train=200, n_test=200),
    estimate_minutes=1.2,
    notes="Reproduced = rate-BP is worse than BPTT by more than 2 points (the failure shows).",
    reported=('qualitative: the rate approximation degrades for temporal codes (a stated '
              'limitation)'),
))

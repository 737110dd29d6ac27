"""Local tandem learning: near the teacher in few epochs, speed to accuracy, online memory
(Yang et al. 2022)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["LTL_NEAR_TEACHER", "LTL_TIME_TO_ACCURACY", "LTL_ONLINE_MEMORY"]

TASK = "digits"
PAPER = ("Yang, Wu, Zhang, Chua, Wang & Li, 'Training spiking neural networks with local "
         "tandem learning', NeurIPS 2022")


def teacher(b: Budget, seed: int):
    """The LTL teacher: an ANN with clamp(0, 2) activations and the student's architecture."""
    return RN.ann(TASK, b, seed, activation="clamp", epochs=b.opt("teacher_epochs", 20))


def epochs_to(accs: list[float], threshold: float) -> float:
    """First epoch (1-based) whose test accuracy reaches ``threshold``; ``len + 1`` if none."""
    for i, a in enumerate(accs):
        if a >= threshold:
            return float(i + 1)
    return float(len(accs) + 1)


def seconds_to(epoch_seconds: list[float], epochs: float) -> float:
    """Training seconds of the first ``epochs`` epochs (the mean epoch extrapolates past the
    budget, for a run that never reached the threshold)."""
    k = int(epochs)
    mean = sum(epoch_seconds) / len(epoch_seconds)
    return sum(epoch_seconds[:k]) + max(k - len(epoch_seconds), 0) * mean


def _arms(seed: int, b: Budget):
    t = teacher(b, seed)
    ltl = RN.fit("ltl", TASK, b, seed, teacher=t["net"])
    return t, ltl


def measure_near(seed: int, b: Budget) -> dict:
    t, ltl = _arms(seed, b)
    k = min(b.opt("at_epoch", 5), len(ltl["accs"])) - 1
    return {"acc_ltl_at5": ltl["accs"][k], "acc_teacher": t["acc"], "acc_ltl_final": ltl["acc"]}


def measure_speed(seed: int, b: Budget) -> dict:
    _, ltl = _arms(seed, b)
    bptt = RN.fit("bptt", TASK, b, seed)
    thr = b.opt("threshold", 90.0)
    e_ltl, e_bptt = epochs_to(ltl["accs"], thr), epochs_to(bptt["accs"], thr)
    return {"epochs_ltl": e_ltl, "epochs_bptt": e_bptt,
            "seconds_to_ltl": seconds_to(ltl["epoch_seconds"], e_ltl),
            "seconds_to_bptt": seconds_to(bptt["epoch_seconds"], e_bptt),
            "seconds_per_epoch_ltl": sum(ltl["epoch_seconds"]) / len(ltl["epoch_seconds"]),
            "seconds_per_epoch_bptt": sum(bptt["epoch_seconds"]) / len(bptt["epoch_seconds"])}


def measure_memory(seed: int, b: Budget) -> dict:
    t = teacher(b, seed)["net"]
    lo, hi = b.opt("Ts", (8, 32))
    out = {}
    for T in (lo, hi):
        out[f"bytes_ltl_T{T}"] = RN.step_bytes("ltl", TASK, b, seed, T, mode="online",
                                               teacher=t)
        out[f"bytes_bptt_T{T}"] = RN.step_bytes("bptt", TASK, b, seed, T)
    out["growth_ltl"] = out[f"bytes_ltl_T{hi}"] / out[f"bytes_ltl_T{lo}"]
    out["growth_bptt"] = out[f"bytes_bptt_T{hi}"] / out[f"bytes_bptt_T{lo}"]
    return out


_BUDGET = Budget(epochs=15, T=8, hidden=(128,), options=(("teacher_epochs", 20),
                                                         ("at_epoch", 5), ("threshold", 90.0)))
_FAST = Budget(epochs=2, T=4, hidden=(16,), n_train=200, n_test=200,
               options=(("teacher_epochs", 1), ("at_epoch", 5), ("threshold", 50.0)))

LTL_NEAR_TEACHER = register(Claim(
    id="ltl-near-teacher",
    rules=("ltl",),
    paper=PAPER,
    statement=("With layer-wise targets from a pre-trained ANN teacher, LTL reaches accuracy "
               "comparable to the teacher and converges fast (within 5 training epochs on "
               "CIFAR-10)."),
    task="sklearn digits (1437/360), direct input, LIF MLP 64-128-10, offline LTL, T = 8",
    regime="few epochs: accuracy after epoch 5, random student initialisation as the paper",
    baseline="the teacher (clamp(0, 2) ANN, same architecture, 20 epochs)",
    checks=(Check("accuracy at epoch 5: LTL - teacher", "acc_ltl_at5", Verdict(-2.0),
                  "acc_teacher"),),
    measure=measure_near,
    budget=_BUDGET,
    fast=_FAST,
    estimate_minutes=0.7,
    notes=("Margin -2 points for 'comparable'. Five epochs on digits are ~115 steps against the "
           "paper's ~3.5k on CIFAR-10 (scale by steps, notes 2.3): a miss may be the budget."),
    reported=("CIFAR-10: close to the teacher within 5 training epochs (the paper's text)"),
))

LTL_TIME_TO_ACCURACY = register(Claim(
    id="ltl-time-to-accuracy",
    rules=("ltl", "bptt"),
    paper=PAPER,
    statement=("LTL converges fast: it needs few epochs to reach high accuracy (the paper's "
               "'within 5 epochs'); here compared against BPTT on the same network."),
    task="sklearn digits, direct input, LIF MLP 64-128-10, T = 8",
    regime="early training: epochs until the test accuracy first reaches 90 %",
    baseline="BPTT with a surrogate gradient, same network, budget and seed",
    checks=(Check("epochs to 90 %: LTL - BPTT", "epochs_ltl", Verdict(0.0, "below"),
                  "epochs_bptt", unit="epochs"),),
    measure=measure_speed,
    budget=_BUDGET,
    fast=_FAST,
    estimate_minutes=0.5,
    notes=("Wall seconds to the threshold are recorded too (seconds_to_*), without a check. "
           "A run that never reaches 90 % counts as epochs + 1. The notes measured LTL slower "
           "than BPTT per epoch on digits; this claim was fixed before that was re-checked."),
    reported="'within 5 training epochs' on CIFAR-10; no BPTT comparison at equal epochs",
))

LTL_ONLINE_MEMORY = register(Claim(
    id="ltl-online-memory",
    rules=("ltl",),
    paper=PAPER,
    statement=("Online LTL detaches the membrane and spike history at every step, so its "
               "training memory does not grow with the number of time steps T."),
    task="sklearn digits, one training step, batch 64, LIF MLP 64-128-10",
    regime="long windows: T = 8 against T = 32",
    baseline="the same rule's memory at T = 8 (BPTT's growth is recorded alongside)",
    checks=(Check("memory growth T=32 / T=8 (online LTL)", "growth_ltl", Verdict(1.25, "below"),
                  effect="value", unit="ratio"),),
    measure=measure_memory,
    budget=Budget(epochs=0, T=8, hidden=(128,), options=(("Ts", (8, 32)),
                                                         ("teacher_epochs", 20))),
    fast=Budget(epochs=0, T=4, hidden=(16,), n_train=200, n_test=200,
                options=(("Ts", (4, 16)), ("teacher_epochs", 1))),
    estimate_minutes=0.1,
    notes=("Memory is peak bytes autograd holds (saved tensors), deterministic, so every seed "
           "gives the same ratio and the interval has zero width. Flat = grows by < 25 % over "
           "a 4x longer window."),
    reported='memory constant in T (by construction of the online variant)',
))

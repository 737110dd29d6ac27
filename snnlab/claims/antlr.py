"""ANTLR against its two components, timing-only and activation-only (Kim, Kim & Kim 2020)."""

from __future__ import annotations

from . import runner as RN
from .ledger import Budget, Check, Claim, Verdict, register

__all__ = ["ANTLR"]

TASK = "manifold_latency"


def measure(seed: int, b: Budget) -> dict:
    out = {}
    # the activation route gets no error from the latency loss (its gradient is dL/dt, a
    # timing quantity), so the activation-only arm trains on spike counts: cross-entropy on
    # the counts and a count readout, the loss the paper pairs with activation-based learning
    # the timing-only arm is the paper's ablation as released: its silent-neuron penalty, not
    # the weight bumping that snnlab's timing rule uses by default
    for arm, rule, hp in (("antlr", "antlr", {}),
                          ("timing", "timing", {"silent_penalty": 100.0, "bump": 0.0}),
                          ("activation", "antlr", {"lam_tim": 0.0, "loss": "count",
                                                   "model_kw": {"readout": "count"}})):
        r = RN.fit(rule, TASK, b, seed, **hp)
        out[f"acc_{arm}"], out[f"spikes_{arm}"] = r["acc"], r["spikes"]
    return out


ANTLR = register(Claim(
    id="antlr-vs-components",
    rules=("antlr", "timing"),
    paper="Kim, Kim & Kim, 'Unifying activation- and timing-based learning rules for spiking "
          "neural networks', NeurIPS 2020",
    statement=("ANTLR, which sums the activation-based and the timing-based gradient at each "
               "neuron and step, gives higher accuracy and better efficiency (fewer spikes) "
               "than activation-only or timing-only learning."),
    task="smooth random manifolds (10 classes, 20 inputs; Zenke & Vogels 2021 style), "
         "latency-coded: every input neuron spikes once, in the first half of T = 40",
    regime="sparse, single-spike latency input, where spike timing carries the class",
    baseline="the same network and budget trained with only the timing route (rule 'timing' "
             "as the released code runs it: silent_penalty=100, bump=0) or only the activation "
             "route (antlr, lam_tim=0, with the count loss and a count readout)",
    checks=(
        Check("accuracy: ANTLR - activation-only", "acc_antlr", Verdict(0.0), "acc_activation"),
        Check("accuracy: ANTLR - timing-only", "acc_antlr", Verdict(0.0), "acc_timing"),
        Check("spikes: ANTLR / activation-only", "spikes_antlr", Verdict(1.0, "below"),
              "spikes_activation", effect="ratio", unit="ratio"),
        Check("spikes: ANTLR / timing-only", "spikes_antlr", Verdict(1.0, "below"),
              "spikes_timing", effect="ratio", unit="ratio"),
    ),
    measure=measure,
    budget=Budget(epochs=15, T=40, hidden=(64,)),
    fast=Budget(epochs=1, T=16, hidden=(16,), n_train=200, n_test=200),
    estimate_minutes=5.0,
    notes="Spike counts are over the whole window T (the rule does not stop early).",
    history=("2026-12-04: the activation-only arm now trains with the count loss and a count "
             "readout. The first recorded run trained it with the latency loss, whose gradient "
             "(dL/dt) the activation route cannot receive: only the no-spike penalty reached "
             "it, and it stayed at chance (9.46 % for 10 classes, every seed), so 'ANTLR beats "
             "activation-only' was 'reproduced' against a baseline that could not learn. "
             "Measured once on seed 0 before this change: 46.4 % with the count loss, 10.5 % "
             "with the latency loss. The task, budget, seeds and verdict rules are unchanged.",
             "2026-12-05: the timing rule's default silent-neuron fallback became weight bumping "
             "(Göltz et al.'s code; the released ANTLR penalty left seeds stuck near chance on "
             "held-out tasks). The timing-only arm keeps the paper's ablation by naming it: "
             "silent_penalty=100, bump=0, which is what it ran before. Re-run with --merge; "
             "the numbers did not change (same code path, same seeds).",),
    reported=('latency-coded MNIST, 784-800-10: about 97.6 %, with markedly fewer spikes than'
              " activation-only (shared notes, from memory: the paper's table was not read)"),
))

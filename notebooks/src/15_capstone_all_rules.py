# %% [markdown]
# # 15 · Capstone: every rule on one task
#
# **Level 5 — Capstone.** Estimated time: 40 minutes.
#
# Fourteen notebooks, thirteen learning rules. Each notebook looked at one idea on its own
# terms. Here they all train *the same network from the same initial weights on the same data*,
# and we measure what a practitioner would ask about: how accurate, how many spikes, how many
# synaptic operations, how much energy, how long per epoch and how much memory per training
# step. No rule wins on every axis; the point of this notebook is to see the trade-offs and to
# read them from a table and a plot.
#
# **Objectives.** After this notebook you can
# 1. place every rule of the course in one map (what it differentiates, what it stores);
# 2. estimate inference energy from SynOps and MACs, and say what that estimate leaves out;
# 3. run `snnlab.compare.rules` (or `snnlab compare` on the command line) and read its table;
# 4. pick the Pareto-optimal rules for a pair of metrics, and explain why that set changes when
#    the metrics change.
#
# Prerequisites: notebooks 01–14 (at least 01–03 and one notebook of each of levels 3 and 4).

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: fewer rules, seeds and samples, same code
SEED = 0
HIDDEN = 128  # hidden neurons of each rule's network
MAX_EPOCHS = 10  # each rule trains for its default number of epochs, capped at this
DATASETS = ["digits", "yinyang"]  # tasks of the comparison

# %%
RULES = "all"  # every registered rule
SEEDS = (0, 1, 2)  # every rule trains once per seed: means ± std over seeds
N_TRAIN = None  # all training samples
if FAST:  # one task, six rules (one per family, the three first-spike rules among them)
    MAX_EPOCHS, DATASETS, SEEDS, N_TRAIN = 1, ["digits"], (0, 1), 400
    RULES = ["bptt", "tandem", "ottt", "rate_bp", "timing", "ttfs"]

import warnings

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import compare, exercises, metrics, plot, widgets
from snnlab.course import n15_capstone as cap

torch.manual_seed(SEED)
print("rules:", ", ".join(snnlab.rules.available()))

# %% [markdown]
# ## 1. One network, many rules: the map
#
# Every rule trains the same `SpikingNet`: layers of synapses $W_l$ feeding LIF neurons,
#
# $$
# u_l[t] = \beta\,u_l[t-1] + W_l\,s_{l-1}[t] - \vartheta\,s_l[t-1], \qquad
# s_l[t] = \Theta\big(u_l[t] - \vartheta\big),
# $$
#
# and a readout. They differ in **which derivative of the loss they follow** and **what they
# have to keep in memory** to get it:
#
# | rule | family | gradient through | memory per step | notebook |
# |---|---|---|---|---|
# | `bptt` | activation | surrogate $\sigma'$, all $T$ steps backwards | $O(T\,N)$ | 03 |
# | `timing` | timing | spike times, $\partial t_s/\partial u = -1/\dot u$ | $O(T\,N)$ | 04 |
# | `antlr` | activation + timing | both, weighted | $O(T\,N)$ | 05 |
# | `ttfs` | timing | exact first-spike times (closed form) | first-spike times, inputs | 04 |
# | `tandem` | ANN-guided | spike counts forward, ANN twin backwards | $O(N)$ | 07 |
# | `ltl` | ANN-guided, local | each layer mimics a teacher layer | $O(T\,N_l)$ (offline) | 08 |
# | `kd`, `hta_kl` | ANN-guided | BPTT on labels + teacher's soft targets | $O(T\,N)$ | 09 |
# | `ottt`, `ottt_o` | online | presynaptic traces, no backward in time | $O(N)$ | 10 |
# | `tssl` | timing | PSPs of spike sequences, few steps | $O(T\,N)$ | 11 |
# | `rate_bp` | rate | one backward pass through rates | $O(N)$ | 12 |
# | `bptt_stdp_cycles` | activation + local | BPTT + STDP phases (EICIL stand-in) | $O(T\,N)$ | 14 |
#
# ($N$: neurons, $T$: time steps.) Each rule also brings its own default number of steps $T$,
# input encoding (direct currents, or one latency spike per input for the timing rules),
# learning rate and number of epochs; `compare.rules` uses them unless told otherwise.
#
# **What we measure** on the test set after training (`snnlab.train.evaluate`):
#
# * accuracy; **spikes per sample** (all hidden and readout spikes of one input);
# * **SynOps** (synaptic operations) per sample: every spike of a neuron with fan-out $f$
#   triggers $f$ accumulates, $\text{SynOps} = \sum_{\text{spikes}} f$;
# * **MACs**: layers whose input is *not* a spike (direct input currents) do full
#   multiply-accumulates, $T\times$ (non-zero inputs) $\times$ fan-out;
# * **energy** per sample, with Horowitz's (ISSCC 2014) 45 nm figures that most SNN papers quote,
#
# $$
# E = \text{MACs}\cdot E_{MAC} + \text{SynOps}\cdot E_{AC}, \qquad
# E_{MAC} = 4.6\ \text{pJ}, \quad E_{AC} = 0.9\ \text{pJ};
# $$
#
# * **seconds per training epoch** on this machine, and **activation memory of one training
#   step**: the peak bytes autograd keeps for the backward pass (what grows with $T$ for BPTT and
#   stays flat for OTTT or rate-based BP).
#
# The energy estimate counts arithmetic only: no memory traffic, no neuron updates, no routing
# of spikes. On real neuromorphic chips those often dominate, so read it as "operations
# weighted by cost", not as joules a chip would draw.
#
# ### Exercise 1: energy from SynOps and MACs
#
# Write `energy_nj(synops, macs)` returning the energy per sample in **nanojoules** with the
# constants above.

# %% tags=["exercise"]
def energy_nj(synops, macs):
    # TODO: MACs cost E_MAC = 4.6 pJ, SynOps (accumulates) E_AC = 0.9 pJ; return nJ
    raise NotImplementedError("Exercise 1: implement energy_nj")


# %% tags=["nbval-check-output"]
exercises.check_energy_estimate(energy_nj)

# %% tags=["solution", "nbval-check-output"]
def energy_nj(synops, macs):
    return (macs * metrics.E_MAC_PJ + synops * metrics.E_AC_PJ) / 1000.0


exercises.check_energy_estimate(energy_nj)

# %% [markdown]
# Your function against the library on a fresh (untrained) network: digits with direct input
# (a MAC-heavy first layer) and with latency input (one spike per pixel, accumulates only).

# %%
energy_nj = exercises.use_or_reference(energy_nj, "check_energy_estimate")
digits = snnlab.load("digits", seed=SEED)
torch.manual_seed(SEED)
net = snnlab.models.mlp(digits.input_shape[0], [HIDDEN], digits.n_classes)
x = digits.test.tensors[0][:256]
for enc, T_ in (("direct", 8), ("latency", 40)):
    stats = metrics.activity(net, snnlab.encode(x, T_, enc))
    mine = energy_nj(stats.synops_per_sample, stats.macs_per_sample)
    print(f"{enc:8s} T={T_:2d}: {stats.macs_per_sample:8.0f} MACs, "
          f"{stats.synops_per_sample:6.0f} SynOps -> yours {mine:7.2f} nJ, "
          f"snnlab {stats.energy_nj_per_sample:7.2f} nJ")

# %% [markdown]
# With direct input the first layer multiplies real-valued pixels by weights at every step, and
# those MACs dominate the estimate. A latency code turns the input into spikes, so the first
# layer only accumulates: the timing rules start with a large advantage on this metric that
# comes from the *encoding*, not from the learning rule.
#
# ## 2. Every rule on digits (and Yin-Yang), several seeds
#
# `cap.compare_seeds(rules, data, seeds=...)` trains every rule once per seed. Each run builds
# **the rule's own network** with that seed (`snnlab.train.build_model(rule, data, hidden,
# seed=)`: `antlr` and `timing` get their `antlr_lif` network, `ttfs` its bias-free non-leaky
# one, `tssl` PSP neurons), trains it with the rule's defaults ($T$, encoding, learning rate,
# epochs capped at `MAX_EPOCHS`) and evaluates it on the test set. The table shows the mean
# over seeds and its standard deviation: a difference between two rules smaller than their
# spread is not a difference.
#
# **The first-spike rules need latency-coded data.** `timing`, `antlr` and `ttfs` read one
# spike per feature, at step $(1-x)(T-1)$: they *refuse* features outside $[0, 1]$ or that
# never reach $0.5$ (all spikes late, nothing left to decide with). They get
# `snnlab.rules.antlr.latency_dataset(data)` (`cap.rule_data` picks it): features squeezed into
# the first half of the window and a bias spike. Every other rule reads the raw features as
# direct currents.
#
# **This is a small-budget snapshot, not a reproduction of the papers.** Every rule gets at
# most `MAX_EPOCHS` epochs, a 128-neuron hidden layer and its default hyper-parameters on small
# tasks; the papers tune each rule for hundreds of epochs on large networks. Timings are
# wall-clock on a shared CPU, so compare them within one run only.
#
# ### Exercise 2 (predict, then observe): which rule will be most accurate?
#
# Before running the next cell, write the rule you expect to reach the highest mean test
# accuracy on the first task (one of `RULES`, or any rule if `RULES` is `"all"`), with the
# map above and the budget in mind.

# %% tags=["exercise"]
my_prediction = ...  # e.g. "bptt": commit before you run the comparison

# %% tags=["solution"]
my_prediction = "bptt"

# %%
data = {name: snnlab.load(name, seed=SEED) for name in DATASETS}
results = {}
for name, split in data.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the table is the result
        results[name] = cap.compare_seeds(RULES, split, seeds=SEEDS, hidden=(HIDDEN,),
                                          max_epochs=MAX_EPOCHS, n_train=N_TRAIN)
    print(f"== {name} ({split.n_classes} classes, "
          f"{N_TRAIN or len(split.train)} training samples, {len(SEEDS)} seeds)")
    print(results[name].table(), end="\n\n")

# %%
exercises.check_prediction_most_accurate(my_prediction, results[DATASETS[0]])

# %% [markdown]
# ### What each rule reached
#
# Every rule either learns or its failure is stated with its own numbers: mean ± std over
# seeds against chance, the budget it had, and whether its curve was still rising when the
# budget ended. "learns": at least halfway from chance to 100 % and clear of chance by more
# than three standard deviations; "barely": above chance by more than two standard deviations
# (and 5 points) but not halfway; "fails": neither.

# %%
verdicts = {name: cap.rule_verdicts(cmp) for name, cmp in results.items()}
for name, v in verdicts.items():
    print(f"== {name}")
    for _status, sentence in v.values():
        print("  " + sentence)
    assert set(v) == {r["rule"] for r in results[name].rows}  # every rule has its verdict
first = results[DATASETS[0]]
acc = {r["rule"]: r for r in first.rows}
# the claims of the next cell, on this run's numbers: bptt is clear of chance on any budget
# and learns on the full one; on one epoch every first-spike rule is behind every rule with
# direct input
assert verdicts[DATASETS[0]]["bptt"][0] != "fails", verdicts[DATASETS[0]]["bptt"]
if not FAST:  # MAX_EPOCHS = 10 epochs on all samples
    assert verdicts[DATASETS[0]]["bptt"][0] == "learns", verdicts[DATASETS[0]]["bptt"]
first_spike = [r for r in first.rows if r["encoding"] == "latency"]
direct_input = [r for r in first.rows if r["encoding"] == "direct"]
if MAX_EPOCHS == 1 or DATASETS[0] == "digits":  # one epoch, or the full run on digits
    assert max(r["test_acc"] for r in first_spike) < min(r["test_acc"] for r in direct_input)

# %% [markdown]
# Read the first-spike rules against their budget. They see each input once, as one spike,
# and must make a hidden neuron fire *before* the readout decides; until their weights are
# large enough for the right neurons to fire early, most of a batch gives no timing gradient at
# all, so one epoch leaves them near chance while the rules reading direct currents already
# sit far above it (asserted when `MAX_EPOCHS` is 1, the quick run). With the full budget
# (`MAX_EPOCHS` epochs) they climb, and the curves
# below show whether they were still climbing when it ended. The verdicts above are computed
# from your run, not written in advance.
#
# The same in a terminal (one seed, one epoch per rule, to try quickly):
#
# ```bash
# snnlab compare --rules all --data digits --epochs 1
# snnlab compare --rules bptt,ottt,rate_bp --data yinyang
# ```
#
# ### Accuracy against energy, and against memory
#
# One point per rule with its spread over seeds as an error bar; the dashed line joins the
# rules no other rule beats on *both* axes (the Pareto front), and only those are named on the
# plot (the legend, right of each panel, names every point). An axis whose values span more
# than a factor 10 is logarithmic.

# %%
fig, axes = plt.subplots(len(DATASETS), 2, figsize=(14, 4.8 * len(DATASETS)),
                         constrained_layout=True, squeeze=False)
for row, name in zip(axes, DATASETS):
    plot.rule_comparison(results[name], x="energy_nj_per_sample", y="test_acc", ax=row[0],
                         title=f"{name}: accuracy vs inference energy", labels="front",
                         legend="none")
    plot.rule_comparison(results[name], x="step_memory_mib", y="test_acc", ax=row[1],
                         title=f"{name}: accuracy vs activation memory per training step",
                         labels="front", legend="outside")
plt.show()
# "energy is decided by the encoding first" (What to notice): every latency-coded rule spends
# less per sample than every rule with direct input
assert max(r["energy_nj_per_sample"] for r in first_spike) < min(
    r["energy_nj_per_sample"] for r in direct_input)
# "online and rate rules keep a fraction of BPTT's saved tensors"
assert acc["ottt"]["step_memory_mib"] < acc["bptt"]["step_memory_mib"]
assert acc["rate_bp"]["step_memory_mib"] < acc["bptt"]["step_memory_mib"]

# %% [markdown]
# ### Interactive: choose the axes
#
# Pick any two metrics; the dashboard redraws the scatter and prints the Pareto front and the
# best rule on each axis ("best" is higher for accuracy, lower for everything else). Try
# spikes against accuracy, then time per epoch against memory.

# %% tags=["nbval-ignore-output"]
widgets.rule_comparison_dashboard(results[DATASETS[-1]], x="spikes_per_sample", y="test_acc")

# %% [markdown]
# ## 3. Which rules are worth considering?
#
# A rule is **dominated** when another rule is at least as good on both metrics and strictly
# better on one: nobody who cares only about those two metrics should pick it. The rules left
# are the **Pareto front**.
#
# ### Exercise 3: the Pareto front
#
# Write `pareto(rows)` for rows like `results["digits"].rows` (dicts with `"rule"`,
# `"energy_nj_per_sample"` and `"test_acc"`): return the names of the rules not dominated, lower
# energy and higher accuracy being better. Two rules with identical numbers do not dominate each
# other.

# %% tags=["exercise"]
def pareto(rows):
    # TODO: keep r unless some other row o has energy <= r's and accuracy >= r's,
    #       with at least one of the two strictly better
    raise NotImplementedError("Exercise 3: implement pareto")


# %% tags=["nbval-check-output"]
exercises.check_pareto(pareto)

# %% tags=["solution", "nbval-check-output"]
def pareto(rows):
    def dominates(o, r):
        e_o, e_r = o["energy_nj_per_sample"], r["energy_nj_per_sample"]
        a_o, a_r = o["test_acc"], r["test_acc"]
        return e_o <= e_r and a_o >= a_r and (e_o < e_r or a_o > a_r)

    return [r["rule"] for r in rows if not any(dominates(o, r) for o in rows)]


exercises.check_pareto(pareto)

# %% [markdown]
# Your front on each task, next to the library's, and the front for a different question
# (accuracy against the memory of a training step, which matters for training on a chip):

# %%
pareto = exercises.use_or_reference(pareto, "check_pareto")
fronts = {}
for name, cmp in results.items():
    fronts[name] = (compare.pareto_optimal(cmp), compare.pareto_optimal(cmp,
                                                                        cost="step_memory_mib"))
    print(f"{name}:")
    print(f"  accuracy vs energy (yours):   {pareto(cmp.rows)}")
    print(f"  accuracy vs energy (snnlab):  {fronts[name][0]}")
    print(f"  accuracy vs step memory:      {fronts[name][1]}")
    best = max(cmp.rows, key=lambda r: r["test_acc"])
    print(f"  most accurate: {best['rule']} ({best['test_acc']:.3f} ± {best['test_acc_std']:.3f})")
    # the most accurate rule is on every front: nobody beats it on accuracy
    assert best["rule"] in fronts[name][0] and best["rule"] in fronts[name][1]

# %% [markdown]
# ### Exercise 4 (interpret): is the winner a winner?
#
# Look at the two most accurate rules of the first task in your table. Is the lead of the
# first over the second larger than the sum of their two standard deviations over seeds?
# Answer `"yes"` or `"no"` (the checker reads your table, so the right answer depends on your
# run).

# %% tags=["exercise"]
answer = ...  # "yes" or "no"

# %% tags=["solution"]
best, second = sorted(first.rows, key=lambda r: r["test_acc"], reverse=True)[:2]
answer = "yes" if (best["test_acc"] - second["test_acc"]
                   > best["test_acc_std"] + second["test_acc_std"]) else "no"

# %%
exercises.check_seed_gap(answer, first)

# %% [markdown]
# ### Training curves
#
# Test accuracy per epoch for every rule on the last task (first seed): which rules are still
# climbing when their budget ends?

# %%
ax = plot.training_curves(results[DATASETS[-1]].histories, keys=("test_acc",),
                          title=f"{DATASETS[-1]}: test accuracy per epoch (seed {SEEDS[0]})",
                          legend_outside=True)
ax.figure.set_size_inches(9, 4.5)
plt.show()
if "bptt_stdp_cycles" in results[DATASETS[-1]].histories:  # its saw-tooth, in numbers
    falls, rises = cap.phase_dips(results[DATASETS[-1]].histories["bptt_stdp_cycles"])
    print(f"bptt_stdp_cycles on {DATASETS[-1]}: test accuracy fell in {sum(falls)} of "
          f"{len(falls)} STDP epochs and rose again in {sum(rises)} of {len(rises)} next epochs")
    if not FAST:  # "fell in every STDP epoch and came back with the next" (what to notice)
        assert falls and all(falls) and all(rises)

# %% [markdown]
# ## What to notice
#
# - **Energy is decided by the encoding first** (asserted above on the first task): with direct
#   input the first layer does MACs at every step and dominates the estimate; every rule that
#   uses a latency code (`antlr`, `timing`, `ttfs`) only accumulates and sits below every
#   direct-input rule on the energy axis, however accurate it is.
# - **Activation memory follows what the rule stores**, as the map predicted (asserted for
#   `ottt` and `rate_bp` against `bptt`): the online and rate rules keep a fraction of BPTT's
#   saved tensors.
# - **Accuracy on a small budget mostly favours the rules that read direct currents**: `bptt`
#   is clear of chance on every budget and learns on the full one, and on digits every
#   direct-input rule ends above every first-spike rule (both asserted). It is not a law: on
#   Yin-Yang, whose few coordinates a latency code carries well, a first-spike rule can end on
#   top (read your table). How far each rule got, and whether it was still climbing, is in the
#   verdicts printed above, with the seeds' spread.
# - **The saw-tooth in the last figure is `bptt_stdp_cycles`**: on Yin-Yang its test accuracy
#   fell in every STDP epoch of this run and rose again with the next BPTT epoch (asserted) -
#   the cost of notebook 14's label-free phase, which on digits varies from cycle to cycle.
# - **The most accurate rule sits on every front** (asserted), but the rest of the front
#   depends on the question: accuracy vs energy and accuracy vs memory are different lists
#   above; "the best rule" only exists for a stated pair of metrics, a budget and a task.
# - The numbers are a few seeds, one small network and a few epochs: a snapshot to read
#   trade-offs from, not a ranking of the papers' methods.
#
# ## Further reading
#
# - E. O. Neftci, H. Mostafa, F. Zenke, "Surrogate gradient learning in spiking neural
#   networks", IEEE Signal Processing Magazine 2019 (`bptt`); S. B. Shrestha, G. Orchard,
#   "SLAYER", NeurIPS 2018; Y. Wu et al., "Spatio-temporal backpropagation (STBP)", Frontiers in
#   Neuroscience 2018.
# - H. Mostafa, "Supervised learning based on temporal coding in spiking neural networks",
#   IEEE TNNLS 2018, and J. Göltz, L. Kriener et al., "Fast and energy-efficient neuromorphic
#   deep learning with first-spike times", Nature Machine Intelligence 2021 (`ttfs`).
# - J. Kim, K. Kim, J.-J. Kim, "Unifying activation- and timing-based learning rules for
#   spiking neural networks", NeurIPS 2020 (`timing`, `antlr`).
# - J. Wu, Y. Chua, M. Zhang, G. Li, H. Li, K. C. Tan, "A tandem learning rule for effective
#   training and rapid inference of deep spiking neural networks", IEEE TNNLS 2021 (`tandem`).
# - Q. Yang, J. Wu, M. Zhang, Y. Chua, X. Wang, H. Li, "Training spiking neural networks with
#   local tandem learning", NeurIPS 2022 (`ltl`).
# - G. Hinton, O. Vinyals, J. Dean, "Distilling the knowledge in a neural network",
#   arXiv:1503.02531, 2015 (`kd`); T. Zhang, Z. Zhu, K. Yu, H. Wang, "Head-tail-aware KL
#   divergence in knowledge distillation for spiking neural networks", arXiv:2504.20445, 2025
#   (`hta_kl`).
# - M. Xiao, Q. Meng, Z. Zhang, D. Wang, Z. Lin, "Online training through time for spiking
#   neural networks", NeurIPS 2022 (`ottt`, `ottt_o`).
# - W. Zhang, P. Li, "Temporal spike sequence learning via backpropagation for deep spiking
#   neural networks", NeurIPS 2020 (`tssl`).
# - C. Yu et al., "Advancing training efficiency of deep spiking neural networks through
#   rate-based backpropagation", NeurIPS 2024 (`rate_bp`).
# - Z. Shao, X. Fang, Y. Li, C. Feng, J. Shen, Q. Xu, "EICIL: joint excitatory inhibitory
#   cycle iteration learning for deep spiking neural networks", NeurIPS 2023 (snnlab runs a
#   stand-in, `bptt_stdp_cycles`).
# - M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014 — the
#   energy constants.
# - L. Kriener, J. Göltz, M. A. Petrovici, "The Yin-Yang dataset", NICE 2022.

# %% [markdown]
# ## The whole claims ledger
#
# The comparisons above are one run on the course's data sets. The ledger is the project's
# answer to "what is each rule *for*": each paper's headline claim, tested in the regime where
# the paper says it appears, over five paired seeds, with its verdict rule fixed before the run.
# Of the 20 recorded claims, **8 are reproduced, 5 not reproduced and 7 inconclusive**. Not
# reproduced: tandem at T = 2-4 against its ANN, TTFS against Göltz et al.'s 95.9 % on
# Yin-Yang, rate-BP's ≤ 0.5× step time, "KD beats cross-entropy alone", and the STDP-cycle
# stand-in against BPTT. Each rule's notebook shows its own claims with their figures;
# `python -m snnlab.claims show` prints every number.

# %%
from collections import Counter  # noqa: E402

from snnlab.widgets import ledger_record  # noqa: E402

ledger = ledger_record()
counts = Counter(c["verdict"] for c in ledger["claims"])
for c in ledger["claims"]:
    print(f"{c['id']:26s} {c['verdict']:15s} {', '.join(c['rules'])}")
assert ledger["mode"] == "full" and len(ledger["claims"]) == 20
assert counts == {"reproduced": 8, "not reproduced": 5, "inconclusive": 7}, counts
assert {c["id"] for c in ledger["claims"] if c["verdict"] == "not reproduced"} == {
    "tandem-low-T", "ttfs-yinyang", "rate-bp-speed", "kd-vs-ce", "stdp-cycles-vs-bptt"}

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
FAST = False  # the tests run with FAST True: fewer epochs and digits only, same code
SEED = 0
HIDDEN = 128  # hidden LIF neurons of the shared mlp
MAX_EPOCHS = 10  # each rule trains for its default number of epochs, capped at this
DATASETS = ["digits", "yinyang"]  # tasks of the comparison

# %%
if FAST:
    MAX_EPOCHS, DATASETS = 1, ["digits"]

import warnings

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import compare, exercises, metrics, plot, widgets

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
# | `eicil` | activation + local | BPTT cycles with STDP-like inhibitory phases | $O(T\,N)$ | 14 |
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
# ## 2. Every rule on digits (and Yin-Yang)
#
# `compare.rules("all", data)` builds one network per rule with the same seed (the rule's own
# `build_model`, so rules sharing a network share its initial weights), trains it with that
# rule's defaults and evaluates it. Rules that need a different neuron (`antlr`, `timing` need
# spike times; `ttfs` needs bias-free non-leaky layers; `tssl` PSP neurons) build that network;
# the table shows the difference through $T$ and the encoding-driven energy.
#
# **This is a small-budget snapshot, not a reproduction of the papers.** Every rule gets at
# most `MAX_EPOCHS` epochs, a 128-neuron hidden layer and its default hyper-parameters on small
# tasks; the papers tune each rule for hundreds of epochs on large networks. Timing rules in
# particular need more epochs than this. Timings are wall-clock on a shared CPU, so compare
# them within one run only.

# %%
data = {name: snnlab.load(name, seed=SEED) for name in DATASETS}
results = {}
for name, split in data.items():
    with warnings.catch_warnings():
        # quiet any library warning during the long run (the table is the result)
        warnings.simplefilter("ignore", UserWarning)
        results[name] = compare.rules("all", split, hidden=(HIDDEN,), max_epochs=MAX_EPOCHS,
                                      seed=SEED)
    print(f"== {name} ({split.n_classes} classes, {len(split.train)} training samples)")
    print(results[name].table(), end="\n\n")

# %% [markdown]
# The same in a terminal (one epoch per rule, to try quickly):
#
# ```bash
# snnlab compare --rules all --data digits --epochs 1
# snnlab compare --rules bptt,ottt,rate_bp --data yinyang
# ```
#
# ### Accuracy against energy, and against memory
#
# One point per rule; the dashed line joins the rules that no other rule beats on *both* axes
# (the Pareto front). An axis whose values span more than a factor 10 is logarithmic.

# %%
fig, axes = plt.subplots(len(DATASETS), 2, figsize=(13, 4.6 * len(DATASETS)),
                         constrained_layout=True, squeeze=False)
for row, name in zip(axes, DATASETS):
    plot.rule_comparison(results[name], x="energy_nj_per_sample", y="test_acc", ax=row[0],
                         title=f"{name}: accuracy vs inference energy")
    plot.rule_comparison(results[name], x="step_memory_mib", y="test_acc", ax=row[1],
                         title=f"{name}: accuracy vs activation memory per training step")
plt.show()

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
# ### Exercise 2: the Pareto front
#
# Write `pareto(rows)` for rows like `results["digits"].rows` (dicts with `"rule"`,
# `"energy_nj_per_sample"` and `"test_acc"`): return the names of the rules not dominated, lower
# energy and higher accuracy being better. Two rules with identical numbers do not dominate each
# other.

# %% tags=["exercise"]
def pareto(rows):
    # TODO: keep r unless some other row o has energy <= r's and accuracy >= r's,
    #       with at least one of the two strictly better
    raise NotImplementedError("Exercise 2: implement pareto")


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
for name, cmp in results.items():
    print(f"{name}:")
    print(f"  accuracy vs energy (yours):   {pareto(cmp.rows)}")
    print(f"  accuracy vs energy (snnlab):  {compare.pareto_optimal(cmp)}")
    print(f"  accuracy vs step memory:      {compare.pareto_optimal(cmp, cost='step_memory_mib')}")
    best = max(cmp.rows, key=lambda r: r["test_acc"])
    print(f"  most accurate: {best['rule']} ({best['test_acc']:.3f})")

# %% [markdown]
# ### Training curves
#
# Test accuracy per epoch for every rule on the last task (`plot.training_curves`): which rules
# are still climbing when their budget ends?

# %%
ax = plot.training_curves(results[DATASETS[-1]].histories)
ax.set_title(f"{DATASETS[-1]}: training curves of every rule")
plt.show()

# %% [markdown]
# ## What to notice
#
# - **Energy is decided by the encoding first.** With direct input the first layer does MACs at
#   every step and dominates the estimate; the rules that use a latency code (`antlr`,
#   `timing`, `ttfs`) only accumulate and sit an order of magnitude or more lower on the
#   energy axis, however accurate they are. Fewer steps ($T = 4$ for `tandem`, `kd`,
#   `hta_kl`) halve the MAC count of direct input.
# - **Activation memory follows what the rule stores**, as the map predicted: the online and
#   rate rules (`ottt`, `ottt_o`, `rate_bp`) and `tandem` keep a fraction of BPTT's saved
#   tensors; the latency-coded rules with $T = 40$ keep the most.
# - **Accuracy on a small budget favours the activation-based and ANN-guided rules**: they
#   reach high accuracy in a few epochs. The pure timing rules (`timing`, `ttfs`) learn more
#   slowly here, most visibly on digits; `antlr`, which adds the activation term to the timing
#   term, comes within about a point of BPTT on Yin-Yang at less than a tenth of its energy
#   (and further behind on digits). The papers' numbers come with far more epochs and tuned
#   hyper-parameters.
# - **The Pareto front depends on the question.** Accuracy vs energy and accuracy vs memory
#   give different fronts; "the best rule" only exists for a stated pair of metrics, a budget
#   and a task.
# - The numbers are one seed, one small network and a few epochs: a snapshot to read
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
#   cycle iteration learning for deep spiking neural networks", NeurIPS 2023 (`eicil`).
# - M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014 — the
#   energy constants.
# - L. Kriener, J. Göltz, M. A. Petrovici, "The Yin-Yang dataset", NICE 2022.

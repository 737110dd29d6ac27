# %% [markdown]
# # 05 · Activation vs timing: ANTLR on one network
#
# **Level 2 — Gradients.** Estimated time: 30 minutes.
#
# Notebook 03 trained a spiking network through its activations (surrogate BPTT); notebook 04
# differentiated spike times instead. Each route sees something the other misses. The
# **activation** route sees spikes appear and disappear, but treats "this spike moved one step"
# as "one spike vanished and a neighbour appeared". The **timing** route sees exact shifts, but
# is blind to neurons that do not fire and cannot create spikes. ANTLR (Kim, Kim & Kim,
# NeurIPS 2020) simply adds the two at the membrane. Here we train *the same network*, from
# *the same initial weights*, with all three and compare them.
#
# **Objectives.** After this notebook you can
# 1. write ANTLR's combined error $\delta V$ and say where each term is non-zero;
# 2. compare the gradients of several rules on one batch (cosine, sign agreement, norm ratio);
# 3. train with `bptt`, `timing` and `antlr` and compare accuracy, spikes and decision time;
# 4. explain why the comparison depends on the scale of the problem.

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
T = 40  # time steps; the inputs arrive in the first half
HIDDEN = 60  # hidden neurons (the paper's Yin-Yang demo size)
EPOCHS = 12  # epochs per rule
N_TRAIN = 5000  # Yin-Yang training samples
FD_SAMPLES = 300  # antithetic pairs for the finite-difference reference
SEEDS = [0, 1, 2]  # seeds of the multi-seed comparison (error bars)

# %%
if FAST:
    EPOCHS, N_TRAIN, FD_SAMPLES, SEEDS = 1, 1000, 40, [0, 1]

import copy

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import compare, exercises, plot
from snnlab.course import n05_activation_vs_timing as n05
from snnlab.encoding import encode
from snnlab.rules import antlr

torch.manual_seed(SEED)
data = antlr.latency_dataset(snnlab.load("yinyang", n_train=N_TRAIN))
print(data)

# %% [markdown]
# ## 1. One loss, two routes
#
# The network is 5-`HIDDEN`-3 of ANTLR neurons (notebook 04). Each Yin-Yang point
# $(x, y, 1-x, 1-y)$ becomes four input spikes in the first half of the simulation (bright =
# early), plus a **bias spike** at a fixed time, so every neuron can learn an offset. The class
# is the output neuron that fires **first**: logits $z_k = -t_k$ (never firing counts as $T$),
# loss $L = \mathrm{CE}(z, y)$.
#
# ANTLR forms the membrane error of every neuron and step as
#
# $$\delta V[t] = \lambda_{act}\,\sigma'(V[t]-\vartheta)\,\frac{\partial L}{\partial s[t]}
#    \;+\; \lambda_{tim}\,s[t]\Big(-\frac{\partial L/\partial t_s}{\dot V[t]}\Big),$$
#
# then runs the same backward recursion through the leak of $V$ and $I$ for both. As in the
# official ANTLR code, the latency loss enters **only the timing route** at the output,
# $\partial L/\partial t_k = -\beta_{sm}\,\partial L/\partial z_k$ at the first spike; the
# activation route there receives only a **no-spike penalty** ($\partial L/\partial s =
# -\lambda_{ns}/B$ for a target neuron that never fired). For the layer below, the timing error
# is traced back through the PSP kernel (eq. 8 of `snnlab/rules/antlr.py`). So
# $\lambda_{tim}=0$ is **not** `bptt`: it leaves only the no-spike penalty; and
# $\lambda_{act}=0$ is close to the `timing` rule (which adds its own silent-neuron fallback:
# weight bumping, notebook 04).

# %%
net0 = antlr.make_model(5, [HIDDEN], 3, seed=SEED)
x_all, y_all = data.train.tensors
xb, yb = encode(x_all[:128], T, "latency"), y_all[:128]
with torch.no_grad():
    rec = net0.run(xb)
fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), constrained_layout=True)
plot.raster(xb, ax=axes[0], title="input spikes (sample 0)")
plot.raster(rec.spikes[0], ax=axes[1], title="hidden spikes")
plot.raster(rec.readout_spikes, ax=axes[2], title=f"output spikes (label {int(yb[0])})")
print("hidden spikes per sample at initialisation:", round(rec.spike_counts()[0], 1))

# %% [markdown]
# ## 2. Three gradients of one batch
#
# `compare.gradients` asks each rule for its gradient on the same batch and the same weights,
# and compares each with a reference, per layer: **cosine** (do they point the same way?),
# **sign agreement** (fraction of weights pushed in the same direction) and **norm ratio**.

# %%
cmp = compare.gradients(net0, xb, yb, rules=["antlr", "timing"], reference="bptt")
print(cmp.table())
fig = plot.gradient_comparison(cmp)

# %% [markdown]
# Which one is *right*? A spiking loss is piecewise constant in the weights, so its true
# gradient is zero almost everywhere. What a learning rule should follow is the slope of the
# loss **smoothed** over small weight perturbations, which finite differences can estimate from
# forward passes alone (`reference="fd"`, noisy, so only on a small network):

# %%
tiny = antlr.make_model(5, [8], 3, seed=SEED, weight_mean=0.5)
cmp_fd = compare.gradients(tiny, xb[:, :64], yb[:64], rules=["bptt", "antlr", "timing"],
                           reference="fd", fd_samples=FD_SAMPLES, fd_sigma=0.05)
print(cmp_fd.table())
# "What to notice" below, on this run's numbers: against finite differences the timing
# gradient is the best aligned in both layers and about the right scale; bptt overshoots in
# norm, antlr undershoots
for p in cmp_fd.params():
    assert cmp_fd.value("timing", p) >= max(cmp_fd.value("bptt", p), cmp_fd.value("antlr", p))
    assert 0.3 < cmp_fd.value("timing", p, "norm_ratio") < 2
    assert cmp_fd.value("bptt", p, "norm_ratio") > 1.5 > 0.5 > cmp_fd.value("antlr", p,
                                                                             "norm_ratio")
# at initialisation (the bptt comparison above) the timing gradient points closer to bptt's
# than antlr's does, in both layers, and antlr's is an order of magnitude smaller
for p in cmp.params():
    assert cmp.value("timing", p) > cmp.value("antlr", p) > 0
    assert cmp.value("antlr", p, "norm_ratio") < 0.2

# %% [markdown]
# ### Exercise 1: the spike-time error for the layer below
#
# The hidden layer receives $A[t] = \partial L/\partial s[t]$ from autograd (the activation
# error). A first-order picture of its timing error (a teaching approximation; the rules use
# the code's reset-gated traces, eq. 8) is the central difference in time, only where it spiked:
# $\partial L/\partial t = s[t]\,(A[t+1] - A[t-1])/2$, with $A[T] = 0$ (nothing after the end)
# and $A[-1] = A[0]$. Write `timing_error(A, s)` for `[T, ...]` tensors, without a Python loop.

# %% tags=["exercise"]
def timing_error(A, s):
    # TODO: central difference in time of A, masked by the spikes s
    raise NotImplementedError("Exercise 1: implement timing_error")


# %% tags=["nbval-check-output"]
exercises.check_timing_error(timing_error)

# %% tags=["solution", "nbval-check-output"]
def timing_error(A, s):
    nxt = torch.cat([A[1:], torch.zeros_like(A[:1])])
    prv = torch.cat([A[:1], A[:-1]])
    return s * 0.5 * (nxt - prv)


exercises.check_timing_error(timing_error)

# %% [markdown]
# ### Exercise 2: cosine similarity
#
# Write `cosine(a, b)` returning the cosine similarity of two gradient tensors of any (equal)
# shape as a Python float. We use it below to follow the rules during training.

# %% tags=["exercise"]
def cosine(a, b):
    # TODO: <a, b> / (|a| |b|) over all elements
    raise NotImplementedError("Exercise 2: implement cosine")


# %% tags=["nbval-check-output"]
exercises.check_cosine(cosine)

# %% tags=["solution", "nbval-check-output"]
def cosine(a, b):
    a, b = a.flatten(), b.flatten()
    return float(a @ b / (a.norm() * b.norm()))


exercises.check_cosine(cosine)

# %% [markdown]
# ## 3. Training the same network three ways
#
# Each rule starts from a copy of `net0` and trains with the same data order, learning rate and
# number of epochs. After every epoch, the callback measures how well the rule's gradient on a
# fixed batch agrees with the BPTT gradient at the *current* weights.

# %%
cosine = exercises.use_or_reference(cosine, "check_cosine")
RULES = ["bptt", "timing", "antlr"]
results, nets = {}, {}
for name in RULES:
    net = copy.deepcopy(net0)
    track = []

    def measure(record, net=net, name=name, track=track):
        g = snnlab.rules.get(name).gradients(net, xb, yb)
        ref = snnlab.rules.get("bptt").gradients(net, xb, yb)
        track.append({k: cosine(g[k], ref[k]) for k in g})

    hist = snnlab.train(net, data, name, T=T, epochs=EPOCHS, lr=2e-3, batch_size=64, seed=SEED,
                        encoding="latency", progress=False, callback=measure)
    results[name] = dict(history=hist, cosines=track, **antlr.decision_stats(net, data.test, T))
    nets[name] = net

print(f"{'rule':8s} {'test acc':>8s} {'spikes/sample':>14s} {'spikes to decision':>19s} "
      f"{'decision step':>14s}")
for name, r in results.items():
    print(f"{name:8s} {100 * r['acc']:7.1f}% {r['spikes_per_sample']:14.1f} "
          f"{r['spikes_to_decision']:19.1f} {r['decision_step']:14.1f}")
for name in ("timing", "antlr"):
    c = results[name]["cosines"]
    print(f"cosine to bptt, {name}: hidden W {c[0]['layers.0.synapse.weight']:+.2f} -> "
          f"{c[-1]['layers.0.synapse.weight']:+.2f}, output W "
          f"{c[0]['readout.synapse.weight']:+.2f} -> {c[-1]['readout.synapse.weight']:+.2f} "
          "(after epoch 1 -> last)")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3), constrained_layout=True)
for i, (name, r) in enumerate(results.items()):
    h = r["history"]
    axes[0].plot(h.column("epoch"), [100 * a for a in h.column("test_acc")], "o-",
                 color=plot.PALETTE[i], label=name)
    axes[1].plot(h.column("epoch"), h.column("spikes_per_sample"), "o-", color=plot.PALETTE[i],
                 label=name)
    if name != "bptt":
        for k, style, where in (("layers.0.synapse.weight", "-", "hidden"),
                                ("readout.synapse.weight", "--", "output")):
            axes[2].plot(h.column("epoch"), [c[k] for c in r["cosines"]], style,
                         color=plot.PALETTE[i], label=f"{name}, {where} W")
axes[0].axhline(63.8, ls=":", color="k", lw=1, label="linear baseline")
axes[0].set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
axes[1].set(xlabel="epoch", ylabel="spikes per sample", title="activity")
axes[2].set(xlabel="epoch", ylabel="cosine to bptt", title="gradient agreement", ylim=(-1, 1))
for ax in axes:
    ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ### One seed is not enough
#
# The curves above are one initialisation and one data order. The rules end within a few points
# of each other and their curves cross, which one run cannot separate from luck.
# `n05.train_seeds` trains each rule once per seed (`SEEDS`: 3 in the full run, 2 in FAST) from
# that seed's network and reports mean ± standard deviation. The runs of section 3 are seed
# `SEED` of this comparison (same network, data order and settings), so they are reused
# (`done=`), not repeated.
#
# **Predict first.** Which rule will reach the highest *mean* test accuracy over the seeds:
# `"bptt"`, `"timing"` or `"antlr"`?

# %% tags=["exercise"]
my_prediction = None  # TODO: "bptt", "timing" or "antlr"

# %% tags=["solution"]
my_prediction = "antlr"  # it combines both routes; the checker says whether the gap is real

# %%
done = {(name, SEED): (nets[name], results[name]["history"]) for name in RULES}
summary = n05.train_seeds(RULES, data, seeds=SEEDS, T=T, epochs=EPOCHS, hidden=HIDDEN, lr=2e-3,
                          batch_size=64, done=done)
exercises.check_prediction_best_rule(my_prediction, summary)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), constrained_layout=True)
for i, (name, r) in enumerate(summary.items()):
    epochs = range(1, len(r["curve_mean"]) + 1)
    axes[0].errorbar(list(epochs), [100 * m for m in r["curve_mean"]],
                     yerr=[100 * sd for sd in r["curve_std"]], fmt="o-", capsize=3,
                     color=plot.PALETTE[i], label=name)
    axes[1].errorbar([r["spikes_mean"]], [100 * r["acc_mean"]], xerr=[r["spikes_std"]],
                     yerr=[100 * r["acc_std"]], fmt="o", capsize=3, color=plot.PALETTE[i],
                     label=name)
axes[0].set(xlabel="epoch", ylabel="test accuracy (%)",
            title=f"mean ± std over {len(SEEDS)} seeds")
axes[1].set(xlabel="spikes per sample", ylabel="final test accuracy (%)",
            title="accuracy against activity")
for ax in axes:
    ax.legend(fontsize=7)
plt.show()
gap, spread = n05.gap_and_spread(summary)
for name, r in summary.items():
    print(f"{name:8s} {100 * r['acc_mean']:5.1f} ± {100 * r['acc_std']:.1f}%   "
          f"{r['spikes_mean']:6.1f} ± {r['spikes_std']:.1f} spikes/sample")
print(f"best - worst mean accuracy {100 * gap:.1f} points; largest seed std {100 * spread:.1f}")
if not FAST:  # "all three learn Yin-Yang far above the 63.8 % linear baseline" (full size only)
    assert all(r["acc_mean"] > 0.70 for r in summary.values())
    # "the timing rule's fallback costs extra spikes": over a third more than either other rule
    assert summary["timing"]["spikes_mean"] > 1.33 * max(summary["bptt"]["spikes_mean"],
                                                         summary["antlr"]["spikes_mean"])

# %% [markdown]
# ### Exercise 3: is the difference real?
#
# In your table: is the gap between the best and the worst rule's mean accuracy **larger** than
# the largest seed-to-seed standard deviation? Answer `"yes"` or `"no"`.

# %% tags=["exercise"]
gap_is_larger = None  # TODO: "yes" or "no", from your run

# %%
exercises.check_seed_spread(gap_is_larger, summary)

# %% tags=["solution"]
gap_is_larger = "yes" if gap > spread else "no"
exercises.check_seed_spread(gap_is_larger, summary)

# %% [markdown]
# ### A purely timing-based baseline: exact first-spike times
#
# The `timing` rule estimates spike-time gradients on a time grid. For a non-leaky neuron with
# exponential synapses, the first spike time has a closed form (Mostafa 2017):
# $e^{t_{out}} = \sum_{i\in C} w_i e^{t_i} / (\sum_{i\in C} w_i - \vartheta)$ over the inputs
# $C$ that arrived before it, so its gradients are *exact*, with no surrogate and no grid. The
# `ttfs` rule trains the same kind of network this way with the loss of Göltz et al. (2021),
# who report about 95.9 % on Yin-Yang (120 hidden neurons, 300 epochs).

# %%
from snnlab.rules import ttfs

ttfs_net = ttfs.make_model(5, [HIDDEN], 3, seed=SEED)
snnlab.train(ttfs_net, data, "ttfs", T=T, epochs=EPOCHS, batch_size=64, seed=SEED,
             progress=False)
exact = ttfs.evaluate_exact(ttfs_net, data.test, T)
print(f"ttfs: {100 * exact['acc']:.1f}% (exact continuous times), "
      f"{exact['spikes_per_sample']:.0f} spikes per sample (one per neuron at most); "
      f"discrete simulation of the same weights: "
      f"{100 * snnlab.evaluate(ttfs_net, data.test, T, encoding='latency')['acc']:.1f}%")

# %% [markdown]
# ## 4. Widget: mixing the two routes
#
# Choose $\lambda_{act}$, $\lambda_{tim}$ and a layer. The panel shows, for the network trained
# by ANTLR, the ANTLR gradient with your mix against the BPTT gradient: the per-layer cosine,
# then the two weight-gradient maps side by side. Set $\lambda_{tim} = 0$: only the no-spike
# penalty is left (zero where every target fired), nothing like BPTT. Set $\lambda_{act} = 0$:
# only neurons and steps that spiked contribute.

# %%
trained = nets["antlr"]


def show_mix(lam_act=1.0, lam_tim=1.0, layer="layers.0.synapse.weight"):
    if lam_act == 0 and lam_tim == 0:
        print("at least one route must be on")
        return
    rule = snnlab.rules.get("antlr", lam_act=lam_act, lam_tim=lam_tim)
    cmp = compare.gradients(trained, xb, yb, rules=[rule], reference="bptt")
    plot.gradient_comparison(cmp, param=layer)
    plt.show()


try:
    import ipywidgets

    ipywidgets.interact(show_mix,
                        lam_act=ipywidgets.FloatSlider(1.0, min=0.0, max=2.0, step=0.25),
                        lam_tim=ipywidgets.FloatSlider(1.0, min=0.0, max=2.0, step=0.25),
                        layer=["layers.0.synapse.weight", "readout.synapse.weight"])
except ImportError:  # pragma: no cover - widgets are optional
    show_mix(1.0, 1.0)

# %% [markdown]
# ## What to notice
#
# - The three rules share one network, one loss and one backward recursion; they differ only in
#   how $\partial L/\partial V$ is formed. In `antlr` the latency loss feeds only the timing
#   route; the activation route gets only the no-spike penalty, so $\lambda_{tim}=0$ is not
#   `bptt`.
# - With several seeds (section 3's error bars) the rules' mean accuracies differ by about
#   the seed-to-seed spread or little more: one run cannot rank them (your exercise 3).
# - At initialisation (section 2) neither route is close to BPTT: the timing gradient points
#   closer to it than ANTLR's does in both layers, and ANTLR's is about ten times smaller
#   (norm ratio), because its activation route carries only the no-spike penalty. During
#   training (third panel) the cosines move from epoch to epoch as spikes appear, vanish and
#   graze the threshold, where $-1/\dot V$ is huge on a few neurons; read your own curves.
# - Against finite differences of the *smoothed* loss (section 2, tiny network, a noisy
#   estimate) the timing gradient was the best aligned in both layers and had about the right
#   scale, while `bptt` overshoots in norm (2-4×) and `antlr` undershoots (about 0.1×):
#   timing gradients are accurate where spikes exist.
# - The timing gradient is blind to silent neurons (empty rows in its maps); the `timing` rule
#   needs its fallback that raises silent neurons' weights (bumping), and it ends with over a
#   third more spikes per sample than `bptt` or `antlr` (asserted in the full run).
# - All three learn Yin-Yang far above the 63.8 % linear baseline, and so does the exact
#   `ttfs` baseline.
# - The paper reports fewer spikes for ANTLR on latency-coded MNIST (784-800-10, T = 300).
#   Here, with 4 input spikes and a neuron that resets both current and voltage, a hidden neuron
#   fires about once per sample whatever the rule, so the spike counts of `bptt` and `antlr`
#   are close; compare the spikes *to decision* and the decision step as well.
#
# ## Further reading
#
# - J. Kim, K. Kim, J.-J. Kim, "Unifying Activation- and Timing-based Learning Rules for Spiking
#   Neural Networks", NeurIPS 2020; code: github.com/KyungsuKim42/ANTLR.
# - L. Kriener, J. Göltz, M. A. Petrovici, "The Yin-Yang dataset", NICE 2022 (arXiv:2102.08211).
# - F. Zenke, T. P. Vogels, "The remarkable robustness of surrogate gradient learning for
#   instilling complex function in spiking neural networks", Neural Computation 2021.

# %% [markdown]
# ## What the claims ledger says (five seeds, in ANTLR's regime)
#
# On the task above the three rules land close together on one seed. The ANTLR paper's claim
# is about a regime where spike *timing* carries the class: sparse, single-spike latency
# input. The claims ledger tests it there — smooth random manifolds (10 classes, 20 inputs,
# every input spikes once in the first half of T = 40), five paired seeds, the same network and
# budget for ANTLR, timing-only and activation-only learning. The activation-only arm trains on
# spike counts (the latency loss's gradient is a timing quantity the activation route cannot
# receive; trained on it, that arm stayed at chance — the ledger's `history` records the fix).
# The timing-only arm is the paper's ablation as released, with its silent-neuron penalty
# (`silent_penalty=100, bump=0`), not the weight bumping `snnlab`'s `timing` rule uses by
# default (section 3 above trains that one).
#
# Recorded: ANTLR reaches **87.0 %**, **38.1 points** above activation-only (interval
# [35.0, 41.2]) and **37.9 points** above timing-only ([26.9, 48.9]), with **0.72×** the
# activation-only rule's spikes and **0.32×** the timing-only rule's. All four checks:
# *reproduced*. The regime matters: the gap the paper claims shows when the information is in
# single spike times, not on the rate-friendly task above.

# %%
import matplotlib.pyplot as plt  # noqa: E402

from snnlab.widgets import claims_panel, ledger_check  # noqa: E402

rows = claims_panel(ids=["antlr-vs-components"])
plt.show()
checks = [ledger_check("antlr-vs-components", i) for i in range(4)]
assert all(c["verdict"] == "reproduced" for c in checks)
assert round(rows[0]["value"], 1) == 87.0
assert [round(c["mean"], 1) for c in checks[:2]] == [38.1, 37.9]
assert [round(c["mean"], 2) for c in checks[2:]] == [0.72, 0.32]

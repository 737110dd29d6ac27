# %% [markdown]
# # 11 · TSSL-BP: learning spike *sequences* through spike times in a few steps
#
# **Level 4 — Efficiency and hardware.** Estimated time: 25 minutes.
#
# Surrogate BPTT (notebook 03) treats a spike as a soft step of the membrane. TSSL-BP (Zhang &
# Li, NeurIPS 2020) asks a different question: *if this spike moved a little earlier, how would
# the postsynaptic potentials it causes change?* It trains networks to emit **target spike
# trains** and gets good accuracy with only $T = 5$ time steps, which makes it cheap.
#
# **Objectives.** After this notebook you can
# 1. describe TSSL-BP's PSP neuron and its kernel loss against target spike trains;
# 2. compute the two dependencies it backpropagates: *inter-neuron* (through spike times) and
#    *intra-neuron* (through the reset), and the surrogate fallback for quiet neurons;
# 3. see them on one neuron with a dashboard;
# 4. train on digits with $T = 5$ and compare with BPTT and with the surrogate alone.

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
T = 5  # TSSL-BP's few time steps
HIDDEN = 100  # hidden PSP neurons
EPOCHS = 20  # epochs of each training run
SWEEP_TS = [2, 3, 5, 8]  # T values of the accuracy-vs-T sweep
SEEDS = [0, 1, 2]  # seeds of the three-way comparison (mean ± std over them)

# %%
if FAST:
    HIDDEN, EPOCHS, SWEEP_TS, SEEDS = 32, 3, [2, 5], [0, 1]

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import exercises, plot, widgets
from snnlab.rules.tssl import psp, target_trains

torch.manual_seed(SEED)
data = snnlab.load("digits", seed=SEED)

# %% [markdown]
# ## 1. The PSP neuron
#
# Every layer sees the **postsynaptic potential** of its inputs, a first-order synaptic trace
# normalised so that one spike's PSP integrates to about 1:
#
# $$
# a[t] = \Big(1 - \frac{1}{\tau_s}\Big)a[t-1] + \frac{s[t]}{\tau_s}
#      = \sum_k \epsilon[k]\,s[t-k],\qquad \epsilon[k] = \frac{(1-1/\tau_s)^k}{\tau_s},
# $$
#
# and the neuron integrates it with leak $1-1/\tau_m$ and resets to zero after a spike:
#
# $$
# u[t] = \Big(1-\frac{1}{\tau_m}\Big)u[t-1]\,(1-s[t-1]) + W a_{in}[t],\qquad
# s[t] = H(u[t]-\vartheta).
# $$
#
# The paper uses $\tau_m = 5$, $\tau_s = 3$, $\vartheta = 1$. Because $W$ is linear, this is
# snnlab's LIF with a synaptic current; `snnlab.rules.get("tssl").build_model(...)` builds
# that network (what `mlp(...)` builds, with PSP neurons and a PSP readout).
#
# ### Exercise 1: the PSP kernel
#
# Write `psp_kernel(T, tau_s)` returning $\epsilon[0..T-1]$.

# %% tags=["exercise"]
def psp_kernel(T, tau_s):
    # TODO: (1 - 1/tau_s) ** k / tau_s for k = 0 .. T-1, as a tensor
    raise NotImplementedError("Exercise 1: implement psp_kernel")


# %% tags=["nbval-check-output"]
exercises.check_psp_kernel(psp_kernel)

# %% tags=["solution", "nbval-check-output"]
def psp_kernel(T, tau_s):
    return (1 - 1 / tau_s) ** torch.arange(T, dtype=torch.float32) / tau_s


exercises.check_psp_kernel(psp_kernel)

# %% [markdown]
# ## 2. Target spike trains and the kernel loss
#
# The output layer is made of PSP neurons too. For a sample of class $y$ the output neuron $y$
# should fire a fixed **target spike train** $\hat s$ and all others should stay silent. The
# loss compares PSPs:
#
# $$ L = \tfrac12 \sum_t \sum_k \big(a^{out}_k[t] - (\epsilon * \hat s_k)[t]\big)^2 . $$
#
# The reference code uses $[0,1,1,1,1]$ for $T = 5$ (the paper prints $[0,1,0,1,1]$; the issue
# tracker notes that the choice matters). The prediction is the class with the largest summed
# PSP.

# %%
tgt = target_trains(torch.tensor([3]), 10, T)[:, 0]
fig, axes = plt.subplots(1, 2, figsize=(11, 3), constrained_layout=True)
plot.raster(tgt.unsqueeze(1), ax=axes[0], title="target spike trains for class 3 (T = 5)")
axes[1].plot(psp(tgt, 3.0)[:, 3].numpy(), "o-", label="target PSP of neuron 3")
axes[1].plot(psp(tgt, 3.0)[:, 0].numpy(), "s--", label="any other neuron (silent)")
axes[1].set_xlabel("time step")
axes[1].set_ylabel("PSP")
axes[1].legend()
plt.show()

# %% [markdown]
# ## 3. The backward pass: two dependencies and a fallback
#
# A spike at step $t_m$ starts a PSP. Moving it earlier raises the PSP that follows, and a
# membrane that rises by $\Delta u$ per step crosses threshold earlier by about
# $1/\Delta u$ per unit of extra potential. With $\delta s[t] = \sum_k \epsilon[k]\,
# \partial L/\partial a[t+k]$ (what autograd of the PSP gives):
#
# * **inter-neuron** (the spike-time dependency, passed to the next layer through $W$):
#   $g[t] = \delta s[t]\;\mathrm{clamp}(1/\Delta u[t], 0, 8)$ — the clamp keeps grazing
#   crossings from exploding;
# * **intra-neuron** (the reset dependency): the error $\theta$ at the neuron's next spike
#   flows back along the membrane leak, and at the previous spike through the reset, whose
#   timing changes how much potential is removed:
#   $g[t] \mathrel{+}= \theta(1-\tfrac{1}{\tau_m})(1-s[t]) + \theta\,u[t]\,\tfrac{1}{\tau_m}
#   \,\mathrm{clamp}(1/\Delta u[t],0,8)$;
# * **fallback**: where the neuron's own PSP is below $1/(4\tau_s)$ there is no spike whose
#   time could move, and TSSL-BP uses a sigmoid surrogate instead.
#
# ### Exercise 2: the spike-time sensitivity
#
# Write `dt_du(du)` returning $\mathrm{clamp}(1/\Delta u, 0, 8)$ elementwise (0 for a falling
# membrane, $\Delta u \le 0$).

# %% tags=["exercise"]
def dt_du(du):
    # TODO: 1/du clamped to [0, 8]; 0 where du <= 0
    raise NotImplementedError("Exercise 2: implement dt_du")


# %% tags=["nbval-check-output"]
exercises.check_spike_time_derivative(dt_du)

# %% tags=["solution", "nbval-check-output"]
def dt_du(du):
    return torch.where(du > 0, (1 / du).clamp(max=8.0), torch.zeros_like(du))


exercises.check_spike_time_derivative(dt_du)

# %% [markdown]
# ### The parts on one neuron
#
# One PSP neuron, constant input current, trained towards a target train. The bars show the
# gradient of the kernel loss with respect to the input current at every step, part by part:
# *inter* alone, *inter + intra*, the *fallback* alone, and everything. Try a weak current
# (the neuron is silent: only the fallback acts), a strong one, and the "silent" target.

# %% tags=["nbval-ignore-output"]
widgets.tssl_neuron_dashboard(current=0.5, tau_m=5.0, pattern="alternate")

# %%
r = widgets.simulate_tssl_neuron(current=0.5, T=12, pattern="alternate")
print("spikes:        ", r["spikes"].int().tolist())
for name, g in r["grads"].items():
    print(f"{name:12s}  ", [f"{v:+.2f}" for v in g.tolist()])
quiet = widgets.simulate_tssl_neuron(current=0.2, T=12, pattern="alternate")
print(f"current 0.2: {int(quiet['spikes'].sum())} spikes; inter bars "
      f"{float(quiet['grads']['inter'].abs().sum()):.2f} in all, but 'all' equals 'fallback'")

# %%
g, spk = r["grads"], r["spikes"].nonzero()[:, 0].tolist()
first, last = spk[0], spk[-1]
intra = g["inter+intra"] - g["inter"]
assert (intra[:last].abs() > 1e-6).all()  # the reset term reaches every step before a spike
assert (g["fallback"][:first].abs() > 0).all()  # the fallback acts before the first spike...
assert (g["fallback"][first:] == 0).all()  # ... and never after it
assert quiet["spikes"].sum() == 0 and quiet["grads"]["inter"].abs().sum() > 0
assert torch.allclose(quiet["grads"]["all"], quiet["grads"]["fallback"])  # fallback replaces it

# %% [markdown]
# Notice (the asserts above check it on these numbers) that the intra-neuron term spreads
# each spike's error back over the steps since the previous spike, and that the fallback acts
# only before the first spike (where the PSP is still low). Like the reference code, snnlab applies
# the timing terms at every step where the membrane rises, not only at spike steps
# (`spike_steps_only=True` gives the paper's version),
# so for a silent neuron (current 0.2 above) the *inter* bars are not zero: the fallback is
# what replaces them, and the full gradient equals the fallback's.
# The three switches are arguments of `snnlab.rules.tssl.tssl_spikes` and of the
# rule itself (`inter=`, `intra=`, `fallback=`), and the library's test checks the
# spike-time part against finite differences under smooth conditions.
#
# ## 4. Training in five steps
#
# Three runs on the same network, each with every seed of `SEEDS`: TSSL-BP; the surrogate
# alone (`psp_threshold=inf` uses the fallback everywhere — the ablation raised in the official
# repository's issue #2); and surrogate BPTT on the default LIF network.
#
# **Predict first.** Averaged over the seeds, will full TSSL-BP be `"higher"` than its own
# surrogate-only ablation (by more than the two seed spreads together), `"tied"` with it
# (within them), or `"lower"`?

# %% tags=["exercise"]
my_prediction = ...  # "higher", "tied" or "lower": commit before you run the next cell

# %% tags=["solution"]
my_prediction = "tied"

# %%
runs = {"TSSL-BP": ("tssl", {}),
        "surrogate only": ("tssl", {"psp_threshold": float("inf")}),
        "BPTT (LIF)": ("bptt", {})}
histories, nets, accs = {}, {}, {label: [] for label in runs}
for label, (rule, kw) in runs.items():
    for seed in SEEDS:
        torch.manual_seed(seed)
        net_ = snnlab.rules.get(rule, **kw).build_model(64, [HIDDEN], 10)
        h = snnlab.train(net_, data, rule, T=T, epochs=EPOCHS, seed=seed, progress=False, **kw)
        accs[label].append(h.test_acc)
        if seed == SEEDS[0]:
            histories[label], nets[label] = h, net_
    a = torch.tensor(accs[label])
    print(f"{label:15s} test accuracy {a.mean():.3f} ± {a.std():.3f} over seeds {SEEDS} "
          f"({', '.join(f'{v:.3f}' for v in accs[label])}); spikes/sample (seed {SEEDS[0]}) "
          f"{histories[label].final['spikes_per_sample']:.0f}")
plot.training_curves(histories, keys=("test_acc",), title=f"Digits with T = {T} (seed {SEEDS[0]})")
plt.show()

# %%
exercises.check_prediction_tssl_vs_surrogate(my_prediction, accs)

# %%
mean = {k: float(torch.tensor(v).mean()) for k, v in accs.items()}
std = {k: float(torch.tensor(v).std()) for k, v in accs.items()}
gap = mean["TSSL-BP"] - mean["surrogate only"]
spread = std["TSSL-BP"] + std["surrogate only"]
print(f"TSSL-BP minus surrogate only: {100 * gap:+.1f} points; the two seed spreads together: "
      f"{100 * spread:.1f} points")
# TSSL-BP does not beat its own surrogate-only ablation by more than a few points here
assert gap < max(spread, 0.01) + 0.03, (gap, spread)
assert mean["BPTT (LIF)"] > mean["TSSL-BP"]  # and BPTT on a LIF network is ahead of both

# %% [markdown]
# Read the two lines above: on this small task **TSSL-BP ties its own surrogate-only
# ablation**. The gap between them (printed in points) is of the size of the seed-to-seed
# spread (the cell asserts it is at most a few points beyond it), and which of the two comes
# out ahead changes with the seeds you pick. That is what issue #2 of the official repository
# reports for CIFAR-10: much of the benefit comes from the PSP network and few steps, not from
# the timing terms. Surrogate BPTT on a LIF network is ahead of both with the same $T$ and
# epochs. The timing terms can only matter where precise spike times are the target.
# (For the record, the full run, 3 seeds of 20 epochs each, measured TSSL-BP 95.8 ± 1.0%,
# surrogate only 95.8 ± 0.3% and BPTT 97.3 ± 0.3%: a gap of 0.0 points between the first two.)
#
# **Interpret.** From your printed numbers: by how many accuracy points (mean over the seeds)
# is TSSL-BP ahead of its surrogate-only ablation? (Negative if it is behind.)

# %% tags=["exercise"]
answer = ...  # in accuracy points, e.g. 1.5 or -0.7

# %% tags=["solution"]
answer = 100 * gap

# %%
exercises.check_tssl_gap(answer, accs)

# %% [markdown]
# Here is the trained network's output (seed 0) for one test digit, against its target:

# %%
x_test, y_test = data.test.tensors
net = nets["TSSL-BP"]
with torch.no_grad():
    rec = net.run(snnlab.encode(x_test[:1], T, "direct"))
print(f"digit {int(y_test[0])}, predicted {int(rec.logits.argmax())}")
plot.raster(rec.readout_spikes, title="output spikes (rows: classes)")
plt.show()

# %% [markdown]
# ## 5. How few steps?

# %%
acc_T = {}
for T_ in SWEEP_TS:
    torch.manual_seed(SEED)
    m = snnlab.rules.get("tssl").build_model(64, [HIDDEN], 10)
    acc_T[T_] = snnlab.train(m, data, "tssl", T=T_, epochs=EPOCHS, seed=SEED,
                             progress=False).test_acc
    print(f"T = {T_}: TSSL-BP test accuracy {acc_T[T_]:.3f}")
assert acc_T[max(SWEEP_TS)] > acc_T[min(SWEEP_TS)]  # more steps help the shortest window
if not FAST:  # a handful of steps is enough (the FAST run trains too little to say so)
    assert acc_T[5] > 0.8, acc_T

# %% [markdown]
# The shortest window is the worst; from about five steps on, the full run reaches most of
# what the network can do on digits (asserted on the full run only: FAST trains too briefly).

# %% [markdown]
# ## What to notice
#
# - TSSL-BP's network outputs PSPs and learns target spike *trains*; the prediction is the
#   largest summed output PSP.
# - Its gradient goes through spike times: $1/\Delta u$ (clamped) converts a change of
#   potential into a change of spike time, and the PSP kernel converts that into a change of
#   the next layer's input. The reset couples consecutive spikes of one neuron.
# - Silent neurons have no spike time to move: the fallback surrogate is what lets them start
#   firing, and it stays on during the whole training.
# - A handful of time steps is enough for digits; with discrete steps the "timing" gradient is
#   an approximation (a spike can only move by whole steps).
# - On digits the timing terms do not pay off: TSSL-BP ties its surrogate-only ablation within
#   the seed spread, and surrogate BPTT on a LIF network is ahead of both.
#
# ## Further reading
#
# - W. Zhang, P. Li, "Temporal Spike Sequence Learning via Backpropagation for Deep Spiking
#   Neural Networks", *NeurIPS* 2020; code: github.com/stonezwr/TSSL-BP (see its issues #2,
#   #4 and #14 on the fallback, the kernel normalisation and the target pattern).
# - Notebook 04/05 (timing gradients and ANTLR) for exact spike-time gradients, and ANTLR's
#   *sum* of activation and timing terms as opposed to TSSL-BP's *switch*.

# %%
_ = exercises.progress()

# %% [markdown]
# ## What the claims ledger says (five seeds)
#
# The ledger runs TSSL-BP in its few-step regime (digits, T = 5) against its own surrogate-only
# ablation and BPTT, five paired seeds. Recorded: TSSL-BP is **0.56 points below** its
# surrogate-only ablation (interval [−1.5, 0.4]; the paper claims it is better) and **1.2
# points below** BPTT ([−1.5, −0.9]; the ledger asks for "within a point"). Both intervals
# contain their margin: *inconclusive*. On this scale the inter-neuron timing term does not
# show the advantage the paper reports on CIFAR-10.

# %%
from snnlab.widgets import claims_panel, ledger_check  # noqa: E402

claims_panel(ids=["tssl-few-steps"])
plt.show()
abl, bp = ledger_check("tssl-few-steps", 0), ledger_check("tssl-few-steps", 1)
assert abl["verdict"] == bp["verdict"] == "inconclusive"
assert round(abl["mean"], 2) == -0.56 and round(bp["mean"], 1) == -1.2
assert abl["lo"] < 0 < abl["hi"] and bp["lo"] < -1 < bp["hi"]

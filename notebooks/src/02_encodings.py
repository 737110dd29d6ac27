# %% [markdown]
# # 02 · Encodings: from numbers to spikes
#
# **Level 1 — Foundations.** Estimated time: 25 minutes.
#
# A spiking network speaks in spikes over time, but a dataset gives you numbers: the 64 grey
# values of an 8×8 handwritten digit. An **encoder** turns a static sample `x [B, ...]` into a
# time-major sequence `[T, B, ...]` that the network reads one step at a time.
#
# **Objectives.** After this notebook you can
# 1. name the four encoders of `snnlab.encoding` and say what each puts on the wire;
# 2. implement a rate code and a latency code yourself;
# 3. measure what an encoding costs (spikes) and what it keeps (reconstruction error, accuracy)
#    as the number of time steps $T$ grows.

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
T_VALUES = [2, 4, 8, 16, 32, 64]  # time steps for the cost / information sweep
TRAIN_T = [4, 16]  # time steps for the tiny trained network
EPOCHS = 8

# %%
if FAST:
    T_VALUES, TRAIN_T, EPOCHS = [2, 8, 32], [4], 1

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import exercises, plot, widgets

torch.manual_seed(SEED)
data = snnlab.load("digits", seed=SEED)
x_test, y_test = data.test.tensors
print(f"digits: {len(data.train)} train / {len(data.test)} test samples of shape "
      f"{data.input_shape}, values in [{float(x_test.min())}, {float(x_test.max())}]")

# %% [markdown]
# ## 1. Four ways to present a digit
#
# For one input value $x_i \in [0, 1]$ and time step $t = 0, \dots, T-1$:
#
# | method | at step $t$ the network sees | spikes per input |
# |---|---|---|
# | **direct** | the value $x_i$ itself (a current); the first layer makes the spikes | none |
# | **rate** | a Bernoulli spike, $P(s_i[t] = 1) = \min(g\,x_i, 1)$ | $T\,g\,x_i$ on average |
# | **latency** | one spike at $t_i = \mathrm{round}((1 - x_i)(T - 1))$; none if $x_i = 0$ | ≤ 1 |
# | **delta** | $\pm 1$ where the signal changed by more than a threshold | static image: 1 |
#
# Bright pixels fire *first* in the latency code. A static image switches on once at $t = 0$,
# so the delta code sends a single burst.
#
# `snnlab.encode(x, T, method)` implements all of them; `plot.encodings` shows them side by side.

# %%
sample = x_test[:1]
fig = plot.encodings(sample, T=16, methods=("direct", "rate", "latency", "delta"),
                     image_shape=(8, 8), seed=SEED)
fig.suptitle(f"One test digit (label {int(y_test[0])}), T = 16", fontsize=12)
plt.show()

# %% [markdown]
# Read the rasters row by row: each row is one of the 64 pixels. The rate code repeats the image
# as noisy spike counts; the latency code sorts pixels by brightness into one spike each; the
# delta code sees the image switch on at $t = 0$ and then nothing, because a static image never
# changes again.
#
# ### Exercise 1: a rate code
#
# Write `rate_encode(x, T)` returning a `[T, *x.shape]` tensor of 0/1 spikes where every step
# spikes independently with probability $x$ (gain 1).

# %% tags=["exercise"]
def rate_encode(x, T):
    # TODO: Bernoulli spikes with probability x at each of the T steps
    raise NotImplementedError("Exercise 1: implement rate_encode")


# %% tags=["nbval-check-output"]
exercises.check_rate_code(rate_encode)

# %% tags=["solution", "nbval-check-output"]
def rate_encode(x, T):
    p = x.clamp(0, 1).unsqueeze(0).expand(T, *x.shape)  # same probability at every step
    return torch.bernoulli(p)


exercises.check_rate_code(rate_encode)

# %% [markdown]
# ### Exercise 2: a latency code
#
# Write `latency_encode(x, T)`: one spike per input at step
# $t_i = \operatorname{round}\big((1 - x_i)(T - 1)\big)$, no spike where $x_i = 0$, shape
# `[T, *x.shape]`. Tip: compare `torch.arange(T)` (reshaped to broadcast) with `t_spike`.

# %% tags=["exercise"]
def latency_encode(x, T):
    # TODO: one-hot over time at t_spike = round((1 - x) * (T - 1)); silent where x == 0
    raise NotImplementedError("Exercise 2: implement latency_encode")


# %% tags=["nbval-check-output"]
exercises.check_latency_code(latency_encode)

# %% tags=["solution", "nbval-check-output"]
def latency_encode(x, T):
    t_spike = torch.round((1 - x.clamp(0, 1)) * (T - 1))
    steps = torch.arange(T).reshape(T, *([1] * x.ndim))
    return ((steps == t_spike) & (x > 0)).float()


exercises.check_latency_code(latency_encode)

# %% [markdown]
# ### Exercise 3: how many spikes?
#
# A pixel with $x = 0.3$ is rate-coded with gain 1 over $T = 20$ steps. How many spikes does it
# send on average?

# %% tags=["exercise"]
expected_spikes = ...  # TODO: a number

# %% tags=["nbval-check-output"]
exercises.check_spike_count(expected_spikes, x=0.3, T=20)

# %% tags=["solution", "nbval-check-output"]
expected_spikes = 20 * 0.3  # T steps, each a spike with probability x
exercises.check_spike_count(expected_spikes, x=0.3, T=20)

# %% [markdown]
# ## 2. Interactive: time steps and gain
#
# Pick a method and move $T$ and the rate gain $g$. The title reports the number of spikes and
# the error of the simplest decoder (the time-average of the rate code, the spike time of the
# latency code). Try: how large must $T$ be before the rate code's error drops below 0.1? What
# does a gain above 1 do to bright pixels?

# %% tags=["nbval-ignore-output"]
dash = widgets.encoding_dashboard(x_test[0], T=16, method="rate", gain=1.0)
dash

# %% [markdown]
# ## 3. What each code costs and what it keeps
#
# Two numbers per encoding and $T$, averaged over the whole test set:
# - **cost**: spikes per sample (every spike costs energy on neuromorphic hardware);
# - **information**: the mean absolute error of decoding the pixels back from the spikes.
#
# `widgets.simulate_encoding` (the dashboard's pure function) does both for the whole test set at
# once when we pass all its pixels as one long vector.
#
# ### Exercise 4: predict, then look
#
# Before running the sweep: at the **largest** $T$ of the sweep, which code will decode the
# pixels back with the **smallest** error, `"rate"`, `"latency"` or `"delta"`? Commit to an
# answer; the checker compares it with your run and explains.

# %% tags=["exercise"]
my_prediction = None  # TODO: "rate", "latency" or "delta"

# %% tags=["solution"]
my_prediction = "latency"  # its only error is rounding a spike time to the grid of T steps

# %%
methods = ["rate", "latency", "delta"]
cost = {m: [] for m in methods}
error = {m: [] for m in methods}
for T in T_VALUES:
    for m in methods:
        r = widgets.simulate_encoding(x_test, T=T, method=m, seed=SEED)
        cost[m].append(r["n_spikes"] / len(x_test))
        error[m].append(r["error"])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
for i, m in enumerate(methods):
    axes[0].plot(T_VALUES, cost[m], "o-", color=plot.PALETTE[i], label=m)
    axes[1].plot(T_VALUES, error[m], "o-", color=plot.PALETTE[i], label=m)
for ax in axes:
    ax.set_xscale("log", base=2)
    ax.set_xlabel("time steps T")
    ax.legend()
axes[0].set(ylabel="spikes per sample", title="Cost: spikes per digit", yscale="log")
axes[1].set(ylabel="mean |x - decoded x| (0-1 scale)", title="Information: decoding error")
plt.show()
print("spikes per sample at T =", T_VALUES[-1], {m: round(cost[m][-1], 1) for m in methods})
exercises.check_prediction_best_code(my_prediction, error)
# the statements below, on this run's numbers
per_step = [c / T for c, T in zip(cost["rate"], T_VALUES)]
assert max(per_step) < 1.05 * min(per_step)  # rate: cost grows linearly with T
n_lit = int((x_test > 0).sum()) / len(x_test)  # nonzero pixels per digit
assert all(abs(c - n_lit) < 1e-6 for c in cost["latency"]) and n_lit <= 64  # ≤ 1 per pixel
assert all(cost["delta"][i] <= cost["latency"][i] <= cost["rate"][i]
           for i in range(len(T_VALUES)))  # delta cheapest, rate dearest
t_ratio = T_VALUES[-1] / T_VALUES[0]
rate_drop = error["rate"][0] / error["rate"][-1]
assert 0.5 < rate_drop / t_ratio ** 0.5 < 2  # rate error shrinks like 1/sqrt(T) ...
assert error["latency"][0] / error["latency"][-1] > 0.5 * t_ratio  # ... latency like 1/T
assert max(error["delta"]) - min(error["delta"]) < 1e-6  # delta: flat on a static image

# %% [markdown]
# The rate code's cost grows linearly with $T$ while its error shrinks only like $1/\sqrt{T}$
# (a binomial count). The latency code spends at most one spike per pixel whatever $T$ is, and
# its error is the rounding of $t_i$ to the time grid, so it falls roughly like $1/T$. The delta
# code is the cheapest, but on a static image it only says "which pixels are brighter than the
# threshold": its error stays flat.
#
# ## 4. Does the network care?
#
# Decoding error is one view; the one that matters is what a spiking network can learn from the
# code. Train the same tiny network (64 → 64 LIF → 10, BPTT, notebook 03) on each encoding.

# %%
results = {}
for T in TRAIN_T:
    for m in ["direct", "rate", "latency", "delta"]:
        net = snnlab.models.mlp(64, [64], 10)
        hist = snnlab.train(net, data, rule="bptt", T=T, epochs=EPOCHS, encoding=m, seed=SEED,
                            progress=False)
        results[(m, T)] = (hist.test_acc, hist.final["spikes_per_sample"])
print(f"{'encoding':>9} {'T':>3} {'test acc':>9} {'hidden spikes/sample':>21}")
for (m, T), (acc, spk) in results.items():
    print(f"{m:>9} {T:>3} {acc:>9.3f} {spk:>21.1f}")

# %% [markdown]
# ### Exercise 5: read your table
#
# Which encoding reached the highest test accuracy at the smallest $T$ you trained
# (`TRAIN_T[0]`)? Answer with its name, read off your own table.

# %% tags=["exercise"]
best_at_small_T = None  # TODO: "direct", "rate", "latency" or "delta"

# %%
exercises.check_best_encoding(best_at_small_T, results)

# %% tags=["solution"]
accs = {m: acc for (m, t), (acc, spk) in results.items() if t == TRAIN_T[0]}
best_at_small_T = max(accs, key=accs.get)
exercises.check_best_encoding(best_at_small_T, results)

# %%
# the statements below, on this run's numbers
small = {m: results[(m, TRAIN_T[0])][0] for m in ["direct", "rate", "latency", "delta"]}
assert small["direct"] >= max(small.values()) - 0.02  # direct: best (or tied) at small T
if not FAST:  # after one FAST epoch the latency network has barely started; full run only
    assert small["delta"] <= min(small["rate"], small["latency"], small["direct"])  # delta: poorest

# %% [markdown]
# ## What to notice
#
# - **Direct** input is not a spike code at all: the first layer does the encoding, with learned
#   weights. It is the usual choice for static data and gives the best accuracy at small $T$.
# - **Rate** codes are robust and simple but expensive: information grows with the number of
#   spikes, and you need many steps to see a grey level.
# - **Latency** codes are frugal (≤ 1 spike per input) and precise in time; the network must
#   then read *when*, not *how often* — the spike-timing gradients of the next level
#   exploit this.
# - **Delta** codes only report change: natural for event cameras (N-MNIST), poor
#   for a static image.
# - Cost and accuracy pull in opposite directions; $T$ is the knob between them.
#
# ## Further reading
#
# - E. O. Neftci, H. Mostafa, F. Zenke, "Surrogate gradient learning in spiking neural
#   networks", *IEEE Signal Processing Magazine*, 2019.
# - J. K. Eshraghian et al., "Training spiking neural networks using lessons from deep
#   learning", *Proc. IEEE* 111(9), 2023 — section on rate, latency and delta codes.
# - B. Rueckauer, S.-C. Liu, "Conversion of analog to spiking neural networks using sparse
#   temporal coding", *ISCAS* 2018 — time-to-first-spike codes.
# - G. Gallego et al., "Event-based vision: a survey", *IEEE TPAMI* 44(1), 2022 — delta/event
#   sensors.

# %%
_ = exercises.progress()

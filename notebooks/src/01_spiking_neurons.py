# %% [markdown]
# # 01 · Spiking neurons: charge, fire, reset
#
# **Level 1 — Foundations.** Estimated time: 25 minutes.
#
# A spiking network is built from one small piece of dynamics, repeated. In this notebook you
# take that piece apart.
#
# **Objectives.** After this notebook you can
# 1. write the discrete-time leaky integrate-and-fire (LIF) neuron as three lines — *charge*,
#    *fire*, *reset* — and run it with `snnlab.functional`;
# 2. explain what the leak does (LIF against IF) and what the two reset rules do;
# 3. predict a neuron's firing rate from its input current (the f-I curve);
# 4. read a raster plot of a population.
#
# Everything here uses the same functions the training code uses: `snnlab.functional` is the
# single place where the neuron is defined.

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
T = 200  # time steps of 1 ms for the population
N_POP = 200  # neurons in the population raster

# %%
if FAST:
    T, N_POP = 100, 50

import math

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import exercises, functional, plot, widgets
from snnlab.surrogate import FastSigmoid

torch.manual_seed(SEED)
print("snnlab", snnlab.__version__)

# %% [markdown]
# ## 1. The LIF neuron in discrete time
#
# A membrane is a leaky capacitor: without input its potential decays towards rest (0) with a
# time constant $\tau_m$. Sampling it every $\Delta t$ turns the decay into a multiplication by
# $\beta = e^{-\Delta t/\tau_m}$. A spike is emitted when the potential crosses the threshold
# $\vartheta$, and the potential is then reset. One time step is three equations:
#
# $$
# \begin{aligned}
# u[t] &= \beta\, v[t-1] + I[t] && \text{charge (1)}\\
# s[t] &= H\big(u[t] - \vartheta\big) && \text{fire (2)}\\
# v[t] &= u[t] - \vartheta\, s[t] && \text{reset by subtraction (3a)}\\
# v[t] &= u[t]\,\big(1 - s[t]\big) && \text{or reset to zero (3b)}
# \end{aligned}
# $$
#
# $H$ is the Heaviside step (1 if its argument is positive, else 0). $u$ is the membrane
# *before* the reset (what we plot, together with the threshold) and $v$ the state carried to
# the next step. These are `functional.charge`, `functional.fire` and `functional.reset`. Let us
# run them by hand for one neuron with a constant input.

# %%
beta, threshold, current = math.exp(-1.0 / 10.0), 1.0, 0.15  # tau_m = 10 ms, dt = 1 ms
spike_fn = FastSigmoid()  # forward: the exact step H; the surrogate only matters for training
v = torch.zeros(1)
us, ss = [], []
for _ in range(60):
    u = functional.charge(v, torch.tensor([current]), beta)
    s = functional.fire(u, threshold, spike_fn)
    v = functional.reset(u, s, threshold, mode="subtract")
    us.append(u)
    ss.append(s)
u_trace, s_trace = torch.stack(us), torch.stack(ss)
print(f"beta = {beta:.4f}; {int(s_trace.sum())} spikes in 60 steps; first spike at step "
      f"{int(s_trace[:, 0].nonzero()[0])}")
plot.membrane(u_trace, threshold=threshold, spikes=s_trace, dt_ms=1.0,
              title="One LIF neuron, constant input I = 0.15")
plt.show()

# %% [markdown]
# The membrane charges towards $I/(1-\beta) = 1.58$, crosses the threshold, loses $\vartheta$
# and climbs again: a regular spike train. `functional.lif_sequence` runs the same loop over a
# whole sequence `[T, ...]` at once (fused, with a hand-written backward pass for training) and
# gives exactly the same numbers:

# %%
s_fused, u_fused = functional.lif_sequence(torch.full((60, 1), current), beta=beta,
                                           threshold=threshold, surrogate=spike_fn)
print("same spikes:", torch.equal(s_fused, s_trace),
      "| same membrane:", torch.allclose(u_fused, u_trace))

# %% [markdown]
# ### Exercise 1: one LIF step
#
# Write `lif_step(v, current, beta, threshold)` returning `(s, v_new)` with eqs. (1), (2) and
# the reset by subtraction (3a), using plain tensor operations (no `snnlab`). `s` must be a float
# tensor of 0s and 1s.

# %% tags=["exercise"]
def lif_step(v, current, beta, threshold):
    # TODO: charge, fire, reset (three lines)
    raise NotImplementedError("Exercise 1: implement lif_step")


# %% tags=["nbval-check-output"]
exercises.check_lif_step(lif_step)

# %% tags=["solution", "nbval-check-output"]
def lif_step(v, current, beta, threshold):
    u = beta * v + current  # (1) charge
    s = (u > threshold).float()  # (2) fire
    v_new = u - threshold * s  # (3a) reset by subtraction
    return s, v_new


exercises.check_lif_step(lif_step)

# %% [markdown]
# ## 2. IF against LIF: what the leak does
#
# With $\beta = 1$ nothing leaks: the integrate-and-fire (IF) neuron adds up every input, so
# *any* positive current eventually makes it fire. The leaky neuron's membrane saturates at
# $I/(1-\beta)$; if that is below threshold it never fires. The pure function
# `widgets.simulate_lif` runs one neuron (it is what the dashboard below calls).

# %%
weak = 0.08  # below the LIF's rheobase (1 - beta) * threshold = 0.095
n_if_lif = {}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), constrained_layout=True)
for ax, (label, tau) in zip(axes, [("IF (no leak)", math.inf), ("LIF, τ = 10 ms", 10.0)]):
    r = widgets.simulate_lif(current=weak, tau_ms=tau, T=80)
    plot.membrane(r["u"], threshold=1.0, spikes=r["s"], dt_ms=1.0, ax=ax,
                  title=f"{label}: {r['n_spikes']} spikes")
    n_if_lif[label] = r["n_spikes"]
plt.show()
assert n_if_lif["IF (no leak)"] > 0 and n_if_lif["LIF, τ = 10 ms"] == 0  # the prose above

# %% [markdown]
# ## 3. Soft and hard reset
#
# *Reset by subtraction* (3a) keeps the charge that overshot the threshold; *reset to zero* (3b)
# throws it away. With a strong input the difference is large: the soft-reset neuron's rate
# tracks the input linearly (this is why ANN-to-SNN conversion uses it), the hard-reset neuron
# loses the overshoot at every spike.
#
# ### Exercise 1b: predict, then look
#
# Before running the next cell: with a strong input ($I = 0.6$, $\tau$ = 10 ms, 40 ms), which
# reset fires **more** spikes, `"subtract"`, `"zero"`, or are they the `"same"`? Commit to an
# answer; the checker compares it with the run and explains.

# %% tags=["exercise"]
my_prediction = None  # TODO: "subtract", "zero" or "same"

# %% tags=["solution"]
my_prediction = "subtract"  # it keeps the overshoot, so the next spike comes sooner

# %%
counts = {}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), constrained_layout=True)
for ax, mode in zip(axes, ["subtract", "zero"]):
    r = widgets.simulate_lif(current=0.6, tau_ms=10.0, reset=mode, T=40)
    counts[mode] = r["n_spikes"]
    plot.membrane(r["u"], threshold=1.0, spikes=r["s"], dt_ms=1.0, ax=ax,
                  title=f"reset = {mode!r}: {r['n_spikes']} spikes in 40 ms")
plt.show()
exercises.check_prediction_reset(my_prediction, counts)
assert counts["subtract"] > counts["zero"]  # "the hard-reset neuron loses the overshoot"

# %% [markdown]
# ## 4. The f-I curve
#
# How fast does a neuron fire for a constant current $I$? Simulate many currents *at once*: the
# currents are just another dimension of the input tensor `[T, n_currents]`.

# %%
currents = torch.linspace(0.0, 1.2, 61, dtype=torch.float64)
T_fi = 1000
drive = currents.expand(T_fi, -1)
rates, labels = [], []
for name, b, mode in [("LIF, subtract", beta, "subtract"), ("LIF, zero", beta, "zero"),
                      ("IF, subtract", 1.0, "subtract")]:
    s, _ = functional.lif_sequence(drive, beta=b, threshold=1.0, reset_mode=mode,
                                   surrogate=spike_fn)
    rates.append(s.mean(0))
    labels.append(name)
ax = plot.fi_curve(currents, rates, labels=labels)
ax.axvline((1 - beta) * 1.0, ls=":", color="gray")
ax.text((1 - beta) + 0.01, 0.8, "LIF rheobase (1-β)ϑ", fontsize=8)
plt.show()
# the statements below, on the curves just drawn
r_sub, r_zero, r_if = rates
linear = currents < 0.95
assert (r_if[linear] - currents[linear]).abs().max() < 0.01  # IF: rate ≈ I/ϑ (a ReLU)
assert r_if[-1] == 1.0  # ... until one spike per step
assert (r_sub[currents <= 1 - beta] == 0).all()  # LIF: silent up to the rheobase
assert (r_sub <= r_if + 1e-9).all() and (r_zero <= r_sub + 1e-9).all()  # below IF; zero least

# %% [markdown]
# The IF neuron's rate is close to $I/\vartheta$ (a ReLU!) until it saturates at one spike per
# step; the LIF neuron is silent below the rheobase $(1-\beta)\vartheta$ and bends below the
# IF line above it; and the hard reset fires
# least: its curve has steps, because after each reset it needs a whole number of steps to climb
# back.
#
# ### Exercise 2: predict the firing rate
#
# Write `firing_rate(current, beta, threshold)` returning the rate, in **spikes per step**, of a
# LIF neuron with **reset to zero** and a constant input, starting from rest. You may simulate
# (use your `lif_step`, adapted to a hard reset) or reason it out: from rest,
# $u[n] = I\,(1-\beta^n)/(1-\beta)$.

# %% tags=["exercise"]
def firing_rate(current, beta, threshold):
    # TODO: return spikes per step for a LIF neuron with reset to zero
    raise NotImplementedError("Exercise 2: implement firing_rate")


# %% tags=["nbval-check-output"]
exercises.check_firing_rate(firing_rate)

# %% tags=["solution", "nbval-check-output"]
def firing_rate(current, beta, threshold):
    # After a reset to zero the neuron is back at rest, so the spike train is periodic: it
    # fires every n steps, n = first step at which u[n] = I (1 - beta^n) / (1 - beta) > threshold
    if current <= 0 or (beta < 1 and current / (1 - beta) <= threshold):
        return 0.0
    u, n = 0.0, 0
    while u <= threshold:
        u = beta * u + current
        n += 1
    return 1.0 / n


exercises.check_firing_rate(firing_rate)

# %% [markdown]
# A one-number question on the IF neuron: what is the long-run rate (spikes per step) of an IF
# neuron with reset by subtraction, $I = 0.25$ and $\vartheta = 1$?

# %% tags=["exercise"]
if_rate = ...  # TODO: your answer, a number

# %% tags=["nbval-check-output"]
exercises.check_if_rate(if_rate)

# %% tags=["solution", "nbval-check-output"]
# u climbs 0.25, 0.5, 0.75, 1.0 (not > 1 yet), 1.25 -> spike and keep the 0.25 overshoot, so
# from then on it fires every 4 steps: nothing is lost, the rate is I / threshold
if_rate = 0.25 / 1.0
exercises.check_if_rate(if_rate)

# %% [markdown]
# ## 5. Interactive: play with one neuron
#
# Move the sliders: the membrane time constant $\tau$ (ms), the threshold, the input current
# and the reset mode. Things to try: find the smallest current that makes the neuron fire at
# each $\tau$; compare the two resets at a large current; make $\tau$ huge (almost IF).

# %% tags=["nbval-ignore-output"]
dash = widgets.lif_dashboard(current=0.3, threshold=1.0, tau_ms=10.0)
dash

# %% [markdown]
# The dashboard only wires sliders to the pure function `widgets.simulate_lif`, so you can call
# it yourself for any setting:

# %% tags=["nbval-check-output"]
r = widgets.simulate_lif(current=0.3, threshold=1.0, tau_ms=10.0, T=100)
print(f"{r['n_spikes']} spikes in 100 ms = {r['rate_hz']:.0f} Hz; steady state without "
      f"threshold I/(1-β) = {r['v_inf']:.2f}")

# %% [markdown]
# ## 6. A population and its raster plot
#
# Real inputs are noisy. Give each of `N_POP` neurons its own mean current (from below to above
# rheobase) plus Gaussian noise, and run them together with a `snnlab.neurons.LIF` module (the
# same fused loop). A **raster plot** draws one dot per spike: time on x, neuron on y.

# `widgets.simulate_population` runs them (neuron $i$ gets mean current $0.25\,i/(N-1)$, noise
# of standard deviation 0.1 at every step) and returns the spikes and which neurons have a mean
# current below the rheobase.

# %%
pop = widgets.simulate_population(n=N_POP, T=T, beta=beta, seed=SEED)
spikes, membrane = pop["spikes"], pop["membrane"]
print(f"{int(spikes.sum())} spikes; mean rate {1000 * spikes.mean():.1f} Hz; "
      f"silent neurons: {int(pop['silent'].sum())}/{N_POP}; "
      f"{int(pop['below'].sum())} neurons have a mean current below the rheobase, "
      f"{int((~pop['silent'][pop['below']]).sum())} of them fired")
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
plot.raster(spikes, ax=axes[0], dt_ms=1.0, title=f"{N_POP} noisy LIF neurons")
axes[0].axhline(int(pop["below"].sum()) - 0.5, color="C3", lw=1, ls="--")
axes[0].text(1, int(pop["below"].sum()) + 1, "rheobase ↑", color="C3", fontsize=8)
plot.membrane(membrane, threshold=1.0, spikes=spikes, neurons=[N_POP // 4, N_POP - 1],
              dt_ms=1.0, ax=axes[1], title="two of them")
plt.show()
assert 0 < pop["fired_below"] < 1  # noise makes some (not all) sub-rheobase neurons fire

# %% [markdown]
# ### Exercise 3: read your population
#
# What **fraction** of the neurons whose mean current is below the rheobase fired at least once
# in your run? (Use the numbers printed above; the checker recomputes it from `pop`.)

# %% tags=["exercise"]
fraction_fired = None  # TODO: a number between 0 and 1, from your run

# %%
exercises.check_noise_below_rheobase(fraction_fired, pop)

# %% tags=["solution"]
below = pop["below"]
fraction_fired = float((pop["spikes"].sum(0)[below] > 0).float().mean())
exercises.check_noise_below_rheobase(fraction_fired, pop)

# %% [markdown]
# ## What to notice
#
# - A LIF neuron is three lines — charge, fire, reset — and everything in snnlab (training
#   included) runs exactly these lines, only over whole tensors.
# - The leak sets a **rheobase** $(1-\beta)\vartheta$: weaker constant inputs are never
#   answered. IF neurons have no rheobase and their rate is almost linear in the input.
# - Reset by subtraction keeps the overshoot (rate ≈ linear in $I$), reset to zero loses it
#   (lower, step-shaped rate).
# - Noise turns the regular clock of a constant input into irregular spike trains, and neurons
#   below rheobase start to fire occasionally (some of them, not all: your exercise 3).
# - The step $H$ in eq. (2) has no useful derivative — notebook 03 is about what to do about it.
#
# ## Further reading
#
# - W. Gerstner, W. Kistler, R. Naud, L. Paninski, *Neuronal Dynamics* (2014), ch. 1 and 5 —
#   the LIF model and its f-I curve.
# - E. O. Neftci, H. Mostafa, F. Zenke, "Surrogate gradient learning in spiking neural
#   networks", *IEEE Signal Processing Magazine* 36(6), 2019 — LIF neurons as recurrent networks
#   in discrete time.
# - J. K. Eshraghian et al., "Training spiking neural networks using lessons from deep
#   learning", *Proc. IEEE* 111(9), 2023 — tutorial 2 of snnTorch treats the same neuron.

# %%
_ = exercises.progress()

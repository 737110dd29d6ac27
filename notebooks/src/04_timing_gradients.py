# %% [markdown]
# # 04 · Timing-based gradients: learning with spike times
#
# **Level 2 — Gradients.** Estimated time: 25 minutes.
#
# Notebook 03 differentiated a spiking network through its *activations*: a spike is a 0/1
# value, and a surrogate derivative says how much it would change if the membrane moved. There
# is a second view. A neuron that fires does so at a **time** $t_s$, and that time moves
# smoothly when its inputs change: a slightly larger weight makes the membrane reach threshold a
# little earlier. Timing-based rules (SpikeProp, Mostafa 2017, Göltz et al. 2021, and the timing
# half of ANTLR) differentiate these spike times.
#
# **Objectives.** After this notebook you can
# 1. derive $\partial t_s / \partial V = -1/\dot V$ and estimate $\dot V$ in discrete time;
# 2. check a timing gradient against a finite difference of (interpolated) spike times;
# 3. explain why timing gradients vanish for silent neurons and explode for grazing spikes;
# 4. pass a spike-time error to the layer below (ANTLR's eq. 8).

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
FINE_DT = 0.01  # time step of the fine-grid finite-difference check (in units of tau)

# %%
if FAST:
    FINE_DT = 0.02

import math

import matplotlib.pyplot as plt
import torch

from snnlab import exercises
from snnlab.course import n04_timing_gradients as n04
from snnlab.rules import antlr

torch.manual_seed(SEED)

# %% [markdown]
# ## 1. The neuron and its spike time
#
# We use the neuron of the ANTLR paper (Kim, Kim & Kim 2020): a synaptic current $I$ filters
# the input spikes, the membrane $V$ integrates $I$, and after a spike *both* are reset to 0:
#
# $$I[t] = \alpha\,(1-s[t-1])\,I[t-1] + \textstyle\sum_j w_j x_j[t], \qquad
#   V[t] = \beta\,(1-s[t-1])\,V[t-1] + \beta_V I[t], \qquad s[t] = H(V[t] - 1).$$
#
# A single input spike of weight 1 produces a PSP that peaks at exactly 1 ($\beta_V$ is chosen
# for that). Below: one neuron, six input spikes (grey lines), and its membrane.

# %%
view = antlr.spike_shift_view(0)
fig, ax = plt.subplots(figsize=(7, 3), constrained_layout=True)
ax.plot(view["v"].numpy(), label="membrane V")
ax.axhline(1.0, ls="--", color="k", lw=1, label="threshold")
for t in view["times"]:
    ax.axvline(t, color="0.7", lw=1)
ax.axvline(view["t_interp"], color="C3", lw=2, label=f"spike time ≈ {view['t_interp']:.2f}")
ax.set_xlim(0, 40)
ax.set_xlabel("time step")
ax.set_ylabel("V")
ax.legend(fontsize=8)
print("output spike at step", view["t_out"], "| interpolated crossing", round(view["t_interp"], 3))

# %% [markdown]
# ## 2. Spike time as the variable: $\partial t_s/\partial V = -1/\dot V$
#
# The spike time is defined implicitly by $V(t_s) = \vartheta$. Perturb the membrane by
# $\delta V$ near the crossing: to first order it now crosses earlier by
# $\delta t_s = -\delta V / \dot V(t_s)$, where $\dot V$ is the slope at the crossing. So a loss
# that depends on spike times sends to the membrane
#
# $$\frac{\partial L}{\partial V[t_s]} = -\frac{\partial L/\partial t_s}{\dot V[t_s]} .$$
#
# **In discrete time** there is no derivative, only samples. ANTLR uses the backward difference
# over the step in which the crossing happened, honouring the reset:
# $\dot V[t] = V[t] - (1 - s[t-1])\,V[t-1]$, clamped to at least 0.01 per step. We will meet
# the reason for the clamp in section 4.
#
# ### Exercise 1: estimate $\dot V$
#
# Write `vdot(v, s, vdot_min)` for tensors `v`, `s` of shape `[T, ...]`; before $t = 0$ the
# neuron is at rest ($V[-1] = 0$, $s[-1] = 0$).

# %% tags=["exercise"]
def vdot(v, s, vdot_min):
    # TODO: V[t] - (1 - s[t-1]) * V[t-1], clamped below at vdot_min
    raise NotImplementedError("Exercise 1: implement vdot")


# %% tags=["nbval-check-output"]
exercises.check_vdot_estimate(vdot)

# %% tags=["solution", "nbval-check-output"]
def vdot(v, s, vdot_min):
    v_prev = torch.cat([torch.zeros_like(v[:1]), v[:-1]])
    s_prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
    return (v - (1.0 - s_prev) * v_prev).clamp(min=vdot_min)


exercises.check_vdot_estimate(vdot)

# %% [markdown]
# ### Exercise 2: the timing route's $\partial L/\partial V$
#
# Given $\partial L/\partial t$ at every step (`grad_t`), the spikes `s` and the slope `vdot`,
# return the timing term: $-s\,\cdot$ `grad_t` $/$ `vdot` (zero where there was no spike).

# %% tags=["exercise"]
def timing_dv(grad_t, s, vdot):
    # TODO: the timing route's dL/dV, non-zero only at spike steps
    raise NotImplementedError("Exercise 2: implement timing_dv")


# %% tags=["nbval-check-output"]
exercises.check_timing_dv(timing_dv)

# %% tags=["solution", "nbval-check-output"]
def timing_dv(grad_t, s, vdot):
    return -s * grad_t / vdot


exercises.check_timing_dv(timing_dv)

# %% [markdown]
# ## 3. Does it give the right answer? A finite-difference check
#
# `snnlab.rules.antlr` implements exactly this in the backward pass of the neuron. We check it
# where a clean answer exists: on a fine time grid ($dt = $ `FINE_DT` $\tau$), the spike time,
# interpolated between the two samples around the crossing, is a smooth function of the
# weights, so a central finite difference gives $\partial t_s/\partial w_i$. The timing route
# (loss $L = t_s$, $\lambda_{act}=0$, $\lambda_{tim}=1$) should agree with it.

# %%
T_FINE = int(7 / FINE_DT)
a = math.exp(-FINE_DT)
fine = antlr.AntlrLIF(alpha=a, beta=a, vdot_min=1e-6)  # slopes per step are ~dt: tiny clamp
g = torch.Generator().manual_seed(SEED + 3)
x = torch.zeros(T_FINE, 1, 10)
t_in = torch.randint(0, int(2 / FINE_DT), (10,), generator=g)
x[t_in, 0, torch.arange(10)] = 1.0
w = 0.25 + 0.2 * torch.rand(10, generator=g)


def fine_spike_time(weights, inputs=x):
    s, v = fine.simulate((inputs * weights).sum(-1, keepdim=True))
    return antlr.interpolated_spike_time(v[:, 0, 0])


wr = w.clone().requires_grad_(True)
s, z, _ = fine.routes((x * wr).sum(-1, keepdim=True), lam_act=0.0, lam_tim=1.0)
t_first, _ = antlr.first_spike_step(s, z)  # L = first-spike step (timing route only)
t_first.sum().backward()
h = 1e-3
fd = torch.tensor([(fine_spike_time(w + h * e) - fine_spike_time(w - h * e)) / (2 * h)
                   for e in torch.eye(10)])
print("input spike steps :", t_in.tolist(), "| output crosses at", round(fine_spike_time(w), 1))
print("timing route dt/dw:", [round(float(v), 1) for v in wr.grad])
print("finite difference :", [round(float(v), 1) for v in fd])
rel = float((wr.grad - fd).norm() / fd.norm())
print(f"relative error {rel:.3f}  (inputs after the output spike get exactly 0 from both)")
assert rel < 0.05 and bool((wr.grad <= 0).all()) and bool((fd <= 1e-6).all())  # the text below

# %% [markdown]
# The two agree to about a percent: the error is the $O(dt)$ of the backward difference and
# of the linear interpolation. All derivatives are negative: a larger weight makes the neuron
# fire earlier. Inputs that arrive after the output spike cannot move it.
#
# ## 4. Two failure modes: silent neurons and grazing spikes
#
# **Silent neurons.** If the neuron never reaches threshold there is no spike time at all, and
# the timing gradient is exactly zero, whatever the loss wants. The activation route (a
# surrogate of the first-spike readout, notebook 03's idea) still sees the membrane come close
# and pushes it up. Scale all weights down and compare.
#
# **Predict first.** Coming down from the largest weight scale to the smallest one at which the
# neuron still fires, does the magnitude of the timing gradient `"grow"`, `"shrink"` or
# `"stay"` (within a factor 2)?

# %% tags=["exercise"]
my_prediction = None  # TODO: "grow", "shrink" or "stay"

# %% tags=["solution"]
my_prediction = "grow"  # a grazing crossing has a small slope, and the route divides by it

# %%
sweep = n04.weight_scale_sweep(torch.linspace(0.6, 1.6, 41))
scales = sweep["scales"]
rows = list(zip(scales, sweep["t_out"], sweep["timing"], sweep["activation"]))
exercises.check_prediction_grazing(my_prediction, sweep)
fig, axes = plt.subplots(1, 2, figsize=(10, 3), constrained_layout=True)
axes[0].plot(scales, [r[1] if r[1] is not None else float("nan") for r in rows], "o-", ms=3)
axes[0].set_xlim(float(scales[0]), float(scales[-1]))
axes[0].set_xlabel("weight scale")
axes[0].set_ylabel("output spike step")
axes[0].set_title("silent on the left: no spike time")
axes[1].plot(scales, [r[2] for r in rows], "o-", ms=3, label="timing route")
axes[1].plot(scales, [r[3] for r in rows], "s-", ms=3, label="activation route")
axes[1].set_xlabel("weight scale")
axes[1].set_ylabel(r"$\sum_i \partial t/\partial w_i$")
axes[1].set_yscale("symlog")
axes[1].legend(fontsize=8)
axes[1].set_title("gradient of the first-spike time")
for r in rows[:14:3]:
    print(f"scale {r[0]:.2f}: spike step {r[1]}, timing {r[2]:8.2f}, activation {r[3]:8.2f}")
plt.show()
# the statements below, on this sweep
fired = [r for r in rows if r[1] is not None]
silent = [r for r in rows if r[1] is None]
assert silent and all(r[2] == 0 for r in silent)  # no spike time, no timing gradient
assert all(r[3] != 0 for r in rows)  # the activation route is non-zero on both sides
assert abs(fired[0][2]) > 2 * abs(fired[-1][2])  # grazing: the timing gradient jumps up
act = [abs(r[3]) for r in rows]
act_jump = max(act) / min(act)
assert act_jump > 2  # ... and the activation route is not smooth either
print(f"activation route: largest / smallest magnitude over the sweep = {act_jump:.0f}×")

# %% [markdown]
# ### Exercise 3: read the sweep
#
# From the left panel: what is the smallest weight scale at which the neuron fires?

# %% tags=["exercise"]
first_scale = None  # TODO: a number read off the plot

# %%
exercises.check_first_firing_scale(first_scale, sweep)

# %% tags=["solution"]
first_scale = next(k for k, t in zip(sweep["scales"], sweep["t_out"]) if t is not None)
exercises.check_first_firing_scale(first_scale, sweep)

# %% [markdown]
# Just above the smallest scale that fires, the membrane only **grazes** the threshold: the
# slope $\dot V$ at the crossing is small and $-1/\dot V$ is large. The timing gradient jumps
# there (note the log scale), and it jumps again wherever the crossing moves to another step.
# The activation route is not smooth either (it changes by the factor printed above over the
# sweep, with jumps where the crossing changes step), but it is non-zero on both sides, also
# for the silent neuron: it can still push a silent neuron towards firing. ANTLR clamps
# $\dot V \ge 0.01$ and clips every gradient element
# to ±1; a pure timing rule also needs a fallback for silent neurons. The released ANTLR code
# nudges the gradient of a silent neuron's input weights upward (`silent_penalty`); `snnlab`'s
# `timing` rule instead *bumps* them, as Göltz et al.'s code does for exact spike times: a
# batch in which too many spikes are missing makes no gradient step, and the silent neurons'
# input weights are raised directly (`bump`). On held-out tasks the penalty left two of three
# seeds stuck near chance and bumping did not (`docs/heldout.md`).
#
# ## 5. Spike-time errors for the layer below
#
# A hidden neuron's spike at $t_j$ reaches the next layer through the PSP. Moving it later
# shifts every PSP it caused. To first order that is the central difference in time of the
# error the spike train receives, $\partial L/\partial t_j \approx \tfrac12\big(A[t_j+1] -
# A[t_j-1]\big)$ with $A[t] = \partial L/\partial x_j[t]$ (notebook 05's exercise). `snnlab`'s
# rules compute it as the official ANTLR code does: the postsynaptic membrane errors are traced
# back through the central-difference derivative of the PSP kernel, gated by the resets
# (eq. 8 of `snnlab/rules/antlr.py`). The widget below
# moves one input spike and shows the output's spike time together with this gradient: the
# predicted shift ($\partial t_{out}/\partial t_{in}\times$ shift) against the real one.

# %%
def show_shift(shift=0, index=3):
    base = antlr.spike_shift_view(0, index=index)
    view = antlr.spike_shift_view(shift, index=index)
    fig, ax = plt.subplots(figsize=(7, 3), constrained_layout=True)
    ax.plot(base["v"].numpy(), color="0.6", label="before the move")
    ax.plot(view["v"].numpy(), color="C0", label=f"input {index} moved by {shift:+d}")
    ax.axhline(1.0, ls="--", color="k", lw=1)
    for i, t in enumerate(view["times"]):
        ax.axvline(t, color="C1" if i == index else "0.8", lw=2 if i == index else 1)
    ax.set_xlim(0, 40)
    ax.set_xlabel("time step")
    ax.set_ylabel("V")
    ax.legend(fontsize=8, loc="upper left")
    grad = float(base["dt_dtin"][index])
    if view["t_out"] is None:
        msg = "the neuron went silent: no spike time, no timing gradient"
    else:
        moved = view["t_interp"] - base["t_interp"]
        msg = (f"dt_out/dt_in = {grad:+.3f} -> predicted shift {grad * shift:+.2f}, "
               f"actual {moved:+.2f} steps")
    ax.set_title(msg, fontsize=9)
    plt.show()


try:
    import ipywidgets

    ipywidgets.interact(show_shift, shift=ipywidgets.IntSlider(0, -3, 8),
                        index=ipywidgets.IntSlider(3, 0, len(antlr.TOY_TIMES) - 1))
except ImportError:  # pragma: no cover - widgets are optional
    show_shift(2)

# %% [markdown]
# Small moves are predicted well; large ones less so, because the relation is not linear
# (and on this coarse grid the output time can only be read between samples). Move an input
# far enough and the output can fall silent, where the timing gradient is zero.
#
# ## What to notice
#
# - A timing rule treats spike times as the variables: $\partial t_s/\partial V = -1/\dot V$,
#   applied only where the neuron spiked.
# - In discrete time, $\dot V$ is a backward difference across the crossing step, honouring the
#   reset; it must be clamped, or grazing spikes produce exploding gradients.
# - Timing gradients are exact shifts (section 3 matched finite differences), but they are zero
#   for silent neurons and cannot create or remove spikes.
# - The error for a presynaptic spike time is the central difference in time of the activation
#   error that reaches it. Notebook 05 combines both routes (ANTLR) and trains with them.
#
# ## Further reading
#
# - J. Kim, K. Kim, J.-J. Kim, "Unifying Activation- and Timing-based Learning Rules for Spiking
#   Neural Networks", NeurIPS 2020 (ANTLR).
# - S. M. Bohte, J. N. Kok, H. La Poutré, "Error-backpropagation in temporally encoded networks
#   of spiking neurons", Neurocomputing 2002 (SpikeProp).
# - H. Mostafa, "Supervised learning based on temporal coding in spiking neural networks",
#   IEEE TNNLS 2018.
# - J. Göltz, L. Kriener et al., "Fast and energy-efficient neuromorphic deep learning with
#   first-spike times", Nature Machine Intelligence 2021.

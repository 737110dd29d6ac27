# %% [markdown]
# # 07 · Tandem learning: spike counts forward, ANN gradients backward
#
# **Level 3 — ANN-guided learning.** Estimated time: 30 minutes.
#
# Conversion (notebook 06) trains the ANN and hopes the SNN follows. Its errors appear because
# the ANN never saw what the SNN really does: floors, caps and uneven spike trains. **Tandem
# learning** (Wu et al., TNNLS 2021) keeps both networks in the loop *during training*: the SNN
# runs forward and produces spike counts; an ANN that shares its weights is evaluated *on those
# counts* and carries the gradient back. The SNN's quirks are in the forward pass, so training
# corrects for them, and a handful of time steps is enough.
#
# **Objectives.** After this notebook you can
# 1. write the spike count of an IF layer with reset by subtraction in closed form;
# 2. build a straight-through coupling: one value forward, another function's gradient backward;
# 3. train an SNN with `rule="tandem"` and compare it with conversion at the same T.

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
HIDDEN = [128]  # hidden IF neurons
EPOCHS = 20  # training epochs for every run
T_MAIN = 4  # the window of the main tandem run
TS = [1, 2, 4, 8]  # windows for the accuracy-vs-T comparison
SEEDS = [0, 1, 2]  # seeds of the comparison (mean ± std over them)

# %%
if FAST:
    HIDDEN, EPOCHS, TS, SEEDS = [64], 3, [1, 4], [0, 1]

import ipywidgets
import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import conversion, exercises, plot, widgets
from snnlab.encoding import encode
from snnlab.rules.tandem import tandem_forward
from snnlab.teacher import train_teacher

torch.manual_seed(SEED)
data = snnlab.load("digits", seed=SEED)
x_train, (x_test, y_test) = data.train.tensors[0], data.test.tensors

# %% [markdown]
# ## 1. A tandem layer
#
# An SNN layer and an ANN layer share the weights $W^l, b^l$. The SNN layer is made of IF
# neurons (threshold 1, reset by subtraction); over a window of $T$ steps it receives the
# previous layer's spikes and emits the **spike count** $c^l = \sum_t s^l_t \in \{0,\dots,T\}$.
# Its bias is spread over the window (here: $b$ per step, $Tb$ in total). Since every spike
# removes exactly one threshold, the charge integrated over the window decides the count:
#
# $$
# c^l \approx \mathrm{clip}\big(\lfloor W^l c^{l-1} + T b^l \rfloor,\ 0,\ T\big),
# $$
#
# exact for a constant input current (the first layer with direct input, where $c^0 = T x$).
# snnlab's neurons fire on $v > \vartheta$, so at an exact integer charge one spike is missing;
# that set has measure zero.
#
# ### Exercise 1: the count of an IF layer
#
# Write `tandem_count(W, b, x, T)` for a layer that receives the constant current
# $W x + b/T$ at every step ($b$ is the window's total bias here).

# %% tags=["exercise"]
def tandem_count(W, b, x, T):
    # TODO: clip(floor(T W x + b), 0, T) for a batch x [B, n_in]
    raise NotImplementedError("Exercise 1: implement tandem_count")


# %% tags=["nbval-check-output"]
exercises.check_tandem_count(tandem_count)

# %% tags=["solution", "nbval-check-output"]
def tandem_count(W, b, x, T):
    return torch.clamp(torch.floor(T * x @ W.T + b), 0, T)


exercises.check_tandem_count(tandem_count)

# %% [markdown]
# ## 2. Straight-through coupling
#
# The ANN computes $a^l = \mathrm{ReLU}(W^l c^{l-1} + T b^l)$ from the **SNN's** counts of the
# layer below. The layer then outputs the count, but passes gradients as if it had output
# $a^l$:
#
# $$
# \text{forward: } c^l, \qquad
# \frac{\partial L}{\partial W^l} = \big(\delta^l \odot f'(W^l c^{l-1} + T b^l)\big)\,
#   c^{l-1\,\top}, \qquad
# \frac{\partial L}{\partial c^{l-1}} = W^{l\top}\big(\delta^l \odot f'(\cdot)\big).
# $$
#
# That is ordinary backprop through an ANN whose activations were swapped for spike counts: no
# surrogate spike derivative, no backpropagation through time.
#
# ### Exercise 2: one value forward, another gradient backward
#
# Write `straight_through(c, a)`: its value must be `c`, its gradient must flow into `a`
# unchanged.

# %% tags=["exercise"]
def straight_through(c, a):
    # TODO: value c, gradient of a
    raise NotImplementedError("Exercise 2: implement straight_through")


# %% tags=["nbval-check-output"]
exercises.check_straight_through(straight_through)

# %% tags=["solution", "nbval-check-output"]
def straight_through(c, a):
    return a + (c - a).detach()


exercises.check_straight_through(straight_through)

# %% [markdown]
# ## 3. Train with tandem learning
#
# `snnlab.rules.tandem` stacks these layers over the model's own pieces (`layer.synapse`,
# `layer.neuron.simulate`); the readout is non-spiking, the mean input current
# $(W c^L + T b)/T$. We train an IF network at $T = 4$:

# %%
torch.manual_seed(SEED)
net = snnlab.rules.get("tandem").build_model(64, HIDDEN, 10, neuron="if")
hist = snnlab.train(net, data, "tandem", T=T_MAIN, epochs=EPOCHS, lr=3e-3, seed=SEED,
                    progress=False)
print(f"tandem, T = {T_MAIN}: test accuracy {hist.test_acc:.3f}, "
      f"{hist.final['spikes_per_sample']:.0f} spikes per sample")
snnlab.plot.training_curves(hist)
plt.show()

# %% [markdown]
# How close are the SNN's counts to what the ANN computes on them? Each dot is one hidden
# neuron for one test digit; the ANN value is continuous, the count an integer in
# $\{0,\dots,T\}$:

# %%
with torch.no_grad():
    _, counts, anns = tandem_forward(net, encode(x_test, T_MAIN))
plot.compare_scatter(anns[0], counts[0], xlabel="ANN activation ReLU(W c + T b)",
                     ylabel="SNN spike count", title=f"hidden layer, T = {T_MAIN}")
plt.show()
floored = torch.clamp(torch.floor(anns[0]), 0, T_MAIN)
match = float((counts[0] == floored).float().mean())
print(f"counts equal to the ANN value floored and clipped to [0, {T_MAIN}]: {100 * match:.1f}%; "
      f"ANN values above T: {100 * float((anns[0] > T_MAIN).float().mean()):.1f}%")
assert counts[0].max() <= T_MAIN and match > 0.9  # the staircase, inside training

# %% [markdown]
# Inside $[0, T]$ the counts are the ANN value rounded down, and above $T$ they saturate: the
# printed share of counts that equal the floored, clipped ANN value is asserted to be above
# 90%. Training sees exactly this, so the readout learns to live with it.
#
# ## 4. Tandem vs conversion vs the ANN
#
# Same architecture, three ways: a ReLU ANN; that ANN converted (p99.9 normalisation, with
# $v_0 = 0$ and with $v_0 = \vartheta/2$, notebook 06); and an SNN trained with tandem learning,
# once per window $T$. Every run is repeated for each seed of `SEEDS` (the ANN, and so its
# conversion, too), and the figure shows mean ± std over the seeds.
#
# **Predict first.** At the shortest window of `TS`, which is most accurate: `"tandem"`,
# `"conversion v0=0"` or `"conversion v0=θ/2"`?

# %% tags=["exercise"]
my_prediction = ...  # "tandem", "conversion v0=0" or "conversion v0=θ/2": commit first

# %% tags=["solution"]
my_prediction = "tandem"

# %%
results = {"tandem": {T: [] for T in TS}, "conversion v0=0": {T: [] for T in TS},
           "conversion v0=θ/2": {T: [] for T in TS}}
ann_accs = []
for seed in SEEDS:
    ann = train_teacher(data, hidden=HIDDEN, activation="relu", epochs=EPOCHS, lr=3e-3, seed=seed)
    ann_accs.append(ann.test_acc)
    for v0, label in ((0.0, "conversion v0=0"), (0.5, "conversion v0=θ/2")):
        c = conversion.accuracy_vs_T(conversion.convert(ann, x_train, v0=v0), data.test, TS)
        for T in TS:
            results[label][T].append(c[T])
    for T in TS:
        torch.manual_seed(seed)
        m = snnlab.rules.get("tandem").build_model(64, HIDDEN, 10, neuron="if")
        results["tandem"][T].append(snnlab.train(m, data, "tandem", T=T, epochs=EPOCHS, lr=3e-3,
                                                 seed=seed, progress=False).test_acc)
mean = {k: {T: widgets.seed_stats(v[T])[0] for T in TS} for k, v in results.items()}
std = {k: {T: widgets.seed_stats(v[T])[1] for T in TS} for k, v in results.items()}
ann_mean, ann_std = widgets.seed_stats(ann_accs)
print(f"ReLU ANN: {ann_mean:.3f} ± {ann_std:.3f} over seeds {SEEDS}")
for T in TS:
    print(f"T = {T}: " + "   ".join(f"{k} {mean[k][T]:.3f} ± {std[k][T]:.3f}" for k in results))
widgets.accuracy_vs_T_seeds(results, reference={"ReLU ANN": ann_accs},
                            title="Accuracy vs window T (mean ± std over seeds)")
plt.show()

# %%
exercises.check_prediction_shortest_window(my_prediction, results)

# %%
T1 = min(TS)
gain = mean["conversion v0=θ/2"][T1] - mean["conversion v0=0"][T1]
# tandem is within 5 points of the ANN at every window, the shortest included
assert all(mean["tandem"][T] > ann_mean - 0.05 for T in TS), mean["tandem"]
# plain conversion is far behind at the shortest window ...
assert mean["conversion v0=0"][T1] < mean["tandem"][T1] - 0.2
# ... and the half-full start rescues most of it, even there
assert gain > 0.3, gain
assert mean["conversion v0=θ/2"][T1] > mean["tandem"][T1] - 0.1

# %% [markdown]
# What the numbers say (each sentence is asserted in the cell above): tandem learning is
# within 5 points of the ANN at every window, the shortest included. Plain conversion
# ($v_0 = 0$) is far behind at the shortest window: with one step, a neuron fires only if its
# input already exceeds the whole threshold, so almost every neuron is silent. The half-full
# start of notebook 06 rescues it **even at $T = 1$**: starting at $\vartheta/2$ turns that
# single step into rounding to the nearest count, so a neuron fires when its input is above
# half the threshold, and on this shallow network that alone lifts the accuracy by the gain
# printed below, to within 10 points of tandem. Tandem learning needs no such trick: it trained
# with the one-step constraint in the forward pass.
#
# **Interpret.** From your printed table: how many accuracy points does the half-full start
# add to conversion at the shortest window (mean over seeds)?

# %% tags=["exercise"]
answer = ...  # in accuracy points, e.g. 12.5

# %% tags=["solution"]
answer = 100 * gain

# %%
exercises.check_half_start_gain(answer, results)

# %% [markdown]
# ## 5. Explore: run the trained network with another window
#
# The network above was trained at $T = 4$. What happens to the counts, and the accuracy, if you
# run it for more or fewer steps? (The per-step bias stays the same, so the total charge grows
# with T.)

# %%
def show_window(T=T_MAIN):
    with torch.no_grad():
        logits, c, a = tandem_forward(net, encode(x_test, T))
    acc = float((logits.argmax(1) == y_test).float().mean())
    plot.compare_scatter(a[0], c[0], xlabel="ANN activation", ylabel="SNN spike count",
                         title=f"run at T = {T}: accuracy {acc:.3f}")
    plt.show()
    return acc


ipywidgets.interact(show_window, T=ipywidgets.IntSlider(value=T_MAIN, min=1, max=16,
                                                        continuous_update=False))

# %% [markdown]
# ## What to notice
#
# * A tandem layer's spike count is the ANN's pre-activation, floored and clipped to $[0, T]$:
#   the same staircase as conversion, now *inside* training.
# * The straight-through trick `a + (c - a).detach()` sends the SNN's value forward and the
#   ANN's gradient back; no surrogate and no time loop appear in the backward pass.
# * With the SNN in the forward pass, a window of 1 to 4 steps comes within 5 points of the
#   ReLU ANN on digits; plain conversion needs longer windows, or the half-threshold start,
#   which on this shallow network rescues even $T = 1$.
# * The ANN side is an unclipped ReLU, as in the reference code: neurons whose ANN value exceeds
#   T saturate in the SNN but still pass gradient as if they did not.
#
# ## Further reading
#
# * J. Wu, Y. Chua, M. Zhang, G. Li, H. Li and K. C. Tan, "A tandem learning rule for effective
#   training and rapid inference of deep spiking neural networks", IEEE TNNLS 2021
#   (arXiv:1907.01167).
# * Y. Bengio, N. Léonard and A. Courville, "Estimating or propagating gradients through
#   stochastic neurons for conditional computation", 2013 (straight-through estimators).
# * Next: notebook 08 gives every layer its own teacher target (local tandem learning).

# %% [markdown]
# ## What the claims ledger says (five seeds): not reproduced at this scale
#
# The ledger tests the paper's headline — tandem-trained SNNs reach their ANN's accuracy with
# very short windows — on MNIST-1D (harder than digits, which every rule saturates): IF
# neurons, 40-128-128-10, T = 2 and T = 4, against a ReLU ANN of the same size and epochs, five
# paired seeds, "reproduced" if the interval of (tandem − ANN) lies above −1 point.
#
# Recorded: at T = 2 tandem is **13.9 points below** the ANN (interval [−15.3, −12.4]) and at
# T = 4 **16.5 points below** ([−18.6, −14.5]) — *not reproduced*. The window of 1 to 4 steps
# that comes close to the ANN on digits above does not on a task with more to learn; note also
# that T = 4 is *not* better than T = 2 here (the figure's left panel). A verdict is a result,
# not a bug report: what this notebook shows on digits is true, and so is this.

# %%
from snnlab.widgets import claims_panel, ledger_check  # noqa: E402

claims_panel(ids=["tandem-low-T"])
plt.show()
t2, t4 = ledger_check("tandem-low-T", 0), ledger_check("tandem-low-T", 1)
assert t2["verdict"] == t4["verdict"] == "not reproduced"
assert round(t2["mean"], 1) == -13.9 and round(t4["mean"], 1) == -16.5

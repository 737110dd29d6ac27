# %% [markdown]
# # 03 · Surrogate gradients and backpropagation through time
#
# **Level 2 — Gradients.** Estimated time: 30 minutes.
#
# Notebook 01 ended with a problem: a spike is a step function, $s = H(u - \vartheta)$. Its
# derivative is zero everywhere except exactly at the threshold. Gradient descent needs
# derivatives, so how can a spiking network learn at all? This notebook first shows the naive
# approach fail, then fixes it with a **surrogate gradient**, and trains a spiking network on
# handwritten digits with backpropagation through time (BPTT).
#
# **Objectives.** After this notebook you can
# 1. explain why the true gradient of a spiking network is zero almost everywhere;
# 2. write a spike function with a surrogate derivative as a `torch.autograd.Function`;
# 3. compare surrogate shapes and their sharpness;
# 4. train a spiking network with `snnlab.train(..., rule="bptt")` and inspect its activity.

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
T = 8  # time steps per sample
HIDDEN = 128  # hidden LIF neurons
EPOCHS = 12  # epochs of the main training run
NAIVE_EPOCHS = 5  # epochs of the naive (true-gradient) comparison

# %%
if FAST:
    HIDDEN, EPOCHS, NAIVE_EPOCHS = 64, 2, 2

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import compare, exercises, plot, surrogate, widgets

torch.manual_seed(SEED)
data = snnlab.load("digits", seed=SEED)
print(f"digits: {len(data.train)} train / {len(data.test)} test, {data.n_classes} classes")

# %% [markdown]
# ## 1. The naive way: the true gradient
#
# Take a membrane value $u$ and spike through a plain step, then ask autograd for
# $\partial s / \partial u$:

# %%
u = torch.tensor([0.2, 0.9, 1.1, 3.0], requires_grad=True)
s = (u > 1.0).float()  # H(u - threshold) with threshold 1
print("spikes:", s.tolist(), "| s.requires_grad:", s.requires_grad)

# %% [markdown]
# The comparison `u > 1.0` is not differentiable at all, so autograd drops the graph. Written
# as a proper autograd operation, the step's derivative is $H'(x) = 0$ for every $x \neq 0$
# (and undefined at 0). A spiking neuron whose backward pass uses this *true* derivative is a
# `surrogate.Surrogate` whose derivative is zero:

# %%
class TrueStep(surrogate.Surrogate):
    """The exact Heaviside derivative: zero everywhere (we never hit x == 0 exactly)."""

    name = "true_step"

    def __init__(self):
        super().__init__(scale=1.0)

    def derivative(self, x):
        return torch.zeros_like(x)


u = torch.tensor([0.2, 0.9, 1.1, 3.0], requires_grad=True)
s = TrueStep()(u - 1.0)
s.sum().backward()
print("spikes:", s.tolist(), "| ds/du:", u.grad.tolist())

# %% [markdown]
# Now train a network whose output is *spike counts* of LIF readout neurons, once with the true
# step and once with a surrogate (fast sigmoid, below). Same network, same seed, same data.
#
# ### Predict, then look
#
# Before running the next cell: what **test accuracy** (a number between 0 and 1) will the
# network trained with the true gradient reach on these ten digit classes? Commit to a number;
# the checker compares it with the run and explains.

# %% tags=["exercise"]
my_prediction = None  # TODO: a test accuracy between 0 and 1

# %% tags=["solution"]
my_prediction = 0.1  # a zero gradient never moves a weight: the network stays random

# %%
naive, changes = {}, {}
for label, sg in [("true gradient", TrueStep()), ("surrogate", "fast_sigmoid")]:
    torch.manual_seed(SEED)
    net = snnlab.models.mlp(64, [HIDDEN], 10, readout="count", surrogate=sg)
    w_before = net.layers[0].synapse.weight.detach().clone()
    hist = snnlab.train(net, data, rule="bptt", T=T, epochs=NAIVE_EPOCHS, seed=SEED,
                        progress=False)
    change = float((net.layers[0].synapse.weight.detach() - w_before).abs().max())
    naive[label], changes[label] = hist, change
    print(f"{label:>14}: test accuracy {hist.test_acc:.3f}, train loss "
          f"{hist.column('train_loss')[0]:.3f} -> {hist.final['train_loss']:.3f}, "
          f"largest change of a hidden weight {change:.4f}")
exercises.check_prediction_true_gradient(my_prediction, naive["true gradient"])
# the statements below, on this run's numbers
true_loss = naive["true gradient"].column("train_loss")
assert changes["true gradient"] == 0  # every weight got a zero gradient ...
assert max(true_loss) - min(true_loss) < 1e-4  # ... the loss does not move ...
assert naive["true gradient"].test_acc < 0.2  # ... and the accuracy stays near chance (10%)
assert changes["surrogate"] > 0 and naive["surrogate"].test_acc > 0.5  # the surrogate learns

# %% [markdown]
# With the true gradient **nothing learns**: every weight gets a zero gradient, the loss does
# not move and the accuracy stays at chance (10%). That is the whole problem in one line.
# (With a non-spiking membrane readout, only the last, linear layer would learn; the hidden
# layer would stay exactly at its random initialisation.)
#
# ## 2. The fix: a surrogate derivative
#
# Keep the exact step in the forward pass — the network still spikes — but in the backward pass
# pretend the step was a smooth sigmoid and use its derivative $\sigma'$ instead of $H'$
# (Neftci, Mostafa & Zenke 2019). The *fast sigmoid* of SuperSpike (Zenke & Ganguli 2018) is
#
# $$
# \sigma'(x) = \frac{1}{\big(k\,|x| + 1\big)^2}, \qquad x = u - \vartheta,
# $$
#
# with a sharpness $k$. Then the gradient flows back through time with the recursion that
# `snnlab.functional.lif_sequence` implements by hand:
#
# $$
# \frac{\partial L}{\partial u[t]} = \frac{\partial L}{\partial s[t]}\,\sigma'(u[t]-\vartheta)
#   + \beta\,\frac{\partial L}{\partial u[t+1]}
# $$
#
# (with the reset detached from the graph, as recommended by Zenke & Vogels 2021).
#
# ### Exercise 1: the fast-sigmoid derivative
#
# Write `fast_sigmoid_derivative(x, scale)` returning $1/(\text{scale}\,|x| + 1)^2$
# elementwise.

# %% tags=["exercise"]
def fast_sigmoid_derivative(x, scale):
    # TODO: 1 / (scale * |x| + 1) ** 2
    raise NotImplementedError("Exercise 1: implement fast_sigmoid_derivative")


# %% tags=["nbval-check-output"]
exercises.check_surrogate_derivative(fast_sigmoid_derivative, scale=10.0)

# %% tags=["solution", "nbval-check-output"]
def fast_sigmoid_derivative(x, scale):
    return 1.0 / (scale * x.abs() + 1.0) ** 2


exercises.check_surrogate_derivative(fast_sigmoid_derivative, scale=10.0)

# %% [markdown]
# ### Exercise 2: a spike function with a surrogate gradient
#
# Write a `torch.autograd.Function` whose `forward` returns the step $(x > 0)$ as floats and
# whose `backward` returns `grad_output` times your fast-sigmoid derivative with scale 10.
# Save what `backward` needs with `ctx.save_for_backward(x)`.

# %% tags=["exercise"]
class MySpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        # TODO: save x for backward, return the Heaviside step as floats
        raise NotImplementedError("Exercise 2: implement MySpike.forward")

    @staticmethod
    def backward(ctx, grad_output):
        # TODO: grad_output * fast-sigmoid derivative (scale 10)
        raise NotImplementedError("Exercise 2: implement MySpike.backward")


# %% tags=["nbval-check-output"]
exercises.check_spike_function(MySpike.apply, scale=10.0)

# %% tags=["solution", "nbval-check-output"]
class MySpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)  # exact step forward

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * fast_sigmoid_derivative(x, 10.0)  # surrogate backward


exercises.check_spike_function(MySpike.apply, scale=10.0)

# %% [markdown]
# This is exactly `snnlab.surrogate.SpikeFunction`; the library's surrogates differ only in
# `derivative`. Here are the four it ships, at their default sharpness:

# %%
plot.surrogates()
plt.show()

# %% [markdown]
# All four peak at the threshold and vanish far from it: only neurons whose membrane came close
# to threshold receive a gradient. The scale $k$ trades *precision* (a sharp bump is closer to
# the true derivative) against *reach* (a wide bump lets the gradient through more neurons and
# time steps). You will see this trade-off on a trained network in section 4.
#
# ## 3. Training with BPTT
#
# `snnlab.train` runs the one training loop of the library: encode each batch (here the
# `direct` code of notebook 02, `T` steps), run the network, let the rule compute the loss and
# step the optimiser, evaluate on the test set after each epoch. The `bptt` rule is
# cross-entropy on the readout's membrane, differentiated through time with the surrogate. A
# `widgets.LiveCurve` callback prints one line per epoch and redraws the curve as it trains.

# %%
torch.manual_seed(SEED)
model = snnlab.models.mlp(64, [HIDDEN], 10, beta=0.9, surrogate="fast_sigmoid")
print(model)
live = widgets.LiveCurve(keys=("train_loss", "test_acc"), name="bptt")
history = snnlab.train(model, data, rule="bptt", T=T, epochs=EPOCHS, lr=2e-3, seed=SEED,
                       progress=False, callback=live)
print(f"final test accuracy {history.test_acc:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), constrained_layout=True)
plot.training_curves(history, ax=axes[0], title="BPTT on digits")
plot.training_curves(naive, ax=axes[1], keys=("test_acc",),
                     title="Spike-count readout: true gradient vs surrogate")
plt.show()

# %% [markdown]
# ### Exercise 3: train your own
#
# Write `train_fn(data)` that builds a network with **64 hidden neurons** and the **`atan`**
# surrogate (`snnlab.models.mlp(..., surrogate="atan")`), trains it with `rule="bptt"` for a
# few epochs at `T=8`, and returns it. The checker evaluates it on the test set and wants at
# least 90% accuracy.

# %% tags=["exercise"]
def train_fn(data):
    # TODO: build snnlab.models.mlp(64, [64], 10, surrogate="atan"), snnlab.train it, return it
    raise NotImplementedError("Exercise 3: implement train_fn")


# %% tags=["nbval-check-output"]
exercises.check_bptt_accuracy(train_fn, data, T=8, target=0.9 if not FAST else 0.5)

# %% tags=["solution"]
def train_fn(data):
    torch.manual_seed(SEED)
    net = snnlab.models.mlp(64, [64], 10, surrogate="atan")
    snnlab.train(net, data, rule="bptt", T=8, epochs=EPOCHS, seed=SEED, progress=False)
    return net


exercises.check_bptt_accuracy(train_fn, data, T=8, target=0.9 if not FAST else 0.5)

# %% [markdown]
# ## 4. Inside the trained network
#
# `model.run(x_seq)` returns a `Recording` with every layer's spikes and membranes. The raster
# of the hidden layer for one test digit shows which neurons the network uses, and when:

# %%
x_test, y_test = data.test.tensors
x_seq = snnlab.encode(x_test[:256], T, "direct")
with torch.no_grad():
    rec = model.run(x_seq)
hidden_spikes, hidden_u = rec.spikes[0], rec.membranes[0]
pred = rec.logits.argmax(1)
rate = hidden_spikes.mean()
print(f"digit {int(y_test[0])} predicted as {int(pred[0])}; hidden firing probability per "
      f"step {float(rate):.3f}; silent hidden neurons over 256 digits: "
      f"{int((hidden_spikes.sum((0, 1)) == 0).sum())}/{HIDDEN}")
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
plot.raster(hidden_spikes, sample=0, ax=axes[0],
            title=f"hidden layer, digit {int(y_test[0])} (T = {T})")
plot.membrane(rec.readout_membrane, sample=0, neurons=10, ax=axes[1], label="class",
              title="readout membranes (the logits are their time average)")
plt.show()

# %% [markdown]
# ### Interactive: which neurons get a gradient?
#
# The histogram shows the recorded distances to threshold $u - \vartheta$ of every hidden
# neuron at every step, for these 256 digits. The curve is the surrogate derivative. Change the
# surrogate and its sharpness $k$: the title reports the fraction of neuron-steps whose
# surrogate derivative is above 1% of its peak, i.e. that pass a gradient back. Very sharp
# surrogates leave most of the network without a learning signal; very flat ones give
# gradients that no longer resemble the network's real behaviour.

# %% tags=["nbval-ignore-output"]
distances = hidden_u - model.layers[0].neuron.threshold
dash = widgets.surrogate_dashboard(distances, name="fast_sigmoid", scale=25.0)
dash

# %%
for k in (2.0, 25.0, 200.0):
    r = widgets.simulate_surrogate(name="fast_sigmoid", scale=k, distances=distances)
    print(f"fast sigmoid k = {k:>5g}: gradient reaches {100 * r['reach']:.0f}% of neuron-steps")

# %% [markdown]
# ### Exercise 4: how far does your surrogate reach?
#
# What percentage of the recorded neuron-steps of *your* trained network gets a gradient
# (derivative above 1% of the peak) from the fast sigmoid at the sharpness $k = 25$ of the
# dashboard? Read it off the dashboard's title or compute it with `widgets.simulate_surrogate`.

# %% tags=["exercise"]
reach_percent = None  # TODO: a percentage, e.g. 42.0

# %%
exercises.check_surrogate_reach(reach_percent, distances, name="fast_sigmoid", scale=25.0)

# %% tags=["solution"]
r = widgets.simulate_surrogate(name="fast_sigmoid", scale=25.0, distances=distances)
reach_percent = 100 * r["reach"]
exercises.check_surrogate_reach(reach_percent, distances, name="fast_sigmoid", scale=25.0)

# %%
# "very sharp surrogates leave most of the network without a learning signal", on this run
reach = {k: widgets.simulate_surrogate(name="fast_sigmoid", scale=k, distances=distances)["reach"]
         for k in (2.0, 25.0, 200.0)}
assert reach[2.0] >= reach[25.0] >= reach[200.0]  # sharper: fewer neuron-steps reached
assert reach[200.0] < 0.5  # the sharpest leaves most neuron-steps without a gradient

# %% [markdown]
# ## 5. The same gradient, three ways
#
# Autograd can differentiate the BPTT loop as it stands: every charge, fire and reset of every
# step becomes a node of the graph, and backward walks them all. snnlab computes the same
# gradient with each layer's whole time loop inside one autograd Function whose backward is the
# adjoint recursion written out by hand (eq. 5 in `snnlab/functional.py`): only the membranes
# and spikes are stored, and nothing is recorded per step. On a CPU that loop then runs as a few
# lines of C, and a large layer fed with 0/1 spikes adds up its weights with exact integer
# arithmetic (`snnlab/spikemm.py`). `compare.bptt_paths` computes one batch's gradient all three
# ways and times each, here for 25 steps of rate-coded input: the gradients agree to float32
# rounding, the times do not. (Times are noisy on a shared machine; rerun the cell to see.)

# %% tags=["nbval-ignore-output"]
x_batch = snnlab.encode(x_test[:128], 25, "rate")
paths = compare.bptt_paths(model, x_batch, y_test[:128])
print(paths)
assert all(row["max_abs_diff"] < 1e-4 for row in paths.rows)  # "agree to float32 rounding"

# %% [markdown]
# Run `snnlab info` in a terminal to see which paths your machine uses, and
# `python benchmarks/bench_bptt.py` to time a training step against snnTorch.
#
# ## What to notice
#
# - The true derivative of a spike is zero almost everywhere: with it, a spiking network does
#   not learn at all (section 1).
# - A surrogate gradient changes only the backward pass. The network that is trained and
#   evaluated still emits exact binary spikes.
# - BPTT unrolls the LIF recursion in time; the membrane decay $\beta$ carries gradient from
#   later steps to earlier ones, and the surrogate opens the gate wherever a neuron was near
#   threshold.
# - The surrogate's shape matters less than its width: it decides how many neurons and time
#   steps receive a learning signal.
# - Writing the backward of the time loop by hand gives the same gradient as autograd through
#   the unrolled loop, in a fraction of the time (section 5).
# - BPTT stores every membrane and spike of every step: memory grows with $T$. Later notebooks
#   show rules that avoid this (OTTT) or use spike times instead of activations (timing-based
#   gradients).
#
# ## Further reading
#
# - E. O. Neftci, H. Mostafa, F. Zenke, "Surrogate gradient learning in spiking neural
#   networks", *IEEE Signal Processing Magazine* 36(6), 2019.
# - F. Zenke, S. Ganguli, "SuperSpike: supervised learning in multilayer spiking neural
#   networks", *Neural Computation* 30(6), 2018 — the fast-sigmoid surrogate.
# - F. Zenke, T. P. Vogels, "The remarkable robustness of surrogate gradient learning for
#   instilling complex function in spiking neural networks", *Neural Computation* 33(4), 2021 —
#   surrogate shape, scale and the detached reset.
# - F. Zenke, SpyTorch tutorials (github.com/fzenke/spytorch) — the "naive way first" structure
#   of this notebook.

# %%
_ = exercises.progress()

# %% [markdown]
# ## What the claims ledger says (five seeds)
#
# Everything above is one seed. The project's claims ledger (`snnlab claims show`, recorded
# with `make claims`) runs the surrogate-gradient thesis as a paired five-seed experiment on
# MNIST-1D, a task a small MLP does not saturate: the same 40-128-128-10 network trained by
# BPTT at T = 8 and as a ReLU ANN, same epochs. The verdict rule, fixed before the run:
# "reproduced" if the 95 % interval of (SNN − ANN) lies above −2 points.
#
# The recorded result: the BPTT-trained SNN is **2.4 points better** than the ANN, interval
# [1.3, 3.5] — *reproduced*. (At this size the spiking network's time steps act like extra
# capacity; the review claims only "comparable".)

# %%
from snnlab.widgets import claims_panel, ledger_check  # noqa: E402

claims_panel(ids=["bptt-vs-ann"])
plt.show()
q = ledger_check("bptt-vs-ann")
# the numbers the text quotes, read from the record
assert q["claim_verdict"] == "reproduced" and q["seeds"] >= 5
assert round(q["mean"], 1) == 2.4 and round(q["lo"], 1) == 1.3 and round(q["hi"], 1) == 3.5

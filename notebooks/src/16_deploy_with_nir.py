# %% [markdown]
# # 16 · Deploy what you trained: NIR, snnTorch and Norse
#
# **Level 4 — Efficiency and hardware.** Estimated time: 20 minutes.
#
# A network trained in snnlab is only useful on a chip if the chip's toolchain can read it. The
# **Neuromorphic Intermediate Representation** (NIR; Pedersen et al. 2024) is the field's
# exchange format: a graph of a few continuous-time primitives (`Affine`, `Conv2d`, `LIF`,
# `CubaLIF`, `IF`, `LI`, ...) that snnTorch, Norse, Sinabs, Rockpool, Lava-DL, Nengo and Spyx
# read, as do the toolchains of Loihi 2, SpiNNaker2, Speck, Xylo and BrainScaleS-2. This
# notebook trains a small network, exports it, loads it back in snnlab and in snnTorch and
# Norse, and compares the spikes.
#
# **Objectives.** After this notebook you can
# 1. state how a discrete snnlab neuron maps onto NIR's differential equations (the time step
#    `dt`, the time constant `tau`, the resistance `R`);
# 2. export a trained network with `snnlab.export.to_nir` or `snnlab export` and reload it;
# 3. check that another library produces the same spikes, and explain where it does not
#    (reset by subtraction, snnTorch's IF, Norse's resistance).

# %% tags=["parameters"]
FAST = False  # the tests run with FAST True: smaller sizes, same code
SEED = 0
T = 8  # time steps per sample
HIDDEN = 64  # hidden LIF neurons
EPOCHS = 8  # training epochs
N_SHOW = 200  # test samples compared across libraries

# %%
if FAST:
    HIDDEN, EPOCHS, N_SHOW = 32, 1, 50

import copy
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import torch

import snnlab
from snnlab import encode, exercises, export, plot, widgets

torch.manual_seed(SEED)
data = snnlab.load("digits", seed=SEED)
workdir = Path(tempfile.mkdtemp(prefix="snnlab_nir_"))  # the exported files go here
print(f"digits: {len(data.train)} train / {len(data.test)} test; files in a temporary folder")

# %% [markdown]
# ## 1. From a discrete step to NIR's equation
#
# snnlab's LIF is a discrete map (notebook 01): charge, fire, reset,
#
# $$ u[t] = \beta\, v[t-1] + I[t], \qquad s[t] = H(u[t] - \vartheta), \qquad
#    v[t] = u[t]\,(1 - s[t]) \;\; (\text{reset to zero}). $$
#
# NIR's LIF is a differential equation, with a reset to $v_{reset}$ when $v$ crosses
# $v_{thr}$:
#
# $$ \tau\,\dot v = (v_{leak} - v) + R\,I. $$
#
# A file must say how the two meet. snnlab reads one step as **one forward-Euler step of length
# $dt$** (the convention snnTorch and Norse use as well):
# $v \leftarrow v + \frac{dt}{\tau}\,(v_{leak} - v + R\,I) = \big(1 - \tfrac{dt}{\tau}\big) v
# + \tfrac{R\,dt}{\tau} I$. Matching this with $\beta v + I$ gives
#
# $$ \tau = \frac{dt}{1-\beta}, \qquad R = \frac{\tau}{dt} = \frac{1}{1-\beta},
#    \qquad v_{leak} = v_{reset} = 0, $$
#
# with $dt = 10^{-4}$ s by default (the value snnTorch's importer hard-codes). By default
# snnlab writes a LIF layer as NIR's `CubaLIF` whose synaptic filter lasts exactly one step
# ($\tau_{syn} = dt$, $w_{in} = 1$, the same $\tau_{mem}$ and $R$): under forward Euler that
# filter hands its input on unchanged, and both snnTorch and Norse read `CubaLIF` completely
# (Norse ignores $R$ on a plain `LIF` node; section 5 shows what that costs). The LIF with a
# real synaptic current becomes `CubaLIF` with $\tau_{syn} = dt/(1-\alpha)$, IF becomes `IF`
# with $R = 1$ (a gain per step), DA-LIF's learned input gain becomes $w_{in}$, and the membrane
# readout is written as its `Affine` only: the graph's output is the readout's input current
# $y[t]$, and the reader integrates it, $u[t] = \beta u[t-1] + y[t]$, logits $=
# \frac1T\sum_t u[t]$ (`snnlab.nir.decode_logits` does this; NIR's `LI` node, which would do it
# inside the graph, is read by neither snnTorch nor Norse).
#
# ### Exercise 1: the parameters of an exported LIF
#
# Write `lif_to_nir(beta, dt)` returning `(tau, r)`.

# %% tags=["exercise"]
def lif_to_nir(beta, dt):
    # TODO: forward Euler: beta = 1 - dt / tau, and R * dt / tau = 1
    raise NotImplementedError("Exercise 1: implement lif_to_nir")


# %% tags=["nbval-check-output"]
exercises.check_nir_lif(lif_to_nir)

# %% tags=["solution", "nbval-check-output"]
def lif_to_nir(beta, dt):
    tau = dt / (1.0 - beta)
    return tau, tau / dt


exercises.check_nir_lif(lif_to_nir)

# %% [markdown]
# ### Exercise 2: one step as a NIR reader takes it
#
# A NIR reader does not know $\beta$; it integrates the equation. Write
# `euler_step(v, current, tau, r, dt)`: one forward-Euler step of $\tau\dot v = -v + R I$
# (no spike, no reset). The checker also tells you whether your step is snnlab's charge.

# %% tags=["exercise"]
def euler_step(v, current, tau, r, dt):
    # TODO: v + dt / tau * (-v + r * current)
    raise NotImplementedError("Exercise 2: implement euler_step")


# %% tags=["nbval-check-output"]
exercises.check_nir_euler_step(euler_step)

# %% tags=["solution", "nbval-check-output"]
def euler_step(v, current, tau, r, dt):
    return v + dt / tau * (-v + r * current)


exercises.check_nir_euler_step(euler_step)

# %% [markdown]
# ## 2. Same file, three readers
#
# A file with $\tau$ and $R$ can still be run differently. Our forward-Euler reading (also
# snnTorch's) is what snnlab trained. A simulator that integrates the equation *exactly* over
# each step decays by $e^{-dt/\tau}$ instead of $1-dt/\tau$. And Norse's importer ignores $R$
# on `LIF` (it warns), so its input is scaled by $dt/\tau = 1-\beta$. Move the sliders: which
# reader drifts, and when does one of them stop spiking?

# %% tags=["nbval-ignore-output"]
widgets.nir_readings_dashboard(beta=0.9, current=0.3)

# %% [markdown]
# ## 3. Train, export, reload
#
# We train with `reset="zero"`: NIR 1.0 neurons reset to $v_{reset}$, and it has no reset by
# subtraction (section 5 shows what happens with one).

# %%
torch.manual_seed(SEED)
net = snnlab.models.mlp(64, [HIDDEN], 10, neuron="lif", beta=0.9, reset="zero")
history = snnlab.train(net, data, "bptt", T=T, epochs=EPOCHS, seed=SEED, progress=False)
acc = snnlab.evaluate(net, data.test, T=T)["acc"]
print(f"trained: test accuracy {acc:.3f}")

# %%
path = workdir / "digits_lif.nir"
graph = export.to_nir(net, path)
for name, node in graph.nodes.items():
    extra = ""
    kind = type(node).__name__
    if kind == "CubaLIF":
        extra = (f"tau_mem = {node.tau_mem.flat[0] * 1e3:.3g} ms, r = {node.r.flat[0]:.3g}, "
                 f"tau_syn = {node.tau_syn.flat[0] * 1e3:.3g} ms")
    elif hasattr(node, "weight"):
        extra = f"weight {tuple(node.weight.shape)}"
    print(f"{name:>14}  {type(node).__name__:<7} {extra}")
print(f"{path.name}: {path.stat().st_size / 1024:.1f} KiB")

# %% [markdown]
# The chain reads `input -> Affine -> CubaLIF -> Affine -> output`; with $\beta = 0.9$ and
# $dt = 0.1$ ms, $\tau_{mem} = 1$ ms, $R = 10$ and $\tau_{syn} = 0.1$ ms (one step). Now load the
# file back and compare:

# %%
back = export.from_nir(path)
acc_back = snnlab.evaluate(back, data.test, T=T)["acc"]
x_test, y_test = data.test.tensors
x_seq = encode(x_test[:N_SHOW], T, "direct")
with torch.no_grad():
    same = torch.equal(net(x_seq), back(x_seq))
print(f"reloaded in snnlab: accuracy {acc_back:.3f}, identical logits: {same}")
assert same and acc_back == acc

# %% [markdown]
# ## 4. Reload in snnTorch and compare rasters
#
# `export.run_peer` loads the file with `snntorch.import_nir.import_from_nir` and steps it
# through time. snnTorch turns our one-step `CubaLIF` into `Synaptic(alpha=0, beta=1-dt/tau,
# reset_mechanism="zero")`: exactly our step. Its output per step is the readout current;
# `export.decode_logits` integrates it as the graph's metadata says. We also export the hidden
# spikes alone (`readout="none"`) to compare rasters.

# %%
with torch.no_grad():
    ours = net.run(x_seq).spikes[-1]
    theirs = export.run_peer(export.to_nir(net, readout="none"), x_seq, "snntorch")
    logits_ours = net(x_seq)
    logits_theirs = export.decode_logits(graph, export.run_peer(path, x_seq, "snntorch"))
acc_theirs = float((logits_theirs.argmax(1) == y_test[:N_SHOW]).float().mean())
acc_ours = float((logits_ours.argmax(1) == y_test[:N_SHOW]).float().mean())
gap = float((logits_theirs - logits_ours).abs().max())
print(f"hidden spikes: snnlab {int(ours.sum())}, snnTorch {int(theirs.sum())}, "
      f"different entries: {int((ours != theirs).sum())}")
print(f"logits: largest difference {gap:.1e}; accuracy on {N_SHOW} samples: snnlab "
      f"{acc_ours:.3f}, snnTorch {acc_theirs:.3f}")
assert int((ours != theirs).sum()) == 0 and gap < 1e-4 and acc_ours == acc_theirs

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
plot.raster(ours, ax=axes[0], title="snnlab (sample 0)")
plot.raster(theirs, ax=axes[1], title="snnTorch, from the NIR file", color="C1")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Where the conventions differ
#
# **Norse.** `norse.torch.from_nir(graph, dt=dt)` reads `CubaLIF` completely ($R$ and $w_{in}$
# included), so the default file gives Norse our spikes too. On a plain `LIF` node
# (`to_nir(..., lif_node="lif")`, the form some other readers need) Norse ignores $R$ and
# integrates $v \mathrel{+}= \frac{dt}{\tau}(I - v)$: its neurons see $(1-\beta)\,I$, ten times
# less input at $\beta = 0.9$.
#
# **Predict first.** From plain `LIF` nodes, how many of snnlab's hidden spikes will Norse
# keep: about the `"same"` number (three quarters or more), about `"half"` (a quarter to three
# quarters), or `"few"` (less than a quarter)?

# %% tags=["exercise"]
my_prediction = ...  # "same", "half" or "few": commit before you run the next cell

# %% tags=["solution"]
my_prediction = "few"

# %%
with torch.no_grad():
    norse_cuba = export.run_peer(export.to_nir(net, readout="none"), x_seq, "norse")
    norse_lif = export.run_peer(export.to_nir(net, readout="none", lif_node="lif"), x_seq,
                                "norse")
print(f"Norse, default file (CubaLIF): {int(norse_cuba.sum())} spikes, different from snnlab: "
      f"{int((norse_cuba != ours).sum())}")
print(f"Norse, plain LIF nodes: {int(norse_lif.sum())} spikes (snnlab: {int(ours.sum())})")
assert int((norse_cuba != ours).sum()) == 0 and int(norse_lif.sum()) < int(ours.sum()) / 2
counts = {"snnlab": int(ours.sum()), "norse lif": int(norse_lif.sum())}

# %%
exercises.check_prediction_norse_lif(my_prediction, counts)

# %% [markdown]
# **Reset by subtraction.** snnlab's default LIF subtracts the threshold. NIR 1.0 has no such
# reset, so `to_nir` writes a reset to zero, warns, and keeps the true mode in the node's
# metadata: snnlab's own `from_nir` restores it; Norse can be asked to subtract
# (`run_peer(..., reset="subtract")`, i.e. `reset_method=reset_subtract`, on `CubaLIF` nodes);
# snnTorch resets to zero, so it runs the zero-reset twin of the network.

# %%
sub = copy.deepcopy(net)
for layer in sub.layers:
    layer.neuron.reset_mode = "subtract"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sub_graph = export.to_nir(sub, readout="none")
print("warning:", str(caught[0].message)[:90], "...")
with torch.no_grad():
    sub_snnlab = sub.run(x_seq).spikes[-1]
    sub_snntorch = export.run_peer(sub_graph, x_seq, "snntorch")
    sub_norse = export.run_peer(sub_graph, x_seq, "norse", reset="subtract")
print(f"subtracting snnlab net: {int(sub_snnlab.sum())} spikes; snnTorch from the file: "
      f"{int(sub_snntorch.sum())} (= the zero-reset net's {int(ours.sum())}); Norse asked to "
      f"subtract: {int((sub_norse != sub_snnlab).sum())} entries differ")
assert torch.equal(sub_snntorch, ours) and int((sub_norse != sub_snnlab).sum()) == 0
counts["subtract"] = int(sub_snnlab.sum())
assert counts["subtract"] != counts["snnlab"]  # the reset changes the network's spikes

# %% [markdown]
# **Interpret.** From the printout above: how many more hidden spikes (negative if fewer) does
# the subtracting network emit than its zero-reset twin, the network snnTorch actually runs
# from this file?

# %% tags=["exercise"]
answer = ...  # a whole number of spikes

# %% tags=["solution"]
answer = counts["subtract"] - counts["snnlab"]

# %%
exercises.check_reset_spike_difference(answer, counts)

# %% [markdown]
# **snnTorch's own quirks.** Its importer turns NIR `IF` into a `Leaky` with $\beta = 0.9$ (a
# leak the file does not have), and its *default* `Leaky` (`reset_delay=True`) subtracts the
# threshold one step late and without leak, $u[t] = \beta u[t-1] + I[t] - \vartheta s[t-1]$,
# where snnlab has $-\beta\vartheta s[t-1]$. `tests/test_export.py` pins each of these down.
#
# ## 6. From the command line
#
# The same export from a checkpoint, as a learner would after `snnlab train --checkpoint`:

# %%
from snnlab import cli

snnlab.save_checkpoint(workdir / "digits.pt", net)
cli.main(["export", "--checkpoint", str(workdir / "digits.pt"), "--format", "nir",
          str(workdir / "from_cli.nir")])
same_cli = torch.equal(export.from_nir(workdir / "from_cli.nir")(x_seq), back(x_seq))
print("identical to the notebook's export:", same_cli)
assert same_cli

# %% [markdown]
# ## What to notice
#
# * An SNN file format needs a stated discretisation. snnlab's is forward Euler with
#   $\tau = dt/(1-\beta)$ and $R = 1/(1-\beta)$; a reader that integrates exactly, or ignores
#   $R$, runs a different network from the same numbers.
# * With a reset to zero, snnTorch and Norse both reproduce snnlab's spikes exactly from the
#   default file (zero different entries above, asserted), and snnTorch's decoded logits match
#   snnlab's to float rounding; Norse gives the same spikes only because the file uses
#   `CubaLIF`: from plain `LIF` nodes it loses most of them.
# * Reset by subtraction, the usual choice for training and for ANN-to-SNN conversion, has no
#   NIR 1.0 node: train with `reset="zero"` for a network you plan to deploy.
# * Who reads the file (NIR's support table, neuroir.org): the simulators snnTorch, Norse,
#   Sinabs, Rockpool, Lava-DL, Nengo and Spyx, and the chips Intel Loihi 2 (via Lava-DL),
#   SpiNNaker2, SynSense Speck (via Sinabs) and Xylo (via Rockpool), and BrainScaleS-2 (via
#   hxtorch/jaxsnn). This notebook checked two of them, snnTorch and Norse.
#
# ## Further reading
#
# * J. E. Pedersen, S. Abreu, M. Jobst, et al., *Neuromorphic intermediate representation: a
#   unified instruction set for interoperable brain-inspired computing*, Nature Communications
#   15, 8122 (2024). Docs: <https://neuroir.org>.
# * `snnlab/nir/export.py` (the mapping table), snnTorch's `snntorch/import_nir.py` and Norse's
#   `norse/torch/utils/import_nir.py` (how each reader interprets the file).

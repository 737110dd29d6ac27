# %% [markdown]
# # 00 · Start here: how spiking neural networks are trained — the course map
#
# **Map page.** Estimated time: 10 minutes.
#
# This course teaches how spiking neural networks (SNNs) learn, one family of learning rules at
# a time, on one shared library (`snnlab`): the same network, the same time loop and the same
# training loop in every notebook, so what changes from one notebook to the next is only the
# learning rule. Every notebook runs top to bottom on a laptop CPU.
#
# **Objectives.** After this page you know
# 1. which notebook to open next, what it teaches and what it assumes;
# 2. how exercises, checkers and solutions work, and how to get the version without solutions;
# 3. that your environment is ready, and what one spiking neuron does (a live widget).

# %% tags=["parameters"]
FAST = False  # nothing heavy here; kept for the course convention (the tests set it True)
SEED = 0

# %% [markdown]
# ## The map: five levels
#
# Level **1** foundations, **2** gradients, **3** ANN-guided learning, **4** efficiency and
# hardware, **5** capstone.
#
# | # | lvl | notebook | min | you will | needs |
# |---|---|---|---|---|---|
# | 01 | 1 | Spiking neurons | 25 | write LIF as charge/fire/reset; f–I curve | Python |
# | 02 | 1 | Encodings | 25 | direct, rate, latency, delta codes: spikes vs accuracy | 01 |
# | 03 | 2 | Surrogate BPTT | 30 | true gradient fails; surrogate spikes; BPTT | 01, 02 |
# | 04 | 2 | Timing gradients | 25 | gradients through spike times: $-1/\dot V$ | 03 |
# | 05 | 2 | Activation vs timing | 30 | ANTLR combines both; compare gradients | 03, 04 |
# | 06 | 3 | ANN-to-SNN conversion | 40 | normalise weights; three error terms | 01, 02 |
# | 07 | 3 | Tandem learning | 30 | spike counts forward, ANN gradients backward | 06 |
# | 08 | 3 | Local tandem learning | 35 | every layer copies its teacher layer | 07 |
# | 09 | 3 | Distillation, DA-LIF | 40 | KD, HTA-KL into a spiking student | 03, 07 |
# | 10 | 4 | OTTT | 25 | presynaptic traces; training memory flat in $T$ | 03 |
# | 11 | 4 | TSSL-BP | 25 | spike sequences via spike times, few steps | 03, 04 |
# | 12 | 4 | Rate-based BP | 25 | one backward step instead of $T$; where rates break | 03, 10 |
# | 13 | 4 | Device noise | 30 | noisy chip; calibrate with local learning | 03, 08 |
# | 14 | 4 | EICIL | 30 | excitatory and inhibitory phases; STDP depression | 03 |
# | 15 | 5 | Capstone: all rules | 40 | all rules: accuracy, energy, memory | 01–14 |
# | 16 | 4 | Deploy with NIR | 20 | export to NIR; rerun in snnTorch, Norse | 01, 03 |
#
# Two suggested paths: **the core** (01 → 02 → 03 → 06 → 07 → 10 → 15, about 3.5 hours) and
# **everything** (in order; 16 can come any time after 03). About 8 hours in all.
#
# **Prerequisites for the whole course**: Python and NumPy-level array code, the idea of
# gradient descent and backpropagation, and enough PyTorch to read `tensor.sum(0)` and
# `loss.backward()`. No neuroscience is assumed.
#
# ## Anatomy of a notebook
#
# Every notebook has the same parts, in order:
#
# 1. **title, level, time and objectives**;
# 2. a **parameters** cell (`FAST`, `SEED`, sizes): leave `FAST = False` to get the results the
#    text discusses; `FAST = True` shrinks everything so the notebook runs in under a minute
#    (the tests use it);
# 3. **short theory** with the equations, then **code** that calls `snnlab`;
# 4. at least one **interactive widget** (sliders or menus; needs a running kernel);
# 5. **exercises** of three kinds: *predict-then-observe* (write your prediction in a variable
#    before a run; any honest guess passes, the checker says how close it was and why),
#    *implement* (write a function) and *interpret* (a number or a letter read from your own
#    run, checked against that run's numbers);
# 6. **What to notice** (a summary) and **Further reading** (the papers).
#
# ## How exercises work
#
# An exercise is three cells:
#
# * a **stub** (tagged `exercise`): a function whose body raises `NotImplementedError`. Replace
#   the body with your answer;
# * a **checker** call, e.g. `exercises.check_lif_step(lif_step)`: it runs your function on
#   test cases and prints one line, `✅ <name>: passed` or `❌ <name>: <what is wrong> — hint:
#   <hint>`. It never raises on a wrong answer, so you can retry as often as you like;
# * the **solution** (tagged `solution`), which defines the reference answer and calls the
#   checker again. Try first, then compare.
#
# To work without the solutions in view, write the **student versions** (no solution cells, no
# outputs) and open those instead:
#
# ```bash
# snnlab notebooks student                    # writes notebooks/student/NN_*.ipynb
# snnlab notebooks student --out ~/my-course  # or anywhere else
# ```
#
# `snnlab.exercises.progress()` lists the checkers you have run in the current kernel and
# whether the latest attempt passed. Here is what a checker prints, on a deliberately wrong
# answer and then on a right one (notebook 02's question: how many spikes, on average, does a
# rate code emit for the value 0.3 in $T = 20$ steps?):

# %%
import snnlab.exercises as exercises
import snnlab.widgets as widgets

exercises.reset_progress()
exercises.check_spike_count(5.0)
exercises.check_spike_count(6.0)
exercises.progress()
exercises.reset_progress()  # start the course with a clean slate

# %% [markdown]
# ## Is your environment ready?
#
# The same information as `snnlab info` on the command line: versions, the registered learning
# rules and the bundled data sets. If this cell runs, you can run every notebook.

# %%
import platform

import torch

import snnlab

print(f"snnlab {snnlab.__version__}, python {platform.python_version()}, torch {torch.__version__}")
print(f"threads: {torch.get_num_threads()}, CUDA available: {torch.cuda.is_available()}")
print("learning rules:", ", ".join(snnlab.rules.available()))
print("data sets:", ", ".join(snnlab.data.available()))
digits = snnlab.load("digits", seed=SEED)
print(f"digits: {len(digits.train)} training and {len(digits.test)} test samples, "
      f"{digits.n_classes} classes, input shape {tuple(digits.input_shape)}")

# %% [markdown]
# ## A first look: one spiking neuron, live
#
# Before the map turns into notebooks, meet the one piece everything is built from: a **leaky
# integrate-and-fire** neuron. A constant input current charges its membrane, the membrane
# leaks back towards 0, and when it crosses the threshold (1) the neuron emits a spike and
# loses the threshold's worth of charge. Notebook 01 takes it apart; here you only play.
#
# **Predict first.** The neuron below gets a current of 0.3 for 100 ms (steps of 1 ms) with a
# membrane time constant of 10 ms. How many spikes will it emit? Write your guess *before* you
# run the next cells: any number counts, the checker only tells you how close you were and why.

# %% tags=["exercise"]
my_prediction = None  # replace None by your guess: how many spikes in 100 ms? (a number)

# %% tags=["solution"]
my_prediction = 30  # a guess; the checker says how close it was and why

# %% [markdown]
# Now the live neuron: move the sliders (it needs a running kernel; the title counts the
# spikes). The dashboard calls the pure function `widgets.simulate_lif`, whose result the
# checker compares with your prediction.

# %% tags=["nbval-ignore-output"]
dash = widgets.lif_dashboard(current=0.3, threshold=1.0, tau_ms=10.0)
dash

# %%
run = widgets.simulate_lif(current=0.3, threshold=1.0, tau_ms=10.0, T=100)
exercises.check_prediction_lif_spikes(my_prediction, run)
assert run["n_spikes"] > 0 and run["v_inf"] > 1.0  # the prose below: it fires, v_inf > 1

# %% [markdown]
# **Read it off the widget.** Slide the current down until the neuron stops firing. What is the
# smallest current on the slider (steps of 0.01) at which it still fires within the 100 ms?
# Pass the dashboard's last run, so the checker knows the τ and threshold you used.

# %% tags=["exercise"]
smallest = None  # replace None by the smallest current that still fires, read off the slider

# %%
exercises.check_smallest_current(smallest, dash.result)

# %% tags=["solution"]
dash.controls["current"].value = 0.10  # the title still shows spikes; at 0.09 it shows 0
smallest = dash.controls["current"].value
exercises.check_smallest_current(smallest, dash.result)

# %% [markdown]
# Below about 0.095 nothing happens however long you wait: the leak caps the membrane at
# $I/(1-\beta)$, which must exceed the threshold. This **rheobase** returns in notebook 01.
# (The leak, the threshold and the reset are the whole model; everything this course trains is
# many of these neurons wired together.)

# %% [markdown]
# Open notebooks in JupyterLab with `make lab` (or `jupyter lab notebooks/`). A notebook's
# first run of a data set may build it into a small cache (`SNNLAB_DATA` moves it).
#
# ## What to notice
#
# - A spiking neuron is a leaky membrane, a threshold and a reset: above the rheobase it fires
#   regularly, below it never fires (the widget, asserted on the run above).
# - One library, one network, one training loop: each notebook changes only the learning rule,
#   so differences you measure come from the rule.
# - Levels build on each other: gradients (level 2) come before rules that borrow them from
#   ANNs (level 3) and before rules that make training cheaper or fit a chip (level 4); the
#   capstone (15) puts all of them in one table.
# - Exercises are checked automatically; the solutions are right below, so use the student
#   version if you want to work without them.
#
# ## Further reading
#
# - E. O. Neftci, H. Mostafa, F. Zenke, "Surrogate gradient learning in spiking neural
#   networks", IEEE Signal Processing Magazine 2019 — the best first read.
# - J. K. Eshraghian et al., "Training spiking neural networks using lessons from deep
#   learning", Proceedings of the IEEE 2023 — a tutorial with code (snnTorch).
# - K. Roy, A. Jaiswal, P. Panda, "Towards spike-based machine intelligence with neuromorphic
#   computing", Nature 2019 — why spikes, and what hardware does with them.
# - Each notebook's own Further reading lists the papers behind its rule.

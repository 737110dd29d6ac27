"""Defaults that hold on new data (issue 15, item 3).

Every registered rule, run with its own defaults (T, encoding, lr, epochs, one hidden layer of
128 - what ``snnlab train --rule R --data D`` picks), must learn the held-out tasks of
:mod:`snnlab.data.heldout`, which no default was tuned on, or refuse them with one clear line.
The fast tests run every rule on two tasks with a tiny budget; ``-m slow`` runs the full
defaults on four tasks x three seeds and compares with ``bptt``.

Measured (CLI defaults, test accuracy %, mean ± half-range over seeds 0-2, in brackets vs
bptt; 2026-12-04, after the InputScale fix, TTFS's official safeguards and KD's input scale;
timing 2026-12-05, after weight bumping replaced its silent-neuron penalty; "refused" = one
clear line; full notes and the before/after history in docs/heldout.md)::

    |rule|blobs10-c3-unit|teacher40-c5-std|blobs100-c8-x10|latency40-c5 |
    |---|---|---|---|---|
    |bptt|84.6±0.4|68.1±0.9|58.6±5.3|99.4±0.4 |
    |akl|82.0±0.9(-2.6)|69.9±2.0(+1.8)|59.6±3.7(+1.0)|99.0±0.8(-0.4) |
    |bptt_stdp_cycles|81.0±2.2(-3.6)|68.6±0.2(+0.5)|refused|99.2±0.3(-0.2) |
    |hta_kl|82.0±1.2(-2.6)|70.3±1.3(+2.3)|60.3±3.2(+1.7)|99.0±0.8(-0.4) |
    |kd|82.6±0.7(-2.0)|70.3±1.9(+2.3)|56.5±1.2(-2.1)|99.1±0.6(-0.3) |
    |ltl|85.9±1.3(+1.3)|70.1±2.5(+2.0)|55.3±4.7(-3.3)|98.9±0.6(-0.5) |
    |ottt|85.3±0.4(+0.7)|68.6±1.0(+0.5)|56.8±0.3(-1.8)|98.7±0.4(-0.7) |
    |ottt_o|85.9±0.4(+1.3)|69.0±0.6(+0.9)|53.8±5.6(-4.8)|98.7±0.6(-0.7) |
    |rate_bp|84.9±0.9(+0.3)|68.5±0.9(+0.4)|58.3±4.8(-0.3)|99.4±0.4(+0.0) |
    |tandem|84.4±0.8(-0.2)|70.5±2.3(+2.4)|63.4±2.8(+4.8)|98.9±0.8(-0.5) |
    |tssl|81.5±1.6(-3.1)|66.5±0.1(-1.5)|59.3±0.4(+0.7)|98.7±0.5(-0.7) |
    |antlr|78.5±1.8(-6.1)|refused|refused|94.9±0.8(-4.5) |
    |ttfs|81.8±0.5(-2.8)|refused|refused|96.1±1.2(-3.3) |
    |timing|71.9±8.2(-12.7)|refused|refused|95.3±0.8(-4.1) |
    |bptt, latency code, T=40|70.6±1.5|-|-|97.6±0.2 |

The first-spike rules read a latency code (one spike per feature); against ``bptt`` on the
same code they are ahead or close (antlr +7.9 / -2.7, ttfs +11.2 / -1.5, timing +1.3 / -2.3).
``timing`` was a known failure until it took Göltz et al.'s weight bumping (before: 52.7 and
56.8, two of three seeds stuck near chance); at the tiny budget of the fast test it is still
short on blobs10 (38.2 %, the bar is chance + 15 = 48.3 %): the first epochs go to bumping.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch.utils.data import TensorDataset

import snnlab
from snnlab import data as D
from snnlab import rules as R
from snnlab.data import heldout
from snnlab.train import build_model, train

torch.set_num_threads(1)

FAST_TASKS = ("heldout-blobs10-c3-unit", "heldout-latency40-c5")
FULL_TASKS = ("heldout-blobs10-c3-unit", "heldout-teacher40-c5-std", "heldout-blobs100-c8-x10",
              "heldout-latency40-c5")
# the first-spike rules read a latency code; they are compared with bptt on the same code
# (test_first_spike_rules_against_bptt_on_the_same_code)
FIRST_SPIKE = {"antlr", "timing", "ttfs"}
#: (rule, task) pairs that do not clear the tiny-budget bar (measured, strict: the day one of
#: them learns, the xfail turns into a failure and this set must shrink)
KNOWN_SHORT = {("timing", "heldout-blobs10-c3-unit")}


def _run(rule_name, split, seed=0, epochs=None, n_train=None):
    """What the CLI does: the rule's own network and defaults (epochs may be capped)."""
    rule = R.get(rule_name)
    if n_train is not None:
        x, y = split.train.tensors
        split = D.DataSplit(train=TensorDataset(x[:n_train], y[:n_train]), test=split.test,
                            n_classes=split.n_classes, input_shape=split.input_shape,
                            name=split.name)
    model = build_model(rule, split, [128], seed=seed)
    if epochs is not None:
        epochs = min(max(epochs, -(-rule.default_epochs // 4)), rule.default_epochs)
    return train(model, split, rule, epochs=epochs, seed=seed, progress=False).test_acc


# --------------------------------------------------------------------------- the generator
def test_heldout_tasks_are_registered_and_deterministic():
    names = [n for n in D.available() if n.startswith("heldout")]
    assert len(names) == len(heldout.TASKS) >= 4
    for name in FULL_TASKS:
        a, b = D.load(name, seed=3), D.load(name, seed=3)
        assert a.name == name and len(a.train) + len(a.test) <= 2000
        assert all(torch.equal(u, v) for u, v in zip(a.train.tensors + a.test.tensors,
                                                     b.train.tensors + b.test.tensors))
        c = D.load(name, seed=4)
        assert not torch.equal(a.train.tensors[0], c.train.tensors[0])
        counts = torch.bincount(a.train.tensors[1], minlength=a.n_classes)
        assert int(counts.min()) >= 0.6 * len(a.train) / a.n_classes  # balanced
    x = D.load("heldout-blobs100-c8-x10").train.tensors[0]
    assert float(x.min()) == 0.0 and float(x.max()) == 10.0
    x = D.load("heldout-teacher40-c5-std").train.tensors[0]
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-2
    x = D.load("heldout-latency40-c5").train.tensors[0]
    assert float(x.min()) >= 0 and float(x.max()) <= 1 and float((x == 0).float().mean()) > 0.3
    with pytest.raises(ValueError, match="family"):
        heldout.make_task("spirals", 10, 3)
    with pytest.raises(ValueError, match="scale"):
        heldout.make_task("blobs", 10, 3, "x100")


def test_cli_accepts_a_heldout_task(capsys):
    from snnlab import cli

    rc = cli.main(["train", "--rule", "bptt", "--data", "heldout-blobs10-c3-unit", "--epochs",
                   "1", "--json"])
    assert rc == 0
    assert '"data": "heldout-blobs10-c3-unit"' in capsys.readouterr().out


# --------------------------------------------------------------------------- scale-free
def test_input_scale_makes_the_first_layer_scale_free():
    """Inputs x 10 and x 20 train the same network (the InputScale fix): both have RMS > 1, so
    both runs are the run on inputs of RMS 1."""
    base = D.load("heldout-blobs10-c3-unit")
    accs, weights = [], []
    for c in (10.0, 20.0):
        x, y = base.train.tensors
        xt, yt = base.test.tensors
        split = D.DataSplit(train=TensorDataset(x[:256] * c, y[:256]),
                            test=TensorDataset(xt * c, yt), n_classes=3, input_shape=(10,),
                            name=f"x{c:g}")
        h = train(None, split, "bptt", epochs=1, seed=0, progress=False)
        accs.append(h.test_acc)
        weights.append(h.model.layers[0].synapse.weight.detach() * c)
    assert accs[0] == pytest.approx(accs[1], abs=0.01)
    torch.testing.assert_close(weights[0], weights[1], rtol=1e-3, atol=1e-4)
    # inputs of order 1 are left alone: the first layer starts from the usual initialisation
    rule = R.get("bptt")
    model = build_model(rule, base, [16], seed=0)
    w0 = model.layers[0].synapse.weight.detach().clone()
    rule.setup(model, base, T=8, encoding="direct", seed=0)
    assert torch.equal(model.layers[0].synapse.weight, w0)
    with pytest.raises(TypeError, match="input_norm"):
        R.get("bptt", input_norm=1)


# --------------------------------------------------------------------------- every rule
@pytest.mark.parametrize(("rule", "task"), [
    pytest.param(r, t, marks=pytest.mark.xfail(
        reason="known shortfall, not hidden: at this budget (500 samples, 8 epochs) timing "
               "spends its first epochs bumping silent neurons and reaches 38.2 % on blobs10-c3 "
               "(bar 48.3 %); with its full defaults 71.9 %, bptt on the same code 70.6 % "
               "(docs/heldout.md)",
        strict=True)) if (r, t) in KNOWN_SHORT else (r, t)
    for t in FAST_TASKS for r in R.available()])
def test_every_rule_learns_a_heldout_task_or_refuses(rule, task):
    """Tiny budget (500 training samples, max(3, a quarter of its default) epochs), the
    rule's own T/encoding/lr/net: above chance by a margin, or one clear line saying why not.
    (tssl needs its 5: 36 % on blobs10 after 3 epochs, 81.5 % with its full 20.)"""
    split = D.load(task, seed=0)
    chance = 1.0 / split.n_classes
    try:
        acc = _run(rule, split, epochs=3, n_train=500)
    except ValueError as e:  # a refusal must be one clear line
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 400
        return
    assert math.isfinite(acc)
    assert acc >= chance + 0.15, f"{rule} on {task}: {acc:.3f} (chance {chance:.3f})"


@pytest.mark.slow
@pytest.mark.parametrize("task", FULL_TASKS)
@pytest.mark.parametrize("rule", [r for r in R.available()
                                  if r not in FIRST_SPIKE and r != "bptt"])
def test_full_defaults_come_within_a_few_points_of_bptt(rule, task):
    """The measured table, as a check: mean over three seeds within 5 points of bptt's, or
    a one-line refusal."""
    try:
        mean = sum(_run(rule, D.load(task, seed=s), seed=s) for s in range(3)) / 3
    except ValueError as e:
        assert "\n" not in str(e) and len(str(e)) < 400
        return
    ref = _bptt_mean(task)
    assert mean >= ref - 0.05, f"{rule} {mean:.3f} vs bptt {ref:.3f} on {task}"


@functools.cache
def _bptt_mean(task, T=None, encoding=None):
    """bptt's mean test accuracy over seeds 0-2 with its defaults (or the given T/code)."""
    accs = []
    for s in range(3):
        split = D.load(task, seed=s)
        rule = R.get("bptt")
        model = build_model(rule, split, [128], seed=s)
        accs.append(train(model, split, rule, T=T, encoding=encoding, seed=s,
                          progress=False).test_acc)
    return sum(accs) / 3


@pytest.mark.slow
@pytest.mark.parametrize("task", FAST_TASKS)
@pytest.mark.parametrize("rule", sorted(FIRST_SPIKE))
def test_first_spike_rules_against_bptt_on_the_same_code(rule, task):
    """A first-spike rule sees each feature as one spike (latency code, its T = 40); bptt with
    the same code and T is the fair reference: within 5 points of it, mean of three seeds
    (measured: antlr 78.5 / 94.9 %, ttfs 81.8 / 96.1 %, timing 71.9 / 95.3 %, bptt on the code
    70.6 / 97.6 %)."""
    ref = _bptt_mean(task, T=40, encoding="latency")
    got = sum(_run(rule, D.load(task, seed=s), seed=s) for s in range(3)) / 3
    assert got >= ref - 0.05, f"{rule} {got:.3f} vs bptt on the latency code {ref:.3f}"


def test_snnlab_top_level_still_imports():
    assert "heldout_blobs10_c3_unit" in snnlab.data.available()

"""First-spike rules (timing, antlr, ttfs) refuse neurons, encodings and data their
mathematics does not cover, each with one clear ValueError."""

from __future__ import annotations

import pytest
import torch

import snnlab
from snnlab import rules as R
from snnlab.data import DataSplit
from snnlab.data.base import tensor_dataset

RULES = ["timing", "antlr", "ttfs"]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("neuron", ["lif", "lif_syn", "psp_lif", "dalif", "if"])
def test_refuses_other_neurons(rule, neuron):
    net = snnlab.models.mlp(5, [8], 3, neuron=neuron, bias=False, readout="first_spike")
    with pytest.raises(ValueError, match="antlr_lif"):
        R.get(rule).check_model(net)


def test_ttfs_refuses_a_leaky_antlr_neuron():
    net = snnlab.rules.antlr.make_model(5, [8], 3)  # beta = 0.9: not the non-leaky neuron
    with pytest.raises(ValueError, match="beta=1"):
        R.get("ttfs").check_model(net)
    R.get("antlr").check_model(net)


def _split(lo=0.0, hi=1.0):
    x = torch.rand(20, 5) * (hi - lo) + lo
    ds = tensor_dataset(x.numpy(), torch.randint(0, 3, (20,)).numpy())
    return DataSplit(train=ds, test=ds, n_classes=3, input_shape=(5,), name="toy")


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_refuses_non_latency_encodings(rule, encoding):
    r = R.get(rule)
    net = r.build_model(5, [8], 3)
    with pytest.raises(ValueError, match="needs encoding='latency'"):
        r.setup(net, _split(), T=20, encoding=encoding, seed=0)
    r.setup(net, _split(), T=20, encoding="latency", seed=0)


@pytest.mark.parametrize("rule", RULES)
def test_refuses_features_outside_unit_interval(rule):
    r = R.get(rule)
    net = r.build_model(5, [8], 3)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\] and reach"):
        r.setup(net, _split(-2.0, 3.0), T=20, encoding="latency", seed=0)


@pytest.mark.parametrize("rule", RULES)
def test_train_refuses_through_the_shared_loop(rule):
    with pytest.raises(ValueError, match="needs encoding='latency'"):
        snnlab.train([8], _split(), rule, encoding="direct", epochs=1, progress=False)


@pytest.mark.parametrize("rule", RULES)
def test_refuses_features_that_never_reach_the_upper_half(rule):
    r = R.get(rule)
    with pytest.raises(ValueError, match="reach its upper half"):
        r.setup(r.build_model(5, [8], 3), _split(0.0, 0.3), T=20, encoding="latency", seed=0)

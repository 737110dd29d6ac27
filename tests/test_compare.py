"""compare.gradients: rules' gradients on one batch, against a rule or finite differences."""

from __future__ import annotations

import math

import pytest
import torch

from snnlab import compare
from snnlab.encoding import encode
from snnlab.models import mlp
from snnlab.rules import antlr as A


def _tiny(seed=0):
    torch.manual_seed(seed)
    net = mlp(4, [6], 3, beta=0.8)
    x_seq = encode(torch.rand(16, 4), 6, "direct")
    y = torch.randint(0, 3, (16,))
    return net, x_seq, y


def test_rule_against_itself_has_cosine_one():
    net, x_seq, y = _tiny()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    cmp = compare.gradients(net, x_seq, y, rules=["bptt"], reference="bptt")
    assert cmp.rows and len(cmp.rows) == len(before)
    for row in cmp.rows:
        assert row["cosine"] == pytest.approx(1.0, abs=1e-9)
        assert row["sign_agreement"] == 1.0
        assert row["norm_ratio"] == pytest.approx(1.0)
    for n, p in net.named_parameters():  # weights untouched
        assert torch.equal(p, before[n]) and p.grad is None
    assert "reference: bptt" in cmp.table()


def test_metrics_on_known_vectors():
    g = torch.tensor([1.0, 0.0, -2.0, 0.0])
    m = compare.gradient_metrics(-g, g)
    assert m["cosine"] == pytest.approx(-1.0) and m["sign_agreement"] == 0.0
    m = compare.gradient_metrics(3 * g, g)
    assert m["norm_ratio"] == pytest.approx(3.0) and m["sign_agreement"] == 1.0
    assert math.isnan(compare.gradient_metrics(torch.zeros(4), g)["cosine"])
    with pytest.raises(ValueError, match="size"):
        compare.gradient_metrics(torch.zeros(3), g)


def test_smoothed_fd_reference_agrees_with_bptt_direction():
    # tiny network: the surrogate gradient points roughly where the smoothed loss descends
    net, x_seq, y = _tiny()
    cmp = compare.gradients(net, x_seq, y, rules=["bptt"], reference="fd", fd_samples=300,
                            fd_sigma=0.05)
    assert cmp.reference == "fd"
    # measured (seed 0, 300 pairs): cosines 0.77 / 0.98 / 0.70 / 0.999 for W1, b1, W2, b2
    assert cmp.value("bptt", "readout.synapse.bias") > 0.9, cmp.table()
    assert all(r["cosine"] > 0.5 for r in cmp.rows), cmp.table()


def test_antlr_rules_compared_on_one_network():
    data = A.latency_dataset("yinyang")
    x, y = data.train.tensors
    net = A.make_model(5, [12], 3, seed=0, weight_mean=0.5)
    x_seq = encode(x[:32], 30, "latency")
    cmp = compare.gradients(net, x_seq, y[:32], rules=["antlr", "timing"], reference="bptt")
    assert cmp.rules() == ["antlr", "timing"]
    assert set(cmp.params()) == {"layers.0.synapse.weight", "readout.synapse.weight"}
    for row in cmp.rows:
        assert -1.0 <= row["cosine"] <= 1.0


def test_plot_gradient_comparison():
    import matplotlib

    matplotlib.use("Agg")
    from snnlab import plot

    net, x_seq, y = _tiny()
    cmp = compare.gradients(net, x_seq, y, rules=["bptt"], reference="bptt")
    fig = plot.gradient_comparison(cmp)
    assert len(fig.axes) >= 3
    with pytest.raises(ValueError, match="param"):
        plot.gradient_comparison(cmp, param="nope")
    with pytest.raises(TypeError, match="GradientComparison"):
        plot.gradient_comparison({"a": 1})


def test_bad_inputs():
    net, x_seq, y = _tiny()
    with pytest.raises(ValueError, match="unknown rule"):
        compare.gradients(net, x_seq, y, rules=["nope"])
    with pytest.raises(ValueError, match="rules"):
        compare.gradients(net, x_seq, y, rules=[])
    with pytest.raises(ValueError, match="y"):
        compare.gradients(net, x_seq, y[:3])
    with pytest.raises(ValueError, match="sigma"):
        compare.smoothed_fd_gradient(net, x_seq, y, sigma=0.0)


def test_rules_max_epochs_caps_each_default():
    from snnlab import load

    data = load("digits")
    cmp = compare.rules(["bptt", "tandem"], data, hidden=(16,), max_epochs=1)
    assert [r["epochs"] for r in cmp.rows] == [1, 1]
    cmp = compare.rules(["bptt"], data, hidden=(16,), epochs=2, max_epochs=5)
    assert cmp.rows[0]["epochs"] == 2
    assert set(compare.pareto_optimal(cmp)) == {"bptt"}
    with pytest.raises(ValueError, match="max_epochs"):
        compare.rules(["bptt"], data, max_epochs=0)


def test_bptt_paths_agree_and_restore_the_model():
    from snnlab import functional

    torch.manual_seed(0)
    net = mlp(20, [32], 5, beta=0.9)
    x = (torch.rand(10, 8, 20) < 0.3).float()
    y = torch.randint(0, 5, (8,))
    timings = compare.bptt_paths(net, x, y, repeats=2)
    rows = timings.rows
    assert "fused, C loop + int8" in str(timings)
    assert [r["path"] for r in rows] == ["unrolled autograd", "fused, PyTorch ops",
                                         "fused, C loop + int8"]
    assert rows[0]["max_abs_diff"] == 0.0 and rows[0]["speedup"] == 1.0
    assert all(r["max_abs_diff"] < 1e-5 and r["ms_per_step"] > 0 for r in rows)
    assert all(getattr(m, "fused", True) for m in net.modules())
    assert functional.NATIVE
    with pytest.raises(ValueError, match="repeats"):
        compare.bptt_paths(net, x, y, repeats=0)


def test_pytorch_ops_only_restores_the_switches():
    from snnlab import functional, spikemm

    before = functional.NATIVE, spikemm._state["enabled"]
    with pytest.raises(RuntimeError):
        with compare.pytorch_ops_only():
            assert not functional.NATIVE and not spikemm.enabled()
            raise RuntimeError("inside")
    assert (functional.NATIVE, spikemm._state["enabled"]) == before

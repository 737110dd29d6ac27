"""ANN-to-SNN conversion: closed forms, the exact error decomposition, QCFS, BN folding."""

import numpy as np
import pytest
import torch
from torch import nn

import snnlab
from snnlab import conversion as C
from snnlab import neurons as N
from snnlab.encoding import encode
from snnlab.models import convnet, from_config, mlp
from snnlab.teacher import train_teacher


@pytest.fixture(scope="module")
def digits():
    return snnlab.data.load("digits")


@pytest.fixture(scope="module")
def relu_ann(digits):
    return train_teacher(digits, hidden=(128, 128), activation="relu", epochs=20, lr=3e-3)


def _random_ann(seed=0):
    torch.manual_seed(seed)
    return mlp(20, [32, 24], 5).ann_twin()


def test_layer1_counts_follow_the_closed_form_staircase():
    ann = _random_ann()
    x = torch.rand(64, 20)
    for v0 in (0.0, 0.5):
        snn = C.convert(ann, x, norm="max", v0=v0)
        T = 7
        s = snn.run(encode(x, T)).spikes[0]
        lam = snn.conversion["scales"][0]
        z = ann.synapses[0](x)  # constant input: the mean current is the ANN pre-activation
        q = C.staircase(z, lam, T, v0)
        # strict v > threshold: differs only where T z / lam + v0 is an integer (measure zero)
        frac = float((s.mean(0) * lam - q).abs().lt(1e-5).float().mean())
        assert frac > 0.999


def test_three_terms_sum_exactly_to_total_and_layer1_is_even():
    ann = _random_ann(1)
    x = torch.rand(50, 20)
    snn = C.convert(ann, x, norm="percentile", p=90.0)  # p90 clips: every term is non-zero
    rows = C.errors(ann, snn, x, T=5, return_terms=True)
    for r in rows:
        t = r["terms"]
        torch.testing.assert_close(t["clipping"] + t["quantisation"] + t["unevenness"],
                                   t["total"], rtol=0, atol=1e-6)
    assert rows[0]["clipping"] > 0 and rows[0]["quantisation"] > 0
    assert rows[0]["unevenness"] < 1e-6  # constant current in layer 1: no spike-order effect
    assert rows[0]["accumulated"] == pytest.approx(rows[0]["total"], abs=1e-6)
    assert rows[1]["accumulated"] > rows[1]["total"]  # errors propagate with depth


def test_half_threshold_initial_membrane_halves_quantisation_error():
    ann = _random_ann(2)
    x = torch.rand(200, 20)
    q = {v0: C.errors(ann, C.convert(ann, x, norm="max", v0=v0), x, T=8)[0]["quantisation"]
         for v0 in (0.0, 0.5)}
    assert q[0.5] < 0.6 * q[0.0]


def test_qcfs_at_T_equal_L_with_half_membrane_has_zero_quantisation_error():
    torch.manual_seed(3)
    twin = C.QCFSTwin(mlp(20, [32, 24], 5), levels=4, lam=1.5)
    x = torch.rand(100, 20)
    snn = C.convert(twin, x, v0=0.5)
    assert snn.conversion["scales"] == pytest.approx([1.5, 1.5])
    rows = C.errors(twin, snn, x, T=4, return_terms=True)
    for r in rows:
        assert r["clipping"] == 0.0
        assert r["quantisation"] == 0.0  # the SNN staircase is the QCFS activation at T = L
    assert rows[0]["total"] < 1e-6  # even input in layer 1: the SNN equals the QCFS ANN
    assert C.errors(twin, snn, x, T=8)[0]["quantisation"] > 0  # T != L: not zero


def test_qcfs_gradients_are_the_straight_through_ones():
    act = C.QCFS(levels=4, lam=2.0)
    z = torch.tensor([-0.5, 0.3, 1.1, 1.9, 2.5], requires_grad=True)
    h = act(z)
    torch.testing.assert_close(h.detach(), 2.0 * torch.clamp(torch.floor(z.detach() * 2 + 0.5)
                                                              / 4, 0, 1))
    gz, glam = torch.autograd.grad(h.sum(), (z, act.lam))
    torch.testing.assert_close(gz, torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))
    inside = (z > 0) & (z < 2.0)
    expected = ((h - z) / 2.0)[inside].sum() + (z >= 2.0).sum()
    torch.testing.assert_close(glam, expected.detach())


def test_conversion_accuracy_increases_with_T(relu_ann, digits):
    snn = C.convert(relu_ann, digits.train.tensors[0])
    acc = C.accuracy_vs_T(snn, digits.test, (2, 4, 16, 64))
    assert acc[2] < acc[4] < acc[64]
    assert acc[16] <= acc[64] + 0.01
    assert acc[64] >= relu_ann.test_acc - 0.01


def test_model_based_norm_never_clips(relu_ann, digits):
    x = digits.test.tensors[0][:200]
    snn = C.convert(relu_ann, digits.train.tensors[0], norm="model")
    assert all(r["clipping"] == 0.0 for r in C.errors(relu_ann, snn, x, T=16))
    perc = C.convert(relu_ann, digits.train.tensors[0], norm="percentile")
    assert snn.conversion["scales"][0] > perc.conversion["scales"][0]


def test_bn_folding_with_eps_is_exact():
    torch.manual_seed(4)
    for layer, bn, x in ((nn.Linear(6, 5), nn.BatchNorm1d(5, eps=0.1), torch.randn(8, 6)),
                         (nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3, eps=0.1),
                          torch.randn(4, 2, 5, 5))):
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.normal_()
        bn.bias.data.normal_()
        seq = nn.Sequential(layer, bn).eval()
        torch.testing.assert_close(C.fold_synapse(seq)(x), seq(x), rtol=1e-5, atol=1e-5)


def test_conv_net_converts_and_approaches_the_ann_at_long_T():
    torch.manual_seed(5)
    ann = convnet((1, 8, 8), [4], 3).ann_twin()
    x = torch.rand(16, 1, 8, 8)
    snn = C.convert(ann, x, norm="max", v0=0.5)
    with torch.no_grad():
        err = (snn(encode(x, 256)) - ann(x)).abs().max()
        assert float(err) < 0.05 * float(ann(x).abs().max())


def test_percentile_is_numpy_nearest():
    x = torch.randn(1001)
    for p in (0.0, 50.0, 99.0, 99.9, 100.0):
        assert float(C.percentile(x, p)) == pytest.approx(
            float(np.percentile(x.numpy(), p, method="nearest")))


def test_converted_config_round_trips():
    ann = train_teacher(snnlab.data.load("digits"), hidden=(16,), activation="relu", epochs=0)
    snn = C.convert(ann, torch.rand(10, 64), v0=0.5)
    net = from_config(snn.config)
    assert isinstance(net.layers[0].neuron, N.ConvertedIF)
    assert net.layers[0].neuron.v0 == 0.5 and net.readout.beta == 0.0


def test_bad_input():
    ann = _random_ann()
    x = torch.rand(4, 20)
    with pytest.raises(ValueError, match="norm"):
        C.convert(ann, x, norm="median")
    with pytest.raises(ValueError, match="v0"):
        C.convert(ann, x, v0=1.5)
    with pytest.raises(ValueError, match="threshold_scale"):
        C.convert(ann, x, threshold_scale=0.0)
    with pytest.raises(TypeError, match="ANNTwin"):
        C.convert(nn.Linear(20, 5), x)
    with pytest.raises(ValueError, match="QCFSTwin"):
        C.convert(ann, x, norm="qcfs")
    with pytest.raises(ValueError, match="convert"):
        C.errors(ann, mlp(20, [32, 24], 5), x, T=4)
    with pytest.raises(ValueError, match="p must be"):
        C.percentile(x, 101)
    with pytest.raises(ValueError, match="levels"):
        C.QCFS(levels=0)


def test_conversion_dashboard_pure_function_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    from snnlab import plot, widgets

    ann = _random_ann(6)
    x, y = torch.rand(30, 20), torch.randint(0, 5, (30,))
    r = widgets.simulate_conversion(ann, x, x, y, T=16, v0=0.5)
    assert 0.0 <= r["acc"] <= 1.0 and len(r["rows"]) == 2 and r["spikes"].shape == (16, 30, 32)
    plot.conversion_errors(r["rows"])
    plot.accuracy_vs_T({"conversion": {2: 0.5, 4: 0.8}}, reference={"ANN": 0.9})
    with pytest.raises(TypeError, match="rows"):
        plot.conversion_errors([])
    pytest.importorskip("ipywidgets")
    dash = widgets.conversion_dashboard(ann, x, x, y, T=4)
    dash.controls["T"].value = 32
    assert dash.result["spikes"].shape[0] == 32


def test_conversion_checkers_accept_solutions_and_reject_mistakes(capsys):
    from snnlab import exercises as E

    assert E.check_staircase(lambda z, lam, T, v0: lam / T * torch.clamp(
        torch.floor(T * z / lam + v0), 0, T))
    assert not E.check_staircase(lambda z, lam, T, v0: lam / T * torch.floor(T * z / lam))
    assert E.check_weight_normalisation(lambda W, b, lp, lam: (W * lp / lam, b / lam))
    assert not E.check_weight_normalisation(lambda W, b, lp, lam: (W / lam, b / lam))
    assert "lam_prev" in capsys.readouterr().out


def test_conv_net_with_batchnorm_converts_with_bn_folded():
    torch.manual_seed(8)
    net = convnet((1, 8, 8), [4], 3)
    conv, pool = net.layers[0].synapse
    bn = nn.BatchNorm2d(4, eps=0.01)
    bn.running_mean.uniform_(-0.2, 0.2)
    bn.running_var.uniform_(0.5, 1.5)
    net.layers[0].synapse = nn.Sequential(conv, bn, pool)
    ann = net.ann_twin().eval()
    x = torch.rand(16, 1, 8, 8)
    snn = C.convert(ann, x, norm="max", v0=0.5)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in snn.modules())
    with torch.no_grad():
        err = (snn(encode(x, 256)) - ann(x)).abs().max()
        assert float(err) < 0.05 * float(ann(x).abs().max())


def test_train_qcfs_learns_and_trains_lambda(digits):
    q = C.train_qcfs(digits, hidden=(32,), levels=4, lam=2.0, epochs=3, lr=3e-3)
    assert q.test_acc > 0.8
    assert float(q.acts[0].lam.detach()) != 2.0
    snn = C.convert(q, digits.train.tensors[0], v0=0.5)
    assert snn.conversion["scales"][0] == pytest.approx(float(q.acts[0].lam.detach()))


def test_poisson_input_makes_layer1_uneven_and_the_sum_stays_exact():
    ann = _random_ann(9)
    x = torch.rand(40, 20)
    snn = C.convert(ann, x, norm="max", v0=0.5)
    rows = C.errors(ann, snn, x, T=16, encoding="rate", seed=1, return_terms=True)
    assert rows[0]["unevenness"] > 1e-3
    for r in rows:
        t = r["terms"]
        torch.testing.assert_close(t["clipping"] + t["quantisation"] + t["unevenness"],
                                   t["total"], rtol=0, atol=1e-6)

"""Tandem learning: the count identity, straight-through gradients, and that it matches the ANN."""

import pytest
import torch
import torch.nn.functional as TF

import snnlab
from snnlab.encoding import encode
from snnlab.models import mlp
from snnlab.rules.tandem import tandem_forward
from snnlab.teacher import train_teacher


def test_layer1_counts_are_clipped_floor_of_the_charge():
    torch.manual_seed(0)
    net = mlp(10, [40], 3, neuron="if")
    x = torch.rand(64, 10)
    for T in (1, 3, 8):
        _, counts, _ = tandem_forward(net, encode(x, T))
        W, b = net.layers[0].synapse.weight, net.layers[0].synapse.bias
        charge = (T * x @ W.T + T * b).detach()  # W·T·x + b_paper, with b_paper = T·b
        expected = charge.floor().clamp(0, T)
        # snnlab fires on v > threshold: at an exact integer charge it fires one spike less
        boundary = (charge - charge.round()).abs() < 1e-4
        assert torch.equal(counts[0][~boundary], expected[~boundary])
        assert float(boundary.float().mean()) < 0.01


def test_gradients_equal_backprop_through_the_ann_at_the_recorded_counts():
    torch.manual_seed(1)
    net = mlp(12, [20, 16], 4, neuron="if")
    T = 5
    x = torch.rand(8, 12) * 1.5
    y = torch.randint(0, 4, (8,))
    grads = snnlab.rules.get("tandem").gradients(net, encode(x, T), y)
    _, counts, _ = tandem_forward(net, encode(x, T))
    # independent reference: explicit matrices, counts as constants, chain rule by hand
    Ws = [layer.synapse.weight.detach() for layer in net.layers] + [net.readout.synapse.weight]
    bs = [layer.synapse.bias.detach() for layer in net.layers] + [net.readout.synapse.bias]
    inputs = [T * x] + counts
    logits = (inputs[-1] @ Ws[-1].detach().T + T * bs[-1].detach()) / T
    delta = torch.autograd.grad(TF.cross_entropy(logits.requires_grad_(), y), logits)[0] / T
    ref = {"readout.synapse.weight": delta.T @ inputs[-1], "readout.synapse.bias": T * delta.sum(0)}
    delta = delta @ Ws[-1].detach()
    for i in reversed(range(len(net.layers))):
        pre = inputs[i] @ Ws[i].T + T * bs[i]
        g = delta * (pre > 0)
        ref[f"layers.{i}.synapse.weight"] = g.T @ inputs[i]
        ref[f"layers.{i}.synapse.bias"] = T * g.sum(0)
        delta = g @ Ws[i]
    assert set(ref) == set(grads)
    for k in ref:
        torch.testing.assert_close(grads[k], ref[k], rtol=1e-5, atol=1e-6)


def test_built_model_makes_evaluate_report_the_tandem_logits():
    torch.manual_seed(2)
    rule = snnlab.rules.get("tandem")
    net = rule.build_model(12, [20], 4, neuron="if")
    rule.check_model(net)
    x_seq = encode(torch.rand(6, 12), 4)
    with torch.no_grad():
        torch.testing.assert_close(net(x_seq), tandem_forward(net, x_seq)[0])


def test_tandem_at_T4_matches_the_relu_ann_on_digits():
    data = snnlab.data.load("digits")
    ann = train_teacher(data, hidden=(128,), activation="relu", epochs=20, lr=3e-3, seed=0)
    torch.manual_seed(0)
    net = snnlab.rules.get("tandem").build_model(64, [128], 10, neuron="if")
    hist = snnlab.train(net, data, "tandem", T=4, epochs=20, lr=3e-3, seed=0, progress=False)
    # calibrated: ANN 0.972, tandem 0.975 (seed 0)
    assert hist.test_acc >= ann.test_acc - 0.01


def test_tandem_bad_input():
    with pytest.raises(ValueError, match="activation"):
        snnlab.rules.get("tandem", activation="sigmoid")
    net = mlp(4, [3], 2, readout="count")
    with pytest.raises(ValueError, match="readout"):
        snnlab.rules.get("tandem").check_model(net)
    leaky = mlp(4, [3], 2)  # a membrane readout that leaks: refused, not changed
    with pytest.raises(ValueError, match="build_model"):
        snnlab.rules.get("tandem").check_model(leaky)
    assert leaky.readout.beta == 0.9


def test_tandem_checkers_accept_solutions_and_reject_mistakes(capsys):
    from snnlab import exercises as E

    assert E.check_tandem_count(lambda W, b, x, T: torch.clamp(torch.floor(T * x @ W.T + b),
                                                               0, T))
    assert not E.check_tandem_count(lambda W, b, x, T: torch.floor(T * x @ W.T + b))
    assert E.check_straight_through(lambda c, a: a + (c - a).detach())
    assert not E.check_straight_through(lambda c, a: c)
    assert "gradient" in capsys.readouterr().out


def test_tandem_on_a_conv_net():
    from snnlab.models import convnet

    torch.manual_seed(7)
    net = convnet((1, 8, 8), [4], 3, neuron="if")
    x, y = torch.rand(5, 1, 8, 8), torch.randint(0, 3, (5,))
    grads = snnlab.rules.get("tandem").gradients(net, encode(x, 4), y)
    assert all(float(g.abs().sum()) > 0 for g in grads.values())

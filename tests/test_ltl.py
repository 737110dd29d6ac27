"""Local tandem learning: targets, gradients against independent references, learning, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.nn.utils import parametrize

import snnlab
from snnlab import functional as F
from snnlab.encoding import encode
from snnlab.models import mlp
from snnlab.rules.ltl import layer_targets
from snnlab.teacher import train_teacher


def _toy(seed=0, hidden=(12, 10)):
    torch.manual_seed(seed)
    student = mlp(8, list(hidden), 3, beta=0.8, surrogate="atan")
    teacher = mlp(8, list(hidden), 3).ann_twin(torch.nn.Hardtanh(0.0, 2.0))
    x = torch.rand(6, 8) * 2
    y = torch.randint(0, 3, (6,))
    return student, teacher, x, y


def test_targets_are_teacher_activations_over_their_nearest_rank_percentile():
    _, teacher, x, _ = _toy()
    for p in (99.9, 99.0, 50.0):
        for a, t in zip(teacher.activations(x)[:-1], layer_targets(teacher, x, p)):
            scale = np.percentile(a.detach().numpy(), p, method="nearest")
            expected = np.clip(a.detach().numpy() / scale, 0.0, 1.0)
            np.testing.assert_allclose(t.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_offline_gradients_are_per_layer_bptt_on_detached_inputs():
    student, teacher, x, y = _toy(1)
    T = 4
    x_seq = encode(x, T)
    grads = snnlab.rules.get("ltl", teacher=teacher, mode="offline").gradients(student, x_seq, y)
    targets = layer_targets(teacher, x, 99.9)
    h = x_seq
    for i, layer in enumerate(student.layers):  # unrolled autograd, one layer at a time
        W, b = layer.synapse.weight, layer.synapse.bias
        s, _ = F.lif_sequence_reference(h @ W.T + b, beta=0.8, surrogate=layer.neuron.surrogate)
        gW, gb = torch.autograd.grad(TF.mse_loss(s.mean(0), targets[i]), (W, b))
        torch.testing.assert_close(grads[f"layers.{i}.synapse.weight"], gW)
        torch.testing.assert_close(grads[f"layers.{i}.synapse.bias"], gb)
        h = s.detach()
    Wo, bo = student.readout.synapse.weight, student.readout.synapse.bias
    logits = F.leaky_integrate_reference(h @ Wo.T + bo, 0.8).mean(0)
    gW, gb = torch.autograd.grad(TF.cross_entropy(logits, y), (Wo, bo))
    torch.testing.assert_close(grads["readout.synapse.weight"], gW)
    torch.testing.assert_close(grads["readout.synapse.bias"], gb)


def _online_reference(student, targets, x_seq, y, warm):
    """Eq. (3) from scratch: explicit matrices, one single-step graph per step, state detached."""
    Ws = [(layer.synapse.weight, layer.synapse.bias) for layer in student.layers]
    Wo, bo = student.readout.synapse.weight, student.readout.synapse.bias
    params = [p for wb in Ws for p in wb] + [Wo, bo]
    acc = [torch.zeros_like(p) for p in params]
    v = [None] * len(Ws)
    n = [0.0] * len(Ws)
    u = ysum = 0.0
    for t in range(x_seq.shape[0]):
        h, loss = x_seq[t], 0.0
        for i, (W, b) in enumerate(Ws):
            cur = h.detach() @ W.T + b
            vi = torch.zeros_like(cur) if v[i] is None else v[i].detach()
            s, v[i] = F.lif_step(cur, vi, beta=0.8, surrogate=student.layers[i].neuron.surrogate)
            n[i] = (n[i].detach() if torch.is_tensor(n[i]) else n[i]) + s
            loss = loss + TF.mse_loss(n[i] / (t + 1), targets[i])
            h = s
        u = (u.detach() * 0.8 if torch.is_tensor(u) else 0.0) + h.detach() @ Wo.T + bo
        ysum = (ysum.detach() if torch.is_tensor(ysum) else 0.0) + u
        loss = loss + TF.cross_entropy(ysum / (t + 1), y)
        if t >= warm:
            for a, g in zip(acc, torch.autograd.grad(loss, params)):
                a += g
    return acc


def test_online_step_gradient_is_the_sum_of_single_step_graphs():
    student, teacher, x, y = _toy(2)
    T, warm = 6, 2
    x_seq = encode(x, T)
    rule = snnlab.rules.get("ltl", teacher=teacher, mode="online", warmup=warm)
    ref = _online_reference(student, layer_targets(teacher, x, 99.0), x_seq, y, warm)
    via_loss = rule.gradients(student, x_seq, y)  # one graph over all steps
    opt = torch.optim.SGD(student.parameters(), lr=0.0)
    rule.step(student, x_seq, y, opt)  # per-step backward, memory flat in T
    names = [n for n, _ in student.named_parameters()]
    for name, p, r in zip(names, student.parameters(), ref):
        torch.testing.assert_close(via_loss[name], r, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(p.grad, r, rtol=1e-5, atol=1e-7)


def test_online_and_offline_agree_for_a_single_step():
    student, teacher, x, y = _toy(3)
    x_seq = encode(x, 1)
    off = snnlab.rules.get("ltl", teacher=teacher, p=99.0).gradients(student, x_seq, y)
    on = snnlab.rules.get("ltl", teacher=teacher, mode="online", warmup=0).gradients(
        student, x_seq, y)
    for k in off:
        torch.testing.assert_close(off[k], on[k])


def test_ltl_trains_through_a_perturbed_chip():
    student, teacher, x, y = _toy(4)

    class Gain(torch.nn.Module):  # a frozen device mismatch on every weight
        def __init__(self, shape):
            super().__init__()
            self.register_buffer("g", torch.exp(0.3 * torch.randn(shape)))

        def forward(self, w):
            return w * self.g

    for layer in student.layers:
        parametrize.register_parametrization(layer.synapse, "weight",
                                             Gain(layer.synapse.weight.shape))
    grads = snnlab.rules.get("ltl", teacher=teacher, mode="online", warmup=0).gradients(
        student, encode(x, 4), y)
    g = grads["layers.0.synapse.parametrizations.weight.original"]
    assert float(g.abs().sum()) > 0


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_ltl_student_gets_within_3_points_of_its_teacher_in_10_epochs(mode):
    data = snnlab.data.load("digits")
    teacher = train_teacher(data, hidden=(128,), epochs=20, lr=3e-3, seed=0)
    torch.manual_seed(0)
    net = mlp(64, [128], 10)
    hist = snnlab.train(net, data, "ltl", teacher=teacher, mode=mode, T=8, epochs=10, lr=1e-2,
                        seed=0, progress=False)
    assert hist.test_acc >= teacher.test_acc - 0.03
    assert {"mse_1", "ce"} <= set(hist.final)


def test_setup_trains_a_teacher_when_none_is_given():
    data = snnlab.data.load("digits")
    net = mlp(64, [32], 10)
    rule = snnlab.rules.get("ltl", teacher_epochs=3)
    hist = snnlab.train(net, data, rule, T=4, epochs=2, seed=0, progress=False)
    assert rule.teacher.test_acc > 0.8
    assert [s.out_features for s in rule.teacher.synapses] == [32]
    assert hist.test_acc > 0.5


def test_ltl_bad_input():
    student, teacher, x, y = _toy()
    with pytest.raises(ValueError, match="mode"):
        snnlab.rules.get("ltl", mode="sometimes")
    with pytest.raises(TypeError, match="teacher"):
        snnlab.rules.get("ltl", teacher="resnet")
    with pytest.raises(ValueError, match="p must be"):
        snnlab.rules.get("ltl", p=0.0)
    with pytest.raises(ValueError, match="needs a teacher"):
        snnlab.rules.get("ltl").loss(student, encode(x, 2), y)
    deeper = mlp(8, [12, 10, 6], 3)
    with pytest.raises(ValueError, match="hidden layers"):
        snnlab.rules.get("ltl", teacher=teacher).loss(deeper, encode(x, 2), y)
    with pytest.raises(ValueError, match="warmup"):
        snnlab.rules.get("ltl", teacher=teacher, mode="online", warmup=4).loss(
            student, encode(x, 4), y)
    with pytest.raises(ValueError, match="readout"):
        snnlab.rules.get("ltl", teacher=teacher).loss(mlp(8, [12, 10], 3, readout="count"),
                                                      encode(x, 2), y)


def test_online_memory_is_flat_in_T_and_offline_grows():
    from snnlab.rules.ltl import memory_vs_T

    student, teacher, x, y = _toy(5)
    mem = memory_vs_T(student, teacher, x, y, Ts=(8, 64))
    assert mem["online"][64] <= 1.15 * mem["online"][8]
    assert mem["offline"][64] > 4 * mem["offline"][8]


def test_saved_bytes_meter_counts_a_known_graph():
    from snnlab.metrics import peak_saved_bytes

    w = torch.randn(100, requires_grad=True)
    v = torch.randn(100, requires_grad=True)
    peak, out = peak_saved_bytes(lambda: (w * v).sum())
    assert peak == 2 * 100 * 4  # mul saves both operands
    out.backward()


def test_ltl_checkers_and_plots(capsys):
    import matplotlib

    matplotlib.use("Agg")
    from snnlab import exercises as E
    from snnlab import plot
    from snnlab.conversion import percentile

    assert E.check_ltl_target(lambda a, p: (a / percentile(a, p)).clamp(0, 1))
    assert not E.check_ltl_target(lambda a, p: a / a.max())
    assert E.check_rate_mse(lambda s, t: TF.mse_loss(s.mean(0), t))
    assert not E.check_rate_mse(lambda s, t: TF.mse_loss(s.sum(0), t))
    assert "rate" in capsys.readouterr().out
    plot.memory_vs_T({"online": {8: 1000, 64: 1000}, "offline": {8: 1000, 64: 8000}})
    plot.compare_scatter(torch.rand(50), torch.rand(50), xlabel="target", ylabel="rate")
    with pytest.raises(ValueError, match="same number"):
        plot.compare_scatter(torch.rand(5), torch.rand(6))


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_ltl_on_a_conv_net(mode):
    from snnlab.models import convnet

    torch.manual_seed(6)
    student = convnet((1, 8, 8), [4, 6], 3)
    teacher = convnet((1, 8, 8), [4, 6], 3).ann_twin(torch.nn.Hardtanh(0.0, 2.0))
    x, y = torch.rand(5, 1, 8, 8) * 3, torch.randint(0, 3, (5,))
    grads = snnlab.rules.get("ltl", teacher=teacher, mode=mode, warmup=0).gradients(
        student, encode(x, 4), y)
    assert all(float(g.abs().sum()) > 0 for k, g in grads.items() if "weight" in k)

"""OTTT: gradient against an independent per-step autograd reference, memory flat in T, learning."""

import pytest
import torch
import torch.nn.functional as TF

import snnlab
from snnlab.metrics import SavedTensorMeter
from snnlab.models import convnet, mlp
from snnlab.rules.ottt import scaled_weight_standardization


def _reference_ottt(net, x_seq, y):
    """Independent computation: per step, autograd of L[t] with every state detached gives the
    error at each layer's current, delta[t] = dL[t]/dI[t]; the OTTT weight gradient is then
    sum_t delta[t] trace[t]^T, written out with explicit matrices (no model modules)."""
    (W1, b1), (W2, b2) = ((net.layers[0].synapse.weight, net.layers[0].synapse.bias),
                          (net.readout.synapse.weight, net.readout.synapse.bias))
    W1, b1, W2, b2 = (p.detach() for p in (W1, b1, W2, b2))
    neuron = net.layers[0].neuron
    beta, beta_r, thr = neuron.beta, net.readout.beta, neuron.threshold
    T = x_seq.shape[0]
    gW1, gb1, gW2, gb2 = (torch.zeros_like(p) for p in (W1, b1, W2, b2))
    v = torch.zeros(x_seq.shape[1], W1.shape[0], dtype=x_seq.dtype)
    out = torch.zeros(x_seq.shape[1], W2.shape[0], dtype=x_seq.dtype)
    tr_in = torch.zeros_like(x_seq[0])
    tr_h = torch.zeros_like(v)
    for t in range(T):
        x = x_seq[t]
        tr_in = beta * tr_in + x
        i1 = (x @ W1.T + b1).requires_grad_()
        u = beta * v + i1
        s = neuron.surrogate(u - thr)
        v = (u - thr * s).detach()
        tr_h = beta_r * tr_h + s.detach()
        i2 = s @ W2.T + b2
        i2.retain_grad()
        o = beta_r * out + i2
        out = o.detach()
        loss = TF.cross_entropy(o, y) / T
        d1, d2 = torch.autograd.grad(loss, (i1, i2))
        gW1 += d1.T @ tr_in
        gb1 += d1.sum(0)
        gW2 += d2.T @ tr_h
        gb2 += d2.sum(0)
    return {"layers.0.synapse.weight": gW1, "layers.0.synapse.bias": gb1,
            "readout.synapse.weight": gW2, "readout.synapse.bias": gb2}


def _toy(T=9, seed=0):
    torch.manual_seed(seed)
    net = mlp(6, [7], 3, beta=0.8).double()
    x = torch.rand(T, 5, 6, dtype=torch.double) * 1.5
    y = torch.randint(0, 3, (5,))
    return net, x, y


def test_ottt_gradient_equals_detached_state_trace_input_reference():
    net, x, y = _toy()
    g = snnlab.rules.get("ottt").gradients(net, x, y)
    ref = _reference_ottt(net, x, y)
    assert float(ref["layers.0.synapse.weight"].abs().sum()) > 0  # the toy has spikes
    for k, r in ref.items():
        torch.testing.assert_close(g[k], r, rtol=1e-10, atol=1e-12)


def test_loss_graph_and_online_pass_agree():
    net, x, y = _toy(seed=3)
    rule = snnlab.rules.get("ottt")
    online = rule.gradients(net, x, y)
    net.zero_grad()
    rule.loss(net, x, y).backward()
    for n, p in net.named_parameters():
        torch.testing.assert_close(p.grad, online[n], rtol=1e-10, atol=1e-12)


def test_single_step_equals_bptt():
    net, x, y = _toy(T=1, seed=2)
    a = snnlab.rules.get("ottt").gradients(net, x, y)
    b = snnlab.rules.get("bptt").gradients(net, x, y)
    for k in b:
        torch.testing.assert_close(a[k], b[k], rtol=1e-9, atol=1e-12)


def test_variant_o_updates_every_step_and_a_once():
    net, x, y = _toy(T=5)

    class Counting(torch.optim.SGD):
        calls = 0

        def step(self, closure=None):
            Counting.calls += 1
            return super().step(closure)

    for variant, expected in (("A", 1), ("O", 5)):
        Counting.calls = 0
        opt = Counting(net.parameters(), lr=1e-3)
        out = snnlab.rules.get("ottt", variant=variant).step(net, x, y, opt)
        assert Counting.calls == expected and out["loss"] > 0
    assert snnlab.rules.get("ottt_o").variant == "O"
    assert snnlab.rules.get("ottt", variant="O").default_lr == snnlab.rules.get("ottt_o").default_lr
    assert snnlab.rules.get("ottt").default_lr > snnlab.rules.get("ottt_o").default_lr


def test_saved_memory_flat_in_T_while_bptt_grows():
    torch.manual_seed(0)
    net = mlp(16, [64], 4)
    y = torch.randint(0, 4, (8,))
    peaks = {}
    for rule in ("ottt", "bptt"):
        r = snnlab.rules.get(rule)
        for T in (4, 32):
            x = torch.rand(T, 8, 16)
            with SavedTensorMeter() as m:
                r.gradients(net, x, y)
            peaks[rule, T] = m.peak_bytes
    assert peaks["ottt", 32] <= 1.05 * peaks["ottt", 4]
    assert peaks["bptt", 32] >= 4 * peaks["bptt", 4]


def test_scaled_weight_standardization_on_convnet():
    torch.manual_seed(0)
    net = convnet((1, 8, 8), channels=(4, 6), n_out=3)
    assert scaled_weight_standardization(net) == 2
    assert scaled_weight_standardization(net) == 0  # idempotent
    w = net.layers[1].synapse[0].weight
    fan_in = w[0].numel()
    per_out = w.reshape(w.shape[0], -1)
    torch.testing.assert_close(per_out.mean(1), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(per_out.var(1, unbiased=False) * fan_in,
                               torch.full((6,), 2.74 ** 2), rtol=1e-3, atol=0)
    x = torch.rand(3, 2, 1, 8, 8)
    g = snnlab.rules.get("ottt").gradients(net, x, torch.tensor([0, 2]))
    assert all(torch.isfinite(v).all() for v in g.values())


def test_bad_input_errors():
    with pytest.raises(ValueError, match="variant"):
        snnlab.rules.get("ottt", variant="B")
    with pytest.raises(ValueError, match="mse_weight"):
        snnlab.rules.get("ottt", mse_weight=2.0)
    with pytest.raises(ValueError, match="ottt_o"):
        snnlab.rules.get("ottt_o", variant="A")
    net = mlp(4, [5], 2, readout="count")
    with pytest.raises(ValueError, match="readout='membrane'"):
        snnlab.rules.get("ottt").loss(net, torch.rand(3, 2, 4), torch.tensor([0, 1]))


@pytest.mark.slow
@pytest.mark.parametrize("rule,threshold", [("ottt", 0.93), ("ottt_o", 0.93)])
def test_ottt_learns_digits(rule, threshold):
    torch.set_num_threads(1)
    net = mlp(64, [128], 10)
    h = snnlab.train(net, "digits", rule, T=8, epochs=10, seed=0, progress=False)
    assert h.test_acc >= threshold


# --------------------------------------------------------------------------- notebook 10 helpers
def test_trace_widget_and_dashboard():
    from snnlab import widgets

    r = widgets.simulate_ottt_trace(rate=0.4, beta=0.8, trace_decay=0.8, T=30)
    assert r["rel_error"] == 0.0 and r["spikes"].sum() > 0
    assert widgets.simulate_ottt_trace(beta=0.8, trace_decay=0.3)["rel_error"] > 0.3
    with pytest.raises(ValueError, match="trace_decay"):
        widgets.simulate_ottt_trace(trace_decay=1.5)
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    dash = widgets.ottt_trace_dashboard(beta=0.9, trace_decay=0.9)
    assert dash.result["rel_error"] == 0.0
    dash.controls["trace_decay"].value = 0.5
    assert dash.result["rel_error"] > 0.3


def test_exercise_checkers(capsys):
    from snnlab import exercises

    assert exercises.check_ottt_trace(lambda tr, s, lam: lam * tr + s)
    assert not exercises.check_ottt_trace(lambda tr, s, lam: tr + s)
    assert exercises.check_three_factor(
        lambda e, sg, tr: torch.einsum("tbo,tbi->oi", e * sg, tr))
    assert not exercises.check_three_factor(lambda e, sg, tr: torch.einsum("tbo,tbi->oi", e, tr))

    def stub(*args):
        raise NotImplementedError

    assert not exercises.check_three_factor(stub)
    out = capsys.readouterr().out
    assert "surrogate factor is missing" in out and "NotImplementedError" in out


@pytest.mark.parametrize("rule", ["ottt", "ottt_o"])
def test_ottt_runs_with_per_neuron_decays(rule):
    """Leak mismatch on a chip gives every neuron its own decay; the trace then uses the layer's
    mean decay (documented in ``_decay``) instead of failing on the shape."""
    import warnings

    from snnlab import hardware

    data = snnlab.load("digits")
    torch.manual_seed(0)
    chip = hardware.NoiseModel(leak_mismatch=0.2).program(snnlab.models.mlp(64, [32], 10), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hist = snnlab.train(chip, data, rule, epochs=1, progress=False)
    assert hist.test_acc > 0.5


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("rule", ["ottt", "ottt_o"])
@pytest.mark.parametrize("neuron", ["lif_syn", "antlr_lif", "psp_lif"])
def test_ottt_refuses_neurons_with_a_synaptic_filter(rule, neuron):
    net = snnlab.models.mlp(6, [8], 3, neuron=neuron)
    with pytest.raises(ValueError, match=f"{neuron}.*Supported neurons: lif, if, if_conv, dalif"):
        snnlab.rules.get(rule).check_model(net)


def test_ottt_refuses_a_user_neuron_with_its_own_step():
    from snnlab.neurons import LIF

    class Odd(LIF):
        kind = "odd"

        def advance(self, current, state):
            return super().advance(2 * current, state)

    net = snnlab.models.mlp(6, [8], 3)
    net.layers[0].neuron = Odd()
    with pytest.raises(ValueError, match="layer 0 uses 'odd'"):
        snnlab.rules.get("ottt").check_model(net)


@pytest.mark.parametrize("neuron", ["lif", "if", "dalif", "if_conv"])
def test_ottt_accepts_lif_type_neurons(neuron):
    snnlab.rules.get("ottt").check_model(snnlab.models.mlp(6, [8], 3, neuron=neuron))

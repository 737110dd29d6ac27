"""Neurons, encoders, models and their input checks."""

import pytest
import torch

import snnlab
from snnlab import encoding, functional, models, neurons
from snnlab import surrogate as S


def test_lif_golden_trajectory():
    """Hand-computed: constant input 0.4, beta 0.5, threshold 1, reset by subtraction."""
    cur = torch.full((6, 1), 0.4)
    s, u = functional.lif_sequence(cur, beta=0.5, threshold=1.0, surrogate=S.FastSigmoid())
    # u: 0.4, 0.6, 0.7, 0.75, 0.775, 0.7875 -> never fires
    torch.testing.assert_close(u[:, 0], torch.tensor([0.4, 0.6, 0.7, 0.75, 0.775, 0.7875]))
    assert s.sum() == 0
    s, u = functional.lif_sequence(torch.full((4, 1), 0.6), beta=1.0, surrogate=S.FastSigmoid())
    # IF: 0.6, 1.2 (spike, v=0.2), 0.8, 1.4 (spike)
    torch.testing.assert_close(s[:, 0], torch.tensor([0.0, 1.0, 0.0, 1.0]))
    torch.testing.assert_close(u[:, 0], torch.tensor([0.6, 1.2, 0.8, 1.4]))


def test_step_api_matches_sequence():
    torch.manual_seed(0)
    for name in ("lif", "if", "lif_syn"):
        n = neurons.make(name)
        cur = torch.randn(9, 3, 5)
        s_seq = n(cur)
        state = n.init_state(cur[0])
        steps = []
        for c in cur:
            s, state = n.advance(c, state)
            steps.append(s)
        torch.testing.assert_close(torch.stack(steps), s_seq)


@pytest.mark.parametrize("name", S.available())
def test_surrogates_are_heaviside_forward(name):
    sg = S.get(name)
    x = torch.linspace(-1, 1, 11, requires_grad=True)
    y = sg(x)
    torch.testing.assert_close(y, (x > 0).float())
    y.sum().backward()
    torch.testing.assert_close(x.grad, sg.derivative(x.detach()))
    # a smoothed delta: area 1, except SuperSpike's fast sigmoid whose area is 2/scale
    grid = torch.linspace(-50, 50, 400001)
    area = 2 / sg.scale if name == "fast_sigmoid" else 1.0
    assert abs(float(torch.trapezoid(sg.derivative(grid), grid)) - area) < 0.02


def test_encoders_shapes_and_semantics():
    x = torch.tensor([[0.0, 0.5, 1.0]])
    assert encoding.encode(x, 4).shape == (4, 1, 3)
    lat = encoding.encode(x, 5, "latency")
    assert lat[:, 0, 0].sum() == 0 and lat[4, 0, 1] == 0 and lat[0, 0, 2] == 1 and lat[2, 0, 1] == 1
    g = torch.Generator().manual_seed(0)
    rate = encoding.encode(torch.full((200, 10), 0.3), 50, "rate", generator=g)
    assert abs(float(rate.mean()) - 0.3) < 0.01
    d = encoding.encode(x, 3, "delta", threshold=0.2)
    assert d[0].tolist() == [[0.0, 1.0, 1.0]] and d[1:].abs().sum() == 0


@pytest.mark.parametrize("bad,exc", [
    (dict(T=0), ValueError), (dict(T=2.5), TypeError), (dict(method="morse"), ValueError),
    (dict(x=torch.tensor([[float("nan")]])), ValueError),
    (dict(x=torch.ones(2, 2, dtype=torch.long)), TypeError),
])
def test_encode_rejects_bad_input(bad, exc):
    kw = dict(x=torch.rand(2, 3), T=4, method="rate") | bad
    with pytest.raises(exc) as e:
        encoding.encode(kw.pop("x"), kw.pop("T"), kw.pop("method"))
    assert any(p in str(e.value) for p in ("T", "method", "x"))


def test_mlp_forward_record_and_twin():
    torch.manual_seed(0)
    net = models.mlp(8, [16, 12], 3)
    x = torch.rand(5, 4, 8)
    logits = net(x)
    assert logits.shape == (4, 3)
    rec = net.run(x)
    torch.testing.assert_close(rec.logits, logits)
    assert [s.shape for s in rec.spikes] == [(5, 4, 16), (5, 4, 12)]
    assert rec.readout_membrane.shape == (5, 4, 3)
    twin = net.ann_twin()
    assert twin(torch.rand(4, 8)).shape == (4, 3)
    assert twin.synapses[0].weight is net.layers[0].synapse.weight  # shared, not copied


@pytest.mark.parametrize("readout", models.READOUTS)
def test_readouts_train_and_backprop(readout):
    torch.manual_seed(0)
    kw = {"neuron": "psp_lif"} if readout == "psp" else {}  # a PSP readout needs PSP neurons
    net = models.mlp(8, [16], 3, readout=readout, **kw)
    x = torch.rand(6, 4, 8) * 2
    out = net(x)
    out.sum().backward()
    assert out.shape == (4, 3)
    assert net.layers[0].synapse.weight.grad is not None


def test_convnet_shapes():
    net = models.convnet((1, 8, 8), (4, 8), 10)
    assert net(torch.rand(3, 2, 1, 8, 8)).shape == (2, 10)
    net2 = models.from_config(net.config)
    assert sum(p.numel() for p in net2.parameters()) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("fn,exc,word", [
    (lambda: models.mlp(0, [4], 2), ValueError, "n_in"),
    (lambda: models.mlp(4, [4, -1], 2), ValueError, "hidden[1]"),
    (lambda: models.mlp(4, "wide", 2), TypeError, "hidden"),
    (lambda: models.mlp(4, [4], 2, neuron="hodgkin"), ValueError, "neuron"),
    (lambda: models.mlp(4, [4], 2, beta=1.5), ValueError, "beta"),
    (lambda: models.mlp(4, [4], 2, threshold=0), ValueError, "threshold"),
    (lambda: models.mlp(4, [4], 2, reset="sometimes"), ValueError, "reset"),
    (lambda: models.mlp(4, [4], 2, readout="vote"), ValueError, "readout"),
    (lambda: models.mlp(4, [4], 2, surrogate="magic"), ValueError, "surrogate"),
    (lambda: models.convnet((8, 8), (4,), 2), ValueError, "input_shape"),
])
def test_builders_reject_bad_input(fn, exc, word):
    with pytest.raises(exc, match=word.replace("[", r"\[").replace("]", r"\]")):
        fn()


@pytest.mark.parametrize("x,exc", [
    (torch.rand(4, 8), ValueError),                      # not time-major
    (torch.rand(3, 4, 9), ValueError),                   # wrong features
    (torch.ones(3, 4, 8, dtype=torch.long), TypeError),  # integer input
    (torch.full((3, 4, 8), float("nan")), ValueError),   # NaN
    (torch.rand(0, 4, 8), ValueError),                   # T = 0
    ([[1.0]], TypeError),
])
def test_network_rejects_bad_input(x, exc):
    net = models.mlp(8, [4], 2)
    with pytest.raises(exc, match="x_seq"):
        net(x)


def test_rules_registry():
    assert "bptt" in snnlab.rules.available()
    with pytest.raises(ValueError, match="available"):
        snnlab.rules.get("nonsense")
    with pytest.raises(TypeError, match="bptt"):
        snnlab.rules.get("bptt", learning_speed=3)
    with pytest.raises(ValueError, match="spike_reg"):
        snnlab.rules.get("bptt", spike_reg=-1)


def test_metrics_activity_counts_synops():
    net = models.mlp(4, [3], 2)
    with torch.no_grad():
        net.layers[0].synapse.weight.fill_(1.5)
        net.layers[0].synapse.bias.zero_()
    x = torch.zeros(2, 1, 4)
    x[0, 0, 0] = 1.0  # one input spike at t=0 -> 1 spike in, fan-out 3
    stats = snnlab.metrics.activity(net, x)
    assert stats.spikes_per_sample == 3  # the three hidden neurons fire once
    assert stats.synops_per_sample == 1 * 3 + 3 * 2
    assert stats.macs_per_sample == 0
    assert stats.energy_nj_per_sample == pytest.approx(9 * 0.9e-3)


def test_no_registered_rule_overrides_the_step_template():
    from snnlab import rules as R
    from snnlab.rules.base import Rule, registry

    names = R.available()
    assert names and all(registry[n].step is Rule.step for n in names), \
        [n for n in names if registry[n].step is not Rule.step]


def test_every_neuron_in_the_table_builds_under_its_kind():
    for name in neurons.available():
        n = neurons.make(name)
        assert n.kind == name and callable(n.advance) and callable(n.simulate)


def test_readouts_read_and_forward_agree():
    from snnlab.readouts import ReadoutResult

    torch.manual_seed(0)
    x = torch.rand(6, 4, 8) * 2
    for readout in models.READOUTS:
        kw = {"neuron": "psp_lif"} if readout == "psp" else {}
        net = models.mlp(8, [16], 3, readout=readout, **kw)
        assert net.readout.mode == readout
        h = net.layers[0](x)
        res = net.readout.read(h)
        assert isinstance(res, ReadoutResult)
        torch.testing.assert_close(net.readout(h), res.logits, atol=1e-5, rtol=1e-5)
        assert (res.spikes is None) == (readout == "membrane")
        rebuilt = models.from_config(net.config)
        assert type(rebuilt.readout) is type(net.readout)

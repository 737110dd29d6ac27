"""ANTLR / timing rules: reference checks (bptt equality, finite differences of spike times),
learning on latency-coded Yin-Yang, and bad-input errors."""

from __future__ import annotations

import functools
import math

import pytest
import torch

import snnlab
from snnlab import rules as R
from snnlab.encoding import encode
from snnlab.neurons import AntlrLIF, psp_kernel
from snnlab.rules import antlr as A


@functools.lru_cache(maxsize=1)
def _yinyang():
    return A.latency_dataset("yinyang")


def _batch(n=32, T=30, hidden=(12,), readout="first_spike", seed=0):
    data = _yinyang()
    x, y = data.train.tensors
    net = A.make_model(5, hidden, 3, readout=readout, seed=seed, weight_mean=0.5)
    return net, encode(x[:n], T, "latency"), y[:n]


# --------------------------------------------------------------------------- the neuron
def test_neuron_registered_and_builds_with_mlp():
    assert "antlr_lif" in snnlab.neurons.available()
    net = snnlab.models.mlp(5, [7], 3, neuron="antlr_lif", readout="count", alpha=0.8, beta=0.9)
    assert isinstance(net.layers[0].neuron, AntlrLIF)
    assert isinstance(net.readout.neuron, AntlrLIF)
    out = net(torch.rand(10, 4, 5))
    assert out.shape == (4, 3)


def test_psp_peaks_at_one_with_auto_scale():
    n = AntlrLIF(alpha=0.9, beta=0.8, threshold=10.0)
    c = torch.zeros(60, 1, 1)
    c[0] = 1.0
    _, v = n.simulate(c)
    assert abs(float(v.max()) - 1.0) < 1e-5
    assert torch.allclose(v.flatten(), psp_kernel(0.9, 0.8, 60, n.v_scale), atol=1e-6)


def test_both_current_and_voltage_reset_after_a_spike():
    n = AntlrLIF(alpha=0.9, beta=0.9, threshold=0.5)
    c = torch.zeros(8, 1, 1)
    c[0] = 3.0  # fires at t = 0, then silence: I and V both start again from zero
    s, v = n.simulate(c)
    assert s[0].item() == 1.0
    assert torch.all(v[1:] == 0) and torch.all(s[1:] == 0)


def test_fused_equals_stepwise_autograd():
    net, x_seq, y = _batch(hidden=(10, 8))
    g_fused = R.get("bptt").gradients(net, x_seq, y)
    net.set_fused(False)
    calls = []
    orig = AntlrLIF.advance
    AntlrLIF.advance = lambda self, c, st: calls.append(1) or orig(self, c, st)
    try:
        g_ref = R.get("bptt").gradients(net, x_seq, y)
    finally:
        AntlrLIF.advance = orig
        net.set_fused(True)
    assert calls, "the unrolled reference path was not used"
    for k in g_fused:
        assert torch.allclose(g_fused[k], g_ref[k], atol=1e-5, rtol=1e-5), k


# --------------------------------------------------------------------------- reference checks
# The multi-layer check against the released code's backward and lam_tim = 0 against plain
# autograd BPTT are in tests/test_antlr_reference.py.
def test_routes_add_linearly_at_the_output():
    # dV = lam_act * act + lam_tim * tim: the output layer's gradient is linear in the lambdas
    # (deeper layers are not: both routes into them carry the combined error of the layer above)
    net, x_seq, y = _batch()
    with torch.no_grad():  # one class silent: the no-spike penalty (activation route) acts
        net.readout.synapse.weight[int(y[0])] = -0.5
    g_act = R.get("antlr", lam_act=1.0, lam_tim=0.0).gradients(net, x_seq, y)
    g_tim = R.get("antlr", lam_act=0.0, lam_tim=1.0).gradients(net, x_seq, y)
    g_mix = R.get("antlr", lam_act=0.5, lam_tim=2.0).gradients(net, x_seq, y)
    g_timing = R.get("timing", beta_sm=1 / 6).gradients(net, x_seq, y)  # antlr's default
    k = "readout.synapse.weight"
    assert float(g_tim[k].abs().max()) > 0 and float(g_act[k].abs().max()) > 0
    assert torch.allclose(g_mix[k], 0.5 * g_act[k] + 2.0 * g_tim[k], atol=1e-5, rtol=1e-4)
    for name in g_tim:
        assert torch.equal(g_timing[name], g_tim[name])
    assert float(g_tim["layers.0.synapse.weight"].abs().max()) > 0


def _toy(dt=0.01, T=700, seed=3):
    """One ANTLR neuron on a fine time grid (tau_s = tau_m = 1): 10 input spikes, fires once."""
    g = torch.Generator().manual_seed(seed)
    a = math.exp(-dt)
    neuron = AntlrLIF(alpha=a, beta=a, threshold=1.0, vdot_min=1e-6)  # slope per step ~ dt
    x = torch.zeros(T, 1, 10)
    t_in = torch.randint(0, 200, (10,), generator=g)
    x[t_in, 0, torch.arange(10)] = 1.0
    w = 0.25 + 0.2 * torch.rand(10, generator=g)
    return neuron, x, w, t_in


def _toy_time(neuron, x, w):
    c = (x * w).sum(-1, keepdim=True)
    s, v = neuron.simulate(c)
    return A.interpolated_spike_time(v[:, 0, 0], neuron.threshold), s


def _toy_timing_grads(neuron, x, w):
    """dt_out/dw and dt_out/dt_in (steps) from the timing route alone, loss = t_first."""
    z_in = torch.zeros_like(x).requires_grad_(True)
    w = w.clone().requires_grad_(True)
    c = (x * w).sum(-1, keepdim=True)
    s, z, _ = neuron.routes(c, lam_act=0.0, lam_tim=1.0, current_tim=(z_in * w).sum(-1, True))
    t_first, _ = A.first_spike_step(s, z)
    t_first.sum().backward()
    return w.grad, (x * z_in.grad).sum(0)[0]


def test_timing_term_matches_finite_difference_of_spike_time_wrt_weights():
    neuron, x, w, _ = _toy()
    t0, s = _toy_time(neuron, x, w)
    assert int(s.sum()) >= 1 and math.isfinite(t0)
    dw, _ = _toy_timing_grads(neuron, x, w)
    h = 1e-3
    fd = torch.zeros(10)
    for i in range(10):
        e = torch.zeros(10)
        e[i] = h
        fd[i] = (_toy_time(neuron, x, w + e)[0] - _toy_time(neuron, x, w - e)[0]) / (2 * h)
    assert fd.abs().max() > 1.0  # the spike time really depends on the weights
    assert torch.allclose(dw, fd, rtol=0.03, atol=0.03 * float(fd.abs().max()))


def test_timing_error_to_presynaptic_spikes_matches_finite_difference():
    # eq. (8), the code's kernel-derivative traces: dL/dt_j vs. moving the input spike by
    # +-k steps and measuring the output's (interpolated) spike time
    neuron, x, w, t_in = _toy()
    t0, _ = _toy_time(neuron, x, w)
    _, dtin = _toy_timing_grads(neuron, x, w)
    k = 5
    checked = 0
    for i in range(10):
        if int(t_in[i]) < k or int(t_in[i]) + k >= t0:
            continue
        times = []
        for shift in (k, -k):
            xs = x.clone()
            xs[:, 0, i] = 0
            xs[int(t_in[i]) + shift, 0, i] = 1.0
            times.append(_toy_time(neuron, xs, w)[0])
        fd = (times[0] - times[1]) / (2 * k)
        assert abs(float(dtin[i]) - fd) < 0.03 * abs(fd) + 2e-3, (i, float(dtin[i]), fd)
        checked += 1
    assert checked >= 3


def test_timing_route_is_zero_for_silent_network():
    net, x_seq, y = _batch()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(-1.0)  # nothing can fire
    g = R.get("timing").gradients(net, x_seq, y)
    assert all(float(v.abs().max()) == 0 for v in g.values())
    g_act = R.get("antlr").gradients(net, x_seq, y)
    assert any(float(v.abs().max()) > 0 for v in g_act.values())


def test_silent_penalty_raises_weights_of_silent_neurons():
    net, x_seq, y = _batch()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(-0.01)
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    R.get("timing", silent_penalty=10.0, bump=0.0).step(net, x_seq, y, opt)
    after = list(net.parameters())
    assert all(bool((a > b).all()) for a, b in zip(after, before[:1]))


def test_timing_bumps_silent_neurons_instead_of_stepping():
    """timing's default fallback is Göltz et al.'s weight bumping (shared with ttfs): a batch
    whose hidden layer misses more than 30 % of its spikes makes no gradient step; only the
    silent neurons' input weights move, by +5e-4, then 1e-3 on the next consecutive bump."""
    net, x_seq, y = _batch()
    with torch.no_grad():
        net.layers[0].synapse.weight.mul_(0.05)  # most hidden neurons silent
    rule = R.get("timing")
    rule.setup(net, None, T=30, encoding="latency", seed=0)
    w = A._input_weights(net)
    before = [v.detach().clone() for v in w]
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    rule.step(net, x_seq, y, opt)
    silent = rule._last_spikes[0].sum(0) == 0               # [B, hidden]
    assert float(silent.float().mean()) > 0.3
    rows = silent.any(0)
    torch.testing.assert_close(w[0][rows], before[0][rows] + 5e-4)
    torch.testing.assert_close(w[0][~rows], before[0][~rows])
    torch.testing.assert_close(w[1], before[1])              # no gradient step anywhere
    assert rule.state_dict() == {"bump_val": pytest.approx(5e-4), "last_bumped": 0}
    rule.step(net, x_seq, y, opt)
    assert rule.bumping.value == pytest.approx(1e-3)
    assert rule.on_epoch_end(net, 0) == {"bumped_batches": 2}


def test_timing_gradients_never_bump():
    """gradients() is the rule's gradient of the batch: the bumping policy neither zeroes it nor
    advances its state; the code's ablation (bump=0) has the same timing gradient."""
    net, x_seq, y = _batch()
    with torch.no_grad():
        net.layers[0].synapse.weight.mul_(0.4)  # 68 % of hidden spikes missing: a step bumps
    rule = R.get("timing")
    g = rule.gradients(net, x_seq, y)
    assert float((rule._last_spikes[0].sum(0) == 0).float().mean()) > 0.3
    assert all(float(v.abs().max()) > 0 for v in g.values())
    assert rule.bumping.last is None and rule.bumping.pending is None
    g0 = R.get("timing", bump=0.0).gradients(net, x_seq, y)
    for k in g:
        torch.testing.assert_close(g[k], g0[k])


def test_timing_bumps_a_silent_conv_channel_filter():
    """In a convolution a unit is a channel (one shared filter): a channel that never fired
    for some sample of a bumped batch gets its whole filter raised; the others do not move."""
    torch.manual_seed(0)
    net = snnlab.models.convnet((1, 8, 8), n_out=3, hidden=[4], neuron="antlr_lif",
                                readout="first_spike")
    w = A._input_weights(net)
    assert w[0].dim() == 4
    with torch.no_grad():
        w[0].mul_(0.01)                        # every channel silent
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.zero_()
    rule = R.get("timing")
    rule.setup(net, None, T=6, encoding="latency", seed=0)
    x = torch.rand(6, 4, 1, 8, 8)
    before = w[0].detach().clone()
    rule.step(net, (x > 0.9).float(), torch.tensor([0, 1, 2, 0]),
              torch.optim.SGD(net.parameters(), lr=0.1))
    assert rule.state_dict()["last_bumped"] == 0
    torch.testing.assert_close(w[0], before + 5e-4)


# --------------------------------------------------------------------------- data and tools
def test_latency_dataset_shapes_and_window():
    d = A.latency_dataset("yinyang", window=0.5)
    assert d.input_shape == (5,)
    x, _ = d.train.tensors
    assert float(x[:, :4].min()) >= 0.5 - 1e-6 and torch.all(x[:, 4] == x[0, 4])
    spikes = encode(x[:50], 40, "latency")
    assert torch.all(spikes.sum(0) == 1)  # one spike per input
    t = spikes.argmax(0)
    assert int(t.max()) <= 20
    dg = A.latency_dataset("digits", bias=False)
    assert dg.input_shape == (64,)
    xd, _ = dg.train.tensors
    raw, _ = snnlab.data.load("digits").train.tensors
    assert torch.equal(xd == 0, raw == 0)  # blank pixels stay silent


def test_decision_stats_keys():
    net, _, _ = _batch()
    d = _yinyang()
    st = A.decision_stats(net, d.test, 30)
    assert set(st) == {"acc", "decision_step", "spikes_per_sample", "spikes_to_decision"}
    assert st["spikes_to_decision"] <= st["spikes_per_sample"] + 1e-9
    assert 0 <= st["decision_step"] <= 30


# --------------------------------------------------------------------------- errors
def test_bad_inputs():
    with pytest.raises(ValueError, match="lam_act"):
        R.get("antlr", lam_act=-1.0)
    with pytest.raises(ValueError, match="both be 0"):
        R.get("antlr", lam_act=0.0, lam_tim=0.0)
    with pytest.raises(ValueError, match="loss"):
        R.get("antlr", loss="mse")
    with pytest.raises(ValueError, match="alpha"):
        AntlrLIF(alpha=1.5)
    with pytest.raises(ValueError, match="beta_v"):
        AntlrLIF(beta_v="fast")
    with pytest.raises(ValueError, match="window"):
        A.latency_dataset("yinyang", window=0.0)
    lif_net = snnlab.models.mlp(5, [8], 3)
    x = torch.rand(10, 4, 5)
    with pytest.raises(ValueError, match="antlr_lif"):
        R.get("antlr").loss(lif_net, x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="antlr_lif"):
        R.get("timing").gradients(lif_net, x, torch.zeros(4, dtype=torch.long))


# --------------------------------------------------------------------------- learning
T_LEARN = 40


@pytest.fixture(scope="module")
def yinyang():
    return _yinyang()


SEEDS = (0, 1, 2)


def _learn(which, data, seed, epochs=6):
    """``antlr`` with its defaults, timing-only as the paper's ablation (``timing`` with the
    released code's silent-neuron penalty, not snnlab's default weight bumping), or
    activation-only: ``antlr`` with ``lam_tim = 0`` on the count loss (the latency loss gives
    the activation route only its no-spike penalty, so activation-based learning needs a count
    loss, as in the paper)."""
    torch.set_num_threads(1)
    if which == "act":
        net = A.make_model(5, [60], 3, seed=seed, readout="count")
        rule = R.get("antlr", lam_tim=0.0)
    else:
        net = A.make_model(5, [60], 3, seed=seed)
        rule = R.get(which, **({"silent_penalty": 100.0, "bump": 0.0} if which == "timing"
                               else {}))
    snnlab.train(net, data, rule, T=T_LEARN, epochs=epochs, batch_size=64, seed=seed,
                 encoding="latency", progress=False)
    return A.decision_stats(net, data.test, T_LEARN)


@pytest.fixture(scope="module")
def learned(yinyang):
    return {(r, s): _learn(r, yinyang, s) for r in ("antlr", "timing", "act") for s in SEEDS}


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["antlr", "timing"])
def test_learns_yinyang_above_linear_baseline(learned, rule):
    # linear baseline 63.8 %; measured accuracies: antlr .857 .797 .868, timing .847 .800 .839
    assert sum(learned[rule, s]["acc"] for s in SEEDS) / len(SEEDS) > 0.78


@pytest.mark.slow
def test_antlr_claim_measured(learned):
    """The paper: "higher accuracy and fewer spikes than activation-only and timing-only".
    Measured here (latency-coded Yin-Yang, 5-60-3, T 40, 6 epochs, seeds 0/1/2; hidden+output
    spikes per test sample):

    ========  ================  =================
    rule      accuracy          spikes
    ========  ================  =================
    antlr     .857 .797 .868    28.2 33.7 35.9
    timing    .847 .800 .839    63.3 64.5 65.7
    act       .693 .675 .707    38.1 33.7 41.5
    ========  ================  =================

    Reproduced: fewer spikes than timing-only on every seed (about half) and much higher
    accuracy than activation-only (count loss); fewer spikes than activation-only on seeds 0
    and 2 (seed 1: 33.705 vs 33.745, a tie). *Not* reproduced: higher accuracy than
    timing-only (mean +0.012, seed 1 -0.003: within seed noise). The test asserts exactly
    that, not the paper's sentence."""
    acc = {r: [learned[r, s]["acc"] for s in SEEDS] for r in ("antlr", "timing", "act")}
    spk = {r: [learned[r, s]["spikes_per_sample"] for s in SEEDS] for r in acc}
    assert all(a < 0.75 * t for a, t in zip(spk["antlr"], spk["timing"])), spk
    assert all(a > c + 0.08 for a, c in zip(acc["antlr"], acc["act"])), acc
    diff = [a - t for a, t in zip(acc["antlr"], acc["timing"])]
    assert -0.03 < sum(diff) / 3 < 0.05 and min(diff) < 0.01, diff  # no robust accuracy win
    assert all(a < c * 1.01 for a, c in zip(spk["antlr"], spk["act"])), spk  # <= (a tie on s1)


# --------------------------------------------------------------------------- notebook 04 toy
def test_spike_shift_view_predicts_small_moves():
    base = A.spike_shift_view(0, index=3)
    assert base["t_out"] is not None and base["v"].shape == (60,)
    grad = float(base["dt_dtin"][3])
    moved = A.spike_shift_view(1, index=3)
    actual = moved["t_interp"] - base["t_interp"]
    assert abs(grad - actual) < 0.1, (grad, actual)
    assert float(base["dt_dw"][:4].max()) < 0  # larger weights fire earlier
    with pytest.raises(ValueError, match="shift"):
        A.spike_shift_view(100)


def test_spike_shift_view_silent_case_has_zero_timing_gradient():
    view = A.spike_shift_view(0, weights=[0.05] * 6)
    assert view["t_out"] is None and math.isnan(view["t_interp"])
    assert float(view["dt_dw"].abs().max()) == 0.0
    assert float(view["dt_dw_act"].abs().max()) > 0.0  # the activation route still pushes


def test_setup_refuses_a_default_model_and_build_model_builds_a_fitting_one():
    lif_net = snnlab.models.mlp(4, [8], 3)
    rule = R.get("antlr")
    with pytest.raises(ValueError, match="build_model"):
        rule.setup(lif_net, None, T=20, encoding="latency", seed=0)
    assert lif_net.readout.mode == "membrane"  # never changed
    torch.manual_seed(0)
    net = rule.build_model(4, [8], 3)
    rule.setup(net, None, T=20, encoding="latency", seed=0)
    assert isinstance(net.layers[0].neuron, AntlrLIF) and net.readout.mode == "first_spike"
    torch.manual_seed(0)  # the same weights as the default network of the same seed
    torch.testing.assert_close(net.layers[0].synapse.weight,
                               snnlab.models.mlp(4, [8], 3).layers[0].synapse.weight)
    x = encode(torch.rand(6, 4), 20, "latency")
    loss = rule.loss(net, x, torch.zeros(6, dtype=torch.long))
    assert torch.isfinite(loss)
    rebuilt = snnlab.models.from_config(net.config)  # checkpoints rebuild the adapted model
    assert isinstance(rebuilt.readout.neuron, AntlrLIF)

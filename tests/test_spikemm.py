"""The int8 synapse for spike inputs (snnlab.spikemm) against float64 matmuls."""

import pytest
import torch
import torch.nn.functional as TF

import snnlab
from snnlab import spikemm
from snnlab.models import mlp


def _rel_err(a, ref, scale):
    return float(((a.detach().double() - ref).abs() / scale.clamp_min(1e-300)).max())


@pytest.mark.parametrize("seed", range(40))
def test_int8_linear_matches_float64(seed):
    """Forward, weight, input and bias gradients within float32's own error, over odd shapes
    (1-wide included), binary and int8-valued inputs, weights and gradients from 1e-8 to 1e3.

    The int8 path rounds each weight (and each output gradient) to 24 bits relative to the
    largest one of its output neuron (block floating point), so its error bound is
    ``sum_k |x_k| * max_k |W_jk|`` times float32's epsilon, not the elementwise one."""
    g = torch.Generator().manual_seed(seed)
    M, K, N = (int(v) for v in torch.randint(1, 70, (3,), generator=g))
    if seed % 2:
        x = torch.randint(-128, 128, (M, K), generator=g).float()
    else:
        x = (torch.rand(M, K, generator=g) < 0.3).float()
    if seed % 3 == 0:
        x = x.t().contiguous().t()  # column-major input
    x.requires_grad_(True)
    w_scale = 10 ** float(torch.empty(1).uniform_(-8, 3, generator=g))
    W = (torch.randn(N, K, generator=g) * w_scale).requires_grad_(True)
    if seed % 5 == 0:
        W.data[0] = 0.0  # an all-zero neuron
    b = torch.randn(N, generator=g).requires_grad_(True)
    G = torch.randn(M, N, generator=g) * 10 ** float(torch.empty(1).uniform_(-8, 2, generator=g))

    y = spikemm.int8_linear(x, W, b)
    y.backward(G)
    xd, Wd, bd, Gd = x.detach().double(), W.detach().double(), b.detach().double(), G.double()
    block_w = xd.abs().sum(1, keepdim=True) * Wd.abs().amax(1) + bd.abs()
    assert _rel_err(y, xd @ Wd.t() + bd, block_w) < 1e-6
    block_g = Gd.abs().amax(0).unsqueeze(1) * xd.abs().sum(0)
    assert _rel_err(W.grad, Gd.t() @ xd, block_g) < 1e-6
    assert _rel_err(x.grad, Gd @ Wd, Gd.abs() @ Wd.abs()) < 1e-6
    assert _rel_err(b.grad, Gd.sum(0), Gd.abs().sum(0)) < 1e-6


def test_int8_linear_is_as_accurate_as_float32_on_a_real_layer():
    torch.manual_seed(0)
    x = (torch.rand(3200, 784) < 0.2).float()
    W = (torch.randn(512, 784) * 0.05).requires_grad_(True)
    G = torch.randn(3200, 512) * 1e-3
    y = spikemm.int8_linear(x, W)
    y.backward(G)
    ref_y = x.double() @ W.detach().double().t()
    ref_g = G.double().t() @ x.double()
    err_int = ((y.double() - ref_y).abs().max(), (W.grad.double() - ref_g).abs().max())
    err_f32 = ((x @ W.detach().t()).double() - ref_y).abs().max(), \
        ((G.t() @ x).double() - ref_g).abs().max()
    assert err_int[0] < 3 * err_f32[0] + 1e-7 and err_int[1] < 3 * err_f32[1] + 1e-9


@pytest.fixture
def int8_on(monkeypatch):
    """Pretend the probe found int8 faster, and count the int8 calls."""
    monkeypatch.setitem(spikemm._state, "enabled", True)
    monkeypatch.setitem(spikemm._state, "faster", True)
    calls = []
    real = spikemm._Int8LinearFn.apply
    monkeypatch.setattr(spikemm._Int8LinearFn, "apply", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(spikemm, "MIN_MACS", 1000)
    return calls


def test_spike_linear_dispatch(int8_on, monkeypatch):
    torch.manual_seed(0)
    W, b = torch.randn(20, 30), torch.randn(20)
    spikes = (torch.rand(40, 30) < 0.3).float()
    currents = torch.rand(40, 30)
    for x in (spikes, currents, spikes.double(), spikes[:2, :3]):
        Wx, bx = W.to(x.dtype)[:, :x.shape[1]], b.to(x.dtype)
        torch.testing.assert_close(spikemm.spike_linear(x, Wx, bx), TF.linear(x, Wx, bx))
    assert len(int8_on) == 1  # only the float32 spike input large enough
    monkeypatch.setattr(spikemm, "MAX_SUM", 30)  # an int32 sum could overflow: float path
    spikemm.spike_linear(spikes, W, b)
    assert len(int8_on) == 1
    spikemm.set_enabled(False)
    spikemm.spike_linear(spikes, W, b)
    assert len(int8_on) == 1


def test_network_uses_int8_synapse_and_keeps_its_gradients(int8_on):
    """A SpikingNet's gradients with the int8 synapse equal those of the float32 one."""
    torch.manual_seed(0)
    net = mlp(100, [64], 10, beta=0.9)
    x = (torch.rand(12, 16, 100) < 0.2).float()
    y = torch.randint(0, 10, (16,))
    rule = snnlab.rules.get("bptt")
    g_int = rule.gradients(net, x, y)
    assert len(int8_on) == 1  # input layer only: the readout's input is time-weighted, not 0/1
    spikemm.set_enabled(False)
    g_f32 = rule.gradients(net, x, y)
    for k in g_f32:
        torch.testing.assert_close(g_int[k], g_f32[k], rtol=1e-4, atol=1e-6)


def test_hooks_and_subclasses_keep_the_module_call(int8_on):
    torch.manual_seed(0)
    lin = torch.nn.Linear(30, 20)
    seen = []
    lin.register_forward_hook(lambda m, i, o: seen.append(1))
    x = (torch.rand(5, 8, 30) < 0.3).float()
    snnlab.functional.over_time(lin, x)
    assert seen == [1] and not int8_on


def test_probe_and_switch():
    assert isinstance(spikemm._probe(), bool)
    state = dict(spikemm._state)
    try:
        spikemm.set_enabled(False)
        assert spikemm.enabled() is False
    finally:
        spikemm._state.update(state)


def test_nan_and_inf_propagate_as_in_float32():
    """No integer stands for NaN or inf: such weights or gradients take the float32 matmul, so
    they show up in the result (and train()'s NaN stop sees them) instead of turning finite."""
    torch.manual_seed(0)
    x = (torch.rand(9, 6) < 0.5).float()
    x[:, 2] = 1.0
    W = torch.randn(4, 6)
    W[1, 2] = float("nan")
    W[3, 2] = float("inf")
    y = spikemm.int8_linear(x, W)
    torch.testing.assert_close(y, TF.linear(x, W), equal_nan=True)
    W = torch.randn(4, 6, requires_grad=True)
    G = torch.randn(9, 4)
    G[0, 1] = float("nan")
    spikemm.int8_linear(x, W).backward(G)
    torch.testing.assert_close(W.grad, G.t() @ x, equal_nan=True)


def test_probe_result_is_kept_per_machine(tmp_path, monkeypatch):
    """Every process on a machine takes the same path, so seeded reruns stay bit-identical."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # where snnlab-native/ is
    monkeypatch.setattr(spikemm, "_probe", lambda: True)
    assert spikemm._cached_probe() is True
    assert [p.read_text() for p in (tmp_path / "snnlab-native").glob("int8-probe-*")] == ["faster"]

    def must_not_run():
        raise AssertionError("probed again")

    monkeypatch.setattr(spikemm, "_probe", must_not_run)
    assert spikemm._cached_probe() is True

"""ttfs: exact first-spike times (closed form vs. a fine simulation), exact gradients vs.
finite differences, learning on latency-coded Yin-Yang, errors."""

from __future__ import annotations

import math

import pytest
import torch

import snnlab
from snnlab.rules import antlr as A
from snnlab.rules import ttfs


def _simulate(t_in, w, dt=1e-4, t_end=8.0, threshold=1.0):
    """Euler simulation of the non-leaky neuron with exponential synapses (tau_s = 1)."""
    t = torch.arange(0, t_end, dt, dtype=torch.float64)
    arrived = (t[:, None] >= t_in[None, :]).double()
    v = (arrived * w[None, :] * (1 - torch.exp(-(t[:, None] - t_in[None, :])))).sum(1)
    above = torch.nonzero(v >= threshold).flatten()
    return float(t[above[0]]) if above.numel() else math.inf


def test_closed_form_matches_simulation():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        t_in = torch.rand(6, generator=g, dtype=torch.float64) * 2
        w = torch.rand(6, generator=g, dtype=torch.float64) * 0.9
        exact = float(ttfs.spike_times_exact(t_in[None], w[None])[0, 0])
        sim = _simulate(t_in, w)
        if math.isinf(sim):
            assert math.isinf(exact)
        else:
            assert abs(exact - sim) < 1e-3, (exact, sim)


def test_silent_and_missing_inputs():
    t_in = torch.tensor([[0.1, math.inf, 0.5]])
    w = torch.tensor([[0.3, 5.0, 0.3]])  # the strong input never spikes: total 0.6 < 1
    assert math.isinf(float(ttfs.spike_times_exact(t_in, w)[0, 0]))


def test_exact_gradients_match_finite_differences():
    g = torch.Generator().manual_seed(1)
    t_in = (torch.rand(1, 8, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
    w = (0.2 + 0.3 * torch.rand(2, 8, generator=g, dtype=torch.float64)).requires_grad_(True)
    t = ttfs.spike_times_exact(t_in, w)
    assert torch.isfinite(t).all()
    t.sum().backward()
    h = 1e-6
    for i in range(8):
        e = torch.zeros(8, dtype=torch.float64)
        e[i] = h
        with torch.no_grad():
            fd_w = (ttfs.spike_times_exact(t_in, w + e) - ttfs.spike_times_exact(t_in, w - e))
            fd_t = (ttfs.spike_times_exact(t_in + e, w) - ttfs.spike_times_exact(t_in - e, w))
        assert torch.allclose(w.grad[:, i], fd_w[0] / (2 * h), atol=1e-5)
        assert abs(float(t_in.grad[0, i]) - float(fd_t.sum()) / (2 * h)) < 1e-5


def test_discrete_model_approximates_exact_times():
    net = ttfs.make_model(5, [20], 3, seed=0, tau_steps=20.0)
    d = A.latency_dataset("yinyang")
    x, _ = d.test.tensors
    x_seq = snnlab.encode(x[:16], 80, "latency")
    exact = ttfs.forward_exact(net, x_seq, 20.0)[-1].detach()
    with torch.no_grad():
        out = net.run(x_seq).readout_spikes
    discrete = A.first_spike_times(out) / 20.0
    both = torch.isfinite(exact) & (discrete < 80 / 20.0)
    assert both.float().mean() > 0.5
    assert float((discrete[both] - exact[both]).abs().max()) <= 2.5 / 20.0


def test_learns_yinyang():
    torch.set_num_threads(1)
    d = A.latency_dataset("yinyang")
    net = ttfs.make_model(5, [60], 3, seed=0)
    snnlab.train(net, d, "ttfs", T=40, epochs=6, batch_size=64, seed=0, progress=False)
    res = ttfs.evaluate_exact(net, d.test, 40)
    # calibrated (seed 0): 91.6 % after 6 epochs, 92-95 % after 10-15 (Göltz et al.: 95.9 % with
    # 120 hidden, 300 epochs)
    assert res["acc"] > 0.85, res


def test_bad_inputs():
    with pytest.raises(ValueError, match="tau_steps"):
        snnlab.rules.get("ttfs", tau_steps=0.0)
    net = snnlab.models.mlp(5, [4], 3)
    with pytest.raises(ValueError, match="without bias"):
        snnlab.rules.get("ttfs").loss(net, torch.rand(10, 2, 5), torch.zeros(2, dtype=torch.long))


# ----------------------------------------------------------------- Göltz et al.'s safeguards
def test_max_weight_derivative_matches_autograd_per_sample():
    """The closed form of max_i |dt/dw_i| against the per-sample Jacobian from autograd."""
    g = torch.Generator().manual_seed(3)
    t_in = torch.rand(5, 7, generator=g, dtype=torch.float64) * 2
    t_in[0, 2] = math.inf  # a missing input
    w = (0.1 + 0.4 * torch.rand(4, 7, generator=g, dtype=torch.float64))
    t_out = ttfs.spike_times_exact(t_in, w)
    got = ttfs.max_weight_derivative(t_in, w, t_out)
    for b in range(5):
        jac = torch.autograd.functional.jacobian(
            lambda ww, b=b: ttfs.spike_times_exact(t_in[b:b + 1], ww)[0], w)  # [n_out, n_out, n_in]
        for j in range(4):
            if math.isfinite(float(t_out[b, j])):
                assert float(got[b, j]) == pytest.approx(float(jac[j, j].abs().max()), rel=1e-9)
            else:
                assert float(got[b, j]) == 0.0
    assert torch.isfinite(t_out).any()


def _official_chop(t_in, w, err, max_dw):
    """Transcription of the official backward's weight gradient: per-sample dw * error, zero
    the (sample, neuron) pairs whose largest |element| exceeds max_dw, sum over the batch."""
    rows = []
    for b in range(t_in.shape[0]):
        jac = torch.autograd.functional.jacobian(
            lambda ww, b=b: ttfs.spike_times_exact(t_in[b:b + 1], ww)[0], w)
        wg = torch.stack([jac[j, j] for j in range(w.shape[0])]) * err[b][:, None]  # [n_out, n_in]
        wg[wg.abs().amax(1) > max_dw] = 0.0
        rows.append(wg)
    return torch.stack(rows).sum(0)


@pytest.mark.parametrize("max_dw", [1e9, 0.5, 0.05])
def test_chopped_weight_gradient_equals_the_official_backward(max_dw):
    g = torch.Generator().manual_seed(5)
    net = ttfs.make_model(6, [9], 4, seed=0).double()
    x = torch.rand(8, 6, generator=g, dtype=torch.float64)
    x_seq = snnlab.encoding.encode(x, 40, "latency")
    w_out = net.readout.synapse.weight
    times = ttfs.forward_exact(net, x_seq, 10.0, max_dw=max_dw)
    err = torch.randn(times[-1].shape, generator=g, dtype=torch.float64)
    fin = torch.isfinite(times[-1])
    (torch.where(fin, times[-1], torch.zeros_like(times[-1])) * err).sum().backward()
    hidden_t = times[0].detach()
    want = _official_chop(hidden_t, w_out.detach(), torch.where(fin, err, 0 * err), max_dw)
    torch.testing.assert_close(w_out.grad, want, rtol=1e-7, atol=1e-9)


def test_chopping_leaves_the_error_passed_down_alone():
    """Only the weight route is chopped (as in the official backward); the gradient reaching
    the layer below is the unchopped one, and the forward values do not change."""
    g = torch.Generator().manual_seed(6)
    net = ttfs.make_model(6, [9], 4, seed=1).double()
    x_seq = snnlab.encoding.encode(torch.rand(8, 6, generator=g, dtype=torch.float64), 40,
                                   "latency")
    err = torch.randn(8, 4, generator=g, dtype=torch.float64)
    grads, values = [], []
    for max_dw in (None, 1e-3):
        net.zero_grad()
        t_hidden = ttfs.forward_exact(net, x_seq, 10.0)[0].detach().requires_grad_(True)
        w = net.readout.synapse.weight
        if max_dw is None:
            t = ttfs.spike_times_exact(t_hidden, w)
        else:
            t_route = ttfs.spike_times_exact(t_hidden, w.detach())
            t_w = ttfs.spike_times_exact(t_hidden.detach(), w)
            fired = torch.isfinite(t_w)
            t_w = torch.where(fired, t_w, torch.zeros_like(t_w))
            md = ttfs.max_weight_derivative(t_hidden.detach(), w.detach(), t_route.detach())
            t = torch.where(fired, t_route + ttfs._ChopWeightGradient.apply(t_w, md, max_dw)
                            - t_w.detach(), t_route)
        fin = torch.isfinite(t)
        (torch.where(fin, t, torch.zeros_like(t)) * err).sum().backward()
        grads.append((t_hidden.grad.clone(), w.grad.clone()))
        values.append(t.detach())
    torch.testing.assert_close(values[0], values[1])
    torch.testing.assert_close(grads[0][0], grads[1][0])           # error passed down: same
    assert not torch.allclose(grads[0][1], grads[1][1])             # weight gradient: chopped


def test_weight_bumping_is_the_official_check_bump_weights():
    """A batch with too many silent hidden neurons is bumped, not trained: no weight moves
    except the silent neurons' input weights (+bump), and the bump doubles on the next
    consecutive bumped batch (the code's weight_bumping_exp)."""
    torch.manual_seed(0)
    net = ttfs.make_model(5, [6], 3, weight_mean=0.0, weight_std=0.05, seed=0)  # mostly silent
    rule = snnlab.rules.get("ttfs")
    d = A.latency_dataset("yinyang")
    x, y = d.train.tensors
    x_seq = snnlab.encoding.encode(x[:32], 40, "latency")
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    rule.bumping.reset()
    before = [w.detach().clone() for w in ttfs._weights(net)]
    rule.step(net, x_seq, y[:32], opt)
    silent = (~torch.isfinite(rule._times[0])).any(0)
    assert float((~torch.isfinite(rule._times[0])).float().mean()) > 0.3 and silent.any()
    after = [w.detach() for w in ttfs._weights(net)]
    torch.testing.assert_close(after[0][silent], before[0][silent] + 5e-4)
    torch.testing.assert_close(after[0][~silent], before[0][~silent])
    torch.testing.assert_close(after[1], before[1])          # no gradient step anywhere
    rule.step(net, x_seq, y[:32], opt)
    assert rule.bumping.value == pytest.approx(1e-3)              # doubled: same layer again
    assert rule.state_dict() == {"bump_val": pytest.approx(1e-3), "last_bumped": 0}


def test_bad_safeguard_arguments():
    with pytest.raises(ValueError, match="max_missing"):
        snnlab.rules.get("ttfs", max_missing=(0.3,))
    with pytest.raises(ValueError, match="max_dw"):
        snnlab.rules.get("ttfs", max_dw=0.0)
    with pytest.raises(TypeError, match="bump_exp"):
        snnlab.rules.get("ttfs", bump_exp=1)

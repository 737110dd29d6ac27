"""TSSL-BP: finite differences of spike times under smooth conditions, an independent transcription
of the reference algorithm, the model adaptation, and learning."""

import math

import pytest
import torch

import snnlab
from snnlab.models import mlp
from snnlab.neurons import PSPLIF, psp, tssl_spikes
from snnlab.readouts import PSPReadout
from snnlab.rules.tssl import target_trains

TAU_M, TAU_S, THETA = 5.0, 3.0, 1.0
BETA = 1 - 1 / TAU_M


def _eps(T):
    return [(1 - 1 / TAU_S) ** k / TAU_S for k in range(T)]


# --------------------------------------------------------------------------- finite differences
def _smooth_forward(W1, W2, x_seq, T):
    """A smooth version of the PSP network in which TSSL-BP's chain is exact: each neuron fires
    once, its spike time is the linear interpolation of the threshold crossing inside the step,
    t* = t_m - (u[t_m] - theta)/du[t_m], and a spike earlier inside its step starts a
    proportionally larger PSP, a[t_m + k] = eps[k] (1 + t_m - t*). At crossings exactly on the
    grid it equals the discrete network; elsewhere it is differentiable in the weights."""
    eps = _eps(T)
    a_in = psp(x_seq, TAU_S)[:, 0]  # the input through the PSP filter (one sample)

    def layer(W, a_prev):
        current = a_prev @ W.T  # [T, n]
        n = current.shape[1]
        out = [[current.new_zeros(()) for _ in range(n)] for _ in range(T)]
        for j in range(n):
            v = current.new_zeros(())
            for t in range(T):
                u = BETA * v + current[t, j]
                if u > THETA:
                    lead = (u - THETA) / (u - v)  # t_m - t*
                    for k in range(T - t):
                        out[t + k][j] = out[t + k][j] + eps[k] * (1 + lead)
                    break
                v = u
        return torch.stack([torch.stack(row) for row in out])

    return layer(W2, layer(W1, a_in))


def _crossing_margins(W, a_prev, T):
    """Per neuron: (first crossing step, u - theta there, number of spikes) of the discrete net."""
    current = a_prev @ W.T
    res = []
    for j in range(current.shape[1]):
        v, first, n = 0.0, None, 0
        for t in range(T):
            u = BETA * v + float(current[t, j])
            if u > THETA:
                n += 1
                if first is None:
                    first = (t, u - THETA)
                v = 0.0
            else:
                v = u
        res.append((first, n))
    return res


def _tune(W, a_prev, T, steps, rel=1e-6):
    """Scale each row of W so neuron j crosses threshold at step steps[j], by a hair."""
    current = a_prev @ W.T
    W = W.clone()
    for j, tm in enumerate(steps):
        u = 0.0
        for t in range(tm + 1):
            u = BETA * u + float(current[t, j])
        W[j] *= THETA * (1 + rel) / u
    return W


HIDDEN_STEPS, OUT_STEPS = [1, 2], [3]


def test_spike_time_gradient_matches_finite_differences_under_smooth_conditions():
    torch.manual_seed(0)
    T = 8
    x_seq = torch.zeros(T, 1, 3, dtype=torch.double)
    x_seq[:2] = torch.tensor([0.9, 0.6, 0.8], dtype=torch.double)  # a short input pulse
    a_in = psp(x_seq, TAU_S)[:, 0]
    W1 = _tune(torch.rand(2, 3, dtype=torch.double) + 0.5, a_in, T, HIDDEN_STEPS)
    h = psp(torch.stack([(torch.arange(T) == tm) for tm in HIDDEN_STEPS], 1).double(), TAU_S)
    W2 = _tune(torch.rand(1, 2, dtype=torch.double) + 0.5, h, T, OUT_STEPS)
    # smooth conditions: every neuron fires exactly once, just above threshold
    for W, a, steps in ((W1, a_in, HIDDEN_STEPS), (W2, h, OUT_STEPS)):
        for (first, n), tm in zip(_crossing_margins(W, a, T), steps):
            assert n == 1 and first[0] == tm and 0 < first[1] < 1e-4
    target = torch.full((T,), 0.05, dtype=torch.double)  # below the PSP: no cancelling terms

    def loss_smooth(W1_, W2_):
        return float(((_smooth_forward(W1_, W2_, x_seq, T)[:, 0] - target) ** 2).sum())

    rule = snnlab.rules.get("tssl", fallback=False, spike_steps_only=True)
    net = rule.build_model(3, [2], 1, bias=False).double()
    with torch.no_grad():
        net.layers[0].synapse.weight.copy_(W1)
        net.readout.synapse.weight.copy_(W2)
    a_out = rule.output_psp(net, x_seq)
    ((a_out[:, 0, 0] - target) ** 2).sum().backward()
    value = float(((a_out[:, 0, 0] - target) ** 2).sum().detach())
    assert abs(value - loss_smooth(W1, W2)) < 1e-3 * value  # equal up to the O(1e-5) leads

    fd_step = 1e-8
    for W, grad, which in ((W2, net.readout.synapse.weight.grad, 1),
                           (W1, net.layers[0].synapse.weight.grad, 0)):
        fd = torch.zeros_like(W)
        for idx in range(W.numel()):
            Wp, Wm = W.clone().view(-1), W.clone().view(-1)
            Wp[idx] += fd_step
            Wm[idx] -= fd_step
            args_p = (Wp.view_as(W), W2) if which == 0 else (W1, Wp.view_as(W))
            args_m = (Wm.view_as(W), W2) if which == 0 else (W1, Wm.view_as(W))
            fd.view(-1)[idx] = (loss_smooth(*args_p) - loss_smooth(*args_m)) / (2 * fd_step)
        assert fd.abs().max() > 1e-3
        torch.testing.assert_close(grad, fd, rtol=1e-3, atol=1e-7)


# --------------------------------------------------------------------------- transcription
def _reference_backward(current, da):
    """Per neuron, per step, the reference algorithm as the paper and official code describe it,
    in terms of dL/da (explicit kernel sums, explicit clamp, explicit fallback threshold)."""
    T, n = current.shape
    eps = _eps(T)
    G = torch.zeros(T, n, dtype=torch.double)
    for j in range(n):
        v, us, dus, ss = 0.0, [], [], []
        for t in range(T):
            u = BETA * v + float(current[t, j])
            s = 1.0 if u > THETA else 0.0
            us.append(u)
            dus.append(u - v)
            ss.append(s)
            v = u * (1 - s)
        a = [sum(eps[t - k] * ss[k] for k in range(t + 1)) for t in range(T)]
        carry = 0.0
        for t in range(T - 1, -1, -1):
            partial_u = min(max(-1 / dus[t], -8.0), 0.0) if dus[t] != 0 else 0.0
            dadt = sum(-eps[k] * float(da[t + k, j]) for k in range(T - t))
            g = dadt * partial_u
            if t < T - 1:
                g += carry * us[t] * (-1 / TAU_M) * partial_u
                g += carry * BETA * (1 - ss[t])
            carry = g if ss[t] else carry * BETA
            if a[t] < 1 / (4 * TAU_S):
                z = min(max((THETA - us[t]) / 0.2, -8.0), 8.0)
                f = math.exp(z) / ((1 + math.exp(z)) ** 2 * 0.2)
                g = sum(eps[k] * float(da[t + k, j]) for k in range(T - t)) * f
            G[t, j] = g
    return G


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_equals_reference_transcription(seed):
    torch.manual_seed(seed)
    T, n = 12, 16
    current = (torch.rand(T, n, dtype=torch.double) * 0.9).requires_grad_()
    da = torch.randn(T, n, dtype=torch.double)
    s = tssl_spikes(current, tau_m=TAU_M, tau_s=TAU_S, threshold=THETA)
    (psp(s, TAU_S) * da).sum().backward()
    assert 0 < float(s.detach().sum()) < T * n  # a mix of active and quiet neurons
    torch.testing.assert_close(current.grad, _reference_backward(current.detach(), da),
                               rtol=1e-9, atol=1e-12)


def test_switches_isolate_the_parts():
    torch.manual_seed(0)
    current = (torch.rand(8, 5, dtype=torch.double) * 0.8).requires_grad_()
    ds = torch.randn(8, 5, dtype=torch.double)
    (g_off,) = torch.autograd.grad((tssl_spikes(current, inter=False, intra=False,
                                                fallback=False) * ds).sum(), current)
    assert float(g_off.abs().sum()) == 0.0
    (g_sur,) = torch.autograd.grad((tssl_spikes(current, inter=False, intra=False) * ds).sum(),
                                   current)
    s = tssl_spikes(current.detach())
    quiet = psp(s, TAU_S) < 1 / (4 * TAU_S)
    assert quiet.any() and (~quiet).any()
    assert float(g_sur[~quiet].abs().sum()) == 0.0 and float(g_sur[quiet].abs().sum()) > 0


# --------------------------------------------------------------------------- model and rule
def test_built_model_runs_the_paper_equations():
    torch.manual_seed(0)
    rule = snnlab.rules.get("tssl")
    net = rule.build_model(4, [6], 3)
    assert isinstance(net.layers[0].neuron, PSPLIF) and net.readout.mode == "psp"
    assert isinstance(net.readout, PSPReadout)
    T = 6
    x = torch.rand(2, 4)
    x_seq = x.expand(T, 2, 4)
    # eqs. (1)-(3) written out (bias filtered like the current)
    W, b = net.layers[0].synapse.weight.detach(), net.layers[0].synapse.bias.detach()
    a_in = psp(x_seq, TAU_S)
    ramp = torch.tensor([1 - (1 - 1 / TAU_S) ** (t + 1) for t in range(T)]).view(T, 1, 1)
    current = a_in @ W.T + ramp * b
    u = torch.zeros(2, 6)
    s_prev = torch.zeros(2, 6)
    spikes = []
    for t in range(T):
        u = BETA * u * (1 - s_prev) + current[t]
        s_prev = (u > THETA).float()
        spikes.append(s_prev)
    rec = net.run(x_seq)
    torch.testing.assert_close(rec.spikes[0], torch.stack(spikes), atol=1e-6, rtol=0)
    torch.testing.assert_close(rule.output_psp(net, x_seq).sum(0), rec.logits, atol=1e-5,
                               rtol=1e-5)
    rule.check_model(net)  # the rule trains the network it built


def test_a_model_of_other_neurons_is_refused_not_changed():
    net = mlp(64, [6], 10)
    with pytest.raises(ValueError, match="build_model"):
        snnlab.train(net, "digits", "tssl", epochs=1, progress=False)
    assert net.readout.mode == "membrane" and not isinstance(net.layers[0].neuron, PSPLIF)


def test_checkpoint_round_trip(tmp_path):
    from snnlab.train import load_checkpoint

    torch.manual_seed(0)
    net = snnlab.rules.get("tssl").build_model(64, [16], 10)
    data = snnlab.data.load("digits")
    snnlab.train(net, data, "tssl", epochs=1, progress=False, checkpoint=tmp_path / "c.pt")
    before = snnlab.evaluate(net, data.test, 5)["acc"]
    again, _ = load_checkpoint(tmp_path / "c.pt")
    assert isinstance(again.layers[0].neuron, PSPLIF) and isinstance(again.readout, PSPReadout)
    assert snnlab.evaluate(again, data.test, 5)["acc"] == before


def test_target_trains():
    tgt = target_trains(torch.tensor([2, 0]), 3, 5)
    assert tgt[:, 0, 2].tolist() == [0, 1, 1, 1, 1] and float(tgt[:, 0, :2].sum()) == 0
    assert target_trains(torch.tensor([1]), 2, 6)[:, 0, 1].tolist() == [0, 1, 0, 1, 0, 1]
    custom = target_trains(torch.tensor([0]), 2, 5, [0, 1, 0, 1, 1])
    assert custom[:, 0, 0].tolist() == [0, 1, 0, 1, 1]
    with pytest.raises(ValueError, match="pattern"):
        target_trains(torch.tensor([0]), 2, 4, [1, 1])


def test_bad_input_errors():
    with pytest.raises(ValueError, match="tau_m"):
        snnlab.rules.get("tssl", tau_m=0.5)
    with pytest.raises(TypeError, match="intra"):
        snnlab.rules.get("tssl", intra="yes")
    with pytest.raises(ValueError, match=r"pattern\[1\]"):
        snnlab.rules.get("tssl", pattern=[0, 2, 1])
    with pytest.raises(ValueError, match="T=8"):
        snnlab.train(snnlab.rules.get("tssl").build_model(64, [8], 10), "digits", "tssl", T=8,
                     epochs=1, progress=False, pattern=[0, 1, 1, 1, 1])


@pytest.mark.slow
def test_tssl_learns_digits():
    torch.set_num_threads(1)
    net = snnlab.rules.get("tssl").build_model(64, [100], 10)
    h = snnlab.train(net, "digits", "tssl", T=5, epochs=20, seed=0, progress=False)
    assert h.test_acc >= 0.93
    assert snnlab.evaluate(net, snnlab.data.load("digits").test, 5)["acc"] == h.test_acc


def test_psp_threshold_inf_is_the_surrogate_everywhere():
    torch.manual_seed(1)
    current = (torch.rand(9, 6, dtype=torch.double) * 0.9).requires_grad_()
    ds = torch.randn(9, 6, dtype=torch.double)
    (g,) = torch.autograd.grad((tssl_spikes(current, psp_threshold=float("inf")) * ds).sum(),
                               current)
    s = tssl_spikes(current.detach())
    assert float(s.sum()) > 0
    u, v = [], torch.zeros(6, dtype=torch.double)
    for t in range(9):
        u_t = BETA * v + current.detach()[t]
        u.append(u_t)
        v = u_t * (1 - s[t])
    z = torch.clamp((THETA - torch.stack(u)) / 0.2, -8, 8)
    torch.testing.assert_close(g, ds * torch.sigmoid(z) * (1 - torch.sigmoid(z)) / 0.2)
    with pytest.raises(ValueError, match="psp_threshold"):
        snnlab.rules.get("tssl", psp_threshold=-1.0)


# --------------------------------------------------------------------------- notebook 11 helpers
def test_tssl_neuron_widget_and_dashboard():
    from snnlab import widgets

    r = widgets.simulate_tssl_neuron(current=0.5, T=12)
    assert set(r["grads"]) == {"inter", "inter+intra", "fallback", "all"}
    assert float(r["spikes"].sum()) >= 2
    quiet = psp(r["spikes"][:, None], TAU_S)[:, 0] < 1 / (4 * TAU_S)
    torch.testing.assert_close(r["grads"]["all"][quiet], r["grads"]["fallback"][quiet])
    torch.testing.assert_close(r["grads"]["all"][~quiet], r["grads"]["inter+intra"][~quiet])
    silent = widgets.simulate_tssl_neuron(current=0.05)
    assert float(silent["spikes"].sum()) == 0
    # the code's timing terms are not masked to spikes, but the fallback replaces them all here
    torch.testing.assert_close(silent["grads"]["all"], silent["grads"]["fallback"])
    with pytest.raises(ValueError, match="pattern"):
        widgets.simulate_tssl_neuron(pattern="random")
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    dash = widgets.tssl_neuron_dashboard(current=0.5)
    dash.controls["current"].value = 0.05
    assert float(dash.result["spikes"].sum()) == 0


def test_exercise_checkers(capsys):
    from snnlab import exercises

    assert exercises.check_psp_kernel(lambda T, ts: (1 - 1 / ts) ** torch.arange(T) / ts)
    assert not exercises.check_psp_kernel(lambda T, ts: (1 - 1 / ts) ** torch.arange(T))
    assert exercises.check_spike_time_derivative(
        lambda du: torch.where(du > 0, (1 / du).clamp(max=8), torch.zeros_like(du)))
    assert not exercises.check_spike_time_derivative(lambda du: 1 / du)
    assert "not normalised" in capsys.readouterr().out

"""``bptt_stdp_cycles`` (the former ``eicil`` stand-in): not EICIL, so not under its name;
schedule, STDP traces, a hand-computed inhibitory phase, learning."""

import pytest
import torch

from snnlab import models, rules, train
from snnlab.data import load
from snnlab.rules.eicil import (
    EICIL,
    BPTTSTDPCycles,
    inhibitory_update,
    phase_of,
    stdp_correlations,
    weight_sparsity,
)


def test_registered_under_a_descriptive_name_not_the_papers():
    """EICIL's mechanism (excitatory/inhibitory behaviours *in the neuron*) could not be recovered
    from its abstract, so the stand-in must not carry its name (module docstring)."""
    assert "bptt_stdp_cycles" in rules.available()
    assert isinstance(rules.get("bptt_stdp_cycles", cycle=4), BPTTSTDPCycles)
    assert "eicil" not in rules.available()
    with pytest.raises(ValueError, match="unknown rule 'eicil'"):
        rules.get("eicil")
    assert EICIL is BPTTSTDPCycles  # the old import name the course module uses
    assert "not EICIL" in (BPTTSTDPCycles.__doc__ or "")


def test_schedule():
    ei = [phase_of(e, 3, 1, "EI")[0] for e in range(7)]
    assert "".join(ei) == "eeieeie"
    ie = [phase_of(e, 4, 2, "IE")[0] for e in range(8)]
    assert "".join(ie) == "iieeiiee"
    assert all(phase_of(e, 3, 0) == "excitatory" for e in range(6))


def _pairs_reference(pre, post, lp, lq):
    """Pair-based STDP written as explicit sums over spike pairs (no traces)."""
    T, B, n_in = pre.shape
    n_out = post.shape[2]
    P = torch.zeros(n_out, n_in, dtype=pre.dtype)
    D = torch.zeros_like(P)
    for b in range(B):
        for i in range(n_out):
            for j in range(n_in):
                for t in range(T):
                    for k in range(t + 1):
                        P[i, j] += post[t, b, i] * pre[k, b, j] * lp ** (t - k)
                        D[i, j] += pre[t, b, j] * post[k, b, i] * lq ** (t - k)
    return P / (B * T), D / (B * T)


def test_trace_correlations_equal_pair_sums():
    g = torch.Generator().manual_seed(0)
    pre = (torch.rand(5, 2, 3, generator=g) < 0.5).double()
    post = (torch.rand(5, 2, 4, generator=g) < 0.4).double()
    P, D = stdp_correlations(pre, post, 0.7, 0.6)
    P_ref, D_ref = _pairs_reference(pre, post, 0.7, 0.6)
    torch.testing.assert_close(P, P_ref)
    torch.testing.assert_close(D, D_ref)
    # post strictly after pre only potentiates, pre strictly after post only depresses
    pre1 = torch.zeros(3, 1, 1, dtype=torch.double)
    post1 = torch.zeros(3, 1, 1, dtype=torch.double)
    pre1[0], post1[2] = 1, 1
    P1, D1 = stdp_correlations(pre1, post1, 0.5, 0.5)
    assert float(P1) > 0 and float(D1) == 0
    P2, D2 = stdp_correlations(post1, pre1, 0.5, 0.5)
    assert float(P2) == 0 and float(D2) > 0


def test_update_touches_excitatory_synapses_only_and_silences():
    w = torch.tensor([[0.5, -0.3, 0.0, 0.02]])
    P = torch.zeros_like(w)
    D = torch.ones_like(w)
    inhibitory_update(w, P, D, eta=0.1, a_plus=1.0, a_minus=1.0)
    assert w[0].tolist() == pytest.approx([0.4, -0.3, 0.0, 0.0])  # 0.02 silenced, not flipped
    w2 = torch.tensor([[0.5]])
    inhibitory_update(w2, torch.ones(1, 1) * 10, torch.zeros(1, 1), eta=0.1, a_plus=1.0,
                      a_minus=1.0, w_max=0.8)
    assert float(w2) == pytest.approx(0.8)


def test_one_inhibitory_step_by_hand():
    """One inhibitory phase update on a 2-2-2 network, every number computed by hand.

    Hidden LIF (beta 0.9, threshold 1, subtractive reset), W = [[2, 0], [0.5, 0.5]], no bias,
    inputs x[0] = (1, 0), x[1] = (1, 1):
      neuron 0: u = 2 -> spike (v = 1); u = 0.9 + 2 = 2.9 -> spike
      neuron 1: u = 0.5 -> none;        u = 0.45 + 1 = 1.45 -> spike
    so s[0] = (1, 0), s[1] = (1, 1). Traces with lambda = 0.5:
      x_hat = (1, 0), (1.5, 1);  y_hat = (1, 0), (1.5, 1)
    P = (s[0] x_hat[0]^T + s[1] x_hat[1]^T) / (B T) = [[2.5, 1], [1.5, 1]] / 2
    D = (y_hat[0] x[0]^T + y_hat[1] x[1]^T) / (B T) = [[2.5, 1.5], [1, 1]] / 2
    W += 0.1 (P - 1.5 D - 0.5 W) on W > 0:
      W00: 2 + 0.1 (1.25 - 1.875 - 1) = 1.8375;  W01 = 0 stays 0 (not excitatory)
      W10: 0.5 + 0.1 (0.75 - 0.75 - 0.25) = 0.475;  W11: 0.5 + 0.1 (0.5 - 0.75 - 0.25) = 0.45
    The readout is not touched (only hidden dense synapses take part)."""
    torch.manual_seed(0)
    net = models.mlp(2, [2], 2).double()
    with torch.no_grad():
        net.layers[0].synapse.weight.copy_(torch.tensor([[2.0, 0.0], [0.5, 0.5]]))
        if net.layers[0].synapse.bias is not None:
            net.layers[0].synapse.bias.zero_()
    readout0 = {k: v.clone() for k, v in net.readout.state_dict().items()}
    x = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]], dtype=torch.float64)  # [T=2, B=1, 2]
    rec = net.run(x)
    assert rec.spikes[0][:, 0].tolist() == [[1.0, 0.0], [1.0, 1.0]]
    rule = BPTTSTDPCycles(cycle=1, inhibitory_epochs=1, eta_i=0.1, a_plus=1.0, a_minus=1.5,
                          lambda_pre=0.5, lambda_post=0.5, contraction=0.5)
    assert rule.phase == "inhibitory"
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    rule.step(net, x, torch.tensor([0]), opt)
    torch.testing.assert_close(net.layers[0].synapse.weight.detach(),
                               torch.tensor([[1.8375, 0.0], [0.475, 0.45]], dtype=torch.float64))
    for k, v in net.readout.state_dict().items():
        torch.testing.assert_close(v, readout0[k])


def test_no_inhibitory_epochs_is_bptt():
    data = load("digits")
    accs = []
    for rule, kw in (("bptt", {}), ("bptt_stdp_cycles", dict(inhibitory_epochs=0))):
        torch.manual_seed(0)
        net = models.mlp(64, [32], 10)
        h = train(net, data, rule, T=2, epochs=1, seed=0, progress=False, **kw)
        accs.append(h.test_acc)
    assert accs[0] == accs[1]


def test_learns_and_logs_phases():
    """Calibrated: digits, T=4, 6 epochs, cycle 3 -> 0.922 final accuracy (seed 0)."""
    data = load("digits")
    torch.manual_seed(0)
    net = models.mlp(64, [128], 10)
    h = train(net, data, "bptt_stdp_cycles", T=4, epochs=6, seed=0, progress=False)
    phases = h.column("phase")
    assert phases == ["excitatory", "excitatory", "inhibitory"] * 2
    rate, sparsity = h.column("firing_rate"), h.column("weight_sparsity")
    for e in (2, 5):  # each inhibitory epoch fires less than the excitatory one before it
        assert rate[e] < rate[e - 1]
        assert sparsity[e] > 0.005
    assert h.test_acc >= 0.88
    assert weight_sparsity(net) == sparsity[-1]


def test_gradients_and_errors():
    net = models.mlp(8, [6], 3)
    x, y = torch.rand(3, 4, 8), torch.tensor([0, 1, 2, 0])
    g = BPTTSTDPCycles().gradients(net, x, y)
    assert set(g) == {n for n, _ in net.named_parameters()}
    with pytest.raises(ValueError, match="cycle"):
        BPTTSTDPCycles(cycle=0)
    with pytest.raises(ValueError, match="inhibitory_epochs"):
        BPTTSTDPCycles(cycle=2, inhibitory_epochs=3)
    with pytest.raises(ValueError, match="order"):
        BPTTSTDPCycles(order="II")
    with pytest.raises(ValueError, match="lambda_pre"):
        BPTTSTDPCycles(lambda_pre=1.0)
    conv = models.convnet((1, 8, 8), [4], 10)
    with pytest.raises(ValueError, match="dense"):
        BPTTSTDPCycles().setup(conv, load("digits", flatten=False), T=2, encoding="direct", seed=0)


def test_inhibition_widget_plot_and_checkers(capsys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnlab import exercises, plot, widgets

    torch.manual_seed(0)
    net = models.mlp(8, [16], 3)
    x, y = torch.rand(4, 10, 8), torch.randint(0, 3, (10,))
    w0 = net.layers[0].synapse.weight.detach().clone()
    r = widgets.simulate_inhibition(net, x, y, eta_i=0.2, steps=10)
    assert torch.equal(net.layers[0].synapse.weight, w0)  # the model itself is untouched
    assert r["sparsity_after"] >= r["sparsity_before"]
    assert r["firing_rate_after"] <= r["firing_rate_before"]
    records = [dict(epoch=1, phase="excitatory", test_acc=0.5, firing_rate=0.2,
                    weight_sparsity=0.0),
               dict(epoch=2, phase="inhibitory", test_acc=0.4, firing_rate=0.1,
                    weight_sparsity=0.1)]
    plot.phase_history(records)
    plt.close("all")
    assert exercises.check_stdp_traces(
        lambda pre, post, lam: stdp_correlations(pre, post, lam, lam))

    def no_clamp(W, P, D, eta, ap, am):
        return torch.where(W > 0, W + eta * (ap * P - am * D), W)

    assert not exercises.check_inhibitory_update(no_clamp)
    assert "below zero" in capsys.readouterr().out
    assert exercises.check_inhibitory_update(
        lambda W, P, D, eta, ap, am: inhibitory_update(W, P, D, eta=eta, a_plus=ap, a_minus=am))

"""EICIL-style cycle learning (reconstructed): schedule, STDP traces, update, learning."""

import pytest
import torch

from snnlab import models, rules, train
from snnlab.data import load
from snnlab.rules.eicil import (
    EICIL,
    inhibitory_update,
    phase_of,
    stdp_correlations,
    weight_sparsity,
)


def test_registered():
    assert "eicil" in rules.available()
    assert isinstance(rules.get("eicil", cycle=4), EICIL)


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


def test_no_inhibitory_epochs_is_bptt():
    data = load("digits")
    accs = []
    for rule, kw in (("bptt", {}), ("eicil", dict(inhibitory_epochs=0))):
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
    h = train(net, data, "eicil", T=4, epochs=6, seed=0, progress=False)
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
    g = EICIL().gradients(net, x, y)
    assert set(g) == {n for n, _ in net.named_parameters()}
    with pytest.raises(ValueError, match="cycle"):
        EICIL(cycle=0)
    with pytest.raises(ValueError, match="inhibitory_epochs"):
        EICIL(cycle=2, inhibitory_epochs=3)
    with pytest.raises(ValueError, match="order"):
        EICIL(order="II")
    with pytest.raises(ValueError, match="lambda_pre"):
        EICIL(lambda_pre=1.0)
    conv = models.convnet((1, 8, 8), [4], 10)
    with pytest.raises(ValueError, match="dense"):
        EICIL().setup(conv, load("digits", flatten=False), T=2, encoding="direct", seed=0)


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

"""Rate-based BP: eligibility vs autograd, closed-form rate backward, T=1 equals BPTT, memory."""

import pytest
import torch
import torch.nn.functional as TF

import snnlab
from snnlab import functional as F
from snnlab import neurons as N
from snnlab.metrics import SavedTensorMeter
from snnlab.models import mlp
from snnlab.rules.rate_bp import eligibility, spike_pass

RESETS = [("subtract", True), ("subtract", False), ("zero", True), ("zero", False),
          ("none", True)]


@pytest.mark.parametrize("mode,detach", RESETS)
def test_eligibility_is_autograd_of_rate_wrt_constant_input(mode, detach):
    """e = d(mean_t s[t])/dc for a constant input c, through the unrolled surrogate graph."""
    torch.manual_seed(0)
    neuron = N.LIF(beta=0.85, threshold=0.8, reset=mode, detach_reset=detach, surrogate="atan")
    c = (torch.rand(6, 5, dtype=torch.double) * 0.9).requires_grad_()
    T = 11
    s, u = F.lif_sequence_reference(c.expand(T, 6, 5), beta=0.85, threshold=0.8,
                                    reset_mode=mode, detach_reset=detach,
                                    surrogate=neuron.surrogate)
    (ref,) = torch.autograd.grad(s.mean(0).sum(), c)
    torch.testing.assert_close(eligibility(neuron, u.detach(), s.detach()), ref,
                               rtol=1e-10, atol=1e-12)


def test_eligibility_with_synaptic_current():
    neuron = N.SynapticLIF(alpha=0.6, beta=0.8, surrogate="atan")
    c = (torch.rand(4, 3, dtype=torch.double)).requires_grad_()
    T = 9
    i = F.leaky_integrate_reference(c.expand(T, 4, 3), 0.6)
    s, u = F.lif_sequence_reference(i, beta=0.8, surrogate=neuron.surrogate)
    (ref,) = torch.autograd.grad(s.mean(0).sum(), c)
    torch.testing.assert_close(eligibility(neuron, u.detach(), s.detach()), ref,
                               rtol=1e-10, atol=1e-12)


def test_rate_backward_matches_closed_form():
    """grad W_l = (e_l * delta r_l) r_{l-1}^T with delta r_{l-1} = W_l^T (e_l * delta r_l)."""
    torch.manual_seed(1)
    net = mlp(7, [9, 8], 4, beta=0.8).double()
    x = torch.rand(10, 5, 7, dtype=torch.double) * 1.5
    y = torch.randint(0, 4, (5,))
    g = snnlab.rules.get("rate_bp").gradients(net, x, y)
    st = spike_pass(net, x)
    d = (torch.softmax(st.logits, -1) - TF.one_hot(y, 4)) / 5 * st.readout_eligibility
    inputs = [x.mean(0), *st.rates]
    weights = [*(lay.synapse.weight for lay in net.layers), net.readout.synapse.weight]
    names = ["layers.0", "layers.1", "readout"]
    for li in (2, 1, 0):
        torch.testing.assert_close(g[f"{names[li]}.synapse.weight"], d.T @ inputs[li])
        torch.testing.assert_close(g[f"{names[li]}.synapse.bias"], d.sum(0))
        if li:
            d = (d @ weights[li].detach()) * st.eligibilities[li - 1]


@pytest.mark.parametrize("mode,detach", RESETS)
@pytest.mark.parametrize("readout", ["membrane", "count"])
def test_chunked_spike_pass_equals_whole(mode, detach, readout):
    torch.manual_seed(4)
    net = mlp(6, [9, 7], 3, beta=0.8, reset=mode, detach_reset=detach, readout=readout).double()
    x = torch.rand(11, 5, 6, dtype=torch.double) * 1.5
    whole = spike_pass(net, x)
    torch.testing.assert_close(whole.logits, net(x))
    for chunk in (1, 3, 4):
        part = spike_pass(net, x, chunk)
        torch.testing.assert_close(part.logits, whole.logits)
        torch.testing.assert_close(part.readout_eligibility, whole.readout_eligibility)
        for a, b in zip(part.rates + part.eligibilities, whole.rates + whole.eligibilities):
            torch.testing.assert_close(a, b)


def test_single_step_equals_bptt():
    torch.manual_seed(2)
    net = mlp(6, [8], 3, beta=0.8).double()
    x = torch.rand(1, 4, 6, dtype=torch.double) * 2
    y = torch.randint(0, 3, (4,))
    a = snnlab.rules.get("rate_bp").gradients(net, x, y)
    b = snnlab.rules.get("bptt").gradients(net, x, y)
    for k in b:
        torch.testing.assert_close(a[k], b[k])


def test_matches_bptt_on_a_rate_code_not_on_a_latency_code():
    torch.manual_seed(0)
    data = snnlab.data.load("digits")
    x, y = data.train.tensors[0][:128], data.train.tensors[1][:128]
    net = mlp(64, [128], 10)
    cos = {}
    for enc in ("direct", "latency"):
        cmp = snnlab.compare.gradients(net, snnlab.encode(x, 16, enc), y, ["rate_bp"])
        cos[enc] = cmp.value("rate_bp", "layers.0.synapse.weight")
    assert cos["direct"] > 0.97  # measured 0.992
    assert cos["latency"] < cos["direct"] - 0.05  # measured 0.836


def test_count_readout_and_loss_value():
    torch.manual_seed(3)
    net = mlp(6, [8], 3, readout="count")
    x = torch.rand(5, 4, 6) * 2
    y = torch.randint(0, 3, (4,))
    rule = snnlab.rules.get("rate_bp")
    torch.testing.assert_close(rule.loss(net, x, y), TF.cross_entropy(net(x), y))
    assert all(torch.isfinite(v).all() for v in rule.gradients(net, x, y).values())


def test_saved_memory_flat_in_T():
    torch.manual_seed(0)
    net = mlp(16, [64], 4)
    y = torch.randint(0, 4, (8,))
    peaks = {}
    for T in (4, 64):
        with SavedTensorMeter() as m:
            snnlab.rules.get("rate_bp").gradients(net, torch.rand(T, 8, 16), y)
        peaks[T] = m.peak_bytes
    assert peaks[64] <= 1.05 * peaks[4]


def test_refuses_first_spike_readout():
    net = mlp(4, [5], 2, readout="first_spike")
    with pytest.raises(ValueError, match="rate-coded readout"):
        snnlab.rules.get("rate_bp").loss(net, torch.rand(3, 2, 4), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="rate_bp"):
        snnlab.rules.get("rate_bp", lr=1.0)
    with pytest.raises(ValueError, match="chunk"):
        snnlab.rules.get("rate_bp", chunk=-1)


@pytest.mark.slow
def test_rate_bp_learns_digits():
    torch.set_num_threads(1)
    net = mlp(64, [128], 10)
    h = snnlab.train(net, "digits", "rate_bp", T=8, epochs=10, seed=0, progress=False)
    assert h.test_acc >= 0.93


# --------------------------------------------------------------------------- notebook 12 helpers
def test_rate_sensitivity_widget_and_dashboard():
    from snnlab import widgets

    r = widgets.simulate_rate_sensitivity(current=0.3, beta=0.9, T=16)
    neuron = N.LIF(beta=0.9)
    c = torch.tensor([[0.3]], dtype=torch.double)
    s, u = F.lif_sequence_reference(c.expand(16, 1, 1), beta=0.9, surrogate=neuron.surrogate)
    assert abs(r["eligibility"] - float(eligibility(neuron, u, s))) < 1e-9
    assert r["rate"] == float(s.mean()) and r["eligibility"] > 0
    assert bool((r["rates"].diff() >= 0).all())  # the staircase rises with the current
    with pytest.raises(ValueError, match="beta"):
        widgets.simulate_rate_sensitivity(beta=0.0)
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    dash = widgets.rate_sensitivity_dashboard(current=0.3)
    dash.controls["T"].value = 4
    assert dash.result["spikes"].shape == (4,)


def test_exercise_checkers(capsys):
    from snnlab import exercises

    def kappa(beta, T):
        out = [1.0]
        for _ in range(T - 1):
            out.append(1 + beta * out[-1])
        return torch.tensor(out)

    assert exercises.check_rate_kappa(kappa)
    assert not exercises.check_rate_kappa(lambda beta, T: torch.ones(T))
    assert exercises.check_rate_eligibility(lambda sg, k: (sg * k.view(-1, 1, 1)).mean(0))
    assert not exercises.check_rate_eligibility(lambda sg, k: (sg * k.view(-1, 1, 1)).sum(0))
    out = capsys.readouterr().out
    # the first failure names what is wrong and gives the idea (progressive hints: no equation yet)
    assert "leak's memory is missing" in out and "sum over t; the rate is a mean" in out


def test_dalif_input_gain_scales_the_eligibility():
    """DA-LIF's alpha is an input gain, not a synaptic filter: a DA-LIF with gain a on current I
    is a LIF on a*I, so its rate sensitivity to I is a times the LIF's."""
    from snnlab.neurons import DALIF, LIF
    from snnlab.rules.rate_bp import eligibility

    torch.manual_seed(0)
    cur = torch.rand(12, 4, 6) * 0.5
    dalif, lif = DALIF(alpha=1.7), LIF()
    with torch.no_grad():
        s_d, u_d = dalif.simulate(cur)
        s_l, u_l = lif.simulate(1.7 * cur)
    torch.testing.assert_close(s_d, s_l)
    torch.testing.assert_close(eligibility(dalif, u_d, s_d), 1.7 * eligibility(lif, u_l, s_l),
                               atol=1e-5, rtol=1e-5)

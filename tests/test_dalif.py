"""DA-LIF: reduces to LIF and PLIF, fused == unrolled (values and decay gradients), learns."""

import pytest
import torch

from snnlab import functional as F
from snnlab import models, neurons
from snnlab.neurons import DALIF, LIF, dalif_decays, dalif_per_channel
from snnlab.surrogate import FastSigmoid


def _current(seed=0, shape=(12, 4, 6)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g) * 0.8 + 0.4


def test_registered_and_usable_by_name():
    assert "dalif" in neurons.available()
    net = models.mlp(6, [8, 8], 3, neuron="dalif", beta=0.8)
    assert all(isinstance(n, DALIF) for n in net.neurons())
    assert net(torch.rand(4, 2, 6)).shape == (2, 3)
    names = {n for n, _ in net.named_parameters()}
    assert {"layers.0.neuron.alpha_raw", "layers.0.neuron.beta_logit"} <= names


def test_alpha_one_beta_fixed_equals_lif():
    x = _current()
    lif = LIF(beta=0.85)
    fixed = DALIF(beta=0.85, alpha=1.0, learn_alpha=False, learn_beta=False)
    learn = DALIF(beta=0.85, learn_beta=False)  # learnable alpha, initialised at 1
    s_ref, u_ref = lif.simulate(x)
    for n in (fixed, learn):
        s, u = n.simulate(x)
        torch.testing.assert_close(s, s_ref)
        torch.testing.assert_close(u, u_ref)
    # and the input gradient is LIF's too
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    (lif(xa) * torch.linspace(-1, 1, 6)).sum().backward()
    (learn(xb) * torch.linspace(-1, 1, 6)).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)


def _plif_reference(x, tau, threshold=1.0):
    """PLIF with decay_input (Fang et al. 2021): H = V + (X - V) / tau, soft reset here."""
    v = torch.zeros_like(x[0])
    out = []
    for x_t in x:
        h = v + (x_t - v) / tau
        s = (h > threshold).to(x.dtype)
        v = h - threshold * s
        out.append(s)
    return torch.stack(out)


def test_alpha_one_minus_beta_equals_plif():
    x = _current(1) * 3
    tau = 2.5
    n = DALIF(beta=1 - 1 / tau, alpha_param="sigmoid")  # alpha defaults to 1 - beta
    torch.testing.assert_close(n.alpha + n.beta, torch.tensor(1.0))
    torch.testing.assert_close(n(x), _plif_reference(x, tau))


class _FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward, 1 / (k|x| + 1)^2 backward - written here, not imported."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (ctx.k * x.abs() + 1.0) ** 2, None


def _paper_reference(x, a_raw, b_raw, *, threshold, reset, k, alpha_param="softplus"):
    """Eqs. (1)-(2) of the DALIF docstring as an explicit float64 loop over time steps:
    V = beta H + alpha X, S = Theta(V - V_th), H = V - V_th S (subtract) or V (1 - S) (zero),
    reset detached; alpha = softplus(a) or sigmoid(a), beta = sigmoid(b) computed here."""
    if alpha_param == "softplus":
        alpha = torch.log1p(torch.exp(a_raw))
    else:
        alpha = 1 / (1 + torch.exp(-a_raw))
    beta = 1 / (1 + torch.exp(-b_raw))
    h = torch.zeros_like(x[0])
    spikes, volts = [], []
    for t in range(x.shape[0]):
        v = beta * h + alpha * x[t]
        s = _FastSigmoidSpike.apply(v - threshold, k)
        sd = s.detach()
        h = v - threshold * sd if reset == "subtract" else v * (1.0 - sd)
        spikes.append(s)
        volts.append(v)
    return torch.stack(spikes), torch.stack(volts)


@pytest.mark.parametrize("reset,alpha_param,shape", [("subtract", "softplus", ()),
                                                     ("zero", "sigmoid", (6,)),
                                                     ("subtract", "softplus", (6,))])
def test_matches_the_papers_equations_unrolled_in_float64(reset, alpha_param, shape):
    """Values (spikes, membrane) and gradients (input, raw alpha, raw beta) of DALIF against an
    independent float64 loop of eqs. (1)-(2), with the parameter maps written out in the test."""
    x = _current(5).double() * 1.5
    n = DALIF(beta=0.7, alpha=0.8, shape=shape, reset=reset, alpha_param=alpha_param,
              surrogate=FastSigmoid(5)).double()
    w = torch.linspace(-1, 2, 6, dtype=torch.double)
    xa = x.clone().requires_grad_(True)
    s, u = n.simulate(xa)
    (s * w).sum().backward()
    a_raw = n.alpha_raw.detach().clone().requires_grad_(True)
    b_raw = n.beta_logit.detach().clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    s_ref, u_ref = _paper_reference(xb, a_raw, b_raw, threshold=1.0, reset=reset, k=5.0,
                                    alpha_param=alpha_param)
    (s_ref * w).sum().backward()
    assert s_ref.sum() > 0 and (s_ref == 0).any()  # the test exercises both branches
    torch.testing.assert_close(s, s_ref)
    torch.testing.assert_close(u, u_ref.detach())
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(n.alpha_raw.grad, a_raw.grad)
    torch.testing.assert_close(n.beta_logit.grad, b_raw.grad)


def test_special_cases_against_snnlab_lif():
    """alpha = 1 with beta fixed is LIF for both resets; the PLIF case alpha = 1 - beta is LIF
    driven by (1 - beta) X (so LIF on the scaled current)."""
    x = _current(6) * 2
    for reset in ("subtract", "zero"):
        d = DALIF(beta=0.8, alpha=1.0, learn_alpha=False, learn_beta=False, reset=reset)
        torch.testing.assert_close(d.simulate(x), LIF(beta=0.8, reset=reset).simulate(x))
    plif = DALIF(beta=0.6, alpha_param="sigmoid")
    torch.testing.assert_close(plif.simulate(x)[0], LIF(beta=0.6).simulate(0.4 * x)[0])


def test_alpha_is_a_reparameterisation_of_the_synapse():
    """With X = Wx + b, a per-neuron alpha equals LIF with W, b scaled row-wise by alpha: the
    function class is LIF's with a learnable beta (docstring, 'What alpha buys')."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 4)
    alpha = torch.tensor([0.5, 1.7, 0.9, 2.3])
    d = DALIF(beta=0.8, alpha=1.0, shape=(4,))
    with torch.no_grad():
        d.alpha_raw.copy_(torch.log(torch.expm1(alpha)))
    scaled = torch.nn.Linear(5, 4)
    with torch.no_grad():
        scaled.weight.copy_(lin.weight * alpha[:, None])
        scaled.bias.copy_(lin.bias * alpha)
    x = torch.rand(8, 3, 5) * 2
    torch.testing.assert_close(d.simulate(lin(x))[0], LIF(beta=0.8).simulate(scaled(x))[0])


@pytest.mark.parametrize("shape", [(), (6,)])
def test_fused_equals_unrolled_including_decay_gradients(shape):
    x = _current(2).double()
    n = DALIF(beta=0.7, alpha=0.9, shape=shape, surrogate=FastSigmoid(5)).double()
    grads = []
    for fused in (True, False):
        n.fused = fused
        n.zero_grad()
        xx = x.clone().requires_grad_(True)
        (n(xx) * torch.linspace(-1, 2, 6, dtype=torch.double)).sum().backward()
        grads.append((xx.grad, n.alpha_raw.grad.clone(), n.beta_logit.grad.clone()))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    assert grads[0][1].abs().sum() > 0 and grads[0][2].abs().sum() > 0


def test_step_matches_simulate():
    x = _current(3)
    n = DALIF(beta=0.6, alpha=1.3)
    s_seq, _ = n.simulate(x)
    state = n.init_state(x[0])
    steps = []
    for x_t in x:
        s, state = n.advance(x_t, state)
        steps.append(s)
    torch.testing.assert_close(torch.stack(steps), s_seq)


def test_decays_stay_in_range_under_extreme_parameters():
    n = DALIF(alpha_param="sigmoid")
    with torch.no_grad():
        n.alpha_raw.fill_(50.0)
        n.beta_logit.fill_(-50.0)
    assert 0 < float(n.beta.detach()) < 1 and 0 < float(n.alpha.detach()) <= 1
    m = DALIF()
    with torch.no_grad():
        m.alpha_raw.fill_(-50.0)
    assert float(m.alpha.detach()) > 0


def test_per_channel_mlp_and_convnet():
    net = dalif_per_channel(models.mlp(6, [5, 7], 3, neuron="dalif"))
    assert net.layers[0].neuron.alpha_raw.shape == (5,)
    assert net.layers[1].neuron.beta_logit.shape == (7,)
    out = net(torch.rand(3, 2, 6))
    out.sum().backward()
    assert net.layers[1].neuron.alpha_raw.grad.shape == (7,)
    conv = dalif_per_channel(models.convnet((1, 8, 8), [4], 3, neuron="dalif"))
    assert conv.layers[0].neuron.beta_logit.shape == (4, 1, 1)
    conv(torch.rand(2, 2, 1, 8, 8)).sum().backward()
    assert conv.layers[0].neuron.beta_logit.grad.shape == (4, 1, 1)
    rows = dalif_decays(net)
    assert [r["layer"] for r in rows] == [0, 1]
    assert rows[0]["alpha"] == pytest.approx(1.0, abs=1e-5)
    assert rows[0]["beta"] == pytest.approx(0.9, abs=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="alpha_param"):
        DALIF(alpha_param="tanh")
    with pytest.raises(ValueError, match="alpha"):
        DALIF(alpha=1.5, alpha_param="sigmoid")
    with pytest.raises(ValueError, match="alpha"):
        DALIF(alpha=0.0)
    with pytest.raises(ValueError, match="beta"):
        DALIF(beta=1.2)


def test_works_with_the_fused_loop_directly():
    """simulate is lif_sequence(alpha * current, beta=...) - the same fused kernel."""
    x = _current(4)
    n = DALIF(beta=0.75, alpha=0.6)
    s_ref, _ = F.lif_sequence(n.alpha * x, beta=n.beta, surrogate=n.surrogate)
    torch.testing.assert_close(n(x), s_ref)


@pytest.mark.slow
def test_claim_dalif_beats_lif_at_few_time_steps_does_not_hold_on_mnist1d():
    """The paper claims higher accuracy than LIF with fewer time steps. Paired test, MNIST-1D,
    bptt, T=2, 15 epochs, mlp(40, [128, 128], 10), seeds 0-4, DA-LIF started exactly as the LIF
    it is compared with (alpha 1, beta 0.9). Measured (AMD EPYC, 2 threads):

      T=2  LIF    0.298 0.297 0.322 0.347 0.324  mean 0.318
           DA-LIF 0.267 0.320 0.317 0.306 0.312  mean 0.304  (paired -1.3 points, 1/5 seeds up)
      T=4  LIF    0.265 0.307 0.288 0.284 0.315  mean 0.292
           DA-LIF 0.299 0.280 0.274 0.308 0.297  mean 0.292  (paired 0.0)
      T=8  LIF    0.354, DA-LIF 0.373 (paired +1.9, 5/5 seeds up)
      LIF with only a learnable beta (alpha fixed at 1): 0.292 / 0.286 / 0.378 at T=2 / 4 / 8.

    At T=8 DA-LIF gains, but a LIF with a learnable beta alone gains as much (+2.4): the gain is
    the learnable temporal decay, as the reparameterisation argument predicts (DALIF docstring).

    So the claim does not hold at this scale; the test asserts what was measured: no gain
    (DA-LIF's five-seed mean is not above LIF's by more than half a point) and no collapse
    (within 4 points). It replaces a test that asserted "at least as well" within a 2-point
    band at T=8 on two seeds, which let DA-LIF be 2 points worse while being named the claim."""
    from snnlab import train
    from snnlab.data import load

    data = load("mnist1d")
    acc = {}
    for neuron in ("lif", "dalif"):
        acc[neuron] = []
        for seed in range(5):
            torch.manual_seed(seed)
            net = models.mlp(40, [128, 128], 10, neuron=neuron)
            acc[neuron].append(train(net, data, "bptt", T=2, epochs=15, seed=seed,
                                     progress=False).test_acc)
    diff = [d - lif for d, lif in zip(acc["dalif"], acc["lif"])]
    mean_diff = sum(diff) / len(diff)
    assert mean_diff < 0.005, acc  # the claimed gain is absent
    assert mean_diff > -0.04, acc  # ...and DA-LIF still trains like a LIF


def test_decays_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnlab import plot

    net = dalif_per_channel(models.mlp(6, [5, 7], 3, neuron="dalif"))
    plot.decays_by_depth(dalif_decays(net))
    plt.close("all")
    with pytest.raises(TypeError, match="rows"):
        plot.decays_by_depth([])


@pytest.mark.parametrize("rule", ["bptt", "ottt", "ottt_o", "ltl", "bptt_stdp_cycles", "kd"])
def test_trains_with_lif_rules(rule):
    """DA-LIF is a drop-in LIF: rules that differentiate through the neuron also learn its
    decays (kd/ltl train their small teacher automatically)."""
    from snnlab import train
    from snnlab.data import load

    data = load("digits")
    torch.manual_seed(0)
    net = models.mlp(64, [32], 10, neuron="dalif")
    a0 = net.layers[0].neuron.alpha.detach().clone()
    b0 = net.layers[0].neuron.beta.detach().clone()
    kw = {"teacher_epochs": 1} if rule == "kd" else {}
    epochs = 3 if rule == "ottt_o" else 1  # per-step updates: LIF also needs 3 (0.108 after 1)
    h = train(net, data, rule, T=2, epochs=epochs, seed=0, progress=False, **kw)
    assert h.test_acc > 0.15
    n = net.layers[0].neuron
    moved = (n.alpha.detach() - a0).abs() + (n.beta.detach() - b0).abs()
    assert float(moved) > 0

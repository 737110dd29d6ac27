"""NIR export/import: exact round trips, the stated dt mapping checked against an independent
forward-Euler simulation of the NIR equations, snnTorch and Norse reading our files (same spikes,
or the documented difference), snnTorch's files read by snnlab, and clear errors."""

import copy
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from snnlab import models, neurons
from snnlab.nir import DEFAULT_DT, NIRExportError, decode_logits, from_nir, run_peer, to_nir
from snnlab.train import save_checkpoint

nir = pytest.importorskip("nir")


def _x(shape=(12, 4, 10), seed=0, scale=1.5):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * scale


def _net(seed=1, n_in=10, hidden=(16, 12), n_out=5, **kw):
    torch.manual_seed(seed)
    return models.mlp(n_in, list(hidden), n_out, **kw)


def _export(net, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return to_nir(net, *args, **kw)


@torch.no_grad()
def _same(a, b):
    ra, rb = a.run(_x()), b.run(_x())
    for sa, sb in zip(ra.spikes, rb.spikes):
        assert torch.equal(sa, sb)
    assert torch.equal(ra.logits, rb.logits)
    return ra


NEURONS = [
    dict(neuron="lif", beta=0.9),                                  # subtract (default)
    dict(neuron="lif", beta=0.8, reset="zero"),
    dict(neuron="if"),
    dict(neuron="if", reset="zero"),
    dict(neuron="lif_syn", alpha=0.7, beta=0.85, reset="zero"),
    dict(neuron="lif_syn", alpha=0.0, beta=0.9),
    dict(neuron="dalif", beta=0.85),
    dict(neuron="lif", beta=0.9, learn_beta=True, beta_shape=(16,), hidden=(16, 16)),
    dict(neuron="lif", beta=0.9, readout="count", reset="zero"),
    dict(neuron="lif", beta=0.9, readout="first_spike"),
    dict(neuron="lif", beta=0.9, threshold=0.7, surrogate="atan"),
]


# ------------------------------------------------------------------------- snnlab -> NIR -> snnlab
@pytest.mark.parametrize("kw", NEURONS, ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_round_trip_through_a_file_is_exact(kw, tmp_path):
    net = _net(**kw)
    if kw.get("learn_beta"):  # per-neuron decays that differ
        with torch.no_grad():
            for layer in net.layers:
                if layer.neuron.beta_logit is not None and layer.neuron.beta_logit.dim():
                    layer.neuron.beta_logit.add_(torch.linspace(-1, 1, 16))
    _export(net, tmp_path / "net.nir")
    back = from_nir(tmp_path / "net.nir")
    rec = _same(net, back)
    assert sum(rec.spike_counts()) > 0  # the comparison saw spikes
    for a, b in zip(net.neurons(), back.neurons()):
        assert type(a) is type(b) and a.reset_mode == b.reset_mode
        assert a.threshold == b.threshold and str(a.surrogate) == str(b.surrogate)
    assert back.readout.mode == net.readout.mode
    back.load_state_dict(net.state_dict())  # same architecture, same parameter names


@settings(max_examples=30, deadline=None)
@given(beta=st.floats(1e-3, 0.999), threshold=st.floats(0.05, 3.0), alpha=st.floats(0.0, 0.99),
       dt=st.floats(1e-6, 1e-2), reset=st.sampled_from(["zero", "subtract"]),
       neuron=st.sampled_from(["lif", "lif_syn"]))
def test_round_trip_is_exact_for_any_decay_threshold_and_dt(beta, threshold, alpha, dt, reset,
                                                             neuron):
    kw = dict(alpha=alpha) if neuron == "lif_syn" else {}
    net = _net(neuron=neuron, beta=beta, threshold=threshold, reset=reset, **kw)
    back = from_nir(to_nir(net, dt=dt, warn=False))
    for a, b in zip(net.neurons(), back.neurons()):
        assert a.beta == b.beta and a.threshold == b.threshold
        assert getattr(a, "alpha", None) == getattr(b, "alpha", None)
    _same(net, back)


def test_round_trip_per_channel_dalif_convnet(tmp_path):
    torch.manual_seed(0)
    net = models.convnet((1, 8, 8), (4, 6), 3, hidden=[10], neuron="dalif", beta=0.8)
    neurons.dalif_per_channel(net)
    with torch.no_grad():
        for n in net.neurons():
            n.alpha_raw.add_(torch.randn_like(n.alpha_raw) * 0.3)
            n.beta_logit.add_(torch.randn_like(n.beta_logit) * 0.3)
    g = _export(net, tmp_path / "c.nir")
    assert [type(g.nodes[k]).__name__ for k in ("layer0_0_conv", "layer0_1_pool", "layer0_dalif",
                                                "layer2_0_flatten")] == \
        ["Conv2d", "AvgPool2d", "CubaLIF", "Flatten"]
    back = from_nir(tmp_path / "c.nir")
    x = torch.rand(6, 2, 1, 8, 8) * 2
    with torch.no_grad():
        ra, rb = net.run(x), back.run(x)
    assert all(torch.equal(a, b) for a, b in zip(ra.spikes, rb.spikes))
    assert torch.allclose(ra.logits, rb.logits, atol=1e-6)
    assert sum(ra.spike_counts()) > 0
    for a, b in zip(net.neurons(), back.neurons()):
        assert torch.allclose(a.alpha, b.alpha, rtol=1e-6)
        assert torch.allclose(a.beta, b.beta, rtol=1e-6)


def test_export_from_checkpoint_path(tmp_path):
    net = _net(neuron="lif", reset="zero")
    save_checkpoint(tmp_path / "m.pt", net)
    to_nir(tmp_path / "m.pt", tmp_path / "m.nir")
    _same(net, from_nir(tmp_path / "m.nir"))


# --------------------------------------------------------------------------- the stated mapping
def _euler_reference(graph, x_seq, dt):
    """An independent forward-Euler simulation of a NIR chain, written from NIR's equations."""
    h = x_seq.double().numpy()
    for name in [n for n in graph.nodes if n not in ("input", "output")]:
        node = graph.nodes[name]
        if isinstance(node, nir.Affine):
            h = h @ node.weight.T + node.bias
        elif isinstance(node, nir.LIF):  # tau dv/dt = v_leak - v + R I; reset to v_reset
            v, out = np.zeros(h.shape[1:]), []
            for i_t in h:
                v = v + dt / node.tau * (node.v_leak - v + node.r * i_t)
                z = (v > node.v_threshold).astype(float)
                v = np.where(z > 0, node.v_reset, v)
                out.append(z)
            h = np.stack(out)
        elif isinstance(node, nir.CubaLIF):  # tau_syn di/dt = -i + w_in I, then the LIF
            i, v, out = np.zeros(h.shape[1:]), np.zeros(h.shape[1:]), []
            for s_t in h:
                i = i + dt / node.tau_syn * (-i + node.w_in * s_t)
                v = v + dt / node.tau_mem * (node.v_leak - v + node.r * i)
                z = (v > node.v_threshold).astype(float)
                v = np.where(z > 0, node.v_reset, v)
                out.append(z)
            h = np.stack(out)
        elif isinstance(node, nir.LI):
            v, out = np.zeros(h.shape[1:]), []
            for i_t in h:
                v = v + dt / node.tau * (node.v_leak - v + node.r * i_t)
                out.append(v)
            h = np.stack(out)
        else:
            raise AssertionError(type(node))
    return torch.from_numpy(h)


def _gain_and_tau(node, dt):
    """A (DA-)LIF node's input gain per step and membrane time constant, either form."""
    if isinstance(node, nir.CubaLIF):
        return node.w_in * dt / node.tau_syn * node.r * dt / node.tau_mem, node.tau_mem
    return node.r * dt / node.tau, node.tau


@pytest.mark.parametrize("kw", [dict(neuron="lif", beta=0.9, reset="zero"),
                                dict(neuron="lif_syn", alpha=0.6, beta=0.8, reset="zero"),
                                dict(neuron="dalif", beta=0.85, reset="zero")],
                         ids=["lif", "cubalif", "dalif"])
@pytest.mark.parametrize("lif_node", ["cubalif", "lif"])
@pytest.mark.parametrize("dt", [DEFAULT_DT, 1e-3])
def test_mapping_matches_a_forward_euler_simulation_of_nir(kw, lif_node, dt):
    net = _net(**kw)
    if kw["neuron"] == "dalif":
        with torch.no_grad():
            for n in net.neurons():
                n.alpha_raw.fill_(0.9)  # a spatial decay != 1, so the input gain matters
    g = _export(net, dt=dt, readout="li", lif_node=lif_node)
    lif = g.nodes["layer0_" + {"lif": "lif", "lif_syn": "cubalif", "dalif": "dalif"}[kw["neuron"]]]
    if kw["neuron"] != "lif_syn":
        assert type(lif).__name__ == {"cubalif": "CubaLIF", "lif": "LIF"}[lif_node]
        if lif_node == "cubalif":  # a synapse of one step: i = w_in I under forward Euler
            assert np.allclose(lif.tau_syn, dt)
    beta = float(torch.as_tensor(net.layers[0].neuron.beta).detach())
    gain, tau = _gain_and_tau(lif, dt)
    assert np.allclose(tau, dt / (1 - beta))
    if kw["neuron"] == "lif_syn":
        assert np.allclose(lif.tau_syn, dt / (1 - 0.6)) and np.allclose(lif.w_in, 1 / (1 - 0.6))
        gain = lif.r * dt / lif.tau_mem
    want = float(torch.as_tensor(getattr(net.layers[0].neuron, "alpha", 1.0)).detach())
    if kw["neuron"] == "lif_syn":
        want = 1.0
    assert np.allclose(gain, want)
    x = _x()
    rec = net.run(x)
    ref = _euler_reference(g, x, dt)
    assert torch.allclose(ref.float(), rec.readout_membrane, atol=1e-4)
    assert torch.allclose(ref.mean(0).float(), rec.logits, atol=1e-4)
    # the default form ends at the readout's Affine: the same logits, decoded as documented
    g = _export(net, dt=dt, lif_node=lif_node)
    assert list(g.nodes)[-2] == "readout_linear"
    current = _euler_reference(g, x, dt)
    assert torch.allclose(decode_logits(g, current).float(), rec.logits, atol=1e-4)


def test_if_and_readout_nodes():
    g = _export(_net(neuron="if"), readout="li")
    assert isinstance(g.nodes["layer0_if"], nir.IF) and np.all(g.nodes["layer0_if"].r == 1)
    assert isinstance(g.nodes["readout_i"], nir.I)
    g = _export(_net(neuron="lif", beta=0.9), readout="li")
    assert isinstance(g.nodes["readout_li"], nir.LI)
    assert g.metadata["snnlab"]["dt"] == DEFAULT_DT
    g = _export(_net(neuron="lif", beta=0.9))  # default: the membrane readout as its Affine
    assert list(g.nodes)[-2:] == ["readout_linear", "output"]
    assert g.metadata["snnlab"]["readout_form"] == "affine"
    assert "u[t] = 0.9 u[t-1] + y[t]" in g.metadata["snnlab"]["logits"]
    g = to_nir(_net(neuron="lif", reset="zero"), readout=False)
    assert list(g.nodes)[-2] == "layer1_lif" and g.metadata["snnlab"]["readout"] == "none"
    with pytest.raises(ValueError, match="no readout"):
        decode_logits(g, torch.zeros(3, 2, 12))


@pytest.mark.parametrize("readout", ["affine", "li"])
@pytest.mark.parametrize("beta", [0.0, 0.7, 1.0])
def test_readout_forms_round_trip_exactly(readout, beta, tmp_path):
    net = _net(neuron="lif", reset="zero")
    net.readout.beta = beta
    _export(net, tmp_path / "r.nir", readout=readout)
    back = from_nir(tmp_path / "r.nir")
    assert back.readout.beta == beta
    _same(net, back)


def test_subtract_reset_warns_and_foreign_readers_reset_to_zero():
    net = _net(neuron="lif", beta=0.9)  # reset="subtract"
    with pytest.warns(UserWarning, match="layer0, layer1: reset='subtract', but NIR 1.0 has "
                                         "no reset by subtraction"):
        g = to_nir(net)
    assert np.all(g.nodes["layer0_lif"].v_reset == 0)
    _same(net, from_nir(g))  # snnlab restores the subtraction from the metadata
    bare = copy.deepcopy(g)  # a reader without snnlab's metadata: the NIR spec, reset to zero
    for node in bare.nodes.values():
        node.metadata = {}
    zero = _net(neuron="lif", beta=0.9, reset="zero")
    back = from_nir(bare, dt=DEFAULT_DT)
    assert all(n.reset_mode == "zero" for n in back.neurons())
    _same(zero, back)
    rs, rz = net.run(_x()), zero.run(_x())
    assert any(not torch.equal(a, b) for a, b in zip(rs.spikes, rz.spikes))  # it matters


# --------------------------------------------------------------------------- snnTorch
def _no_readout(net):
    return to_nir(net, readout=False, warn=False)


@pytest.mark.parametrize("kw", [dict(neuron="lif", beta=0.9, reset="zero", threshold=0.4),
                                dict(neuron="lif_syn", alpha=0.7, beta=0.85, reset="zero"),
                                dict(neuron="dalif", beta=0.85, reset="zero", threshold=0.4)],
                         ids=["lif", "cubalif", "dalif"])
def test_snntorch_reads_our_export_with_identical_spikes(kw):
    """DA-LIF's input gain alpha = R dt/tau != 1: snnTorch divides the threshold by it instead
    (its ``hack_w_scale``), the same spikes for one alpha per layer."""
    pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    net = _net(**kw)
    if kw["neuron"] == "dalif":
        with torch.no_grad():
            for n in net.neurons():
                n.alpha_raw.fill_(0.7)  # alpha = softplus(0.7) = 1.10
    x = _x(scale=2.5)
    with torch.no_grad():
        ours = net.run(x).spikes[-1]
    theirs = run_peer(_no_readout(net), x, "snntorch")
    assert ours.sum() > 0 and torch.equal(theirs, ours)


def test_snntorch_reads_a_convnet_one_sample_at_a_time():
    pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    torch.manual_seed(0)
    net = models.convnet((1, 8, 8), (4, 6), 3, hidden=[10], neuron="lif", reset="zero",
                         threshold=0.1)
    x = torch.rand(6, 2, 1, 8, 8) * 3
    with torch.no_grad():
        ours = net.run(x).spikes[-1]
    theirs = run_peer(_no_readout(net), x, "snntorch")  # Conv2d, AvgPool2d, Flatten, Affine
    assert ours.sum() > 0 and torch.equal(theirs, ours)


def test_snntorch_documented_differences():
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch.import_nir import import_from_nir

    # 1. a subtracting LIF is read as reset-to-zero (NIR 1.0 has no subtraction)
    sub, zero = _net(neuron="lif", beta=0.9), _net(neuron="lif", beta=0.9, reset="zero")
    x = _x()
    theirs = run_peer(_no_readout(sub), x, "snntorch")
    assert torch.equal(theirs, zero.run(x).spikes[-1])
    assert not torch.equal(theirs, sub.run(x).spikes[-1])
    # 2. the readout's LI node (readout="li") has no snnTorch mapping; the default runs
    with pytest.raises(ValueError, match="Unknown node type"):
        run_peer(_export(zero, readout="li"), x, "snntorch")
    assert run_peer(_export(zero), x, "snntorch").shape == (12, 4, 5)
    # 3. NIR IF becomes Leaky(beta=0.9, reset "subtract", reset_delay=False): leaky
    g = to_nir(_net(neuron="if", reset="zero"), readout=False)
    g2 = nir.NIRGraph(nodes={"input": g.nodes["input"], "fc": g.nodes["layer0_linear"],
                             "if": g.nodes["layer0_if"], "output": nir.Output(
                                 output_type={"output": np.array([16])})},
                      edges=[("input", "fc"), ("fc", "if"), ("if", "output")])
    mod = [m for m in import_from_nir(copy.deepcopy(g2)).modules() if isinstance(m, snn.Leaky)]
    assert len(mod) == 1 and float(mod[0].beta) == pytest.approx(0.9)
    leaky = mod[0]
    cur = torch.rand(20, 3, 16) * 0.5  # inputs <= 0.5 keep u below 2 theta
    mem, spk = leaky.init_leaky(), []
    for c in cur:
        s, mem = leaky(c, mem)
        spk.append(s)
    s_lif, u_lif = neurons.LIF(beta=0.9, reset="subtract").simulate(cur)
    assert u_lif.max() < 2.0  # below 2 theta, where reset_delay=False is snnlab's subtraction
    assert torch.equal(torch.stack(spk), s_lif)


def test_snntorch_default_leaky_resets_one_step_later_without_leak():
    snn = pytest.importorskip("snntorch")
    cur = torch.randn(30, 4, 8) * 0.7 + 0.4
    for beta in (0.8, 1.0):
        leaky = snn.Leaky(beta=beta)  # reset "subtract", reset_delay=True (snnTorch's default)
        mem, spk, us = leaky.init_leaky(), [], []
        for c in cur:
            s, mem = leaky(c, mem)
            spk.append(s)
            us.append(mem)
        # documented recursion: u[t] = beta u[t-1] + I[t] - theta s[t-1]
        u, s_prev, ref = torch.zeros_like(cur[0]), torch.zeros_like(cur[0]), []
        for c in cur:
            u = beta * u + c - s_prev
            s_prev = (u > 1.0).float()
            ref.append(s_prev)
        assert torch.equal(torch.stack(spk), torch.stack(ref))
        ours = neurons.LIF(beta=beta).simulate(cur)[0]
        assert torch.equal(ours, torch.stack(spk)) == (beta == 1.0)


def test_snntorch_export_reads_into_snnlab():
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    import snntorch.utils
    from snntorch.export_nir import export_to_nir

    def make(reset):
        torch.manual_seed(3)
        # per-neuron beta/threshold tensors: snnTorch 1.0's scalar export fails NIR's type check
        return nn.Sequential(
            nn.Linear(10, 16),
            snn.Leaky(beta=torch.full((16,), 0.85), threshold=torch.ones(16), init_hidden=True,
                      reset_mechanism=reset),
            nn.Linear(16, 5),
            snn.Leaky(beta=torch.full((5,), 0.85), threshold=torch.ones(5), init_hidden=True,
                      output=True, reset_mechanism=reset))

    def run(net, x):
        snntorch.utils.reset(net)
        return torch.stack([net(x_t)[0] for x_t in x])

    x = _x(seed=4)
    for reset in ("zero", "subtract"):
        net = make(reset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = export_to_nir(net, torch.randn(1, 10), ignore_dims=[0])
        ours = from_nir(g)
        assert ours.readout.mode == "count"
        assert all(n.reset_mode == "zero" for n in ours.neurons())
        rec = ours.run(x)
        # snnTorch writes v_reset = 0 even for a subtracting Leaky: snnlab follows the file
        assert torch.equal(rec.readout_spikes, run(make("zero"), x))
        assert rec.readout_spikes.sum() > 0
        assert torch.equal(rec.logits, rec.readout_spikes.sum(0))


# --------------------------------------------------------------------------- Norse
def test_norse_reads_if_and_cubalif_exactly_and_lif_with_gain_one_minus_beta():
    pytest.importorskip("norse")
    x = _x()
    for kw in (dict(neuron="if", reset="zero"),
               dict(neuron="lif", beta=0.9, reset="zero"),  # written as CubaLIF(tau_syn=dt)
               dict(neuron="lif_syn", alpha=0.7, beta=0.85, reset="zero")):
        net = _net(**kw)
        ours = net.run(x).spikes[-1]
        assert ours.sum() > 0
        assert torch.equal(run_peer(_no_readout(net), x, "norse"), ours)
    # Written as NIR LIF, Norse ignores r: it integrates v += dt/tau (I - v), an input gain of
    # 1 - beta (why snnlab writes CubaLIF by default)
    net = _net(neuron="lif", beta=0.9, reset="zero")
    ours = net.run(x).spikes[-1]
    as_lif = to_nir(net, readout=False, lif_node="lif")
    assert not torch.equal(run_peer(as_lif, x, "norse"), ours)
    big = copy.deepcopy(net)  # so a network with currents / (1 - beta) gives snnlab's spikes
    with torch.no_grad():
        for layer in big.layers:
            layer.synapse.weight.div_(1 - 0.9)
            layer.synapse.bias.div_(1 - 0.9)
    assert ours.sum() > 0 and torch.equal(
        run_peer(to_nir(big, readout=False, lif_node="lif"), x, "norse"), ours)
    # a DA-LIF's gain alpha is w_in of its CubaLIF, which Norse honours (per channel too)
    da = _net(neuron="dalif", beta=0.85, reset="zero", threshold=0.4)
    neurons.dalif_per_channel(da)
    with torch.no_grad():
        for n in da.neurons():
            n.alpha_raw.add_(torch.linspace(-0.5, 0.5, n.alpha_raw.numel()).reshape(
                n.alpha_raw.shape))
    ours = da.run(x).spikes[-1]
    assert ours.sum() > 0 and torch.equal(run_peer(_no_readout(da), x, "norse"), ours)
    # Norse 1.1 has no AvgPool2d mapping: the graph is cut at the pooling node
    conv = models.convnet((1, 8, 8), (4, 6), 3, hidden=[6], neuron="if", reset="zero")
    with pytest.raises(KeyError, match="layer0_1_pool"):
        run_peer(_no_readout(conv), torch.rand(3, 2, 1, 8, 8), "norse")


def test_norse_subtracts_when_asked():
    pytest.importorskip("norse")
    x = _x(scale=2.5)
    for kw in (dict(neuron="lif", beta=0.9), dict(neuron="lif_syn", alpha=0.5, beta=0.9)):
        net = _net(**kw)  # reset="subtract"
        ours = net.run(x).spikes[-1]
        g = _no_readout(net)
        assert not torch.equal(run_peer(g, x, "norse"), ours)  # the file says: reset to zero
        assert torch.equal(run_peer(g, x, "norse", reset="subtract"), ours)
    with pytest.raises(ValueError, match="reset"):
        run_peer(g, x, "norse", reset="none")


# --------------------------------------------------------------------------- errors
def test_bad_files(tmp_path):
    (tmp_path / "notes.txt").write_text("not a graph")
    with pytest.raises(NIRExportError, match="is not a NIR file"):
        from_nir(tmp_path / "notes.txt")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:  # HDF5, but not a NIR graph
        f["x"] = 1
    with pytest.raises(NIRExportError, match="other.h5 is not a NIR file"):
        from_nir(tmp_path / "other.h5")
    with pytest.raises(FileNotFoundError):
        from_nir(tmp_path / "missing.nir")
    with pytest.raises(TypeError, match="nir.NIRGraph or a path"):
        from_nir(42)
    with pytest.raises(ValueError, match="dt"):
        from_nir(to_nir(_net(neuron="if"), warn=False), dt=-1)


def _graph(*pairs):
    nodes = {"input": nir.Input(input_type={"input": np.array([4])})}
    names = ["input"]
    for name, node in pairs:
        nodes[name] = node
        names.append(name)
    nodes["output"] = nir.Output(output_type={"output": np.array([3])})
    names.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:])))


def _affine():
    return nir.Affine(weight=np.ones((3, 4)), bias=np.zeros(3))


def _lif(**kw):
    p = dict(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3),
             v_threshold=np.ones(3))
    p.update(kw)
    return nir.LIF(**p)


def test_unsupported_nodes_name_the_node(tmp_path):
    g = _graph(("fc", _affine()), ("wait", nir.Delay(delay=np.ones(3))))
    with pytest.raises(NIRExportError, match="node 'wait' has type Delay"):
        from_nir(g)
    nir.write(str(tmp_path / "d.nir"), g)
    with pytest.raises(NIRExportError, match="'wait'"):
        from_nir(tmp_path / "d.nir")
    with pytest.raises(NIRExportError, match="node 'leaky': v_leak"):
        from_nir(_graph(("fc", _affine()), ("leaky", _lif(v_leak=np.full(3, 0.1)))))
    with pytest.raises(NIRExportError, match="node 'leaky': v_threshold differs"):
        from_nir(_graph(("fc", _affine()), ("leaky", _lif(v_threshold=np.array([1., 2, 3])))))
    with pytest.raises(NIRExportError, match="node 'fast'.*tau"):
        from_nir(_graph(("fc", _affine()), ("fast", _lif(tau=np.full(3, 1e-5)))))
    with pytest.raises(NIRExportError, match="node 'b'.*follows another neuron"):
        from_nir(_graph(("fc", _affine()), ("a", _lif()), ("b", _lif())))
    li = nir.LI(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3))
    with pytest.raises(NIRExportError, match="node 'li'.*readout"):
        from_nir(_graph(("fc", _affine()), ("li", li), ("fc2", nir.Affine(
            weight=np.ones((3, 3)), bias=np.zeros(3)))))
    branch = _graph(("fc", _affine()), ("a", _lif()))
    branch.edges.append(("fc", "output"))
    with pytest.raises(NIRExportError, match="node 'fc' .* 2 outgoing edges"):
        from_nir(branch)


def test_foreign_graph_defaults():
    # a LIF graph without snnlab metadata: dt = 1e-4, unit gain -> LIF with beta = 1 - dt/tau
    net = from_nir(_graph(("fc", _affine()), ("lif", _lif())))
    assert net.readout.mode == "count" and net.readout.neuron.beta == pytest.approx(0.9)
    assert net.readout.neuron.reset_mode == "zero"
    # an Affine straight into the output: the logits are the mean current
    net = from_nir(_graph(("fc", _affine())))
    assert net.readout.mode == "membrane" and net.readout.beta == 0.0
    x = torch.rand(5, 2, 4)
    assert torch.allclose(net(x), net.readout.synapse(x).mean(0))


def test_unsupported_models_name_the_layer():
    class MyLIF(neurons.LIF):
        pass

    net = _net(neuron="lif")
    net.layers[1].neuron = MyLIF()
    with pytest.raises(NIRExportError, match="layer1: neuron MyLIF has no NIR mapping"):
        to_nir(net, warn=False)
    net = _net(neuron="lif")
    net.layers[0].synapse = nn.Sequential(nn.Linear(10, 16), nn.ReLU())
    with pytest.raises(NIRExportError, match="layer0: module ReLU"):
        to_nir(net, warn=False)
    with pytest.raises(NIRExportError, match="reset='none'"):
        to_nir(_net(neuron="lif", reset="none"))
    with pytest.raises(TypeError, match="SpikingNet or a checkpoint path"):
        to_nir(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="dt must be"):
        to_nir(_net(neuron="if"), dt=0)


def test_dalif_is_a_lif_with_input_gain_and_imports_as_dalif():
    net = _net(neuron="dalif", beta=0.85)
    with torch.no_grad():
        for n in net.neurons():
            n.alpha_raw.fill_(0.5)
    a = float(net.layers[0].neuron.alpha.detach())
    g = _export(net)
    node = g.nodes["layer0_dalif"]
    assert isinstance(node, nir.CubaLIF) and np.allclose(node.w_in, a)
    assert np.allclose(node.r, 1 / (1 - 0.85)) and np.allclose(node.tau_syn, DEFAULT_DT)
    g_lif = _export(net, lif_node="lif")
    assert np.allclose(g_lif.nodes["layer0_dalif"].r, a / (1 - 0.85))
    for graph in (g, g_lif):
        back = from_nir(graph)
        assert type(back.layers[0].neuron) is neurons.DALIF
        _same(net, back)


def test_cli_export(tmp_path, capsys):
    from snnlab import cli

    net = _net(neuron="lif", reset="zero")
    save_checkpoint(tmp_path / "m.pt", net)
    assert cli.main(["export", "--checkpoint", str(tmp_path / "m.pt"), "--format", "nir",
                     str(tmp_path / "out.nir")]) == 0
    assert "out.nir" in capsys.readouterr().out
    _same(net, from_nir(tmp_path / "out.nir"))
    assert cli.main(["export", "--checkpoint", str(tmp_path / "nope.pt"), "--format", "nir",
                     str(tmp_path / "o.nir")]) == 2
    assert "does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------- notebook helpers
def test_nir_lif_parameters_and_readings():
    from snnlab.nir import nir_lif_parameters, simulate_readings

    p = nir_lif_parameters(0.9, 1e-4)
    assert p["tau"] == pytest.approx(1e-3) and p["r"] == pytest.approx(10.0)
    assert p["beta_euler"] == pytest.approx(0.9) and p["beta_exact"] == pytest.approx(
        np.exp(-0.1))
    r = simulate_readings(beta=0.9, current=0.3, T=40)
    euler = r["readers"]["forward Euler (snnlab, snnTorch)"]
    s, u = neurons.LIF(beta=0.9, reset="zero").simulate(torch.full((40, 1), 0.3))
    assert torch.equal(euler["spikes"].double(), s[:, 0].double())
    assert torch.allclose(euler["membrane"].double(), u[:, 0].double(), atol=1e-6)
    assert r["readers"]["Norse (ignores R)"]["spikes"].sum() == 0  # 0.3 * 0.1 never reaches 1
    with pytest.raises(ValueError, match="beta"):
        nir_lif_parameters(1.0)


def _readings_by_hand(b, gain, current, T, threshold):
    """The hand-written loop simulate_readings used before it called the neuron layer."""
    v, us, ss = 0.0, [], []
    for _ in range(T):
        u = b * v + gain * current
        s = float(u > threshold)
        v = u * (1.0 - s)  # NIR: reset to v_reset = 0
        us.append(u)
        ss.append(s)
    return {"membrane": torch.tensor(us), "spikes": torch.tensor(ss)}


@pytest.mark.parametrize("beta, current, T, threshold, dt", [
    (0.9, 0.3, 40, 1.0, 1e-4), (0.9, 1.5, 40, 1.0, 1e-4), (0.5, 0.7, 25, 0.8, 1e-3),
    (0.0, 2.0, 10, 1.0, 1e-4), (0.99, 0.05, 200, 1.0, 1e-4), (0.8, -0.4, 12, 0.5, 2e-4)])
def test_readings_use_the_neuron_layer_and_equal_the_hand_written_loop(beta, current, T,
                                                                       threshold, dt):
    from snnlab.nir import nir_lif_parameters, simulate_readings

    r = simulate_readings(beta=beta, current=current, T=T, threshold=threshold, dt=dt)
    p = nir_lif_parameters(beta, dt)
    assert r["params"] == p
    readers = {"forward Euler (snnlab, snnTorch)": (p["beta_euler"], 1.0),
               "exact exponential": (p["beta_exact"], (1 - p["beta_exact"]) * p["r"]),
               "Norse (ignores R)": (p["beta_euler"], 1.0 - p["beta_euler"])}
    assert list(r["readers"]) == list(readers)
    for name, (b, gain) in readers.items():
        ref = _readings_by_hand(b, gain, current, T, threshold)
        for k in ("membrane", "spikes"):
            assert r["readers"][name][k].dtype == ref[k].dtype == torch.float32
            assert torch.equal(r["readers"][name][k], ref[k]), (name, k)


def test_old_module_is_a_face_of_the_nir_package():
    import snnlab.export as face
    import snnlab.nir as package

    assert face.__all__ == package.__all__
    for name in face.__all__:
        assert getattr(face, name) is getattr(package, name)
    # inside snnlab.nir, `import nir` is the third-party package, not snnlab.nir
    from snnlab.nir.graph import load_nir

    assert load_nir() is nir and nir.__name__ == "nir" and hasattr(nir, "NIRGraph")


def test_notebook_checkers(capsys):
    import math

    from snnlab import exercises as E

    assert E.check_nir_lif(lambda b, dt: (dt / (1 - b), 1 / (1 - b)))
    assert not E.check_nir_lif(lambda b, dt: (-dt / math.log(b), 1 / (1 - b)))
    assert not E.check_nir_lif(lambda b, dt: (dt / (1 - b), 1.0))
    assert E.check_nir_euler_step(lambda v, i, tau, r, dt: v + dt / tau * (-v + r * i))
    assert not E.check_nir_euler_step(lambda v, i, tau, r, dt: v - dt / tau * v + r * i)
    out = capsys.readouterr().out
    assert out.count("✅") == 2 and out.count("❌") == 3


def test_readings_dashboard():
    pytest.importorskip("ipywidgets")
    import matplotlib

    from snnlab import widgets

    matplotlib.use("Agg")
    dash = widgets.nir_readings_dashboard(beta=0.9, current=0.3)
    counts = {k: int(v["spikes"].sum()) for k, v in dash.result["readers"].items()}
    assert counts["Norse (ignores R)"] == 0 and counts["forward Euler (snnlab, snnTorch)"] > 0
    dash.controls["current"].value = 1.5  # Norse's membrane now tends to 1.5 > threshold
    assert int(dash.result["readers"]["Norse (ignores R)"]["spikes"].sum()) > 0

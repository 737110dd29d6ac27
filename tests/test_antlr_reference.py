"""Independent references for ``antlr``/``timing``.

1. A literal float64 transcription of the released code's forward (with early termination),
   ``calc_loss``/``backward_custom`` (latency loss, no-spike penalty) and ``bpANTLR`` /
   ``tprop_dLdV_to_dLdT`` / ``prop_dLdV_to_dLdI('SRM')`` / ``prop_dLdI_to_dLdW``: explicit loops
   over time (descending) and layers (descending) on lists of per-step states, as the code does;
   written from the code, not from :mod:`snnlab.rules.antlr`, and compared on random networks
   with two and three hidden layers.
2. ``lam_tim = 0`` against plain autograd through the unrolled eqs. (1)-(3) (exp surrogate,
   detached reset gate), written here: it shares no code with the fused ANTLR sequence.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

from snnlab import rules as R
from snnlab.rules import antlr as A


def _net(sizes, seed, gain):
    g = torch.Generator().manual_seed(seed)
    net = A.make_model(sizes[0], sizes[1:-1], sizes[-1], seed=seed).double()
    with torch.no_grad():
        for lin in [layer.synapse for layer in net.layers] + [net.readout.synapse]:
            n_out, n_in = lin.weight.shape
            lin.weight.copy_((torch.randn(n_out, n_in, generator=g, dtype=torch.float64) + 0.6)
                             * gain / n_in ** 0.5)
    return net


def _input(T, B, n_in, seed):
    g = torch.Generator().manual_seed(seed + 100)
    t = torch.randint(0, T // 2, (B, n_in), generator=g)
    x = torch.zeros(T, B, n_in, dtype=torch.float64)
    x.scatter_(0, t.unsqueeze(0), 1.0)
    return x * (torch.rand(B, n_in, generator=g) > 0.2).double()  # some inputs silent


def official(net, x, y, *, lam_act, lam_tim, beta_sm=1 / 6, lam_ns=0.1, early=True):
    """The code, transcribed step by step (single model, fc layers, latency target).
    Returns the weight gradients (before the code's clip) and term_length."""
    Ws = [layer.synapse.weight.detach() for layer in net.layers] + \
         [net.readout.synapse.weight.detach()]
    neu = net.layers[0].neuron
    a_i, a_v, b_v, b_i = neu.alpha, neu.beta, neu.v_scale, 1.0
    th = neu.threshold
    L = len(Ws)
    T, B, _ = x.shape
    st_i = [[] for _ in range(L)]
    st_v = [[] for _ in range(L)]
    st_vp = [[] for _ in range(L)]
    st_s = [[] for _ in range(L)]
    out_cum = torch.zeros(B, Ws[-1].shape[0], dtype=torch.float64)
    # ---- forward (ListSNNMulti.forward)
    for t in range(T):
        for l in range(L):
            inp = x[t] if l == 0 else st_s[l - 1][-1]
            st_i[l].append(inp @ Ws[l].T * b_i)
            if t != 0:
                st_i[l][-1] = st_i[l][-1] + st_i[l][t - 1] * (1 - st_s[l][-1]) * a_i
            st_v[l].append(st_i[l][-1] * b_v)
            if t != 0:
                st_v[l][-1] = st_v[l][-1] + st_v[l][t - 1] * (1 - st_s[l][-1]) * a_v
            if t != 0:
                vp = st_v[l][-1] - st_v[l][-2] * (1 - st_s[l][-1])
            else:
                vp = st_v[l][-1]
            st_vp[l].append(torch.clamp(vp, min=1e-2))
            st_s[l].append((st_v[l][-1] > th).double())  # (the code: >=; equal never occurs)
        out_cum = out_cum + st_s[-1][-1]
        if early and bool((out_cum > 0).all()):
            break
    Tt = t + 1
    # ---- calc_loss / backward_custom (latency)
    output = torch.stack(st_s[-1]).permute(1, 0, 2)  # batch x time x neuron
    tl_m_tf = (output * torch.arange(Tt, 0, -1).view(1, -1, 1)).max(dim=1).values
    sm_inp = (tl_m_tf * beta_sm).requires_grad_(True)
    (TF.cross_entropy(sm_inp, y, reduction="none") / B).sum().backward()
    nospike = (torch.gather(output.sum(1), 1, y.view(-1, 1)) == 0).double() / B * lam_ns
    dLdS = torch.zeros(B, Ws[-1].shape[0], dtype=torch.float64).scatter_(
        1, y.view(-1, 1), -nospike).repeat(Tt, 1, 1)
    sm_grad = sm_inp.grad.clone()
    sm_grad[tl_m_tf == 0] = 0
    idxs = torch.clamp(Tt - tl_m_tf, 0, Tt - 1).long()
    dLdT = torch.zeros(Tt, B, Ws[-1].shape[0], dtype=torch.float64).scatter_(
        0, idxs.unsqueeze(0), sm_grad.unsqueeze(0) * (-beta_sm))

    # ---- bpANTLR
    def z(l):
        return [torch.zeros(B, Ws[l].shape[0], dtype=torch.float64) for _ in range(Tt)]

    t_grad, s_grad, v_grad, vdep, i_grad, ef1, ef2 = ([z(l) for l in range(L)]
                                                     for _ in range(7))
    for t in range(Tt - 1, -1, -1):
        for l in range(L - 1, -1, -1):
            if l == L - 1:
                t_grad[l][t] = dLdT[t]
                s_grad[l][t] = dLdS[t]
            else:
                u = l + 1  # tprop_dLdV_to_dLdT(t, l)
                if t != Tt - 1:
                    ef1[u][t] = -(-v_grad[u][t + 1] / 2) * (1 - st_s[u][t])
                    ef1[u][t] = ef1[u][t] + a_v * (1 - st_s[u][t]) * ef1[u][t + 1]
                    ef2[u][t] = a_i * (1 - st_s[u][t]) * ef2[u][t + 1]
                else:
                    ef1[u][t] = torch.zeros_like(ef1[u][t])
                    ef2[u][t] = torch.zeros_like(ef2[u][t])
                ef1[u][t] = ef1[u][t] + a_v * (-v_grad[u][t] / 2)
                ef2[u][t] = ef2[u][t] + b_v * a_i * (-v_grad[u][t] / 2)
                ef2[u][t] = ef2[u][t] + b_v * ef1[u][t]
                t_grad[l][t] = b_i * (ef2[u][t] @ Ws[u]) * st_s[l][t]   # prop_dLdI_to_dLdX 'T'
                s_grad[l][t] = b_i * (i_grad[u][t] @ Ws[u])             # prop_dLdI_to_dLdX 'S'
            eff = st_s[l][t] == 1
            act = torch.exp(-3.0 * (st_v[l][t] - th).abs()) * s_grad[l][t]
            tim = torch.zeros_like(act)
            tim[eff] = t_grad[l][t][eff] / -st_vp[l][t][eff]
            v_grad[l][t] = lam_act * act
            v_grad[l][t][eff] += lam_tim * tim[eff]
            vdep[l][t] = v_grad[l][t].clone()                           # prop_dLdV_to_dLdI SRM
            if t != Tt - 1:
                vdep[l][t] = vdep[l][t] + a_v * (1 - st_s[l][t]) * vdep[l][t + 1]
            i_grad[l][t] = b_v * vdep[l][t]
            if t != Tt - 1:
                i_grad[l][t] = i_grad[l][t] + a_i * (1 - st_s[l][t]) * i_grad[l][t + 1]
    grads = []
    for l in range(L):                                                   # prop_dLdI_to_dLdW
        hid = x[:Tt] if l == 0 else torch.stack(st_s[l - 1])
        ig = torch.stack(i_grad[l])
        grads.append(ig.reshape(-1, ig.shape[-1]).T @ hid.reshape(-1, hid.shape[-1]) * b_i)
    return grads, Tt


def _ours(net, x, y, **kw):
    rule = R.get("antlr", **kw)
    g = rule.gradients(net, x, y)
    names = [f"layers.{i}.synapse.weight" for i in range(len(net.layers))]
    return [g[n] for n in names + ["readout.synapse.weight"]], rule.log()["t_term"]


CASES = [((6, 9, 7, 4), 0, 1.6), ((6, 9, 7, 4), 1, 2.2), ((8, 10, 8, 6, 3), 2, 2.0),
         ((5, 12, 12, 3), 3, 1.2)]


@pytest.mark.parametrize("sizes,seed,gain", CASES)
@pytest.mark.parametrize("lams", [(1.0, 1.0), (0.5, 2.0), (0.0, 1.0), (1.0, 0.0)])
def test_combined_gradient_matches_the_official_backward(sizes, seed, gain, lams):
    torch.manual_seed(seed)
    net = _net(sizes, seed, gain)
    x = _input(24, 6, sizes[0], seed)
    y = torch.randint(0, sizes[-1], (6,))
    for early in (True, False):
        ref, t_ref = official(net, x, y, lam_act=lams[0], lam_tim=lams[1], early=early)
        got, t_got = _ours(net, x, y, lam_act=lams[0], lam_tim=lams[1], early_stop=early)
        assert t_got == t_ref
        for k, (a, b) in enumerate(zip(got, ref)):
            scale = float(b.abs().max())
            err = float((a - b).abs().max())
            assert err <= 1e-10 + 1e-9 * scale, (k, err, scale)
        if lams[1] and early is False:
            # the hidden layers really receive a timing error (not vacuous)
            assert any(float(g.abs().max()) > 0 for g in ref[:-1])


def test_reference_cases_exercise_both_routes_and_silent_targets():
    """Guard against a vacuous comparison: the cases spike in every layer, the timing route
    reaches the first layer, and one case has a silent target (no-spike penalty active)."""
    saw_silent = False
    for sizes, seed, gain in CASES:
        net = _net(sizes, seed, gain)
        x = _input(24, 6, sizes[0], seed)
        torch.manual_seed(seed)
        y = torch.randint(0, sizes[-1], (6,))
        rec = net.run(x)
        assert all(float(s.sum()) > 0 for s in rec.spikes)
        ref_t, _ = official(net, x, y, lam_act=0.0, lam_tim=1.0, early=False)
        assert float(ref_t[0].abs().max()) > 0
        out = rec.readout_spikes
        saw_silent |= bool((out.sum(0).gather(1, y.view(-1, 1)) == 0).any())
    assert saw_silent


# --------------------------------------------------------------------------- lam_tim = 0
class _ExpSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g * torch.exp(-3.0 * u.abs())


def _unrolled(net, x):
    """Eqs. (1)-(3) with plain autograd, reset gate detached; every layer's spikes."""
    syns = [layer.synapse for layer in net.layers] + [net.readout.synapse]
    n = net.layers[0].neuron
    h = x
    out = []
    for syn in syns:
        c = h @ syn.weight.T
        i = torch.zeros_like(c[0])
        v = torch.zeros_like(c[0])
        keep = torch.ones_like(c[0])
        spikes = []
        for t in range(c.shape[0]):
            i = n.alpha * keep * i + c[t]
            v = n.beta * keep * v + n.v_scale * i
            s = _ExpSpike.apply(v - n.threshold)
            keep = 1.0 - s.detach()
            spikes.append(s)
        h = torch.stack(spikes)
        out.append(h)
    return out


def _autograd_grads(net, loss):
    params = [layer.synapse.weight for layer in net.layers] + [net.readout.synapse.weight]
    return torch.autograd.grad(loss, params)


@pytest.mark.parametrize("sizes,seed,gain", CASES[:3])
def test_lam_tim_zero_equals_plain_bptt_count_loss(sizes, seed, gain):
    net = _net(sizes, seed, gain)
    x = _input(24, 6, sizes[0], seed)
    torch.manual_seed(seed)
    y = torch.randint(0, sizes[-1], (6,))
    ref = _autograd_grads(net, TF.cross_entropy(_unrolled(net, x)[-1].sum(0), y))
    got, _ = _ours(net, x, y, lam_act=1.0, lam_tim=0.0, loss="count")
    assert any(float(r.abs().max()) > 0 for r in ref)
    for a, b in zip(got, ref):
        assert float((a - b).abs().max()) <= 1e-12 + 1e-10 * float(b.abs().max())


@pytest.mark.parametrize("sizes,seed,gain", CASES)
def test_lam_tim_zero_equals_plain_bptt_latency_loss(sizes, seed, gain):
    """With lam_tim = 0 the latency loss reaches the network only through the no-spike
    penalty: the gradient of -lambda_ns/B * sum over silent targets of their spikes in the
    window (value 0), by plain autograd."""
    net = _net(sizes, seed, gain)
    x = _input(24, 6, sizes[0], seed)
    torch.manual_seed(seed)
    y = torch.randint(0, sizes[-1], (6,))
    s = _unrolled(net, x)[-1]
    fired = (torch.cumsum(s.detach(), 0) > 0).flatten(1).all(1)
    Tt = int(torch.nonzero(fired)[0]) + 1 if bool(fired.any()) else s.shape[0]
    tgt = s[:Tt].gather(2, y.view(1, -1, 1).expand(Tt, -1, 1)).squeeze(2)
    silent = (tgt.detach().sum(0) == 0).double()
    ref = _autograd_grads(net, -(0.1 / 6) * (silent * tgt).sum())
    got, t_got = _ours(net, x, y, lam_act=1.0, lam_tim=0.0)
    assert t_got == Tt
    for a, b in zip(got, ref):
        assert float((a - b).abs().max()) <= 1e-12 + 1e-10 * float(b.abs().max())

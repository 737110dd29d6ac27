"""NIR -> snnlab: build a :class:`~snnlab.models.SpikingNet` from a NIR graph or file.

The inverse of :mod:`snnlab.nir.export` (its docstring has the mapping). Graphs written by
snnlab carry snnlab's own description of every neuron in their metadata, so the round trip is
exact (reset by subtraction, surrogate, learnable decays included); foreign graphs (snnTorch's,
hand-made ones) are read with the same forward-Euler convention and the defaults named in
:func:`from_nir`.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from .. import neurons as N
from .. import readouts as RO
from .. import surrogate as S
from ..models import SpikingLayer, SpikingNet
from .graph import (
    DEFAULT_DT,
    SUPPORTED_NODES,
    NIRExportError,
    check_dt,
    load_nir,
    pair,
    read_graph,
    snnlab_metadata,
)

__all__ = ["from_nir"]


def _chain(graph) -> list[str]:
    """The node names from the input to the output; only feed-forward chains are supported."""
    nir = load_nir()
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise NIRExportError(f"the graph needs exactly one Input node, found {len(inputs)}")
    succ: dict[str, list[str]] = {}
    pred: dict[str, int] = {}
    for a, b in graph.edges:
        for n in (a, b):
            if n not in graph.nodes:
                raise NIRExportError(f"edge {a!r} -> {b!r} names a node {n!r} not in the graph")
        succ.setdefault(a, []).append(b)
        pred[b] = pred.get(b, 0) + 1
    order, name = [], inputs[0]
    while True:
        order.append(name)
        if isinstance(graph.nodes[name], nir.Output):
            break
        nxt = succ.get(name, [])
        if len(nxt) != 1:
            raise NIRExportError(f"node {name!r} ({type(graph.nodes[name]).__name__}) has "
                                 f"{len(nxt)} outgoing edges; snnlab imports feed-forward "
                                 "chains only")
        name = nxt[0]
        if name in order or pred.get(name, 0) > 1:
            raise NIRExportError(f"node {name!r} closes a loop or merges branches; snnlab "
                                 "imports feed-forward chains only")
    return order


def _uniform(name, node_name, arr) -> float:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size and not np.allclose(arr, arr.reshape(-1)[0], rtol=1e-6, atol=0):
        raise NIRExportError(f"node {node_name!r}: {name} differs between neurons; snnlab "
                             "neurons have one value per layer")
    return float(arr.reshape(-1)[0])


def _module_of(nir, node, name, shape):
    """A torch module for a synapse node, or None if the node is not a synapse."""
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = np.asarray(node.weight)
        if w.ndim != 2:
            raise NIRExportError(f"node {name!r}: {type(node).__name__} weight must be 2-D")
        bias = isinstance(node, nir.Affine) and node.bias is not None
        m = nn.Linear(w.shape[1], w.shape[0], bias=bias)
        with torch.no_grad():
            m.weight.copy_(t(w))
            if bias:
                m.bias.copy_(t(node.bias))
        return m
    if isinstance(node, nir.Conv2d):
        w = np.asarray(node.weight)
        pad = node.padding
        pad = pad if isinstance(pad, str) else pair(np.asarray(pad).tolist())
        m = nn.Conv2d(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[-2:]),
                      stride=pair(np.asarray(node.stride).tolist()), padding=pad,
                      dilation=pair(np.asarray(node.dilation).tolist()),
                      groups=int(node.groups))
        with torch.no_grad():
            m.weight.copy_(t(w))
            m.bias.copy_(t(node.bias) if node.bias is not None else torch.zeros(w.shape[0]))
        return m
    if isinstance(node, nir.AvgPool2d):
        return nn.AvgPool2d(pair(np.asarray(node.kernel_size).tolist()),
                            pair(np.asarray(node.stride).tolist()),
                            pair(np.asarray(node.padding).tolist()))
    if isinstance(node, nir.SumPool2d):
        if np.any(np.asarray(node.padding) != 0):
            raise NIRExportError(f"node {name!r}: SumPool2d with padding is not supported")
        return nn.LPPool2d(1, pair(np.asarray(node.kernel_size).tolist()),
                           pair(np.asarray(node.stride).tolist()))
    if isinstance(node, nir.Flatten):
        start, end = int(node.start_dim), int(node.end_dim)
        return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)
    return None


def _check_zero(node, name, field):
    v = getattr(node, field, None)
    if v is not None and not np.allclose(np.asarray(v, dtype=np.float64), 0.0):
        raise NIRExportError(f"node {name!r}: {field} != 0 is not supported by snnlab neurons "
                             f"(got mean {np.mean(v):g})")


def _decay(node, name, tau, dt, what="tau") -> np.ndarray:
    beta = 1.0 - dt / np.asarray(tau, dtype=np.float64)
    if np.any(beta < 0) or np.any(beta >= 1):
        raise NIRExportError(f"node {name!r}: {what} = {np.min(tau):g}..{np.max(tau):g} s gives "
                             f"a decay 1 - dt/{what} outside [0, 1) at dt = {dt:g} s; pass the "
                             "dt the graph was made for (from_nir(..., dt=...))")
    return beta


def _exact(meta_value, beta: float) -> float:
    """Prefer snnlab's own float when it agrees with the NIR parameters (exact round trips)."""
    if isinstance(meta_value, (int, float)) and abs(float(meta_value) - beta) < 1e-9:
        return float(meta_value)
    return beta


def _common_kw(meta, default_reset="zero") -> dict:
    kw = {"reset": meta.get("reset", default_reset)}
    if kw["reset"] not in ("subtract", "zero"):
        kw["reset"] = default_reset
    if "detach_reset" in meta:
        kw["detach_reset"] = bool(meta["detach_reset"])
    try:
        s = json.loads(meta.get("surrogate", "null")) or {}
        if s.get("name"):
            S.get(s["name"], s.get("scale"))  # only keep names this snnlab knows
            kw["surrogate"], kw["surrogate_scale"] = s["name"], s.get("scale")
    except Exception:  # noqa: BLE001 - a foreign or odd surrogate: keep the default
        pass
    return kw


def _set_beta(neuron, beta: np.ndarray, shape) -> None:
    """Per-neuron decays: a learnable ``beta_logit`` of ``shape`` (broadcast) holding them."""
    b = _reduce(beta, shape)
    b = np.clip(b, 1e-12, 1 - 1e-12)
    with torch.no_grad():
        neuron.beta_logit = nn.Parameter(torch.as_tensor(np.log(b / (1 - b)),
                                                         dtype=torch.float32))


def _reduce(arr: np.ndarray, shape) -> np.ndarray:
    """Take a per-neuron array down to a broadcastable parameter ``shape`` (e.g. (C, 1, 1))."""
    shape = tuple(int(s) for s in shape)
    arr = np.asarray(arr, dtype=np.float64)
    if shape == ():
        return np.asarray(arr.reshape(-1)[0])
    lead = arr.ndim - len(shape)
    idx = tuple([0] * lead + [slice(None) if s != 1 else slice(0, 1) for s in shape])
    out = arr[idx].reshape(shape)
    if not np.allclose(np.broadcast_to(out, arr.shape[lead:]), arr.reshape(arr.shape[lead:])
                       if lead == 0 else arr[(0,) * lead]):
        raise NIRExportError(f"per-neuron parameters do not fit the shape {shape}")
    return out


def _neuron_of(nir, node, name, shape, dt):
    """An snnlab neuron for a spiking NIR node (LIF, IF, CubaLIF)."""
    meta = snnlab_metadata(node)
    theta = _uniform("v_threshold", name, node.v_threshold)
    for f in ("v_leak", "v_reset"):
        _check_zero(node, name, f)
    kw = _common_kw(meta)
    if isinstance(node, nir.IF):
        gain = np.broadcast_to(np.asarray(node.r, dtype=np.float64), shape)
        if np.allclose(gain, 1.0, rtol=1e-6):
            return N.IF(threshold=theta, **kw)
        return _dalif(np.ones(shape), gain, theta, kw, meta, name)
    if isinstance(node, nir.LIF):
        tau = np.broadcast_to(np.asarray(node.tau, dtype=np.float64), shape)
        beta = _decay(node, name, tau, dt)
        gain = np.broadcast_to(np.asarray(node.r, dtype=np.float64), shape) * dt / tau
        if meta.get("neuron") == "dalif" or not np.allclose(gain, 1.0, rtol=1e-6):
            return _dalif(beta, gain, theta, kw, meta, name)
        return _lif(N.LIF, beta, theta, kw, meta, shape, {})
    if isinstance(node, nir.CubaLIF):
        tau_syn = np.broadcast_to(np.asarray(node.tau_syn, dtype=np.float64), shape)
        tau_mem = np.broadcast_to(np.asarray(node.tau_mem, dtype=np.float64), shape)
        alpha = _decay(node, name, tau_syn, dt, "tau_syn")
        beta = _decay(node, name, tau_mem, dt, "tau_mem")
        g_syn = np.asarray(node.w_in, dtype=np.float64) * dt / tau_syn
        g_mem = np.asarray(node.r, dtype=np.float64) * dt / tau_mem
        if meta.get("neuron") in ("lif", "dalif") or (
                meta.get("neuron") is None and np.allclose(alpha, 0.0, rtol=0, atol=1e-12)):
            # tau_syn = dt: the synapse passes w_in I straight on, a (DA-)LIF written as
            # CubaLIF (to_nir's default lif_node); its input gain is w_in * r dt/tau_mem
            if not np.allclose(alpha, 0.0, rtol=0, atol=1e-9):
                raise NIRExportError(f"node {name!r}: a LIF written as CubaLIF needs tau_syn = "
                                     f"dt = {dt:g} s, got {np.mean(tau_syn):g} s")
            gain = np.broadcast_to(g_syn * g_mem, shape)
            if meta.get("neuron") == "dalif" or not np.allclose(gain, 1.0, rtol=1e-6):
                return _dalif(beta, gain, theta, kw, meta, name)
            return _lif(N.LIF, beta, theta, kw, meta, shape, {})
        for what, g in (("w_in*dt/tau_syn", g_syn), ("r*dt/tau_mem", g_mem)):
            if not np.allclose(g, 1.0, rtol=1e-6):
                raise NIRExportError(f"node {name!r}: CubaLIF gain {what} = {np.mean(g):g}; "
                                     "snnlab's SynapticLIF needs unit gains")
        a = _exact(meta.get("alpha"), _uniform("tau_syn", name, alpha))
        return _lif(N.SynapticLIF, beta, theta, kw, meta, shape, {"alpha": a})
    raise NIRExportError(f"node {name!r} of type {type(node).__name__} is not a spiking neuron")


def _lif(cls, beta, theta, kw, meta, shape, extra):
    per_neuron = not np.allclose(beta, beta.reshape(-1)[0], rtol=1e-7, atol=0)
    b0 = _exact(meta.get("beta"), float(beta.reshape(-1)[0]))
    learn = bool(meta.get("learn_beta", False)) or per_neuron
    bshape = tuple(meta.get("beta_shape") or ()) if not per_neuron else shape
    if per_neuron and meta.get("beta_shape"):
        bshape = tuple(meta["beta_shape"])
    neuron = cls(beta=min(b0, 1 - 1e-4) if learn else b0, threshold=theta, learn_beta=learn,
                 beta_shape=bshape, **extra, **kw)
    if learn:
        _set_beta(neuron, beta, bshape)
    return neuron


def _dalif(beta, gain, theta, kw, meta, name):
    shape = tuple(meta.get("shape") or ())
    if not meta:  # a foreign graph: one value per neuron if they differ
        per = not (np.allclose(beta, beta.reshape(-1)[0]) and np.allclose(gain,
                                                                          gain.reshape(-1)[0]))
        shape = beta.shape if per else ()
    alpha_param = meta.get("alpha_param", "softplus")
    if np.any(gain <= 0):
        raise NIRExportError(f"node {name!r}: input gain must be positive for DA-LIF")
    if alpha_param == "sigmoid" and np.any(gain >= 1):
        alpha_param = "softplus"
    learn_a = bool(meta.get("learn_alpha", False))
    learn_b = bool(meta.get("learn_beta", False)) or (shape != () and not np.allclose(
        beta, beta.reshape(-1)[0]))
    b = _reduce(beta, shape)
    a = _reduce(gain, shape)
    n = N.DALIF(beta=min(float(b.reshape(-1)[0]), 1.0), alpha=float(a.reshape(-1)[0]),
            threshold=theta, learn_alpha=True, learn_beta=True, alpha_param=alpha_param,
            shape=shape, **kw)
    with torch.no_grad():
        raw = (np.log(a / (1 - a)) if alpha_param == "sigmoid" else a + np.log(-np.expm1(-a)))
        n.alpha_raw = nn.Parameter(torch.as_tensor(raw, dtype=torch.float32))
        bb = np.clip(b, 1e-12, 1 - 1e-7)
        n.beta_logit = nn.Parameter(torch.as_tensor(np.log(bb / (1 - bb)), dtype=torch.float32))
    if not learn_a:
        n.alpha_raw.requires_grad_(False)
    if not learn_b:
        n.beta_logit.requires_grad_(False)
    return n


def from_nir(graph_or_path, *, dt: float | None = None) -> SpikingNet:
    """Build a :class:`~snnlab.models.SpikingNet` from a NIR graph or ``.nir`` file.

    The graph must be a feed-forward chain ``Input -> (synapse nodes -> neuron)... -> Output``.
    The last stage becomes the readout: ``LI``/``I`` -> ``"membrane"`` (mean membrane over
    time), a spiking neuron -> ``"count"`` (or what the graph's snnlab metadata says), a
    synapse with no neuron after it -> ``"membrane"`` with the ``readout_beta`` of snnlab's
    metadata (``to_nir``'s default ``readout="affine"``), else ``beta = 0`` (logits = mean
    current). A ``CubaLIF`` with ``tau_syn = dt`` is a LIF (``to_nir``'s default
    ``lif_node``), a DA-LIF where its input gain is not 1.

    Args:
        graph_or_path: a ``nir.NIRGraph`` or the path of a NIR (HDF5) file.
        dt: time step in seconds; default: the one recorded by :func:`to_nir`, else ``1e-4``
            (snnTorch's).

    Raises:
        NIRExportError (a ``ValueError``) naming the node that cannot be mapped.
    """
    nir = load_nir()
    graph = read_graph(graph_or_path)
    gmeta = snnlab_metadata(graph)
    dt = check_dt(gmeta.get("dt", DEFAULT_DT) if dt is None else dt)
    for name, node in graph.nodes.items():
        if type(node).__name__ not in SUPPORTED_NODES:
            raise NIRExportError(f"node {name!r} has type {type(node).__name__}, which snnlab "
                                 f"cannot import (supported: {', '.join(SUPPORTED_NODES)})")
    order = _chain(graph)
    in_node = graph.nodes[order[0]]
    in_shape = tuple(int(d) for d in np.asarray(next(iter(in_node.input_type.values()))))
    if "input_shape" in gmeta:
        in_shape = tuple(int(d) for d in gmeta["input_shape"])
    stages, pending, shape = [], [], in_shape
    for name in order[1:-1]:
        node = graph.nodes[name]
        mod = _module_of(nir, node, name, shape)
        if mod is not None:
            pending.append(mod)
            try:
                with torch.no_grad():
                    shape = tuple(mod(torch.zeros(1, *shape)).shape[1:])
            except RuntimeError as e:
                raise NIRExportError(f"node {name!r} ({type(node).__name__}) does not fit an "
                                     f"input of shape {shape}: {str(e).splitlines()[0]}") from None
            continue
        if not pending:
            raise NIRExportError(f"node {name!r} ({type(node).__name__}) follows another neuron "
                                 "with no synapse in between; snnlab layers are synapse->neuron")
        syn = pending[0] if len(pending) == 1 else nn.Sequential(*pending)
        pending = []
        if isinstance(node, (nir.LI, nir.I)):
            if name != order[-2]:
                raise NIRExportError(f"node {name!r} ({type(node).__name__}) is non-spiking; "
                                     "snnlab supports it only as the readout (the last node)")
            stages.append((name, syn, node))
        else:
            stages.append((name, syn, _neuron_of(nir, node, name, shape, dt)))
    if pending:  # a synapse straight into the output: logits = mean current
        syn = pending[0] if len(pending) == 1 else nn.Sequential(*pending)
        stages.append((order[-2], syn, None))
    if not stages:
        raise NIRExportError("the graph has no layer between its input and output")
    if not any(isinstance(m, nn.Linear) for m in stages[-1][1].modules()):
        raise NIRExportError(f"node {stages[-1][0]!r}: the readout must contain a Linear/Affine "
                             "layer (snnlab's logits come from one)")
    *hidden, (rname, rsyn, rnode) = stages
    layers = [SpikingLayer(syn, neuron) for _, syn, neuron in hidden]
    mode = gmeta.get("readout", "count")
    if rnode is None:  # logits = mean of u[t] = beta u[t-1] + I[t]; beta = 0 for foreign graphs
        beta = gmeta.get("readout_beta") if (gmeta.get("readout") == "membrane" and
                                             gmeta.get("readout_form") == "affine") else 0.0
        head = RO.make("membrane", rsyn, beta=float(beta))
    elif isinstance(rnode, nir.LI):
        _check_zero(rnode, rname, "v_leak")
        tau = np.asarray(rnode.tau, dtype=np.float64)
        beta = _decay(rnode, rname, tau, dt)
        if not np.allclose(np.asarray(rnode.r) * dt / tau, 1.0, rtol=1e-6):
            raise NIRExportError(f"node {rname!r}: LI readout needs unit gain r*dt/tau = 1")
        b = _exact(gmeta.get("readout_beta"), _uniform("tau", rname, beta))
        head = RO.make("membrane", rsyn, beta=b)
    elif isinstance(rnode, nir.I):
        if not np.allclose(np.asarray(rnode.r), 1.0, rtol=1e-6):
            raise NIRExportError(f"node {rname!r}: I readout needs r = 1 (per-step gain)")
        head = RO.make("membrane", rsyn, beta=1.0)
    else:
        head = RO.make(mode if mode in ("count", "first_spike") else "count", rsyn,
                       neuron=rnode)
    config = {}
    if "config" in gmeta and gmeta.get("readout") not in (None, "none"):
        try:
            config = json.loads(gmeta["config"])
        except (TypeError, ValueError):
            config = {}
    return SpikingNet(layers, head, in_shape, config)

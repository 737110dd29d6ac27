r"""Deploy what you trained: export a :class:`~snnlab.models.SpikingNet` to the Neuromorphic
Intermediate Representation (NIR) and import NIR graphs back.

NIR (Pedersen et al., *Nature Communications* 15, 8122, 2024; PyPI ``nir``) describes a spiking
network as a graph of continuous-time primitives. By NIR's support table (neuroir.org) the
simulators snnTorch, Norse, Sinabs, Rockpool, Lava-DL, Nengo and Spyx read it, and through them
Loihi 2, SpiNNaker2, Speck, Xylo and BrainScaleS-2. The tests run snnTorch and Norse.

The discretisation (the one convention that must be stated)
------------------------------------------------------------
snnlab is discrete (:mod:`snnlab.functional`): ``u[t] = beta v[t-1] + I[t]``, spike where
``u > theta`` (strict), then subtract ``theta`` or reset to zero. NIR's LIF is continuous,

.. math::

    \tau\,\dot v = (v_{leak} - v) + R\,I, \qquad z = H(v - v_{thr}), \qquad
    v \leftarrow v_{reset} \text{ where } z = 1.

We read one snnlab step as one **forward-Euler** step of length ``dt`` (default ``1e-4`` s,
the value snnTorch's exporter and importer hard-code; Norse takes ``dt`` as an argument):
``v += dt/tau (v_leak - v + R I)``, i.e. ``beta = 1 - dt/tau`` and an input gain of
``R dt / tau``. Unit gain, as in snnlab, needs ``R = tau / dt``. So, exactly:

=====================  ==========================================================================
snnlab                  NIR node (``v_leak = 0``, ``v_reset = 0``)
=====================  ==========================================================================
``LIF(beta)``           ``LIF(tau = dt/(1-beta), r = 1/(1-beta), v_threshold = theta)``
``IF``                  ``IF(r = 1, v_threshold = theta)`` - NIR's IF has no time constant; like
                        snnTorch (which asserts ``r == 1``) and Norse (which adds ``R I`` each
                        step) we read ``R`` as the gain per step
``SynapticLIF``         ``CubaLIF(tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta),``
  ``(alpha, beta)``     ``w_in = 1/(1-alpha), r = 1/(1-beta))``: ``i = alpha i + I`` then
                        ``v = beta v + i`` with the *new* current (semi-implicit Euler, as
                        snnTorch and Norse step it)
``DALIF(alpha, beta)``  ``LIF(tau = dt/(1-beta), r = alpha/(1-beta))``: the learned spatial
                        decay is the input gain ``R dt / tau``, per channel if learned so
membrane readout        ``Affine -> LI(tau = dt/(1-beta), r = 1/(1-beta))`` (``I(r=1)`` when
                        ``beta = 1``); logits are the mean of its membrane over the T steps
count readout           ``Affine -> LIF/IF/CubaLIF``; logits are the output spike counts
``nn.Linear``           ``Affine`` (``Linear`` without bias)
``nn.Conv2d``           ``Conv2d``; ``nn.AvgPool2d`` -> ``AvgPool2d``; ``nn.Flatten`` -> ``Flatten``
=====================  ==========================================================================

(A reader that integrates the equation exactly over each step decays by ``exp(-dt/tau)``
instead: the same file then gives ``beta' = exp(-(1-beta))``, 0.9048 at ``beta = 0.9``, and an
input gain ``(1 - beta') / (1 - beta)``. The export records ``dt`` and
``"discretisation": "forward-euler"`` in the graph's metadata so a reader can tell.)

Where the conventions differ (tested in ``tests/test_export.py``)
-----------------------------------------------------------------
* **Reset by subtraction does not exist in NIR 1.0**: its neurons reset to ``v_reset``. A
  ``reset="subtract"`` neuron is exported as a hard reset with a warning, and its true reset
  mode is kept in the node's metadata so :func:`from_nir` restores it exactly. Other readers
  simulate reset-to-zero. Train with ``reset="zero"`` for an export every reader runs exactly.
* **snnTorch** (``snntorch.import_nir``) builds ``Leaky(beta = 1 - dt/tau, reset "zero",
  reset_delay=False)``, which is snnlab's zero-reset LIF step for step: identical spikes
  (``CubaLIF`` -> ``Synaptic`` likewise; a DA-LIF's input gain ``alpha`` becomes a threshold
  divided by ``alpha``, the same spikes while ``alpha`` is one value per layer). It
  imports NIR ``IF`` as ``Leaky(beta=0.9, reset "subtract", reset_delay=False,
  init_hidden=False)``: a leaky neuron (a snnTorch quirk) that equals snnlab
  ``LIF(beta=0.9, reset="subtract")`` while ``u < 2 theta`` (above, snnTorch's
  ``reset_delay=False`` bookkeeping subtracts once more the next step); and as it returns
  ``(spikes, membrane)``, snnTorch 1.0's graph cannot pass it to the next layer. It has no
  mapping for ``LI``/``I``, so export with ``readout=False`` (the graph ends at the last
  hidden spikes) for snnTorch. snnTorch's *default* ``Leaky`` (``reset_delay=True``) subtracts
  the threshold one step later and without leak, ``u[t] = beta u[t-1] + I[t] - theta s[t-1]``
  (snnlab: ``- beta theta s[t-1]``); the two agree for ``beta = 1`` or a zero reset.
* **Norse** (``norse.torch.from_nir(graph, dt=dt)``) ignores ``r`` on ``LIF`` (it logs a
  warning) and integrates ``v += dt/tau (I - v)``, an input gain of ``1 - beta`` instead of 1:
  Norse's LIF layer equals snnlab's fed with ``(1 - beta) I`` (a DA-LIF's ``alpha`` is lost
  the same way). Its ``IF`` (``v += I``, reset
  to zero) and ``CubaLIF`` (honours ``w_in`` and ``r``) equal snnlab's zero-reset neurons
  exactly. Norse has no ``AvgPool2d``/``LI`` mapping either: the graph is cut there.
* snnTorch 1.0 imports NIR ``Flatten(start_dim=0)`` as ``nn.Flatten(0, -1)`` (the batch is
  flattened too): :func:`run_peer` runs such graphs one sample at a time.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import neurons as N
from .models import Readout, SpikingLayer, SpikingNet

__all__ = ["to_nir", "from_nir", "DEFAULT_DT", "SUPPORTED_NODES", "NIRExportError"]

DEFAULT_DT = 1e-4
FORMAT = 1
SUPPORTED_NODES = ("Input", "Output", "Affine", "Linear", "Conv2d", "AvgPool2d", "SumPool2d",
                   "Flatten", "IF", "LIF", "CubaLIF", "LI", "I")


class NIRExportError(ValueError):
    """A model or a graph that cannot be mapped; the message names the layer or node."""


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is in the test and lab extras
        raise ImportError("NIR export needs the 'nir' package: pip install nir") from None
    return nir


# --------------------------------------------------------------------------- export
def _arr(value, shape) -> np.ndarray:
    """A parameter (float or tensor broadcastable to ``shape``) as a float64 array of ``shape``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), shape))


def _synapse_nodes(nir, module: nn.Module, in_shape: tuple, where: str) -> list:
    """NIR nodes for one synapse (Linear, Conv2d, AvgPool2d, Flatten or a Sequential of them)."""
    mods = list(module) if isinstance(module, nn.Sequential) else [module]
    out, shape = [], in_shape
    for m in mods:
        if isinstance(m, nn.Sequential):
            out += _synapse_nodes(nir, m, shape, where)
        elif isinstance(m, nn.Linear):
            w = m.weight.detach().cpu().double().numpy()
            node = (nir.Linear(weight=w) if m.bias is None else
                    nir.Affine(weight=w, bias=m.bias.detach().cpu().double().numpy()))
            out.append(("linear", node))
        elif isinstance(m, nn.Conv2d):
            if m.padding_mode != "zeros":
                raise NIRExportError(f"{where}: Conv2d padding_mode {m.padding_mode!r} has no "
                                     "NIR equivalent (only zero padding)")
            w = m.weight.detach().cpu().double().numpy()
            b = (np.zeros(w.shape[0]) if m.bias is None
                 else m.bias.detach().cpu().double().numpy())
            pad = m.padding if isinstance(m.padding, str) else tuple(m.padding)
            out.append(("conv", nir.Conv2d(input_shape=tuple(shape[1:]), weight=w,
                                           stride=tuple(m.stride), padding=pad,
                                           dilation=tuple(m.dilation), groups=m.groups,
                                           bias=b)))
        elif isinstance(m, nn.AvgPool2d):
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            if m.ceil_mode or (_pair(m.padding) != (0, 0) and not m.count_include_pad):
                raise NIRExportError(f"{where}: AvgPool2d with ceil_mode or "
                                     "count_include_pad=False has no NIR equivalent")
            out.append(("pool", nir.AvgPool2d(kernel_size=np.array(k), stride=np.array(s),
                                              padding=np.array(_pair(m.padding)))))
        elif isinstance(m, nn.Flatten):
            start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
            end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
            out.append(("flatten", nir.Flatten(input_type={"input": np.array(shape)},
                                               start_dim=start, end_dim=end)))
        elif isinstance(m, nn.Identity):
            pass
        else:
            raise NIRExportError(f"{where}: module {type(m).__name__} has no NIR mapping "
                                 "(supported: Linear, Conv2d, AvgPool2d, Flatten)")
        with torch.no_grad():
            shape = tuple(m(torch.zeros(1, *shape)).shape[1:])
    return out


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)


def _euler(beta: np.ndarray, dt: float, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``tau = dt / (1 - beta)`` and the unit-gain resistance ``R = 1 / (1 - beta)``."""
    if np.any(beta >= 1.0) or np.any(beta < 0.0):
        raise NIRExportError(f"{where}: decay {beta.min():g}..{beta.max():g} outside [0, 1)")
    return dt / (1.0 - beta), 1.0 / (1.0 - beta)


def _neuron_node(nir, neuron: nn.Module, shape: tuple, dt: float, where: str):
    """The NIR node of one snnlab neuron, with snnlab's own description in its metadata."""
    theta = np.full(shape, float(neuron.threshold))
    zeros = np.zeros(shape)
    meta = {"neuron": getattr(neuron, "kind", type(neuron).__name__),
            "reset": neuron.reset_mode, "threshold": float(neuron.threshold),
            "detach_reset": bool(neuron.detach_reset),
            "surrogate": json.dumps(_surrogate_spec(neuron))}
    if neuron.reset_mode == "none":
        raise NIRExportError(f"{where}: reset='none' has no NIR equivalent")
    dalif = getattr(N, "DALIF", None)
    kind = type(neuron)
    if kind is N.IF or (kind is N.LIF and not isinstance(neuron.beta, torch.Tensor)
                        and float(neuron.beta) == 1.0):
        return "if", nir.IF(r=np.ones(shape), v_threshold=theta, v_reset=zeros,
                            metadata={"snnlab": meta})
    if kind is N.LIF:
        beta = _arr(neuron.beta, shape)
        tau, r = _euler(beta, dt, where)
        meta.update(learn_beta=neuron.beta_logit is not None,
                    beta_shape=list(neuron.beta_logit.shape) if neuron.beta_logit is not None
                    else [])
        if neuron.beta_logit is None:
            meta["beta"] = float(neuron.beta)
        return "lif", nir.LIF(tau=tau, r=r, v_leak=zeros, v_threshold=theta, v_reset=zeros,
                              metadata={"snnlab": meta})
    if kind is N.SynapticLIF:
        alpha = _arr(neuron.alpha, shape)
        beta = _arr(neuron.beta, shape)
        tau_syn, w_in = _euler(alpha, dt, where)
        tau_mem, r = _euler(beta, dt, where)
        meta.update(alpha=float(neuron.alpha), learn_beta=neuron.beta_logit is not None,
                    beta_shape=list(neuron.beta_logit.shape) if neuron.beta_logit is not None
                    else [])
        if neuron.beta_logit is None:
            meta["beta"] = float(neuron.beta)
        return "cubalif", nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=r, v_leak=zeros,
                                      v_threshold=theta, v_reset=zeros, w_in=w_in,
                                      metadata={"snnlab": meta})
    if dalif is not None and kind is dalif:
        # u = beta v + alpha I: a LIF whose input gain R dt / tau is the spatial decay alpha
        beta = _arr(neuron.beta, shape)
        alpha = _arr(neuron.alpha, shape)
        if np.any(beta >= 1.0):
            raise NIRExportError(f"{where}: DA-LIF with beta = 1 has no NIR LIF equivalent")
        tau, r = _euler(beta, dt, where)
        meta.update(alpha_param=neuron.alpha_param,
                    learn_alpha=neuron.alpha_raw is not None,
                    learn_beta=neuron.beta_logit is not None,
                    shape=list(neuron.alpha_raw.shape if neuron.alpha_raw is not None else
                               neuron.beta_logit.shape if neuron.beta_logit is not None else []))
        return "dalif", nir.LIF(tau=tau, r=alpha * r, v_leak=zeros, v_threshold=theta,
                                v_reset=zeros, metadata={"snnlab": meta})
    raise NIRExportError(f"{where}: neuron {kind.__name__} has no NIR mapping (supported: LIF, "
                         "IF, SynapticLIF as CubaLIF, DALIF as LIF with input gain)")


def _surrogate_spec(neuron) -> dict:
    s = neuron.surrogate
    name = getattr(s, "name", type(s).__name__)
    scale = getattr(s, "scale", None)
    return {"name": str(name), "scale": float(scale) if isinstance(scale, (int, float)) else None}


def _model_of(model):
    if isinstance(model, (str, Path)):
        from .train import load_checkpoint

        model = load_checkpoint(model)[0]
    if not isinstance(model, SpikingNet):
        raise TypeError(f"model must be a snnlab SpikingNet or a checkpoint path, got "
                        f"{type(model).__name__}")
    return model


def to_nir(model, path=None, *, dt: float = DEFAULT_DT, readout: bool = True,
           warn: bool = True):
    """Export a :class:`~snnlab.models.SpikingNet` (or a checkpoint path) as a ``nir.NIRGraph``.

    Args:
        model: the network, or the path of an snnlab checkpoint.
        path: where to write the graph (HDF5, conventionally ``.nir``); ``None`` writes nothing.
        dt: the time step one snnlab step stands for, in seconds (module docstring).
        readout: include the readout. ``False`` ends the graph at the last hidden layer's
            spikes, which every reader can run (snnTorch and Norse have no ``LI`` mapping).
        warn: warn when a reset by subtraction is exported as a reset to zero.

    Returns:
        the graph: a chain ``input -> layer0_* -> ... -> readout_* -> output``.
    """
    nir = _nir()
    model = _model_of(model)
    dt = float(dt)
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    nodes = {"input": nir.Input(input_type={"input": np.array(model.input_shape)})}
    order = ["input"]
    shape = tuple(model.input_shape)

    def add(name, node):
        nodes[name] = node
        order.append(name)

    subtracting = []
    stages = [(f"layer{i}", layer.synapse, layer.neuron) for i, layer in enumerate(model.layers)]
    if readout:
        stages.append(("readout", model.readout.synapse, model.readout.neuron))
    for prefix, synapse, neuron in stages:
        syn_nodes = _synapse_nodes(nir, synapse, shape, prefix)
        for j, (kind, node) in enumerate(syn_nodes):
            add(f"{prefix}_{kind}" if len(syn_nodes) == 1 else f"{prefix}_{j}_{kind}", node)
        with torch.no_grad():
            shape = tuple(synapse(torch.zeros(1, *shape)).shape[1:])
        if neuron is None:  # the non-spiking membrane readout
            beta = np.full(shape, float(model.readout.beta))
            if float(model.readout.beta) == 1.0:
                add("readout_i", nir.I(r=np.ones(shape)))
            else:
                tau, r = _euler(beta, dt, "readout")
                add("readout_li", nir.LI(tau=tau, r=r, v_leak=np.zeros(shape)))
        else:
            kind, node = _neuron_node(nir, neuron, shape, dt, prefix)
            add(f"{prefix}_{kind}", node)
            if neuron.reset_mode == "subtract":
                subtracting.append(prefix)
    if subtracting and warn:
        warnings.warn(f"{', '.join(subtracting)}: NIR has no reset by subtraction, so these "
                      "neurons are written as resetting to zero. snnlab.export.from_nir restores "
                      "the subtraction; other readers reset to zero (train with reset='zero' for "
                      "an export every reader runs exactly)", stacklevel=2)
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    order.append("output")
    edges = list(zip(order[:-1], order[1:]))
    meta = {"snnlab": {"format": FORMAT, "dt": dt, "discretisation": "forward-euler",
                       "readout": model.readout.mode if readout else "none",
                       "readout_beta": float(model.readout.beta),
                       "logits": ("mean over time of the readout membrane"
                                  if model.readout.mode == "membrane" else
                                  "spike counts of the readout" if model.readout.mode == "count"
                                  else "minus the first-spike step of the readout"),
                       "input_shape": list(model.input_shape),
                       "config": json.dumps(model.config, default=str)}}
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nir.write(str(path), graph)
    return graph


# --------------------------------------------------------------------------- import
def _read(graph_or_path):
    nir = _nir()
    if isinstance(graph_or_path, (str, Path)):
        path = Path(graph_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"NIR file {path} does not exist")
        try:
            graph = nir.read(str(path))
        except Exception as e:  # h5py/KeyError/AssertionError on foreign files
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise NIRExportError(f"{path} is not a NIR file (an HDF5 file holding a NIR graph): "
                                 f"{msg}") from None
        return graph
    if not isinstance(graph_or_path, nir.NIRGraph):
        raise TypeError(f"from_nir needs a nir.NIRGraph or a path, got "
                        f"{type(graph_or_path).__name__}")
    return graph_or_path


def _chain(graph) -> list[str]:
    """The node names from the input to the output; only feed-forward chains are supported."""
    nir = _nir()
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


def _meta(node) -> dict:
    m = getattr(node, "metadata", None) or {}
    m = m.get("snnlab", {}) if isinstance(m, dict) else {}
    return {k: (v.decode() if isinstance(v, bytes) else
                v.item() if isinstance(v, np.generic) else
                v.tolist() if isinstance(v, np.ndarray) else v) for k, v in m.items()}


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
        pad = pad if isinstance(pad, str) else _pair(np.asarray(pad).tolist())
        m = nn.Conv2d(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[-2:]),
                      stride=_pair(np.asarray(node.stride).tolist()), padding=pad,
                      dilation=_pair(np.asarray(node.dilation).tolist()),
                      groups=int(node.groups))
        with torch.no_grad():
            m.weight.copy_(t(w))
            m.bias.copy_(t(node.bias) if node.bias is not None else torch.zeros(w.shape[0]))
        return m
    if isinstance(node, nir.AvgPool2d):
        return nn.AvgPool2d(_pair(np.asarray(node.kernel_size).tolist()),
                            _pair(np.asarray(node.stride).tolist()),
                            _pair(np.asarray(node.padding).tolist()))
    if isinstance(node, nir.SumPool2d):
        if np.any(np.asarray(node.padding) != 0):
            raise NIRExportError(f"node {name!r}: SumPool2d with padding is not supported")
        return nn.LPPool2d(1, _pair(np.asarray(node.kernel_size).tolist()),
                           _pair(np.asarray(node.stride).tolist()))
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
            from . import surrogate as S

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
    meta = _meta(node)
    theta = _uniform("v_threshold", name, node.v_threshold)
    for f in ("v_leak", "v_reset"):
        _check_zero(node, name, f)
    kw = _common_kw(meta)
    dalif = getattr(N, "DALIF", None)
    if isinstance(node, nir.IF):
        gain = np.broadcast_to(np.asarray(node.r, dtype=np.float64), shape)
        if np.allclose(gain, 1.0, rtol=1e-6):
            return N.IF(threshold=theta, **kw)
        if dalif is None:
            raise NIRExportError(f"node {name!r}: IF with r != 1 needs snnlab's DALIF")
        return _dalif(dalif, np.ones(shape), gain, theta, kw, meta, name)
    if isinstance(node, nir.LIF):
        tau = np.broadcast_to(np.asarray(node.tau, dtype=np.float64), shape)
        beta = _decay(node, name, tau, dt)
        gain = np.broadcast_to(np.asarray(node.r, dtype=np.float64), shape) * dt / tau
        if meta.get("neuron") == "dalif" or not np.allclose(gain, 1.0, rtol=1e-6):
            if dalif is None:
                raise NIRExportError(f"node {name!r}: LIF with input gain R*dt/tau != 1 "
                                     "(DA-LIF) needs snnlab's DALIF neuron")
            return _dalif(dalif, beta, gain, theta, kw, meta, name)
        return _lif(N.LIF, beta, theta, kw, meta, shape, {})
    if isinstance(node, nir.CubaLIF):
        tau_syn = np.broadcast_to(np.asarray(node.tau_syn, dtype=np.float64), shape)
        tau_mem = np.broadcast_to(np.asarray(node.tau_mem, dtype=np.float64), shape)
        alpha = _decay(node, name, tau_syn, dt, "tau_syn")
        beta = _decay(node, name, tau_mem, dt, "tau_mem")
        g_syn = np.asarray(node.w_in, dtype=np.float64) * dt / tau_syn
        g_mem = np.asarray(node.r, dtype=np.float64) * dt / tau_mem
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


def _dalif(cls, beta, gain, theta, kw, meta, name):
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
    n = cls(beta=min(float(b.reshape(-1)[0]), 1.0), alpha=float(a.reshape(-1)[0]),
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
    synapse with no neuron after it -> ``"membrane"`` with ``beta = 0`` (logits = mean current).

    Args:
        graph_or_path: a ``nir.NIRGraph`` or the path of a NIR (HDF5) file.
        dt: time step in seconds; default: the one recorded by :func:`to_nir`, else ``1e-4``
            (snnTorch's).

    Raises:
        NIRExportError (a ``ValueError``) naming the node that cannot be mapped.
    """
    nir = _nir()
    graph = _read(graph_or_path)
    gmeta = _meta(graph)
    if dt is None:
        dt = float(gmeta.get("dt", DEFAULT_DT))
    dt = float(dt)
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
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
    if rnode is None:
        head = Readout(rsyn, "membrane", beta=0.0)
    elif isinstance(rnode, nir.LI):
        _check_zero(rnode, rname, "v_leak")
        tau = np.asarray(rnode.tau, dtype=np.float64)
        beta = _decay(rnode, rname, tau, dt)
        if not np.allclose(np.asarray(rnode.r) * dt / tau, 1.0, rtol=1e-6):
            raise NIRExportError(f"node {rname!r}: LI readout needs unit gain r*dt/tau = 1")
        b = _exact(gmeta.get("readout_beta"), _uniform("tau", rname, beta))
        head = Readout(rsyn, "membrane", beta=b)
    elif isinstance(rnode, nir.I):
        if not np.allclose(np.asarray(rnode.r), 1.0, rtol=1e-6):
            raise NIRExportError(f"node {rname!r}: I readout needs r = 1 (per-step gain)")
        head = Readout(rsyn, "membrane", beta=1.0)
    else:
        head = Readout(rsyn, mode if mode in ("count", "first_spike") else "count",
                       neuron=rnode)
    config = {}
    if "config" in gmeta and gmeta.get("readout") not in (None, "none"):
        try:
            config = json.loads(gmeta["config"])
        except (TypeError, ValueError):
            config = {}
    return SpikingNet(layers, head, in_shape, config)


# --------------------------------------------------------------------------- peers
PEERS = ("snntorch", "norse")


@torch.no_grad()
def run_peer(graph_or_path, x_seq: torch.Tensor, library: str = "snntorch", *,
             dt: float | None = None) -> torch.Tensor:
    """Load a NIR graph in another library and run it over ``x_seq [T, B, ...]``.

    ``library="snntorch"`` uses ``snntorch.import_nir.import_from_nir`` (neurons keep their
    state between calls, reset first); ``"norse"`` uses ``norse.torch.from_nir(graph, dt=dt)``
    with the state passed explicitly. Returns the graph's output per step, stacked: ``[T, B,
    ...]`` (spikes, when the graph ends at a spiking layer, e.g. ``to_nir(..., readout=False)``).

    snnTorch 1.0 turns NIR ``Flatten(start_dim=0)`` (our ``nn.Flatten()`` without the batch
    axis, as its own exporter writes it) into ``nn.Flatten(0, -1)``, flattening the batch as
    well; graphs with a ``Flatten`` therefore run there one sample at a time. Norse 1.1 has no
    ``AvgPool2d`` (nor ``LI``/``I``) mapping: its graph is cut at that node, which gives a
    ``KeyError`` or (seen with one conv layer) the output of an earlier node: check the shape.
    """
    import logging

    from ._checks import check_choice

    library = check_choice("library", library, PEERS)
    import copy

    graph = copy.deepcopy(_read(graph_or_path))  # snnTorch's importer edits the graph in place
    if dt is None:
        dt = float(_meta(graph).get("dt", DEFAULT_DT))
    outs = []
    if library == "snntorch":
        import snntorch.utils
        from snntorch.import_nir import import_from_nir

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = _quiet(import_from_nir, graph)

        def run(xs):
            snntorch.utils.reset(net)
            ys = [net(x_t) for x_t in xs.unbind(0)]
            return torch.stack([y[0] if isinstance(y, tuple) else y for y in ys])

        if any(type(n).__name__ == "Flatten" for n in graph.nodes.values()):
            # snnTorch 1.0 maps NIR Flatten(start_dim=0) to torch Flatten(0, ...), which also
            # flattens the batch: run one sample at a time, without a batch dimension
            return torch.stack([run(x_seq[:, b:b + 1].squeeze(1))
                                for b in range(x_seq.shape[1])], dim=1)
        return run(x_seq)
    else:
        import norse.torch

        logging.getLogger().disabled, was = True, logging.getLogger().disabled
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = norse.torch.from_nir(graph, dt=dt, ignore_warnings=True)
        finally:
            logging.getLogger().disabled = was
        state = None
        for x_t in x_seq.unbind(0):
            out, state = net(x_t, state)
            outs.append(out)
    return torch.stack(outs)


def _quiet(fn, *args):
    """Call ``fn`` without its prints (snnTorch's importer prints progress lines)."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


# --------------------------------------------------------------------------- teaching helpers
def nir_lif_parameters(beta: float, dt: float = DEFAULT_DT) -> dict:
    """The NIR ``LIF`` parameters of an snnlab ``LIF(beta)`` at time step ``dt`` (forward Euler):
    ``tau = dt / (1 - beta)``, ``r = tau / dt = 1 / (1 - beta)``; and, for comparison, the decay
    a reader that integrates exactly (``exp(-dt/tau)``) would use."""
    from ._checks import check_float

    beta = check_float("beta", beta, low=0.0, high=1.0, high_open=True)
    dt = check_float("dt", dt, low=0.0, low_open=True)
    tau = dt / (1.0 - beta)
    return {"tau": tau, "r": tau / dt, "gain": 1.0, "beta_euler": 1.0 - dt / tau,
            "beta_exact": math.exp(-dt / tau)}


def simulate_readings(*, beta: float = 0.9, current: float = 0.3, T: int = 40,
                      threshold: float = 1.0, dt: float = DEFAULT_DT) -> dict:
    """One exported LIF neuron with a constant input, run as the file says by a forward-Euler
    reader (snnlab, snnTorch: ``v += dt/tau (R I - v)``), by an exact-exponential reader
    (``v = e^{-dt/tau} v + (1 - e^{-dt/tau}) R I``) and by Norse (which ignores ``R``).
    Returns the parameters and per reader the membrane ``[T]`` (before reset) and spikes."""
    from ._checks import check_float, check_int

    p = nir_lif_parameters(beta, dt)
    current = check_float("current", current)
    T = check_int("T", T, low=1)
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    readers = {"forward Euler (snnlab, snnTorch)": (p["beta_euler"], 1.0),
               "exact exponential": (p["beta_exact"], (1 - p["beta_exact"]) * p["r"]),
               "Norse (ignores R)": (p["beta_euler"], 1.0 - p["beta_euler"])}
    out = {"params": p, "readers": {}}
    for name, (b, gain) in readers.items():
        v, us, ss = 0.0, [], []
        for _ in range(T):
            u = b * v + gain * current
            s = float(u > threshold)
            v = u * (1.0 - s)  # NIR: reset to v_reset = 0
            us.append(u)
            ss.append(s)
        out["readers"][name] = {"membrane": torch.tensor(us), "spikes": torch.tensor(ss)}
    return out


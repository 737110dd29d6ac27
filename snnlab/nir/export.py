r"""snnlab -> NIR: write a :class:`~snnlab.models.SpikingNet` as a Neuromorphic Intermediate
Representation graph (or file), with the mapping every reader (and :mod:`snnlab.nir.importer`)
relies on.

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
``LIF(beta)``           ``CubaLIF(tau_syn = dt, w_in = 1, tau_mem = dt/(1-beta),``
                        ``r = 1/(1-beta), v_threshold = theta)`` (default ``lif_node="cubalif"``):
                        a synapse of one step passes its input on unchanged,
                        ``i += dt/dt (w_in I - i) = w_in I``. With ``lif_node="lif"``:
                        ``LIF(tau = dt/(1-beta), r = 1/(1-beta))``, the same equations
``IF``                  ``IF(r = 1, v_threshold = theta)`` - NIR's IF has no time constant; like
                        snnTorch (which asserts ``r == 1``) and Norse (which adds ``R I`` each
                        step) we read ``R`` as the gain per step
``SynapticLIF``         ``CubaLIF(tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta),``
  ``(alpha, beta)``     ``w_in = 1/(1-alpha), r = 1/(1-beta))``: ``i = alpha i + I`` then
                        ``v = beta v + i`` with the *new* current (semi-implicit Euler, as
                        snnTorch and Norse step it)
``DALIF(alpha, beta)``  as ``LIF(beta)`` with input gain ``alpha``: ``w_in = alpha`` (``lif_node=
                        "lif"``: ``r = alpha/(1-beta)``), per channel if learned so
membrane readout        default ``readout="affine"``: its ``Affine`` only; the graph's output is
                        the readout current ``y[t]`` and the logits are the mean over the T steps
                        of ``u[t] = beta u[t-1] + y[t]`` (``u[-1] = 0``, ``beta`` =
                        ``metadata["snnlab"]["readout_beta"]``; :func:`snnlab.nir.decode_logits`).
                        ``readout="li"``: ``Affine -> LI(tau = dt/(1-beta), r = 1/(1-beta))``
                        (``I(r=1)`` when ``beta = 1``), logits the mean of its membrane
count readout           ``Affine -> LIF/IF/CubaLIF``; logits are the output spike counts
``nn.Linear``           ``Affine`` (``Linear`` without bias)
``nn.Conv2d``           ``Conv2d``; ``nn.AvgPool2d`` -> ``AvgPool2d``; ``nn.Flatten`` -> ``Flatten``
=====================  ==========================================================================

Why ``CubaLIF`` and an ``Affine`` readout by default: they are what snnTorch and Norse read
exactly (measured in ``tests/test_nir_peers.py``: 0 differing hidden spikes, logits equal to
float32 rounding). Norse ignores ``r`` on ``LIF`` (it integrates with gain ``dt/tau = 1 -
beta``, 0.1 at ``beta = 0.9``: the layer barely fires) but honours ``w_in`` and ``r`` on
``CubaLIF``, and neither library maps ``LI``. A reader without ``CubaLIF`` support can be given
``lif_node="lif"`` (exact in snnTorch, gain ``1 - beta`` in Norse).

(A reader that integrates the equations exactly over each step decays by ``exp(-dt/tau)``
instead: the same file then gives ``beta' = exp(-(1-beta))``, 0.9048 at ``beta = 0.9``, an
input gain ``(1 - beta') / (1 - beta)``, and for ``CubaLIF`` a synaptic decay ``exp(-1)``
where forward Euler has 0. The export records ``dt`` and ``"discretisation": "forward-euler"``
in the graph's metadata so a reader can tell.)

Where the conventions differ (tested in ``tests/test_export.py``; the other readers'
differences are in :mod:`snnlab.nir.peers`)
-----------------------------------------------------------------------------------------
* **Reset by subtraction does not exist in NIR 1.0**: its neurons reset to ``v_reset``. A
  ``reset="subtract"`` neuron is exported as a hard reset with a warning, and its true reset
  mode is kept in the node's metadata so :func:`~snnlab.nir.from_nir` restores it exactly.
  Norse subtracts when told (``norse.torch.from_nir(..., reset_method=reset_subtract)``, on
  CubaLIF nodes); snnTorch and the other readers reset to zero, so their spikes differ
  (13 % of the hidden spikes of a 64-128-10 MLP trained on digits). Train with
  ``reset="zero"`` (CLI: ``snnlab train --reset zero``) for an export every reader runs
  exactly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import neurons as N
from .._checks import check_choice
from ..models import SpikingNet
from ..train import check_weights, load_checkpoint
from .graph import DEFAULT_DT, FORMAT, NIRExportError, check_dt, load_nir, pair

__all__ = ["to_nir", "READOUT_FORMS", "LIF_NODES"]


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
            k = pair(m.kernel_size)
            s = pair(m.stride if m.stride is not None else m.kernel_size)
            if m.ceil_mode or (pair(m.padding) != (0, 0) and not m.count_include_pad):
                raise NIRExportError(f"{where}: AvgPool2d with ceil_mode or "
                                     "count_include_pad=False has no NIR equivalent")
            out.append(("pool", nir.AvgPool2d(kernel_size=np.array(k), stride=np.array(s),
                                              padding=np.array(pair(m.padding)))))
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



def _euler(beta: np.ndarray, dt: float, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``tau = dt / (1 - beta)`` and the unit-gain resistance ``R = 1 / (1 - beta)``."""
    if np.any(beta >= 1.0) or np.any(beta < 0.0):
        raise NIRExportError(f"{where}: decay {beta.min():g}..{beta.max():g} outside [0, 1)")
    return dt / (1.0 - beta), 1.0 / (1.0 - beta)


def _lif_node(nir, lif_node: str, tau, r, gain, theta, zeros, dt: float, meta: dict):
    """A (DA-)LIF with decay ``1 - dt/tau`` and input gain ``gain`` per step.

    ``"cubalif"`` (the default): ``CubaLIF(tau_syn = dt, w_in = gain, tau_mem = tau, r = tau/dt)``.
    A synapse whose time constant is one step follows its input exactly under forward Euler
    (``i += dt/dt (w_in I - i) = w_in I``), and both peers honour every parameter of it
    (Norse ignores ``r`` on ``LIF``; snnTorch checks ``r = tau_mem/dt``). ``"lif"``:
    ``LIF(tau, r = gain tau/dt)``, the textbook form (Norse then sees an input gain of
    ``1 - beta``).
    """
    if lif_node == "lif":
        return nir.LIF(tau=tau, r=gain * r, v_leak=zeros, v_threshold=theta, v_reset=zeros,
                       metadata={"snnlab": meta})
    return nir.CubaLIF(tau_syn=np.full_like(tau, dt), tau_mem=tau, r=r, v_leak=zeros,
                       v_threshold=theta, v_reset=zeros, w_in=np.ascontiguousarray(gain),
                       metadata={"snnlab": meta})


def _neuron_node(nir, neuron: nn.Module, shape: tuple, dt: float, where: str,
                 lif_node: str = "cubalif"):
    """The NIR node of one snnlab neuron, with snnlab's own description in its metadata."""
    theta = np.full(shape, float(neuron.threshold))
    zeros = np.zeros(shape)
    meta = {"neuron": getattr(neuron, "kind", type(neuron).__name__),
            "reset": neuron.reset_mode, "threshold": float(neuron.threshold),
            "detach_reset": bool(neuron.detach_reset),
            "surrogate": json.dumps(_surrogate_spec(neuron))}
    if neuron.reset_mode == "none":
        raise NIRExportError(f"{where}: reset='none' has no NIR equivalent")
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
        return "lif", _lif_node(nir, lif_node, tau, r, np.ones(shape), theta, zeros, dt, meta)
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
    if kind is N.DALIF:
        # u = beta v + alpha I: a LIF whose input gain is the spatial decay alpha
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
        return "dalif", _lif_node(nir, lif_node, tau, r, alpha, theta, zeros, dt, meta)
    raise NIRExportError(f"{where}: neuron {kind.__name__} has no NIR mapping (supported: LIF, "
                         "IF, SynapticLIF as CubaLIF, DALIF as LIF with input gain)")


def _surrogate_spec(neuron) -> dict:
    s = neuron.surrogate
    name = getattr(s, "name", type(s).__name__)
    scale = getattr(s, "scale", None)
    return {"name": str(name), "scale": float(scale) if isinstance(scale, (int, float)) else None}


def _model_of(model):
    if isinstance(model, (str, Path)):
        model = load_checkpoint(model)[0]
    if not isinstance(model, SpikingNet):
        raise TypeError(f"model must be a snnlab SpikingNet or a checkpoint path, got "
                        f"{type(model).__name__}")
    check_weights(model, "to_nir")  # NaN, inf or absurd weights are never exported
    return model


#: the forms :func:`to_nir` writes a readout in (``True`` = ``"affine"``, ``False`` = ``"none"``)
READOUT_FORMS = ("affine", "li", "none")
#: the NIR nodes a LIF or DA-LIF can be written as
LIF_NODES = ("cubalif", "lif")


def _readout_form(readout) -> str:
    if readout is True:
        return "affine"
    if readout is False or readout is None:
        return "none"
    return check_choice("readout", readout, READOUT_FORMS)


def _decoding(mode: str, form: str, beta: float) -> str:
    """What a reader does with the graph's output to get snnlab's logits (also in metadata)."""
    if form == "none":
        return "no readout: the output is the last hidden layer's spikes"
    if mode == "membrane" and form == "affine":
        return (f"the output y[t] is the readout current; integrate u[t] = {beta!r} u[t-1] + "
                "y[t] (u[-1] = 0; the factor is readout_beta) and take the mean of u over the "
                "T steps")
    if mode == "membrane":
        return "the mean over the T steps of the readout's LI (or I) membrane"
    if mode == "count":
        return "the sum over the T steps of the output spikes"
    return "minus the number of steps before the first output spike (T if none)"


def _subtract_warning(layers: list[str], norse_layers: list[str]) -> str:
    if norse_layers == layers:
        norse = ("Norse does with norse.torch.from_nir(graph, dt=dt, reset_method="
                 "reset_subtract) (from norse.torch.functional.reset)")
    elif norse_layers:
        norse = (f"Norse does for {', '.join(norse_layers)} (the CubaLIF nodes) with "
                 "norse.torch.from_nir(graph, dt=dt, reset_method=reset_subtract)")
    else:
        norse = "Norse does only for CubaLIF nodes (lif_node='cubalif'), and these are not"
    return (f"{', '.join(layers)}: reset='subtract', but NIR 1.0 has no reset by subtraction, "
            "so these neurons are written with v_reset = 0 (their true reset is kept in the "
            "node metadata). snnlab.nir.from_nir restores the subtraction exactly, and "
            f"{norse}. snnTorch and other readers reset to zero, dropping the overshoot u - "
            "theta that snnlab keeps: their spikes differ after such a spike. For a file "
            "every reader runs exactly, train with reset='zero' (CLI: snnlab train --reset "
            "zero)")


def to_nir(model, path=None, *, dt: float = DEFAULT_DT, readout="affine",
           lif_node: str = "cubalif", warn: bool = True):
    """Export a :class:`~snnlab.models.SpikingNet` (or a checkpoint path) as a ``nir.NIRGraph``.

    Args:
        model: the network, or the path of an snnlab checkpoint.
        path: where to write the graph (HDF5, conventionally ``.nir``); ``None`` writes nothing.
        dt: the time step one snnlab step stands for, in seconds (module docstring). snnTorch
            assumes ``1e-4``; Norse takes it as an argument.
        readout: how the readout is written. ``"affine"`` (default; ``True``): a membrane
            readout as its ``Affine`` only, so the graph's output is the readout current and
            the reader integrates it (``graph.metadata["snnlab"]["logits"]`` says how;
            :func:`snnlab.nir.decode_logits` does it) - snnTorch and Norse run the whole
            graph; a spiking readout (``count``, ``first_spike``) as ``Affine`` -> neuron.
            ``"li"``: a membrane readout as ``Affine -> LI`` (``I`` for ``beta = 1``), the
            complete network, which snnTorch and Norse cannot read (no ``LI`` mapping).
            ``"none"`` (``False``): end at the last hidden layer's spikes.
        lif_node: the NIR node for LIF and DA-LIF layers: ``"cubalif"`` (default; read exactly
            by snnTorch and Norse) or ``"lif"`` (module docstring).
        warn: warn when a reset by subtraction is exported as a reset to zero.

    Returns:
        the graph: a chain ``input -> layer0_* -> ... -> readout_* -> output``.
    """
    nir = load_nir()
    model = _model_of(model)
    dt = check_dt(dt)
    form = _readout_form(readout)
    lif_node = check_choice("lif_node", lif_node, LIF_NODES)
    nodes = {"input": nir.Input(input_type={"input": np.array(model.input_shape)})}
    order = ["input"]
    shape = tuple(model.input_shape)

    def add(name, node):
        nodes[name] = node
        order.append(name)

    subtracting = []
    stages = [(f"layer{i}", layer.synapse, layer.neuron) for i, layer in enumerate(model.layers)]
    if form != "none":
        stages.append(("readout", model.readout.synapse, model.readout.neuron))
    for prefix, synapse, neuron in stages:
        syn_nodes = _synapse_nodes(nir, synapse, shape, prefix)
        for j, (kind, node) in enumerate(syn_nodes):
            add(f"{prefix}_{kind}" if len(syn_nodes) == 1 else f"{prefix}_{j}_{kind}", node)
        with torch.no_grad():
            shape = tuple(synapse(torch.zeros(1, *shape)).shape[1:])
        if neuron is None:  # the non-spiking membrane readout
            if form == "affine":
                continue  # the reader integrates the current (metadata "logits")
            beta = np.full(shape, float(model.readout.beta))
            if float(model.readout.beta) == 1.0:
                add("readout_i", nir.I(r=np.ones(shape)))
            else:
                tau, r = _euler(beta, dt, "readout")
                add("readout_li", nir.LI(tau=tau, r=r, v_leak=np.zeros(shape)))
        else:
            kind, node = _neuron_node(nir, neuron, shape, dt, prefix, lif_node)
            add(f"{prefix}_{kind}", node)
            if neuron.reset_mode == "subtract":
                subtracting.append((prefix, isinstance(node, nir.CubaLIF)))
    if subtracting and warn:
        warnings.warn(_subtract_warning([p for p, _ in subtracting],
                                        [p for p, cuba in subtracting if cuba]), stacklevel=2)
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    order.append("output")
    edges = list(zip(order[:-1], order[1:]))
    mode = model.readout.mode
    # the leak of the membrane readout; a spiking readout's is its neuron's (mean if per neuron)
    if mode == "membrane":
        readout_beta = float(model.readout.beta)
    else:
        b = getattr(model.readout.neuron, "beta", 1.0)
        readout_beta = float(b.detach().float().mean()) if isinstance(b, torch.Tensor) else float(b)
    meta = {"snnlab": {"format": FORMAT, "dt": dt, "discretisation": "forward-euler",
                       "readout": mode if form != "none" else "none",
                       "readout_form": form,
                       "readout_beta": readout_beta,
                       "logits": _decoding(mode, form, readout_beta),
                       "input_shape": list(model.input_shape),
                       "config": json.dumps(model.config, default=str)}}
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nir.write(str(path), graph)
    return graph

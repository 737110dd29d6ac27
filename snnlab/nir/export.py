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

Where the conventions differ (tested in ``tests/test_export.py``; the other readers'
differences are in :mod:`snnlab.nir.peers`)
-----------------------------------------------------------------------------------------
* **Reset by subtraction does not exist in NIR 1.0**: its neurons reset to ``v_reset``. A
  ``reset="subtract"`` neuron is exported as a hard reset with a warning, and its true reset
  mode is kept in the node's metadata so :func:`~snnlab.nir.from_nir` restores it exactly.
  Other readers simulate reset-to-zero. Train with ``reset="zero"`` for an export every reader
  runs exactly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import neurons as N
from ..models import SpikingNet
from ..train import load_checkpoint
from .graph import DEFAULT_DT, FORMAT, NIRExportError, check_dt, load_nir, pair

__all__ = ["to_nir"]


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
    if kind is N.DALIF:
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
    nir = load_nir()
    model = _model_of(model)
    dt = check_dt(dt)
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
                      "neurons are written as resetting to zero. snnlab.nir.from_nir restores "
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

"""Running a NIR graph in other simulators (snnTorch, Norse), how they read our files, and
turning their output into snnlab's logits (:func:`decode_logits`).

What each reader does with an snnlab export (tested in ``tests/test_export.py`` and
``tests/test_nir_peers.py``; :func:`~snnlab.nir.to_nir` writes LIF and DA-LIF layers as
``CubaLIF(tau_syn = dt, w_in = gain, tau_mem = dt/(1-beta), r = 1/(1-beta))`` and a membrane
readout as its ``Affine`` only, unless told otherwise):

* **snnTorch** (``snntorch.import_nir.import_from_nir``) builds ``Synaptic(alpha = 1 -
  dt/tau_syn = 0, beta = 1 - dt/tau_mem, reset "zero", reset_delay=False)``: with ``alpha = 0``
  the synaptic current is the input, so this is snnlab's zero-reset LIF step for step
  (identical spikes; ``CubaLIF`` of a ``SynapticLIF`` likewise). A gain ``w_in != 1`` (a
  DA-LIF's ``alpha``) becomes a threshold divided by it: the same spikes while ``alpha`` is one
  value per layer. snnTorch hard-codes ``dt = 1e-4`` s (export with the default ``dt``). It
  imports NIR ``IF`` as ``Leaky(beta=0.9, reset "subtract", reset_delay=False,
  init_hidden=False)``: a leaky neuron (a snnTorch quirk) that equals snnlab
  ``LIF(beta=0.9, reset="subtract")`` while ``u < 2 theta`` (above, snnTorch's
  ``reset_delay=False`` bookkeeping subtracts once more the next step); and as it returns
  ``(spikes, membrane)``, snnTorch 1.0's graph cannot pass it to the next layer. It has no
  mapping for ``LI``/``I`` (``to_nir(..., readout="li")``) and no reset option: a
  ``reset="subtract"`` network runs as its zero-reset twin. Written as NIR ``LIF``
  (``lif_node="lif"``) it builds ``Leaky(beta = 1 - dt/tau, reset "zero", reset_delay=False)``,
  also exact. snnTorch's *default* ``Leaky`` (``reset_delay=True``) subtracts the threshold one
  step later and without leak, ``u[t] = beta u[t-1] + I[t] - theta s[t-1]`` (snnlab:
  ``- beta theta s[t-1]``); the two agree for ``beta = 1`` or a zero reset.
* **Norse** (``norse.torch.from_nir(graph, dt=dt)``) integrates ``CubaLIF`` with forward Euler
  and honours ``w_in`` and ``r``: the same spikes as snnlab (float32 rounding aside: ``i = i +
  dt/tau_syn (w_in I - i)`` equals ``w_in I`` to the last bit or so). ``from_nir(...,
  reset_method=norse.torch.functional.reset.reset_subtract)`` makes its CubaLIF subtract the
  threshold, exactly snnlab's subtraction (``run_peer(..., reset="subtract")``); its ``LIF`` and
  ``IF`` ignore ``reset_method``. On NIR ``LIF`` (``lif_node="lif"``) Norse ignores ``r`` (it
  logs a warning) and integrates ``v += dt/tau (I - v)``, an input gain of ``1 - beta``
  instead of 1 (0.1 at ``beta = 0.9``: nearly silent). Its ``IF`` (``v += I``, reset to zero)
  equals snnlab's zero-reset ``IF``. Norse has no ``AvgPool2d``/``LI`` mapping: the graph is
  cut there.
* snnTorch 1.0 imports NIR ``Flatten(start_dim=0)`` as ``nn.Flatten(0, -1)`` (the batch is
  flattened too): :func:`run_peer` runs such graphs one sample at a time.

Getting snnlab's logits from a peer's output (:func:`decode_logits`; the graph's
``metadata["snnlab"]["logits"]`` says it in words): with the default ``readout="affine"`` the
output ``y[t]`` is the readout current; ``u[t] = beta u[t-1] + y[t]`` from ``u = 0`` with
``beta = metadata["snnlab"]["readout_beta"]``, and the logits are the mean of ``u`` over the T
steps (equal to snnlab's to float32 rounding). A ``count`` readout's logits are the output
spike counts, a ``first_spike`` readout's minus the steps before the first output spike.

To add a peer: one branch in :func:`run_peer` (and its name in ``PEERS``), and a round-trip test.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import warnings

import torch

from .._checks import check_choice
from .graph import DEFAULT_DT, read_graph, snnlab_metadata

__all__ = ["PEERS", "run_peer", "decode_logits"]


def _quiet(fn, *args):
    """Call ``fn`` without its prints (snnTorch's importer prints progress lines)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _run_snntorch(graph, x_seq: torch.Tensor, dt: float, reset: str) -> torch.Tensor:
    """``snntorch.import_nir.import_from_nir``; its neurons keep their state between calls, so
    they are reset first. snnTorch builds its neurons with its own ``dt`` (1e-4 s)."""
    if reset == "subtract":
        raise ValueError("snnTorch's NIR importer builds every neuron with reset 'zero' and has "
                         "no option to subtract; run_peer(..., 'snntorch') takes reset=None or "
                         "'zero'")
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


def _run_norse(graph, x_seq: torch.Tensor, dt: float, reset: str) -> torch.Tensor:
    """``norse.torch.from_nir(graph, dt=dt)``, the state passed explicitly; with
    ``reset="subtract"``, ``reset_method=reset_subtract`` (Norse's CubaLIF only)."""
    import norse.torch
    from norse.torch.functional import reset as norse_reset

    logging.getLogger().disabled, was = True, logging.getLogger().disabled
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            method = (norse_reset.reset_subtract if reset == "subtract"
                      else norse_reset.reset_value)
            net = norse.torch.from_nir(graph, dt=dt, ignore_warnings=True, reset_method=method)
    finally:
        logging.getLogger().disabled = was
    outs, state = [], None
    for x_t in x_seq.unbind(0):
        out, state = net(x_t, state)
        outs.append(out)
    return torch.stack(outs)


_RUNNERS = {"snntorch": _run_snntorch, "norse": _run_norse}
#: the libraries :func:`run_peer` can run a graph in
PEERS = tuple(_RUNNERS)


@torch.no_grad()
def run_peer(graph_or_path, x_seq: torch.Tensor, library: str = "snntorch", *,
             dt: float | None = None, reset: str | None = None) -> torch.Tensor:
    """Load a NIR graph in another library and run it over ``x_seq [T, B, ...]``.

    ``library="snntorch"`` uses ``snntorch.import_nir.import_from_nir`` (neurons keep their
    state between calls, reset first); ``"norse"`` uses ``norse.torch.from_nir(graph, dt=dt)``
    with the state passed explicitly. Returns the graph's output per step, stacked: ``[T, B,
    ...]``: the readout current for :func:`~snnlab.nir.to_nir`'s default graph (turn it into
    logits with :func:`decode_logits`), spikes when the graph ends at a spiking layer (e.g.
    ``to_nir(..., readout="none")``).

    ``reset``: ``None``/``"zero"`` runs the file as NIR says (reset to ``v_reset``);
    ``"subtract"`` asks the library to subtract the threshold instead, which Norse can
    (``reset_method=reset_subtract``, CubaLIF nodes only) and snnTorch cannot (ValueError).

    snnTorch 1.0 turns NIR ``Flatten(start_dim=0)`` (our ``nn.Flatten()`` without the batch
    axis, as its own exporter writes it) into ``nn.Flatten(0, -1)``, flattening the batch as
    well; graphs with a ``Flatten`` therefore run there one sample at a time. Norse 1.1 has no
    ``AvgPool2d`` (nor ``LI``/``I``) mapping: its graph is cut at that node, which gives a
    ``KeyError`` or (seen with one conv layer) the output of an earlier node: check the shape.
    """
    library = check_choice("library", library, PEERS)
    reset = "zero" if reset is None else check_choice("reset", reset, ("zero", "subtract"))
    graph = copy.deepcopy(read_graph(graph_or_path))  # snnTorch's importer edits the graph
    if dt is None:
        dt = float(snnlab_metadata(graph).get("dt", DEFAULT_DT))
    return _RUNNERS[library](graph, x_seq, dt, reset)


def decode_logits(graph_or_path, outputs: torch.Tensor) -> torch.Tensor:
    """snnlab's logits from a reader's per-step output ``[T, B, n_out]`` of a graph written by
    :func:`~snnlab.nir.to_nir` (e.g. what :func:`run_peer` returns), as the graph's metadata
    says: the default ``readout="affine"`` -> mean over T of ``u[t] = beta u[t-1] + y[t]``
    (``beta = metadata["snnlab"]["readout_beta"]``); ``"li"`` -> the mean of the membrane;
    ``count`` -> spike counts; ``first_spike`` -> minus the steps before the first spike."""
    meta = snnlab_metadata(read_graph(graph_or_path))
    mode, form = meta.get("readout"), meta.get("readout_form", "li")
    if mode in (None, "none"):
        raise ValueError("the graph has no readout (exported with readout='none'); its output "
                         "is hidden spikes, not logits")
    y = torch.as_tensor(outputs)
    if mode == "count":
        return y.sum(0)
    if mode == "first_spike":
        return -torch.cumprod(1.0 - y, dim=0).sum(0)
    if form != "affine":
        return y.mean(0)
    beta = float(meta["readout_beta"])
    u, total = torch.zeros_like(y[0]), torch.zeros_like(y[0])
    for y_t in y:
        u = beta * u + y_t
        total = total + u
    return total / y.shape[0]

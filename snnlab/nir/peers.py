"""Running a NIR graph in other simulators (snnTorch, Norse), and how they read our files.

What each reader does with an snnlab export (tested in ``tests/test_export.py``):

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

__all__ = ["PEERS", "run_peer"]


def _quiet(fn, *args):
    """Call ``fn`` without its prints (snnTorch's importer prints progress lines)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _run_snntorch(graph, x_seq: torch.Tensor, dt: float) -> torch.Tensor:
    """``snntorch.import_nir.import_from_nir``; its neurons keep their state between calls, so
    they are reset first. snnTorch builds its neurons with its own ``dt`` (1e-4 s)."""
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


def _run_norse(graph, x_seq: torch.Tensor, dt: float) -> torch.Tensor:
    """``norse.torch.from_nir(graph, dt=dt)``, the state passed explicitly."""
    import norse.torch

    logging.getLogger().disabled, was = True, logging.getLogger().disabled
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = norse.torch.from_nir(graph, dt=dt, ignore_warnings=True)
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
    library = check_choice("library", library, PEERS)
    graph = copy.deepcopy(read_graph(graph_or_path))  # snnTorch's importer edits the graph
    if dt is None:
        dt = float(snnlab_metadata(graph).get("dt", DEFAULT_DT))
    return _RUNNERS[library](graph, x_seq, dt)

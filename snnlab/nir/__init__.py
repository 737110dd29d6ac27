"""Deploy what you trained: the Neuromorphic Intermediate Representation (NIR) and snnlab.

* :mod:`snnlab.nir.export` - snnlab -> NIR (:func:`to_nir`); its docstring is the mapping
  (one snnlab step = one forward-Euler step of ``dt``) and where it is inexact;
* :mod:`snnlab.nir.importer` - NIR -> snnlab (:func:`from_nir`), exact for snnlab's own files;
* :mod:`snnlab.nir.peers` - running a graph in snnTorch or Norse (:func:`run_peer`) and how
  each of them reads our files;
* :mod:`snnlab.nir.teaching` - the helpers of notebook 16;
* :mod:`snnlab.nir.graph` - what they share (``DEFAULT_DT``, :class:`NIRExportError`, reading).

The third-party ``nir`` package (a core dependency) is imported inside functions only; there it
is an absolute import, so it is never confused with this package.
"""

from __future__ import annotations

from .export import to_nir
from .graph import DEFAULT_DT, FORMAT, SUPPORTED_NODES, NIRExportError
from .importer import from_nir
from .peers import PEERS, decode_logits, run_peer
from .teaching import nir_lif_parameters, simulate_readings

__all__ = ["to_nir", "from_nir", "run_peer", "decode_logits", "PEERS", "DEFAULT_DT", "FORMAT",
           "SUPPORTED_NODES", "NIRExportError", "nir_lif_parameters", "simulate_readings"]

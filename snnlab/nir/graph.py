"""What the exporter, the importer and the peer runners share: the time step convention, the
one error type, loading the optional ``nir`` package, reading a graph and its snnlab metadata.

``nir`` is a core dependency (``snnlab export`` needs it) but is imported inside functions
only, so ``import snnlab`` and the other commands do not load it and h5py. ``import nir`` here
is absolute, so it always means the third-party package, never this package (``snnlab.nir``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_DT", "FORMAT", "SUPPORTED_NODES", "NIRExportError", "load_nir", "read_graph",
           "snnlab_metadata",
           "check_dt", "pair"]

#: seconds one snnlab step stands for unless told otherwise (snnTorch hard-codes this value)
DEFAULT_DT = 1e-4
#: version of the snnlab metadata written into a graph
FORMAT = 1
#: the NIR node types :func:`snnlab.nir.from_nir` reads
SUPPORTED_NODES = ("Input", "Output", "Affine", "Linear", "Conv2d", "AvgPool2d", "SumPool2d",
                   "Flatten", "IF", "LIF", "CubaLIF", "LI", "I")


class NIRExportError(ValueError):
    """A model or a graph that cannot be mapped; the message names the layer or node."""


def load_nir():
    """The third-party ``nir`` module, or an ImportError saying how to install it."""
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a core dependency
        raise ImportError("NIR export needs the 'nir' package, a dependency of snnlab that is "
                          "missing here: pip install 'nir>=1.0' 'nirtorch>=2.0'") from None
    return nir


def read_graph(graph_or_path):
    """A ``nir.NIRGraph`` as given, or read from the NIR (HDF5) file at ``graph_or_path``."""
    nir = load_nir()
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


def snnlab_metadata(node) -> dict:
    """The ``"snnlab"`` entry of a graph's or node's metadata as plain Python values ({} if
    none: a foreign graph)."""
    m = getattr(node, "metadata", None) or {}
    m = m.get("snnlab", {}) if isinstance(m, dict) else {}
    return {k: (v.decode() if isinstance(v, bytes) else
                v.item() if isinstance(v, np.generic) else
                v.tolist() if isinstance(v, np.ndarray) else v) for k, v in m.items()}


def pair(v) -> tuple[int, int]:
    """An int or a pair as a pair of ints (kernel sizes, strides, paddings)."""
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)


def check_dt(dt) -> float:
    """``dt`` as a float, or a ValueError unless it is a positive, finite number of seconds."""
    dt = float(dt)
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    return dt

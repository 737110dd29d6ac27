"""Old home of NIR export/import, kept as a thin face: everything lives in :mod:`snnlab.nir`.

``from snnlab.export import to_nir, from_nir, run_peer`` (the notebooks, the CLI and the tests
use these names) keeps working. The mapping table is in :mod:`snnlab.nir.export`, the peers'
differences in :mod:`snnlab.nir.peers`.
"""

from __future__ import annotations

from .nir import (
    DEFAULT_DT,
    FORMAT,
    PEERS,
    SUPPORTED_NODES,
    NIRExportError,
    decode_logits,
    from_nir,
    nir_lif_parameters,
    run_peer,
    simulate_readings,
    to_nir,
)

__all__ = ["to_nir", "from_nir", "run_peer", "decode_logits", "PEERS", "DEFAULT_DT", "FORMAT",
           "SUPPORTED_NODES", "NIRExportError", "nir_lif_parameters", "simulate_readings"]

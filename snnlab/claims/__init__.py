"""The claims ledger: each paper's claims as declarative, pre-registered experiments.

``python -m snnlab.claims run --fast`` runs every claim on a tiny budget (a smoke test);
``make claims`` runs the full ledger and records it in ``data/results/claims.json``;
``python -m snnlab.claims show`` prints the record. See :mod:`snnlab.claims.ledger`.
"""

from __future__ import annotations

from . import definitions  # noqa: F401  (every paper's file registers its claims)
from .ledger import (
    ERROR,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    RECORD,
    REPRODUCED,
    Budget,
    Check,
    Claim,
    Verdict,
    available,
    find_record,
    for_rules,
    get,
    load_record,
    record,
    run,
    run_claim,
    t_interval,
)

__all__ = [
    "Budget", "Check", "Claim", "Verdict", "available", "get", "run", "run_claim", "record",
    "load_record", "find_record", "for_rules", "t_interval", "RECORD", "REPRODUCED",
    "NOT_REPRODUCED", "INCONCLUSIVE", "ERROR",
]

"""Imports every paper's claims file; the import order is the ledger's order."""

from __future__ import annotations

from . import (  # noqa: F401
    antlr,
    bptt,
    conversion,
    dalif,
    eicil,
    hardware,
    kd,
    ltl,
    ottt,
    rate_bp,
    tandem,
    tssl,
    ttfs,
)

__all__ = []

"""Interactive dashboards: a face over :mod:`snnlab.course`.

Each notebook's pure ``simulate_<thing>`` functions and ``<thing>_dashboard`` builders live in
its module (``snnlab/course/nNN_*.py``); the :class:`Dashboard` machinery and :class:`LiveCurve`
are in :mod:`snnlab.course.ui`, which also describes the pattern. This module re-exports them so
``snnlab.widgets.<name>`` keeps working. ``import snnlab.widgets`` needs neither ipywidgets nor
a matplotlib backend: the builders import ipywidgets when called.
"""

from __future__ import annotations

from .course import (  # noqa: F401 (re-exported)
    Dashboard,
    LiveCurve,
    accuracy_vs_T_seeds,
    chip_dashboard,
    claims_panel,
    conversion_dashboard,
    encoding_dashboard,
    error_terms_figure,
    head_size_by_tau,
    head_tail_dashboard,
    inhibition_dashboard,
    ledger_check,
    ledger_record,
    lif_dashboard,
    nir_readings_dashboard,
    ottt_trace_dashboard,
    rate_sensitivity_dashboard,
    rule_comparison_dashboard,
    seed_stats,
    simulate_chip,
    simulate_conversion,
    simulate_encoding,
    simulate_head_tail,
    simulate_inhibition,
    simulate_lif,
    simulate_ottt_trace,
    simulate_population,
    simulate_rate_sensitivity,
    simulate_rule_comparison,
    simulate_surrogate,
    simulate_tssl_neuron,
    surrogate_dashboard,
    tssl_neuron_dashboard,
    verdicts,
)

__all__ = [
    "Dashboard", "LiveCurve", "simulate_lif", "lif_dashboard", "simulate_encoding",
    "encoding_dashboard", "simulate_surrogate", "surrogate_dashboard", "simulate_conversion",
    "conversion_dashboard", "simulate_head_tail", "head_tail_dashboard", "simulate_ottt_trace",
    "ottt_trace_dashboard", "simulate_tssl_neuron", "tssl_neuron_dashboard",
    "simulate_rate_sensitivity", "rate_sensitivity_dashboard", "simulate_chip", "chip_dashboard",
    "simulate_inhibition", "inhibition_dashboard", "simulate_rule_comparison",
    "rule_comparison_dashboard", "nir_readings_dashboard", "simulate_population",
    "error_terms_figure",
    "seed_stats", "accuracy_vs_T_seeds", "head_size_by_tau",
    "claims_panel", "verdicts", "ledger_check", "ledger_record",
]

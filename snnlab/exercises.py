"""Checkers for the notebook exercises: a face over :mod:`snnlab.course`.

Each checker lives in its notebook's module (``snnlab/course/nNN_*.py``) next to that notebook's
dashboards; the conventions every checker follows (one line printed, ``✅``/``❌`` with a hint,
the result recorded in :data:`PROGRESS`, never raising on a wrong answer) are in
:mod:`snnlab.course.ui`. This module re-exports them so ``snnlab.exercises.check_<name>`` keeps
working; :func:`progress` summarises what a learner has passed so far in this kernel.

Hints progress: a checker's first failure gives the idea, later failures the equation, and code
only on request (``check_x(answer, hint="code")`` or :func:`show_solution`). A later notebook
cell that needs an exercise's function wraps it with :func:`use_or_reference`, so an unsolved
stub falls back to the library's reference (with a one-line note) instead of breaking the cell.
"""

from __future__ import annotations

from .course import (  # noqa: F401 (re-exported)
    PROGRESS,
    check_best_cosine_T,
    check_best_encoding,
    check_bptt_accuracy,
    check_cosine,
    check_energy_estimate,
    check_firing_rate,
    check_first_firing_scale,
    check_head_mask,
    check_hta_weights,
    check_if_rate,
    check_inhibitory_update,
    check_latency_code,
    check_lif_step,
    check_ltl_target,
    check_nir_euler_step,
    check_nir_lif,
    check_noise_below_rheobase,
    check_ottt_trace,
    check_pareto,
    check_prediction_best_code,
    check_prediction_best_rule,
    check_prediction_grazing,
    check_prediction_latency_cosine,
    check_prediction_lif_spikes,
    check_prediction_most_accurate,
    check_prediction_quantisation_T,
    check_prediction_reset,
    check_prediction_true_gradient,
    check_prediction_tssl_vs_surrogate,
    check_psp_kernel,
    check_quantise,
    check_rate_code,
    check_rate_eligibility,
    check_rate_kappa,
    check_rate_mse,
    check_read_noise_std,
    check_seed_gap,
    check_seed_spread,
    check_smallest_current,
    check_spike_count,
    check_spike_function,
    check_spike_time_derivative,
    check_staircase,
    check_stdp_traces,
    check_steps_to_match,
    check_straight_through,
    check_surrogate_derivative,
    check_surrogate_reach,
    check_tandem_count,
    check_three_factor,
    check_timing_dv,
    check_timing_error,
    check_tssl_gap,
    check_vdot_estimate,
    check_weight_normalisation,
    lif_rate_closed_form,
    progress,
    reference,
    reset_progress,
    show_solution,
    use_or_reference,
)

__all__ = [
    "PROGRESS", "progress", "reset_progress", "show_solution", "reference", "use_or_reference",
    "lif_rate_closed_form", "check_lif_step",
    "check_firing_rate", "check_if_rate", "check_rate_code", "check_latency_code",
    "check_spike_count", "check_surrogate_derivative", "check_spike_function",
    "check_bptt_accuracy", "check_vdot_estimate", "check_timing_dv", "check_timing_error",
    "check_cosine", "check_staircase", "check_weight_normalisation", "check_tandem_count",
    "check_straight_through", "check_ltl_target", "check_rate_mse", "check_head_mask",
    "check_hta_weights", "check_ottt_trace", "check_three_factor", "check_psp_kernel",
    "check_spike_time_derivative", "check_rate_kappa", "check_rate_eligibility", "check_quantise",
    "check_read_noise_std", "check_stdp_traces", "check_inhibitory_update",
    "check_energy_estimate", "check_pareto", "check_nir_lif", "check_nir_euler_step",
    "check_prediction_lif_spikes", "check_smallest_current", "check_prediction_reset",
    "check_noise_below_rheobase", "check_prediction_best_code", "check_best_encoding",
    "check_prediction_true_gradient", "check_surrogate_reach", "check_prediction_grazing",
    "check_first_firing_scale", "check_prediction_best_rule", "check_seed_spread",
    "check_prediction_most_accurate", "check_seed_gap", "check_prediction_latency_cosine",
    "check_best_cosine_T",
    "check_prediction_quantisation_T", "check_steps_to_match",
    "check_prediction_tssl_vs_surrogate", "check_tssl_gap",
]

"""The course: one module per notebook, holding that notebook's simulate functions, dashboards
and exercise checkers side by side; :mod:`~snnlab.course.ui` holds what they share (the
:class:`Dashboard` machinery, :class:`LiveCurve`, the checkers' results, hints and messages).

* :mod:`~snnlab.course.n01_neurons` -- ``notebooks/01_spiking_neurons.ipynb``
* :mod:`~snnlab.course.n02_encodings` -- ``notebooks/02_encodings.ipynb``
* :mod:`~snnlab.course.n03_surrogate_bptt` -- ``notebooks/03_surrogate_bptt.ipynb``
* :mod:`~snnlab.course.n04_timing_gradients` -- ``notebooks/04_timing_gradients.ipynb``
* :mod:`~snnlab.course.n05_activation_vs_timing` -- ``notebooks/05_activation_vs_timing.ipynb``
* :mod:`~snnlab.course.n06_conversion` -- ``notebooks/06_conversion_errors.ipynb``
* :mod:`~snnlab.course.n07_tandem` -- ``notebooks/07_tandem_learning.ipynb``
* :mod:`~snnlab.course.n08_local_tandem` -- ``notebooks/08_local_tandem_learning.ipynb``
* :mod:`~snnlab.course.n09_distillation` -- ``notebooks/09_distillation_hta_kl_dalif.ipynb``
* :mod:`~snnlab.course.n10_ottt` -- ``notebooks/10_online_training_ottt.ipynb``
* :mod:`~snnlab.course.n11_tssl` -- ``notebooks/11_tssl_bp.ipynb``
* :mod:`~snnlab.course.n12_rate_bp` -- ``notebooks/12_rate_based_bp.ipynb``
* :mod:`~snnlab.course.n13_device_noise` -- ``notebooks/13_device_noise_and_calibration.ipynb``
* :mod:`~snnlab.course.n14_eicil` -- ``notebooks/14_eicil.ipynb``
* :mod:`~snnlab.course.n15_capstone` -- ``notebooks/15_capstone_all_rules.ipynb``
* :mod:`~snnlab.course.n16_nir` -- ``notebooks/16_deploy_with_nir.ipynb``

Notebook 00 (the course map) uses checkers of 01 and 02. :mod:`snnlab.exercises` (the checkers)
and :mod:`snnlab.widgets` (the dashboards) are thin faces re-exporting these names, so notebooks
and learners' code keep writing ``exercises.check_lif_step`` and ``widgets.lif_dashboard``. A new
exercise or dashboard goes into its notebook's module and that module's ``__all__``; add it here
and to the face too (``tests/test_course.py`` checks that nothing is missing).
"""

from __future__ import annotations

from .ledger_view import claims_panel, ledger_check, ledger_record, verdicts
from .n01_neurons import (
    check_firing_rate,
    check_if_rate,
    check_lif_step,
    check_noise_below_rheobase,
    check_prediction_lif_spikes,
    check_prediction_reset,
    check_smallest_current,
    lif_dashboard,
    lif_rate_closed_form,
    simulate_lif,
    simulate_population,
    smallest_firing_current,
)
from .n02_encodings import (
    check_best_encoding,
    check_latency_code,
    check_prediction_best_code,
    check_rate_code,
    check_spike_count,
    encoding_dashboard,
    simulate_encoding,
)
from .n03_surrogate_bptt import (
    check_bptt_accuracy,
    check_prediction_true_gradient,
    check_spike_function,
    check_surrogate_derivative,
    check_surrogate_reach,
    simulate_surrogate,
    surrogate_dashboard,
)
from .n04_timing_gradients import (
    check_first_firing_scale,
    check_prediction_grazing,
    check_timing_dv,
    check_vdot_estimate,
    weight_scale_sweep,
)
from .n05_activation_vs_timing import (
    check_cosine,
    check_prediction_best_rule,
    check_seed_spread,
    check_timing_error,
    gap_and_spread,
    train_seeds,
)
from .n06_conversion import (
    check_prediction_quantisation_T,
    check_staircase,
    check_steps_to_match,
    check_weight_normalisation,
    conversion_dashboard,
    error_terms_figure,
    simulate_conversion,
)
from .n07_tandem import (
    accuracy_vs_T_seeds,
    check_half_start_gain,
    check_prediction_shortest_window,
    check_straight_through,
    check_tandem_count,
)
from .n08_local_tandem import (
    check_ltl_target,
    check_offline_memory_ratio,
    check_prediction_online_memory,
    check_rate_mse,
)
from .n09_distillation import (
    check_head_mask,
    check_hta_weights,
    check_kd_gain,
    check_prediction_hot_head,
    head_size_by_tau,
    head_tail_dashboard,
    simulate_head_tail,
)
from .n10_ottt import (
    check_ottt_gap,
    check_ottt_trace,
    check_prediction_ottt_cosine_T,
    check_three_factor,
    ottt_trace_dashboard,
    simulate_ottt_trace,
)
from .n11_tssl import (
    check_prediction_tssl_vs_surrogate,
    check_psp_kernel,
    check_spike_time_derivative,
    check_tssl_gap,
    simulate_tssl_neuron,
    tssl_neuron_dashboard,
)
from .n12_rate_bp import (
    check_best_cosine_T,
    check_prediction_latency_cosine,
    check_rate_eligibility,
    check_rate_kappa,
    rate_sensitivity_dashboard,
    simulate_rate_sensitivity,
)
from .n13_device_noise import (
    check_prediction_worst_nonideality,
    check_quantise,
    check_read_noise_std,
    check_recovered_share,
    chip_dashboard,
    simulate_chip,
)
from .n14_eicil import (
    check_inhibitory_update,
    check_prediction_cycle_rate,
    check_spike_ratio,
    check_stdp_traces,
    inhibition_dashboard,
    simulate_inhibition,
)
from .n15_capstone import (
    SeedComparison,
    check_energy_estimate,
    check_pareto,
    check_prediction_most_accurate,
    check_seed_gap,
    compare_seeds,
    phase_dips,
    rule_comparison_dashboard,
    rule_data,
    rule_verdicts,
    simulate_rule_comparison,
)
from .n16_nir import (
    check_nir_euler_step,
    check_nir_lif,
    check_prediction_norse_lif,
    check_reset_spike_difference,
    nir_readings_dashboard,
)
from .ui import (
    HINTS,
    PROGRESS,
    Dashboard,
    Hints,
    LearnerError,
    LiveCurve,
    Progress,
    answer_tensor,
    as_tensor,
    build,
    call,
    checker,
    close,
    failed,
    need_callable,
    need_choice,
    need_number,
    passed,
    predicted,
    progress,
    reference,
    reset_progress,
    seed_stats,
    show_solution,
    unanswered,
    use_or_reference,
)

__all__ = [
    "Dashboard", "build", "LiveCurve", "PROGRESS", "progress", "reset_progress", "LearnerError",
    "passed", "failed", "call", "need_callable", "need_number", "unanswered", "as_tensor",
    "Progress", "Hints", "HINTS", "checker", "show_solution", "reference", "use_or_reference",
    "answer_tensor", "close", "predicted", "need_choice",
    "simulate_lif", "lif_dashboard", "check_lif_step", "lif_rate_closed_form", "check_firing_rate",
    "check_if_rate", "check_prediction_lif_spikes", "smallest_firing_current",
    "check_smallest_current", "simulate_population", "check_prediction_reset",
    "check_noise_below_rheobase",
    "simulate_encoding", "encoding_dashboard", "check_rate_code", "check_latency_code",
    "check_spike_count", "check_prediction_best_code", "check_best_encoding",
    "simulate_surrogate", "surrogate_dashboard", "check_surrogate_derivative",
    "check_spike_function", "check_bptt_accuracy", "check_prediction_true_gradient",
    "check_surrogate_reach",
    "check_vdot_estimate", "check_timing_dv", "weight_scale_sweep", "check_prediction_grazing",
    "check_first_firing_scale",
    "check_timing_error", "check_cosine", "train_seeds", "gap_and_spread",
    "check_prediction_best_rule", "check_seed_spread",
    "simulate_conversion", "conversion_dashboard", "check_staircase", "check_weight_normalisation",
    "check_tandem_count", "check_straight_through",
    "check_ltl_target", "check_rate_mse",
    "simulate_head_tail", "head_tail_dashboard", "check_head_mask", "check_hta_weights",
    "simulate_ottt_trace", "ottt_trace_dashboard", "check_ottt_trace", "check_three_factor",
    "simulate_tssl_neuron", "tssl_neuron_dashboard", "check_psp_kernel",
    "check_spike_time_derivative",
    "simulate_rate_sensitivity", "rate_sensitivity_dashboard", "check_rate_kappa",
    "check_rate_eligibility",
    "simulate_chip", "chip_dashboard", "check_quantise", "check_read_noise_std",
    "simulate_inhibition", "inhibition_dashboard", "check_stdp_traces", "check_inhibitory_update",
    "simulate_rule_comparison", "rule_comparison_dashboard", "check_energy_estimate",
    "check_pareto", "SeedComparison", "rule_data", "compare_seeds", "rule_verdicts", "phase_dips",
    "check_prediction_most_accurate", "check_seed_gap", "check_prediction_latency_cosine",
    "check_best_cosine_T",
    "nir_readings_dashboard", "check_nir_lif", "check_nir_euler_step",
    "error_terms_figure", "check_prediction_quantisation_T", "check_steps_to_match",
    "check_prediction_tssl_vs_surrogate", "check_tssl_gap",
    "seed_stats", "accuracy_vs_T_seeds", "check_prediction_shortest_window",
    "check_half_start_gain",
    "check_prediction_online_memory", "check_offline_memory_ratio",
    "check_prediction_ottt_cosine_T", "check_ottt_gap",
    "check_prediction_norse_lif", "check_reset_spike_difference",
    "claims_panel", "verdicts", "ledger_record", "ledger_check",
    "head_size_by_tau", "check_prediction_hot_head", "check_kd_gain",
    "check_prediction_worst_nonideality", "check_recovered_share",
    "check_prediction_cycle_rate", "check_spike_ratio",
]

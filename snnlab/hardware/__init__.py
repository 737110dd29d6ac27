r"""Device non-idealities of a mixed-signal neuromorphic chip, and on-chip calibration.

A trained network is *programmed* onto a chip: every weight becomes the difference of two
conductances in a crossbar, every neuron an analogue circuit. Real devices are imperfect, so the
network the chip computes is not the one that was trained. This package

* describes those imperfections with one dataclass, :class:`NoiseModel`;
* builds a **chip** with :meth:`NoiseModel.program` - the *same* :class:`~snnlab.models.SpikingNet`
  (a deep copy) whose synapse weights are routed through a frozen, seeded draw of device
  imperfections by :func:`torch.nn.utils.parametrize.register_parametrization`, plus forward
  hooks for the per-read noise and the neuron mismatch. No network code is copied, so every
  learning rule, readout, recording and metric of snnlab works on a chip unchanged;
* calibrates a chip on-chip with :func:`calibrate` (Local Tandem Learning, Yang et al. 2022, or
  chip-in-the-loop BPTT as the off-chip baseline);
* measures robustness with :func:`sweep`.

Where things are:

* :mod:`snnlab.hardware.device` - the device model (equations 1-9), :class:`NoiseModel`,
  :class:`Crossbar`, :class:`NeuronMismatch`, inspecting a chip, :func:`reprogram`;
* :mod:`snnlab.hardware.calibration` - :func:`calibrate` and :class:`ChipInTheLoop` (any rule,
  reprogramming the chip after every optimizer step);
* :mod:`snnlab.hardware.sweeps` - :func:`sweep` and :class:`SweepResult`;
* :mod:`snnlab.hardware.views` - :func:`chip_view` and :class:`ChipView` (notebook 13).

Every name is importable from ``snnlab.hardware`` itself.
"""

from __future__ import annotations

from .calibration import (
    CALIBRATION_RULES,
    ChipInTheLoop,
    accuracy_drop,
    calibrate,
    copy_teacher_weights,
)
from .device import (
    PARAMETERS,
    VARIATIONS,
    Crossbar,
    NeuronMismatch,
    NoiseModel,
    crossbars,
    effective_weights,
    is_chip,
    programmed_weights,
    reprogram,
)
from .sweeps import SweepResult, sweep
from .views import ChipView, chip_view

__all__ = ["NoiseModel", "Crossbar", "NeuronMismatch", "VARIATIONS", "PARAMETERS", "is_chip",
           "crossbars", "programmed_weights", "effective_weights", "reprogram", "calibrate",
           "ChipInTheLoop", "CALIBRATION_RULES", "SweepResult", "sweep", "ChipView", "chip_view",
           "copy_teacher_weights", "accuracy_drop"]

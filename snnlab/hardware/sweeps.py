"""Robustness: test accuracy of chips as one noise parameter varies (over several chips, i.e.
seeds), before and optionally after calibration."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_choice, check_int
from ..data import DataSplit, load
from ..train import evaluate
from .calibration import calibrate
from .device import PARAMETERS, NoiseModel

__all__ = ["SweepResult", "sweep"]


@dataclass
class SweepResult:
    """Accuracy of chips as one noise parameter varies: ``before[i][k]`` (and ``after`` when
    calibrated) is the test accuracy at ``values[i]`` for ``seeds[k]``."""

    param: str
    values: list
    seeds: list[int]
    before: list[list[float]]
    after: list[list[float]] | None = None
    clean_acc: float | None = None
    config: dict = field(default_factory=dict)

    @staticmethod
    def _stats(rows):
        t = torch.tensor(rows, dtype=torch.float64)
        std = t.std(1, unbiased=True) if t.shape[1] > 1 else torch.zeros(t.shape[0],
                                                                          dtype=torch.float64)
        return t.mean(1).tolist(), std.tolist()

    @property
    def mean_before(self) -> list[float]:
        return self._stats(self.before)[0]

    @property
    def std_before(self) -> list[float]:
        return self._stats(self.before)[1]

    @property
    def mean_after(self) -> list[float] | None:
        return None if self.after is None else self._stats(self.after)[0]

    @property
    def std_after(self) -> list[float] | None:
        return None if self.after is None else self._stats(self.after)[1]

    def rows(self) -> list[dict]:
        out = []
        for i, v in enumerate(self.values):
            r = {self.param: v, "before_mean": self.mean_before[i],
                 "before_std": self.std_before[i]}
            if self.after is not None:
                r.update(after_mean=self.mean_after[i], after_std=self.std_after[i])
            out.append(r)
        return out

    def table(self) -> str:
        """A plain-text table (accuracies in %)."""
        head = f"{self.param:>18} | before (mean ± std)"
        if self.after is not None:
            head += " | after calibration"
        lines = [head, "-" * len(head)]
        for r in self.rows():
            line = f"{r[self.param]!s:>18} | {100 * r['before_mean']:6.1f} ± " \
                   f"{100 * r['before_std']:4.1f}      "
            if self.after is not None:
                line += f" | {100 * r['after_mean']:6.1f} ± {100 * r['after_std']:4.1f}"
            lines.append(line)
        return "\n".join(lines)


def sweep(model: nn.Module, data, noise_param: str, values, seeds=(0, 1, 2), *,
          base: NoiseModel | None = None, T: int = 8, encoding: str = "direct",
          calibrate_epochs: int = 0, teacher=None, rule: str = "ltl", lr: float = 1e-3,
          batch_size: int = 64, progress: bool = False, **rule_hparams) -> SweepResult:
    """Test accuracy of chips programmed from ``model`` as ``noise_param`` takes ``values``.

    For every value and seed a chip ``base.replace(noise_param=value).program(model, seed)`` is
    evaluated on ``data.test``; with ``calibrate_epochs > 0`` it is then calibrated
    (:func:`calibrate` with ``rule`` and ``teacher``) and evaluated again. ``model`` is never
    modified. Returns a :class:`SweepResult` (mean ± std over seeds; ``.plot()``, ``.table()``).
    """
    if isinstance(data, str):
        data = load(data)
    if not isinstance(data, DataSplit):
        raise TypeError(f"data must be a DataSplit or a dataset name, got {type(data).__name__}")
    check_choice("noise_param", noise_param, PARAMETERS)
    values = list(values)
    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    if not values or not seeds:
        raise ValueError("values and seeds must each hold at least one entry")
    check_int("calibrate_epochs", calibrate_epochs, low=0)
    base = base if base is not None else NoiseModel()
    if not isinstance(base, NoiseModel):
        raise TypeError(f"base must be a NoiseModel, got {type(base).__name__}")
    noises = [base.replace(**{noise_param: v}) for v in values]  # validates every value first
    clean = evaluate(model, data.test, T, encoding=encoding)["acc"]
    before, after = [], []
    bar = tqdm(total=len(values) * len(seeds), desc=f"sweep {noise_param}", disable=not progress)
    for noise in noises:
        row_b, row_a = [], []
        for s in seeds:
            chip = noise.program(model, seed=s)
            torch.manual_seed(s)  # read noise uses the global generator
            row_b.append(evaluate(chip, data.test, T, encoding=encoding, seed=s)["acc"])
            if calibrate_epochs > 0:
                hist = calibrate(chip, teacher, data, rule, epochs=calibrate_epochs, T=T,
                                 lr=lr, batch_size=batch_size, seed=s, encoding=encoding,
                                 **rule_hparams)
                row_a.append(hist.test_acc)
            bar.update(1)
        before.append(row_b)
        after.append(row_a)
    bar.close()
    return SweepResult(noise_param, values, seeds, before,
                       after if calibrate_epochs > 0 else None, clean,
                       dict(base=dataclasses.asdict(base), T=T, rule=rule,
                            calibrate_epochs=calibrate_epochs))

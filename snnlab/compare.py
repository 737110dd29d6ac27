"""Run learning rules side by side on the same task and the same initial network.

``compare.rules(["bptt", "ottt"], data="digits")`` trains a fresh copy of one network per rule
(same seed, same initial weights, each rule's default T/encoding/lr unless given) and returns a
:class:`Comparison`: a table of test accuracy, spikes and SynOps per sample, energy, training time
and peak memory, printable and plottable.
"""

from __future__ import annotations

import copy
import resource
import sys
import time
from dataclasses import dataclass, field

import torch

from . import rules as R

__all__ = ["Comparison", "rules", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class Comparison:
    rows: list[dict] = field(default_factory=list)
    histories: dict = field(default_factory=dict)

    COLUMNS = (("rule", "{}"), ("test_acc", "{:.3f}"), ("spikes_per_sample", "{:.1f}"),
               ("synops_per_sample", "{:.0f}"), ("energy_nj_per_sample", "{:.2f}"),
               ("train_seconds", "{:.1f}"), ("T", "{}"), ("epochs", "{}"))

    def table(self) -> str:
        heads = [c for c, _ in self.COLUMNS]
        cells = [[fmt.format(r[c]) if r.get(c) is not None else "-" for c, fmt in self.COLUMNS]
                 for r in self.rows]
        widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
        line = "  ".join(h.ljust(w) for h, w in zip(heads, widths))
        out = [line, "  ".join("-" * w for w in widths)]
        out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def plot(self, ax=None):
        from .plot import training_curves

        return training_curves(self.histories, ax=ax)


def rules(names, data, *, model=None, hidden=(128,), epochs: int | None = None,
          T: int | None = None, seed: int = 0, batch_size: int = 64, progress: bool = False,
          device="cpu", hparams: dict | None = None) -> Comparison:
    """Train each rule in ``names`` ("all" for every registered rule) on ``data`` and tabulate.

    ``model`` (a SpikingNet) is deep-copied per rule so all start from the same weights; by
    default an ``mlp(n_in, hidden, n_classes)`` is built with ``seed``. ``hparams`` maps a rule
    name to its keyword hyper-parameters.
    """
    from .data import DataSplit, load
    from .models import mlp
    from .train import evaluate, train

    if names == "all" or names == ["all"]:
        names = R.available()
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise ValueError("names must list at least one rule")
    for n in names:
        R.get(n)  # fail early, with the list of available rules, before any training
    if isinstance(data, str):
        data = load(data, seed=seed)
    if not isinstance(data, DataSplit):
        raise TypeError(f"data must be a DataSplit or a dataset name, got {type(data).__name__}")
    if model is None:
        if len(data.input_shape) != 1:
            raise ValueError(f"data {data.name!r} is not flat; pass model= (e.g. a convnet)")
        torch.manual_seed(seed)
        model = mlp(data.input_shape[0], list(hidden), data.n_classes)
    hparams = hparams or {}
    result = Comparison()
    for name in names:
        net = copy.deepcopy(model)
        t0 = time.perf_counter()
        hist = train(net, data, name, T=T, epochs=epochs, batch_size=batch_size, seed=seed,
                     progress=progress, device=device, **hparams.get(name, {}))
        seconds = time.perf_counter() - t0
        cfg = hist.config
        ev = evaluate(net, data.test, cfg["T"], encoding=cfg["encoding"], seed=seed, device=device)
        result.histories[name] = hist
        result.rows.append(dict(rule=name, test_acc=ev["acc"],
                                spikes_per_sample=ev["spikes_per_sample"],
                                synops_per_sample=ev["synops_per_sample"],
                                energy_nj_per_sample=ev["energy_nj_per_sample"],
                                train_seconds=seconds, T=cfg["T"], epochs=cfg["epochs"],
                                peak_rss_mb=peak_rss_mb()))
    return result

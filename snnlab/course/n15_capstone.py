"""Notebook 15: the capstone: every rule compared.

The simulate functions, dashboards and exercise checkers of
``notebooks/15_capstone_all_rules.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.data import TensorDataset

from .. import rules as R
from .._checks import check_choice, check_int
from ..compare import Comparison, pareto_optimal, step_memory
from ..data import DataSplit, load
from ..metrics import E_AC_PJ, E_MAC_PJ, energy_pj
from ..plot import RULE_METRICS, rule_comparison, show
from ..rules.antlr import latency_dataset
from ..train import build_model, evaluate, train
from .ui import (
    Dashboard,
    build,
    call,
    checker,
    failed,
    need_callable,
    need_choice,
    passed,
    predicted,
    randint,
    returned_number,
    unanswered,
    uniform,
)

__all__ = ["SeedComparison", "rule_data", "compare_seeds", "rule_verdicts", "phase_dips",
           "simulate_rule_comparison", "rule_comparison_dashboard", "check_energy_estimate",
           "check_pareto", "check_prediction_most_accurate", "check_seed_gap"]


# =========================================================================== several seeds
class SeedComparison(Comparison):
    """A :class:`snnlab.compare.Comparison` whose numbers are means over seeds; each row also
    holds ``test_acc_std`` (standard deviation over seeds, 0 for one seed), ``accs`` (one test
    accuracy per seed), ``chance`` and ``encoding``. ``histories`` are the first seed's."""

    COLUMNS = (("rule", "{}"), ("test_acc", "{:.3f}"), ("test_acc_std", "±{:.3f}"),
               ("spikes_per_sample", "{:.1f}"), ("energy_nj_per_sample", "{:.2f}"),
               ("seconds_per_epoch", "{:.2f}"), ("step_memory_mib", "{:.2f}"), ("T", "{}"),
               ("epochs", "{}"), ("encoding", "{}"))


def _subset(ds: TensorDataset, n: int | None) -> TensorDataset:
    if n is None or n >= len(ds):
        return ds
    x, y = ds.tensors
    return TensorDataset(x[:n], y[:n])


def rule_data(rule, data: DataSplit) -> DataSplit:
    """The data ``rule`` can read: first-spike rules (default encoding ``"latency"``: ``timing``,
    ``antlr``, ``ttfs``) refuse raw features, so they get
    :func:`snnlab.rules.antlr.latency_dataset` of ``data`` (features squeezed into the first half
    of the window, a bias spike added); every other rule gets ``data`` unchanged."""
    rule = R.get(rule) if isinstance(rule, str) else rule
    if rule.default_encoding == "latency":
        return latency_dataset(data)
    return data


def compare_seeds(names, data, *, seeds=(0, 1, 2), hidden=(128,), max_epochs: int | None = None,
                  n_train: int | None = None, batch_size: int = 64) -> SeedComparison:
    """Train every rule of ``names`` once per seed on ``data`` and tabulate means over seeds.

    Each run builds the rule's own network with that seed
    (:func:`snnlab.train.build_model`: ``rule.build_model``, so ``antlr``/``timing`` get their
    ``antlr_lif`` network, ``ttfs`` its non-leaky one), trains it with the rule's defaults (its
    epochs capped at ``max_epochs``) on :func:`rule_data` (latency-coded data for the
    first-spike rules) and evaluates it on the test set. ``n_train`` keeps the first samples of
    the training set only (a quick look). ``step_memory_mib`` is measured on the first seed."""
    if isinstance(names, str):
        names = R.available() if names == "all" else [n.strip() for n in names.split(",")]
    seeds = [check_int("seed", s, low=0) for s in seeds]
    if not seeds or not names:
        raise ValueError("compare_seeds needs at least one rule and one seed")
    if isinstance(data, str):
        data = load(data, seed=seeds[0])
    if n_train is not None:
        check_int("n_train", n_train, low=1)
        data = DataSplit(_subset(data.train, n_train), data.test, data.n_classes,
                         data.input_shape, data.name, None, data.info)
    result = SeedComparison()
    for name in names:
        rule = R.get(name)
        d = rule_data(rule, data)
        n_epochs = rule.default_epochs if max_epochs is None else min(rule.default_epochs,
                                                                       max_epochs)
        runs = []
        for seed in seeds:
            net = build_model(rule, d, hidden, seed=seed)
            t0 = time.perf_counter()
            hist = train(net, d, rule, epochs=n_epochs, batch_size=batch_size, seed=seed,
                         progress=False)
            secs = (time.perf_counter() - t0) / max(n_epochs, 1)
            cfg = hist.config
            ev = evaluate(net, d.test, cfg["T"], encoding=cfg["encoding"], seed=seed)
            runs.append((ev, secs, hist, net, cfg))
            if seed == seeds[0]:
                result.histories[name] = hist
                mem = step_memory(net, rule, d, cfg["T"], cfg["encoding"], batch_size) / 2**20
        accs = [float(ev["acc"]) for ev, *_ in runs]

        def mean(key, runs=runs):
            return statistics.fmean(float(ev[key]) for ev, *_ in runs)

        cfg = runs[0][4]
        result.rows.append(dict(
            rule=name, test_acc=statistics.fmean(accs),
            test_acc_std=statistics.stdev(accs) if len(accs) > 1 else 0.0, accs=accs,
            spikes_per_sample=mean("spikes_per_sample"), synops_per_sample=mean(
                "synops_per_sample"), energy_nj_per_sample=mean("energy_nj_per_sample"),
            seconds_per_epoch=statistics.fmean(r[1] for r in runs), step_memory_mib=mem,
            T=cfg["T"], epochs=cfg["epochs"], encoding=cfg["encoding"],
            chance=1.0 / data.n_classes, curve=[float(v) for v in
                                                 result.histories[name].column("test_acc")]))
    return result


def rule_verdicts(comparison) -> dict:
    """rule -> ``(status, sentence)`` read from a :func:`compare_seeds` result, with its own
    numbers: ``"learns"`` when the mean accuracy is at least halfway from chance to 1 and clear
    of chance by more than 3 standard deviations over seeds, ``"barely"`` when it is above
    chance by more than 2 standard deviations (and 5 points) but not halfway, ``"fails"``
    otherwise. The sentence gives mean ± std, chance, epochs, T, encoding and whether the last
    epoch still improved on the one before (the first seed's curve)."""
    out = {}
    for r in getattr(comparison, "rows", comparison):
        acc, std, chance = r["test_acc"], r["test_acc_std"], r["chance"]
        halfway = chance + 0.5 * (1 - chance)
        if acc >= halfway and acc - chance > 3 * std:
            status = "learns"
        elif acc - chance > max(2 * std, 0.05):
            status = "barely"
        else:
            status = "fails"
        curve = r.get("curve") or []
        climbing = len(curve) >= 2 and curve[-1] > curve[-2]
        trend = ("still climbing at the last epoch" if climbing else
                 "one epoch only" if len(curve) < 2 else "flat or falling at the end")
        out[r["rule"]] = (status, f"{r['rule']}: {100 * acc:.1f} ± {100 * std:.1f} % over "
                          f"{len(r['accs'])} seeds (chance {100 * chance:.0f} %), "
                          f"{r['epochs']} epochs, T = {r['T']}, {r['encoding']} input; "
                          f"{status}, {trend}")
    return out


def phase_dips(history, phase: str = "inhibitory") -> tuple[list[bool], list[bool]]:
    """For a rule that logs a ``phase`` per epoch (``bptt_stdp_cycles``): for every epoch of
    ``phase`` after the first epoch, did test accuracy *fall* against the epoch before; and for
    every such epoch before the last, did it *rise* in the epoch after? ``([fell...],
    [rose...])``, read from the run's own records."""
    acc, phases = history.column("test_acc"), history.column("phase")
    falls = [acc[e] < acc[e - 1] for e in range(1, len(acc)) if phases[e] == phase]
    rises = [acc[e + 1] > acc[e] for e in range(len(acc) - 1) if phases[e] == phase]
    return falls, rises


def simulate_rule_comparison(rows, *, x: str = "energy_nj_per_sample", y: str = "test_acc",
                             log_x: bool = False) -> dict:
    """Pure update of :func:`rule_comparison_dashboard`: the ``x`` and ``y`` columns of a rule
    comparison (``Comparison`` or its ``rows``), the rules on the Pareto front for that pair of
    metrics (better = the direction :data:`snnlab.plot.RULE_METRICS` gives) and the best rule on
    each axis."""
    rows = list(getattr(rows, "rows", rows))
    if not rows:
        raise ValueError("rows must hold at least one rule")
    check_choice("x", x, tuple(RULE_METRICS))
    check_choice("y", y, tuple(RULE_METRICS))
    xs = [float(r[x]) for r in rows]
    ys = [float(r[y]) for r in rows]
    names = [str(r["rule"]) for r in rows]
    sx = -1.0 if RULE_METRICS[x][1] else 1.0  # pareto_optimal minimises cost ...
    sy = 1.0 if RULE_METRICS[y][1] else -1.0  # ... and maximises score
    keyed = [dict(rule=n, c=sx * a, s=sy * b) for n, a, b in zip(names, xs, ys)]
    best_x = names[min(range(len(rows)), key=lambda i: sx * xs[i])]
    best_y = names[max(range(len(rows)), key=lambda i: sy * ys[i])]
    return dict(rules=names, x=xs, y=ys, x_metric=x, y_metric=y, log_x=bool(log_x),
                pareto=pareto_optimal(keyed, cost="c", score="s"), best_x=best_x,
                best_y=best_y)


def rule_comparison_dashboard(comparison, **start) -> Dashboard:
    """Two menus pick the metrics on the axes of the rule-comparison scatter (and a log-x box);
    the pure update is :func:`simulate_rule_comparison`, the plot
    :func:`snnlab.plot.rule_comparison`."""
    import ipywidgets as W

    rows = list(getattr(comparison, "rows", comparison))
    options = [(label, key) for key, (label, _) in RULE_METRICS.items()]
    controls = {
        "x": W.Dropdown(options=options, value=start.get("x", "energy_nj_per_sample"),
                        description="x axis"),
        "y": W.Dropdown(options=options, value=start.get("y", "test_acc"),
                        description="y axis"),
        "log_x": W.Checkbox(value=start.get("log_x", False), description="log x"),
    }

    def draw(r):
        ax = rule_comparison(rows, x=r["x_metric"], y=r["y_metric"], log_x=r["log_x"])
        print(f"Pareto front: {', '.join(r['pareto'])}; best on x: {r['best_x']}, "
              f"best on y: {r['best_y']}")
        show(ax)

    return build(controls, lambda **kw: simulate_rule_comparison(rows, **kw), draw)


def _ref_energy_nj(synops, macs):
    return energy_pj(float(macs), float(synops)) / 1e3


@checker("energy_estimate",
         idea="every synaptic event costs one addition and every multiply-accumulate costs "
              "more; add up both kinds of operation at their own price (in picojoules), then "
              "convert to nanojoules",
         equation=f"E[nJ] = (SynOps·{E_AC_PJ} pJ + MACs·{E_MAC_PJ} pJ) / 1000",
         code="return (macs * 4.6 + synops * 0.9) / 1000",
         reference=_ref_energy_nj)
def check_energy_estimate(energy_nj: Callable) -> bool:
    """``energy_nj(synops, macs) -> float``: energy per sample in nJ from the accumulate count
    (SynOps, one add each, :data:`snnlab.metrics.E_AC_PJ` = 0.9 pJ) and the multiply-accumulate
    count (MACs, :data:`snnlab.metrics.E_MAC_PJ` = 4.6 pJ)."""
    name = "energy_estimate"
    need_callable("check_energy_estimate", energy_nj)
    gen = torch.Generator().manual_seed(1501)
    cases = [(1000.0, 0.0), (0.0, 1000.0), (0.0, 0.0)] + [
        (uniform(gen, 0, 1e5), uniform(gen, 0, 1e5)) for _ in range(6)]
    for synops, macs in cases:
        got = returned_number(call(energy_nj, synops, macs))
        ref = _ref_energy_nj(synops, macs)
        if math.isclose(got, ref, rel_tol=1e-6, abs_tol=1e-9):
            continue
        if math.isclose(got, ref * 1e3, rel_tol=1e-6, abs_tol=1e-9):
            return failed(name, "that is in pJ, not nJ")
        if math.isclose(got, _ref_energy_nj(macs, synops), rel_tol=1e-6, abs_tol=1e-9):
            return failed(name, "the two costs are swapped: a SynOp is an add, a MAC a "
                          "multiply-add")
        return failed(name, f"for synops={synops:.6g}, macs={macs:.6g} expected {ref:.4f} "
                      f"nJ, got {got:.4f}")
    return passed(name, f"E_AC = {E_AC_PJ} pJ, E_MAC = {E_MAC_PJ} pJ")


def _ref_pareto(rows):
    return pareto_optimal(list(rows))


def _pareto_tables(gen):
    def table(spec):
        return [dict(rule=r, energy_nj_per_sample=e, test_acc=a) for r, e, a in spec]

    yield table([("a", 1.0, 0.70), ("b", 2.0, 0.90), ("c", 3.0, 0.80), ("d", 0.5, 0.60)])
    yield table([("a", 1.0, 0.80), ("b", 1.0, 0.90), ("c", 5.0, 0.95)])  # a tie in energy
    yield table([("a", 2.0, 0.9), ("b", 3.0, 0.9), ("c", 1.0, 0.5)])  # a tie in accuracy
    yield table([("a", 2.0, 0.9), ("b", 2.0, 0.9), ("c", 3.0, 0.9)])  # exact twins both stay
    yield table([("only", 4.0, 0.5)])
    yield []
    for _ in range(6):
        n = randint(gen, 2, 9)  # coarse grids make ties likely
        yield table([(f"r{i}", float(randint(gen, 1, 6)), randint(gen, 5, 10) / 10)
                     for i in range(n)])


@checker("pareto",
         idea="a rule stays on the front unless some other rule is at least as good on both "
              "counts (energy and accuracy) and strictly better on one; rules that are merely "
              "tied do not knock each other out",
         equation="keep r unless ∃ o: E_o <= E_r and acc_o >= acc_r and (E_o < E_r or "
                  "acc_o > acc_r)",
         code="front = []\nfor r in rows:\n    dominated = any(\n"
              "        o['energy_nj_per_sample'] <= r['energy_nj_per_sample']\n"
              "        and o['test_acc'] >= r['test_acc']\n"
              "        and (o['energy_nj_per_sample'] < r['energy_nj_per_sample']\n"
              "             or o['test_acc'] > r['test_acc'])\n        for o in rows)\n"
              "    if not dominated:\n        front.append(r['rule'])\nreturn front",
         reference=_ref_pareto)
def check_pareto(pareto: Callable) -> bool:
    """``pareto(rows) -> list of rule names``: the rules of a comparison table (dicts with
    ``rule``, ``energy_nj_per_sample``, ``test_acc``) that no other rule beats, i.e. none has
    lower-or-equal energy and higher-or-equal accuracy with at least one strictly better."""
    name = "pareto"
    need_callable("check_pareto", pareto)
    gen = torch.Generator().manual_seed(1502)
    for rows in _pareto_tables(gen):
        want = pareto_optimal(rows)
        got = call(pareto, [dict(r) for r in rows])
        if isinstance(got, (str, bytes)) or not isinstance(got, (list, tuple, set)):
            return failed(name, f"return a list of rule names, got {type(got).__name__}")
        if sorted(map(str, got)) != sorted(want):
            spec = ", ".join(f"{r['rule']}: {r['energy_nj_per_sample']} nJ, {r['test_acc']:.2f}"
                             for r in rows)
            return failed(name, f"for [{spec}] expected {want}, got {sorted(map(str, got))}")
    return passed(name)


# =========================================================================== predict, interpret
def _seed_rows(checker_name: str, comparison) -> list[dict]:
    rows = list(getattr(comparison, "rows", comparison)) if comparison is not None else []
    if not rows or not all(isinstance(r, dict) and {"rule", "test_acc", "test_acc_std"} <= set(r)
                           for r in rows):
        raise TypeError(f"{checker_name} expects the result of compare_seeds (rows with rule, "
                        "test_acc, test_acc_std)")
    return rows


def top_two(rows) -> tuple[dict, dict]:
    """The two rows with the highest mean test accuracy, best first."""
    ranked = sorted(rows, key=lambda r: r["test_acc"], reverse=True)
    return ranked[0], ranked[1] if len(ranked) > 1 else ranked[0]


@checker("prediction_most_accurate",
         idea="think about what each rule follows and stores, and about the budget: a few "
              "epochs of a small network on a small task; which family learns fastest?",
         equation="the rule with the highest mean test accuracy over the seeds of the table",
         code='my_prediction = "bptt"  # any rule of the table: commit before the run')
def check_prediction_most_accurate(my_prediction, comparison) -> bool:
    """Predict-then-observe: which rule of ``comparison`` (a :func:`compare_seeds` result)
    reaches the highest mean test accuracy. Any rule of the table passes; whether it was the
    measured winner, or tied with it within the seeds' spread, is recorded and explained."""
    name = "prediction_most_accurate"
    rows = _seed_rows("check_prediction_most_accurate", comparison)
    names = [str(r["rule"]) for r in rows]
    if unanswered(my_prediction):
        return failed(name, "no prediction yet: write one of " + ", ".join(map(repr, names)))
    guess = need_choice(my_prediction, names)
    best, second = top_two(rows)
    mine = next(r for r in rows if r["rule"] == guess)
    tied = best["test_acc"] - mine["test_acc"] <= best["test_acc_std"] + mine["test_acc_std"]
    why = (f"{best['rule']} {100 * best['test_acc']:.1f} ± {100 * best['test_acc_std']:.1f} %, "
           f"then {second['rule']} {100 * second['test_acc']:.1f} ± "
           f"{100 * second['test_acc_std']:.1f} %; yours, {guess}, "
           f"{100 * mine['test_acc']:.1f} ± {100 * mine['test_acc_std']:.1f} %"
           + (" (within the seeds' spread of the winner)" if tied and guess != best["rule"]
              else ""))
    return predicted(name, repr(guess), repr(best["rule"]), guess == best["rule"] or tied, why)


@checker("seed_gap",
         idea="one seed is one draw: a gap between two rules means something only when it is "
              "larger than how much each rule moves from one seed to the next",
         equation="yes if acc(best) - acc(second) > std(best) + std(second), else no "
                  "(means and stds over seeds, from your table)",
         code="best, second = sorted(cmp.rows, key=lambda r: r['test_acc'])[::-1][:2]\n"
              "gap = best['test_acc'] - second['test_acc']\n"
              "answer = 'yes' if gap > best['test_acc_std'] + second['test_acc_std'] "
              "else 'no'")
def check_seed_gap(answer, comparison) -> bool:
    """Interpret: in ``comparison`` (a :func:`compare_seeds` result), is the most accurate
    rule's lead over the second larger than the sum of their standard deviations over seeds?
    ``"yes"``/``"no"`` (or ``"a"``/``"b"``), checked against the table's own numbers."""
    name = "seed_gap"
    rows = _seed_rows("check_seed_gap", comparison)
    if unanswered(answer):
        return failed(name, "no answer yet: write 'yes' or 'no'")
    got = need_choice(answer, ("yes", "no"))
    best, second = top_two(rows)
    gap = best["test_acc"] - second["test_acc"]
    spread = best["test_acc_std"] + second["test_acc_std"]
    want = "yes" if gap > spread else "no"
    if got == want:
        return passed(name, f"{best['rule']} leads {second['rule']} by {100 * gap:.1f} points, "
                      f"their stds add to {100 * spread:.1f}")
    return failed(name, f"compare the lead of {best['rule']} over {second['rule']} with their "
                  "two standard deviations again")

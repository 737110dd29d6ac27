"""Notebook 15: the capstone: every rule compared.

The simulate functions, dashboards and exercise checkers of
``notebooks/15_capstone_all_rules.ipynb``, side by side (the pattern is described in
:mod:`snnlab.course.ui`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._checks import check_choice
from ..compare import pareto_optimal
from ..metrics import E_AC_PJ, E_MAC_PJ, energy_pj
from ..plot import RULE_METRICS, rule_comparison, show
from .ui import (
    Dashboard,
    build,
    call,
    checker,
    failed,
    need_callable,
    passed,
    randint,
    returned_number,
    uniform,
)

__all__ = ["simulate_rule_comparison", "rule_comparison_dashboard", "check_energy_estimate",
           "check_pareto"]


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

"""One figure per recorded claim: what was measured (per seed) and where each check's interval
lies against its verdict margin.

``figure(result)`` draws one claim of a record (a dict of ``snnlab claims show --json``):

* left, the measurements, one panel per kind of number (accuracy, spikes, memory, time...):
  a metric measured at several time steps (``acc_tandem_T2``, ``acc_tandem_T4``...) is drawn
  against T with its seed band (min to max) and the seeds as dots; any other metric as a
  column of seed dots with the mean;
* right, the checks: each check's per-seed effect (dots), its mean with the 95 % t-interval
  (bar) and the margin of its verdict rule (dashed), coloured by verdict.

``python -m snnlab.claims figures [--record PATH] [--out DIR]`` writes one PNG per claim
(``make claims`` writes them to ``data/results/claims/``).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

from .ledger import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, get

__all__ = ["figure", "write_figures", "COLOURS"]

COLOURS = {REPRODUCED: "#2a9d4b", NOT_REPRODUCED: "#c0392b", INCONCLUSIVE: "#888888",
           "error": "#000000"}
_T_KEY = re.compile(r"^(?P<name>.+)_T(?P<T>\d+)$")
_KINDS = {"acc": "accuracy (%)", "spikes": "spikes per sample", "mem": "memory",
          "bytes": "memory (bytes)", "time": "time (s)", "step": "step time",
          "quant": "quantisation error", "err": "error"}


def _kind(metric: str) -> str:
    if "ratio" in metric.split("_"):
        return "ratio"
    if metric.startswith("step_s_"):
        return "step time (s)"
    head = metric.split("_", 1)[0]
    return _KINDS.get(head, head)


def _groups(per_seed: list[dict]):
    """``{kind: {"sweeps": {name: {T: [values]}}, "points": {metric: [values]}}}``."""
    out = defaultdict(lambda: {"sweeps": defaultdict(dict), "points": {}})
    keys = [k for k in (per_seed[0] if per_seed else {})
            if all(isinstance(s.get(k), (int, float)) and s.get(k) is not None
                   and math.isfinite(float(s.get(k))) for s in per_seed)]
    sweeps = defaultdict(dict)
    for k in keys:
        m = _T_KEY.match(k)
        if m:
            sweeps[m["name"]][int(m["T"])] = [float(s[k]) for s in per_seed]
    for k in keys:
        m = _T_KEY.match(k)
        if m and len(sweeps[m["name"]]) >= 2:
            out[_kind(k)]["sweeps"][m["name"]] = sweeps[m["name"]]
        else:
            out[_kind(k)]["points"][k] = [float(s[k]) for s in per_seed]
    return out


def _margin(claim_id: str, index: int):
    try:
        return get(claim_id).checks[index].verdict.margin
    except (KeyError, IndexError, AttributeError, ValueError):
        return None


def figure(result: dict):
    """The figure of one recorded claim (a matplotlib Figure)."""
    import matplotlib.pyplot as plt

    groups = _groups(result.get("per_seed") or [])
    kinds = list(groups)[:3]
    checks = result.get("checks", [])
    units = list(dict.fromkeys(c.get("unit", "") for c in checks)) or [""]
    m_left = max(len(kinds), 1)
    n = m_left + len(units)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6),
                             gridspec_kw={"width_ratios": [1] * m_left + [1.3] * len(units)})
    axes = list(axes)
    for ax, kind in zip(axes[:m_left], kinds):
        g = groups[kind]
        for i, (name, by_T) in enumerate(sorted(g["sweeps"].items())):
            Ts = sorted(by_T)
            mean = [sum(by_T[T]) / len(by_T[T]) for T in Ts]
            colour = f"C{i}"
            ax.fill_between(Ts, [min(by_T[T]) for T in Ts], [max(by_T[T]) for T in Ts],
                            color=colour, alpha=0.2, lw=0)
            ax.plot(Ts, mean, "-o", color=colour, label=name, ms=4)
            for T in Ts:
                ax.plot([T] * len(by_T[T]), by_T[T], ".", color=colour, alpha=0.5, ms=4)
        if g["sweeps"]:
            Ts = sorted({T for by_T in g["sweeps"].values() for T in by_T})
            ax.set_xlabel("time steps T")
            ax.set_xscale("log", base=2)
            ax.set_xticks(Ts)
            ax.set_xticklabels([str(T) for T in Ts])
            ax.minorticks_off()
        points = sorted(g["points"].items())
        if points and not g["sweeps"]:
            for i, (_name, vals) in enumerate(points):
                ax.plot([i] * len(vals), vals, ".", color="C0", alpha=0.6, ms=6)
                ax.plot([i - 0.25, i + 0.25], [sum(vals) / len(vals)] * 2, "-", color="k",
                        lw=1.5)
            ax.set_xticks(range(len(points)))
            ax.set_xticklabels([p[0] for p in points], rotation=30, ha="right", fontsize=7)
            ax.set_xlim(-0.6, len(points) - 0.4)
        elif points:  # scalars beside a sweep: horizontal lines
            for i, (name, vals) in enumerate(points):
                ax.axhline(sum(vals) / len(vals), color=f"C{i + 5}", ls=":", lw=1.2,
                           label=f"{name} (mean)")
        if g["sweeps"] or (points and g["sweeps"]):
            ax.legend(fontsize=7, loc="best")
        ax.set_ylabel(kind)
        ax.grid(alpha=0.3)
    if not kinds:
        axes[0].text(0.5, 0.5, "no per-seed numbers recorded", ha="center", va="center",
                     transform=axes[0].transAxes)
        axes[0].set_axis_off()
    for ax, unit in zip(axes[m_left:], units):  # one panel per unit of effect
        mine = [(i, c) for i, c in enumerate(checks) if c.get("unit", "") == unit]
        for row, (i, c) in enumerate(mine):
            y = len(mine) - 1 - row
            colour = COLOURS.get(c.get("verdict"), "#000000")
            effects = [e for e in (c.get("per_seed_effect") or []) if e is not None
                       and math.isfinite(e)]
            ax.plot(effects, [y] * len(effects), ".", color=colour, alpha=0.5, ms=6)
            ci = c.get("ci95") or [None, None]
            if ci[0] is not None and ci[1] is not None and math.isfinite(ci[0]) \
                    and math.isfinite(ci[1]):
                ax.plot(ci, [y, y], "-", color=colour, lw=3, solid_capstyle="butt")
            if c.get("mean_effect") is not None:
                ax.plot([c["mean_effect"]], [y], "D", color=colour, ms=6)
            m = _margin(result.get("id", ""), i)
            if m is not None:
                ax.plot([m, m], [y - 0.35, y + 0.35], "--", color="k", lw=1)
        ax.set_yticks(range(len(mine)))
        ax.set_yticklabels([f"{c['name']}\n({c.get('verdict')})" for _, c in reversed(mine)],
                           fontsize=7)
        ax.set_ylim(-0.6, max(len(mine), 1) - 0.4)
        ax.set_xlabel(f"effect ({unit or 'as defined'})\ndots: seeds, bar: 95 % interval, "
                      "dashed: verdict margin", fontsize=8)
        ax.grid(alpha=0.3, axis="x")
    verdict = result.get("verdict", "?")
    fig.suptitle(f"{result.get('id')}: {verdict} ({result.get('seeds')} seeds)",
                 color=COLOURS.get(verdict, "k"), fontsize=11)
    fig.tight_layout()
    return fig


def write_figures(rec: dict, out_dir) -> list:
    """One PNG per claim of ``rec`` in ``out_dir`` (created); returns the paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in rec.get("claims", []):
        fig = figure(result)
        path = out / f"{result['id']}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths

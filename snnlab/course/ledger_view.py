"""The claims ledger in a notebook: what each rule's paper claims, and what the recorded
multi-seed run says about it (:mod:`snnlab.claims`).

A notebook that compares rules on one seed shows a tendency; the ledger says whether that
tendency survives several seeds, with a 95 % interval, under a verdict rule fixed before the
run. :func:`claims_panel` prints the claims of some rules from the recorded ledger
(``data/results/claims.json``, written by ``make claims``) and draws each claim's figure;
:func:`verdicts` gives ``{claim id: verdict}`` for a notebook to assert its text against.
"""

from __future__ import annotations

from ..claims import figures as claim_figures
from ..claims.ledger import find_record, for_rules, load_record

__all__ = ["claims_panel", "verdicts", "ledger_record", "ledger_check"]


def ledger_record(record=None) -> dict:
    """The recorded ledger (``record``: a path, or ``None`` for the repository's)."""
    return load_record(find_record(record))


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def verdicts(rules, record=None) -> dict[str, str]:
    """``{claim id: verdict}`` of the recorded claims that name one of ``rules``."""
    return {c["id"]: c["verdict"] for c in for_rules(rules, ledger_record(record))}


def ledger_check(claim_id: str, check: int = 0, record=None) -> dict:
    """One recorded check, for a notebook to assert the numbers its text quotes: ``mean``
    (the mean per-seed effect), ``lo``, ``hi`` (its 95 % interval), ``verdict`` (the check's),
    ``claim_verdict``, ``seeds``."""
    rec = ledger_record(record)
    for c in rec["claims"]:
        if c["id"] == claim_id:
            ch = c["checks"][check]
            lo, hi = ch.get("ci95") or (None, None)
            return {"mean": ch.get("mean_effect"), "lo": lo, "hi": hi,
                    "verdict": ch["verdict"], "claim_verdict": c["verdict"],
                    "seeds": c.get("seeds")}
    raise KeyError(f"no claim {claim_id!r} in the recorded ledger")


def claims_panel(rules=(), *, ids=(), record=None, figures: bool = True,
                 out=print) -> list[dict]:
    """Print the recorded claims that name one of ``rules`` (a name or a list) or whose id is
    in ``ids``: the paper's statement, the task and regime, each check's mean effect with its
    95 % interval, and the verdict; with ``figures=True`` draw each claim's figure
    (:func:`snnlab.claims.figures.figure`). Returns the claims' records (dicts of
    ``snnlab claims show --json``)."""
    rec = ledger_record(record)
    names = [rules] if isinstance(rules, str) else list(rules)
    wanted_ids = {ids} if isinstance(ids, str) else set(ids)
    rows = [c for c in rec["claims"]
            if c["id"] in wanted_ids or set(names) & set(c.get("rules", []))]
    names = names + sorted(wanted_ids)
    if not rows:
        raise ValueError(f"the recorded ledger has no claim about {names}; `snnlab claims "
                         "list` shows every claim and its rules")
    env = rec.get("environment", {})
    out(f"Claims ledger, recorded {rec.get('created', '?')} ({rec.get('mode')} run; torch "
        f"{env.get('torch', '?')}, {env.get('cpu_count', '?')} CPUs)"
        + ("  - FAST MODE: tiny budgets, the verdicts mean nothing" if rec.get("mode") != "full"
           else ""))
    for c in rows:
        out(f"\n{c['id']}  [{', '.join(c.get('rules', []))}]  ->  {c['verdict'].upper()}  "
            f"({c.get('seeds')} seeds)")
        out(f"  paper: {c.get('paper', '')}")
        out(f"  claim: {c.get('statement', '')}")
        out(f"  task:  {c.get('task', '')}; regime: {c.get('regime', '')}")
        for ch in c.get("checks", []):
            ci = ch.get("ci95") or [None, None]
            out(f"    {ch['verdict']:15s} {ch['name']}: {_fmt(ch.get('mean_effect'))} "
                f"{ch.get('unit', '')} [{_fmt(ci[0])}, {_fmt(ci[1])}]")
    if figures:
        for c in rows:
            claim_figures.figure(c)
    return rows

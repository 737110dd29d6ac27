"""The README's claims table, generated from the recorded ledger (never typed by hand).

``python -m snnlab.claims.readme [--record data/results/claims.json] [--readme README.md]``
rewrites the lines between ``<!-- claims:begin -->`` and ``<!-- claims:end -->``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .ledger import RECORD, load_record, recorded_span

__all__ = ["BEGIN", "END", "table", "update_readme", "main"]

BEGIN = "<!-- claims:begin -->"
END = "<!-- claims:end -->"


def _num(x, fmt="{:.4g}"):
    return "-" if x is None else fmt.format(x)


def _ci(ci):
    if not ci or ci[0] is None or ci[1] is None:
        return "-"
    return f"[{ci[0]:.3g}, {ci[1]:.3g}]"


_RULE = re.compile(r"interval of (?P<effect>.+?) lies (?P<dir>above|below) (?P<margin>[^;]+);")


def _condition(check: dict) -> str:
    """The tested statement of a check as an inequality, e.g. ``acc_ttfs - 95.9 > -1.5``
    (a paper's number appears where the check compares with one)."""
    m = _RULE.search(check.get("rule", ""))
    if not m:
        return check.get("name", "")
    effect = m["effect"].strip()
    if effect.startswith("(") and effect.endswith(")"):
        effect = effect[1:-1]
    return f"{effect} {'>' if m['dir'] == 'above' else '<'} {m['margin'].strip()}"


def table(rec: dict) -> str:
    """A markdown table of a recorded ledger: one row per check of every claim (what the paper
    itself reports, in its own setting; what is tested, as an inequality with the paper's number
    where it has one; our mean effect with its 95 % interval; the check's verdict), the claim's
    overall verdict on its first row, plus a line saying when, in which mode and on what it was
    run."""
    env = rec.get("environment", {})
    mode = rec.get("mode", "?")
    head = (f"Recorded {recorded_span(rec)} ({mode} run; torch {env.get('torch', '?')}, "
            f"{env.get('cpu_count', '?')} CPUs). Each row is one check: the tested inequality on "
            "the per-seed effect, ours = its mean with the 95 % t-interval over the seeds; "
            "`python -m snnlab.claims show` prints every number and "
            "`data/results/claims/<claim>.png` draws it.")
    if mode != "full":
        head += " **Fast mode: tiny budgets, the verdicts mean nothing.**"
    rows = ["| claim (verdict) | rules | task | the paper reports | tested: effect vs margin | "
            "ours [95 % CI] | seeds | check |", "|---|---|---|---|---|---|---|---|"]
    for c in rec.get("claims", []):
        task = str(c.get("task", "")).split(",")[0].split("(")[0].strip()
        checks = c.get("checks") or [{}]
        for i, ch in enumerate(checks):
            first = i == 0
            claim = f"`{c['id']}` (**{c.get('verdict')}**)" if first else ""
            cond = _condition(ch).replace("|", "\\|")
            reported = str(c.get("reported", "")).replace("|", "\\|") if first else ""
            rows.append(f"| {claim} | {', '.join(c.get('rules', [])) if first else ''} | "
                        f"{task if first else ''} | {reported} | `{cond}` | "
                        f"{_num(ch.get('mean_effect'), '{:.3g}')} "
                        f"{ch.get('unit', '').replace('|', chr(92) + '|')} "
                        f"{_ci(ch.get('ci95'))} | {c.get('seeds', '') if first else ''} | "
                        f"{ch.get('verdict', '')} |")
    return head + "\n\n" + "\n".join(rows)


def update_readme(readme, rec: dict | None) -> str:
    """Replace the text between the markers in ``readme`` (a path) with :func:`table` (or
    "not run yet" without a record); returns the new text and writes it."""
    path = Path(readme)
    text = path.read_text()
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{path} has no '{BEGIN}' ... '{END}' block")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    body = table(rec) if rec is not None else "not run yet"
    new = f"{before}{BEGIN}\n{body}\n{END}{after}"
    path.write_text(new)
    return new


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m snnlab.claims.readme", description=__doc__)
    p.add_argument("--record", default=str(RECORD))
    p.add_argument("--readme", default="README.md")
    args = p.parse_args(argv)
    try:
        rec = load_record(args.record)
        update_readme(args.readme, rec)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"updated the claims table in {args.readme} from {args.record}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

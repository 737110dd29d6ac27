"""The README's claims table, generated from the recorded ledger (never typed by hand).

``python -m snnlab.claims.readme [--record data/results/claims.json] [--readme README.md]``
rewrites the lines between ``<!-- claims:begin -->`` and ``<!-- claims:end -->``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .ledger import RECORD, load_record

__all__ = ["BEGIN", "END", "table", "update_readme", "main"]

BEGIN = "<!-- claims:begin -->"
END = "<!-- claims:end -->"


def _num(x, fmt="{:.4g}"):
    return "-" if x is None else fmt.format(x)


def _ci(ci):
    if not ci or ci[0] is None or ci[1] is None:
        return "-"
    return f"[{ci[0]:.3g}, {ci[1]:.3g}]"


def table(rec: dict) -> str:
    """A markdown table of a recorded ledger: one row per claim (its first check), plus a line
    saying when, in which mode and on what it was run."""
    env = rec.get("environment", {})
    mode = rec.get("mode", "?")
    head = (f"Recorded {rec.get('created', '?')} ({mode} run; torch {env.get('torch', '?')}, "
            f"{env.get('cpu_count', '?')} CPUs). Effect = first check's mean per-seed effect "
            "with its 95 % t-interval; `python -m snnlab.claims show` lists every check.")
    if mode != "full":
        head += " **Fast mode: tiny budgets, the verdicts mean nothing.**"
    rows = ["| claim | rules | task | metric | value | baseline | effect [95 % CI] | seeds "
            "| verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for c in rec.get("claims", []):
        task = str(c.get("task", "")).split(",")[0].split("(")[0].strip()
        rows.append(f"| `{c['id']}` | {', '.join(c.get('rules', []))} | {task} | "
                    f"{c.get('metric', '')} | {_num(c.get('value'))} | "
                    f"{_num(c.get('baseline'))} | {_num(c.get('effect'), '{:.3g}')} "
                    f"{_ci(c.get('ci95'))} | {c.get('seeds', '')} | **{c.get('verdict')}** |")
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

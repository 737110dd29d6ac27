"""The ``claims`` command: ``main(argv)`` (wired into ``snnlab claims ...``; also
``python -m snnlab.claims ...``).

* ``claims list [--json]`` - the definitions: statement, task, regime, budget, verdict rule.
* ``claims run [--fast] [--only ID,...] [--seeds N] [--json] [--record PATH [--merge]]
  [--threads N]`` -
  run claims (on ``--threads`` torch threads, default 1) with
  a progress bar on stderr; one line per claim on stdout (one JSON object per line with
  ``--json``); ``--record`` writes the results with package versions and machine facts.
* ``claims show [--json] [--file PATH]`` - the recorded ledger (default
  ``data/results/claims.json``).
* ``claims table [--markdown] [--file PATH] [--readme README.md]`` - the markdown table; with
  ``--readme`` it replaces the block between the claims markers in that file.
* ``claims figures [--file PATH] [--out DIR]`` - one PNG per recorded claim (measurements per
  seed, each check's interval against its margin; :mod:`snnlab.claims.figures`).

Exit status: 0 when every claim ran (whatever its verdict - "not reproduced" is a result);
1 when a claim's measurement raised (verdict "error") or a record is missing; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from . import figures, readme
from . import ledger as L

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="snnlab claims", description="the claims ledger")
    sub = p.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("list", help="the claims' definitions")
    ls.add_argument("--json", action="store_true")
    r = sub.add_parser("run", help="run claims (progress on stderr, results on stdout)")
    r.add_argument("--fast", action="store_true",
                   help="tiny budgets and 2 seeds: tests the machinery, verdicts mean nothing")
    r.add_argument("--only", default=None, help="comma-separated claim ids")
    r.add_argument("--seeds", type=int, default=None, help="seeds per claim (>= 2)")
    r.add_argument("--json", action="store_true", help="one JSON object per claim")
    r.add_argument("--record", default=None, help="write the results to this JSON file")
    r.add_argument("--merge", action="store_true",
                   help="with --record: replace only the claims run now in an existing record")
    r.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: these small models run fastest, and most "
                        "steadily on a shared machine, on one thread)")
    r.add_argument("--no-progress", action="store_true")
    s = sub.add_parser("show", help="print the recorded ledger")
    s.add_argument("--json", action="store_true")
    s.add_argument("--file", default=str(L.RECORD))
    t = sub.add_parser("table", help="markdown table of the recorded ledger")
    t.add_argument("--markdown", action="store_true", help="(the only format; accepted)")
    t.add_argument("--file", default=str(L.RECORD))
    t.add_argument("--readme", default=None, help="rewrite the claims block of this file")
    f = sub.add_parser("figures", help="one PNG per recorded claim")
    f.add_argument("--file", default=str(L.RECORD))
    f.add_argument("--out", default=str(L.RECORD.parent / "claims"),
                   help="folder for the PNGs (default data/results/claims)")
    return p


def _fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def _line(res: dict) -> str:
    ci = res.get("ci95") or [None, None]
    return (f"{res['id']:26s} {res['verdict']:15s} {res.get('metric', '')}: "
            f"{_fmt(res.get('value'))} vs {_fmt(res.get('baseline'))}; effect "
            f"{_fmt(res.get('effect'))} [{_fmt(ci[0])}, {_fmt(ci[1])}] "
            f"({res.get('seeds')} seeds, {res.get('seconds')} s)"
            + (f"  ERROR {res['error']}" if res.get("error") else ""))


def _show_text(rec: dict) -> str:
    env = rec.get("environment", {})
    out = [f"claims ledger recorded {L.recorded_span(rec)} ({rec.get('mode')} run; python "
           f"{env.get('python')}, torch {env.get('torch')}, snnlab {env.get('snnlab')}, "
           f"{env.get('cpu_count')} CPUs)"]
    for res in rec["claims"]:
        out.append(_line(res))
        if res.get("reported"):
            out.append(f"    the paper reports: {res['reported']}")
        for c in res.get("checks", []):
            ci = c.get("ci95") or [None, None]
            out.append(f"    {c['verdict']:15s} {c['name']}: {_fmt(c.get('mean_effect'), '.4g')} "
                       f"[{_fmt(ci[0], '.4g')}, {_fmt(ci[1], '.4g')}]")
    return "\n".join(out)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)

    if args.cmd == "list":
        defs = [L.get(i).describe() for i in L.available()]
        if args.json:
            for d in defs:
                print(json.dumps(d))
        else:
            for d in defs:
                print(f"{d['id']} [{', '.join(d['rules'])}] ~{d['estimate_minutes']} min\n"
                      f"  {d['statement']}\n  task: {d['task']}\n  regime: {d['regime']}\n"
                      f"  budget: {d['budget']}\n  verdict: {d['verdict_rule']}")
        return 0

    if args.cmd == "run":
        ids = None
        if args.only:
            ids = [i.strip() for i in args.only.split(",") if i.strip()]
            known = L.available()
            bad = [i for i in ids if i not in known]
            if bad:
                print(f"error: unknown claim(s) {', '.join(bad)}; available: {', '.join(known)}",
                      file=sys.stderr)
                return 2
        if args.seeds is not None and args.seeds < 2:
            print("error: --seeds must be >= 2 (a t-interval needs two values)", file=sys.stderr)
            return 2

        if args.merge and not args.record:
            print("error: --merge needs --record FILE (the record to merge into)",
                  file=sys.stderr)
            return 2
        if args.threads < 1:
            print("error: --threads must be >= 1", file=sys.stderr)
            return 2
        def emit(res):
            print(json.dumps(res) if args.json else _line(res), flush=True)

        threads = torch.get_num_threads()
        torch.set_num_threads(args.threads)
        try:
            results = L.run(ids, fast=args.fast, seeds=args.seeds,
                            progress=not args.no_progress, on_result=emit)
            if args.record:  # inside: the record states the thread count the run used
                path = L.record(results, args.record, fast=args.fast, merge=args.merge)
                print(f"recorded {len(results)} claims in {path}", file=sys.stderr)
        finally:
            torch.set_num_threads(threads)  # main() may be called inside a larger program
        return 1 if any(r["verdict"] == L.ERROR for r in results) else 0

    try:
        rec = L.load_record(args.file)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.cmd == "show":
        print(json.dumps(rec, indent=1) if args.json else _show_text(rec))
        for cid in L.undeclared_changes(rec):
            print(f"warning: the definition of {cid!r} changed since this record and its "
                  "history has no entry saying why", file=sys.stderr)
        return 0
    if args.cmd == "figures":
        paths = figures.write_figures(rec, args.out)
        print(f"wrote {len(paths)} figures to {args.out}", file=sys.stderr)
        return 0
    # table
    if args.readme:
        try:
            readme.update_readme(args.readme, rec)
        except (FileNotFoundError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"updated {args.readme}", file=sys.stderr)
    else:
        print(readme.table(rec))
    return 0

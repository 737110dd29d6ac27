"""The ``snnlab`` command.

    snnlab train --rule bptt --data digits --epochs 5 --T 8 --seed 0 --json
    snnlab compare --rules bptt,ottt --data digits
    snnlab info
    snnlab notebooks run [NAME ...] [--fast]
    snnlab notebooks nbgrader --out DIR [--fast] [NAME ...]
    snnlab claims run --fast | snnlab reproduce --list

Every option has a per-rule default, so ``snnlab train --rule R --data npz:FILE`` just works.
Bad arguments print one line (``snnlab: error: ...``) and exit with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy
import torch

from . import __version__, _native, compare, nbtools, spikemm
from . import data as D
from . import distributed as DIST
from . import rules as R
from ._checks import MAX_BATCH, MAX_EPOCHS, MAX_LR, MAX_SEED, MAX_SIZE, MAX_T
from .claims.cli import main as claims_main
from .compare import peak_rss_mb
from .data import available, cache_dir
from .nir import to_nir
from .reproduce import main as reproduce_main
from .train import build_model, train

__all__ = ["main", "build_parser", "EXIT_USAGE"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_USAGE, f"snnlab: error: {message}\n")


def _int_in(low: int, high: int):
    """An argparse type: an integer in ``[low, high]``, with a one-line message otherwise
    (argparse puts the option's name in front: ``argument --T: ...``)."""

    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got "
                                             f"{text!r}") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got {v}")
        return v

    return parse


def _positive_float(high: float):
    """An argparse type: a finite number in ``(0, high]``."""

    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not 0 < v <= high:  # also refuses nan and inf
            raise argparse.ArgumentTypeError(f"expected a number in (0, {high:g}], got {text}")
        return v

    return parse


def _sizes(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        msg = f"expected sizes like 128 or 256,128; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"layer sizes must be integers in [1, {MAX_SIZE}], "
                                         f"got {text!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="snnlab", description="Train and compare spiking-network learning rules.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp):
        sp.add_argument("--data", required=True,
                        help="digits, yinyang, mnist1d, mnist, fashion_mnist, cifar10, nmnist or "
                             "npz:PATH")
        sp.add_argument("--epochs", type=_int_in(0, MAX_EPOCHS),
                        help="default: the rule's own")
        sp.add_argument("--T", type=_int_in(1, MAX_T),
                        help="time steps (default: the rule's own)")
        sp.add_argument("--seed", type=_int_in(0, MAX_SEED), default=0)
        sp.add_argument("--batch-size", type=_int_in(1, MAX_BATCH), default=64)
        sp.add_argument("--hidden", type=_sizes, default=[128], help="e.g. 128 or 256,128")
        sp.add_argument("--neuron", help="lif, if, lif_syn, ... (default: the rule's network)")
        sp.add_argument("--reset", choices=["zero", "subtract"],
                        help="neuron reset (default: the neuron's own, subtract for lif); NIR "
                             "has no subtraction: train with zero for an export every reader "
                             "runs exactly")
        sp.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
        sp.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
        sp.add_argument("--no-progress", action="store_true")

    t = sub.add_parser("train", help="train one rule on one dataset")
    t.add_argument("--rule", default="bptt")
    common(t)
    t.add_argument("--lr", type=_positive_float(MAX_LR))
    t.add_argument("--encoding", help="direct, rate, latency, delta (default: the rule's own)")
    t.add_argument("--checkpoint", help="save after every epoch to this file")
    t.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint (refused if the file's digest, weights or "
                        "run configuration do not match; snnlab.train(resume='force') overrides "
                        "the configuration check)")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes started by torchrun")

    c = sub.add_parser("compare", help="train several rules side by side and print a table")
    c.add_argument("--rules", default="bptt", help="comma-separated names, or 'all'")
    common(c)

    sub.add_parser("info", help="versions, registered rules and the data cache")
    sub.add_parser("claims", help="the claims ledger: list, run, show, table (snnlab claims -h)")
    sub.add_parser("reproduce", help="a seed paper's main experiment: --list, NAME [--epochs N] "
                                     "[--data-dir DIR] (snnlab reproduce -h)")

    x = sub.add_parser("export", help="export a trained checkpoint to NIR (read by snnTorch, "
                                      "Norse, Sinabs, Rockpool, Lava, Loihi 2, SpiNNaker2, Xylo)")
    x.add_argument("--checkpoint", required=True, help="a checkpoint written by snnlab train")
    x.add_argument("--format", default="nir", choices=["nir"])
    x.add_argument("--dt", type=_positive_float(1e6), default=1e-4,
                   help="seconds per time step (forward Euler; default 1e-4, snnTorch's)")
    x.add_argument("--no-readout", action="store_true",
                   help="end the graph at the last hidden spikes (default: the readout's Affine)")
    x.add_argument("out", help="output file, e.g. model.nir")

    n = sub.add_parser("notebooks", help="build or execute the course notebooks")
    n.add_argument("action", choices=["run", "list", "student", "nbgrader"],
                   help="run: execute (and store outputs); student: write versions without "
                        "solutions to --out")
    n.add_argument("names", nargs="*", help="notebook numbers or names (default: all)")
    n.add_argument("--fast", action="store_true", help="FAST=True (tiny sizes), outputs not kept")
    n.add_argument("--jobs", type=_int_in(1, 1024), default=1)
    n.add_argument("--out", help="folder for student versions (default notebooks/student)")
    return p


def _model_kw(args) -> dict:
    kw = {} if args.neuron is None else {"neuron": args.neuron}
    if args.reset is not None:
        kw["reset"] = args.reset
    return kw


def _train(args) -> dict:
    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint FILE (the run to continue)")
    rule = R.get(args.rule)
    split = D.load(args.data, seed=args.seed)
    model = build_model(rule, split, args.hidden, seed=args.seed, **_model_kw(args))
    kw = {}
    if len(split.input_shape) == 4:
        kw = dict(encoding="frames", T=split.input_shape[0])
    t0 = time.perf_counter()
    hist = train(model, split, rule, T=args.T or kw.pop("T", None), epochs=args.epochs,
                 batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                 encoding=args.encoding or kw.pop("encoding", None),
                 progress=not (args.no_progress or args.json), checkpoint=args.checkpoint,
                 resume=args.resume, device=args.device, distributed=args.distributed)
    final = hist.final
    return dict(rule=rule.name, data=split.name, test_acc=final.get("test_acc"),
                train_seconds=round(time.perf_counter() - t0, 3),
                spikes_per_sample=final.get("spikes_per_sample"),
                synops_per_sample=final.get("synops_per_sample"),
                peak_rss_mb=round(peak_rss_mb(), 1), epochs=hist.config["epochs"],
                T=hist.config["T"], seed=args.seed)


def _compare(args):
    split = D.load(args.data, seed=args.seed)
    return compare.rules(args.rules, split, hidden=args.hidden, epochs=args.epochs,
                         T=args.T, seed=args.seed, batch_size=args.batch_size,
                         progress=not (args.no_progress or args.json), device=args.device,
                         model_kw=_model_kw(args))


def _info() -> str:
    lines = [f"snnlab {__version__}", f"python {platform.python_version()} ({sys.executable})",
             f"torch {torch.__version__} (cuda available: {torch.cuda.is_available()}, "
             f"threads: {torch.get_num_threads()})", f"numpy {numpy.__version__}"]
    try:
        import snntorch

        lines.append(f"snntorch {snntorch.__version__}")
    except ImportError:
        lines.append("snntorch not installed")
    int8 = ("on" if spikemm.enabled() else
            "off (SNNLAB_INT8_SPIKES=0, or int8 matmuls are not faster on this CPU)")
    lines += [f"rules: {', '.join(R.available())}", f"datasets: {', '.join(available())}",
              f"data cache: {cache_dir()} (set SNNLAB_DATA to move it)",
              f"LIF time loop: {_native.status()}",
              f"int8 synapse for spike inputs of large layers: {int8}"]
    return "\n".join(lines)


def _notebooks(args) -> int:
    srcs = nbtools.sources()
    if args.names:
        srcs = [s for s in srcs if any(s.stem == n or s.stem.startswith(f"{n}_")
                                       or s.stem.startswith(f"{int(n):02d}_") if n.isdigit()
                                       else s.stem == n for n in args.names)]
        if not srcs:
            raise ValueError(f"no notebook matches {args.names}")
    if args.action == "list":
        print("\n".join(s.stem for s in srcs))
        return 0
    if args.action == "student":
        for path in nbtools.write_students(args.out):
            print(f"wrote {path}")
        return 0
    if not args.fast:
        # one thread per build whatever --jobs is: the order of float sums depends on the thread
        # count, so a build with --jobs 1 on all cores gave other numbers than one with --jobs 2
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                list(pool.map(nbtools.build, srcs))
            return 0
    for src in srcs:
        if args.fast:
            nb = nbtools.to_notebook(src, Path(tempfile.mkdtemp()) / f"{src.stem}.ipynb")
            t0 = time.perf_counter()
            nbtools.execute(nb, nb, fast=True)
            print(f"ran {src.stem} (fast) in {time.perf_counter() - t0:.1f} s")
        else:
            nbtools.build(src)
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["claims"]:  # the claims ledger parses its own arguments
        return claims_main(argv[1:])
    if argv[:1] == ["reproduce"]:  # so does the paper-configuration runner
        return reproduce_main(argv[1:])
    if argv[:2] == ["notebooks", "nbgrader"]:  # writes an nbgrader course; parses its own options
        return nbtools.nbgrader_main(argv[2:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            result = _train(args)
            if not DIST.is_main():  # under torchrun: rank 0 alone reports
                return 0
            if args.json:
                print(json.dumps(result))
            else:
                for k, v in result.items():
                    print(f"{k:>18}: {v}")
        elif args.command == "compare":
            comp = _compare(args)
            print(comp.table())
            if args.json:
                print(json.dumps({"rows": comp.rows}))
        elif args.command == "info":
            print(_info())
        elif args.command == "export":
            graph = to_nir(args.checkpoint, args.out, dt=args.dt, readout=not args.no_readout)
            print(f"wrote {args.out}: NIR graph, {len(graph.nodes)} nodes, dt = {args.dt:g} s")
        elif args.command == "notebooks":
            return _notebooks(args)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as e:
        # the message as written, quotes and all (str() of a KeyError is its repr: unwrap it)
        text = e.args[0] if isinstance(e, KeyError) and len(e.args) == 1 else e
        msg = " ".join(str(text).split("\n")).strip() or type(e).__name__  # one line
        print(f"snnlab: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as e:  # data that needs the internet, a diverged run
        print(f"snnlab: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snnlab: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""``chainrule bench``: seconds per training epoch of chainrule against hand-written NumPy loops,
PyTorch and scikit-learn, each in its own process (chainrule.bench measures; this reads the options
and writes the results).

    chainrule bench            # the full run, 5 rounds: about 10 minutes on 2 quiet cores
    chainrule bench --quick    # a fifth of an epoch per measurement, 2 rounds: about 3 minutes
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

from ..atomic import atomic_write
from ..bench import CONTENDERS, EPOCH, NETS, benchmark, format_report
from ..extras import installed
from .plot import pictures_skipped

__all__ = ["HELP", "add_arguments", "run"]

HELP = "time training against hand-written NumPy loops, PyTorch and scikit-learn"
DESCRIPTION = ("Seconds per epoch of chainrule's two paths, a straightforward and an optimized hand-written NumPy "
               "loop, PyTorch and scikit-learn (when installed), each in its own process, in rounds of rotated "
               "order; medians over rounds, ratios with their per-round spread.")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule bench``."""
    parser.description = DESCRIPTION
    parser.add_argument("--quick", action="store_true",
                        help="time a fifth of an epoch (12,000 examples), 2 rounds: about 3 minutes")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds: every contender's process once per net and batch size, order rotated "
                             "(default: 5, quick: 2)")
    parser.add_argument("--repeats", type=int, default=None, help="another name for --rounds")
    parser.add_argument("--epochs", type=int, default=1,
                        help="timed epochs per process, after an untimed warm-up of a quarter of --examples "
                             "(default: 1)")
    parser.add_argument("--examples", type=int, default=None,
                        help=f"examples timed per measurement, scaled to {EPOCH:,} (default: {EPOCH:,}, quick: 12,000)")
    parser.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS), metavar="NET",
                        help=f"among {', '.join(NETS)} (default: both)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 100, 1000], metavar="B",
                        help="(default: 32 100 1000)")
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS),
                        metavar="NAME", help=f"among {', '.join(CONTENDERS)} (default: all that are installed)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for NumPy and PyTorch alike (default: each library's own)")
    parser.add_argument("--data", choices=["auto", "fashion-mnist", "random"], default="auto",
                        help="auto: Fashion-MNIST if on disk, else random (default: auto)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="write the results here, and their bars beside it as .png "
                             "(default: benchmarks/results/bench-<time>.json; '' for none)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _checked(args: argparse.Namespace) -> tuple[int, int, str]:
    """(rounds, examples, JSON path) from the options, or ValueError naming the bad path; benchmark()
    checks the numbers (its "rounds must be ..." reaches the user as "--rounds must be ...")."""
    if args.repeats is not None:
        if args.rounds is not None and args.rounds != args.repeats:
            raise ValueError(f"--repeats {args.repeats} and --rounds {args.rounds}: one name, give one")
        if args.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {args.repeats}")
    path = args.json if args.json is not None else \
        f"benchmarks/results/bench-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    if path:  # checked before minutes of timing, not after
        folder = Path(path).parent
        if Path(path).is_dir() or (folder.exists() and not folder.is_dir()):
            raise ValueError(f"--json {path}: not a file path")
        writable = folder if folder.exists() else next((d for d in folder.parents if d.exists()), Path("."))
        if not os.access(writable, os.W_OK):
            raise ValueError(f"--json {path}: cannot write in {writable}")
    rounds = next((r for r in (args.rounds, args.repeats) if r is not None), 2 if args.quick else 5)
    examples = args.examples if args.examples is not None else (12_000 if args.quick else EPOCH)
    return rounds, examples, path


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed ``args``; print the tables; return the exit status.

    A bad option raises ValueError before anything is timed."""
    rounds, examples, path = _checked(args)
    contenders = list(dict.fromkeys(["numpy-opt"] + args.contenders))  # the floor: every ratio's first reference
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    res = benchmark(args.nets, args.batch_sizes, contenders, rounds, examples, args.lr, args.data, args.threads,
                    memory=not args.no_memory, epochs=args.epochs, log=log)
    print(format_report(res))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            f.write((json.dumps(res, indent=1) + "\n").encode())
        print(f"\nwrote {path}")
        if installed("matplotlib"):  # it comes with the cli extra
            from ..plots import plot_bench

            picture = Path(path).with_suffix(".png")
            plot_bench(res, picture)
            print(f"wrote {picture}")
        else:
            print(pictures_skipped(path), file=sys.stderr)
    return 0

"""The ``chainrule`` command: train, evaluate, predict, export, tune, bench, plot, diagnose, board.

One module per command, each with ``add_arguments(parser)`` and ``run(args) -> int``;
errors.py maps what a command raises to one line on stderr and an exit status (2 a
mistake, 3 a diverged training, 128 + the signal's number when stopped, 130 for Ctrl-C).
The library never imports this package.

>>> build_parser().parse_args(["train", "--epochs", "3"]).epochs
3
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Sequence

from ..distributed import launched_size
from ..version import __version__
from . import bench, board, diagnose, evaluate, export, plot, predict, train, tune
from ._parser import ArgumentParser
from .errors import (EXIT_DIVERGED, EXIT_SIGNAL, EXIT_USAGE, MAX_MESSAGE_CHARS, UserError, complain, one_line, run_command,
                     warn_in_one_line)

__all__ = ["main", "build_parser", "COMMANDS", "UserError", "EXIT_USAGE", "EXIT_DIVERGED", "EXIT_SIGNAL",
           "MAX_MESSAGE_CHARS", "one_line"]

# name -> the command's module, in the order --help lists them
COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "export": export, "tune": tune, "bench": bench,
            "plot": plot, "diagnose": diagnose, "board": board}


def build_parser() -> argparse.ArgumentParser:
    """The ``chainrule`` parser, with a subparser per command (``parser.subparsers``: name -> parser).

    >>> sorted(build_parser().subparsers)
    ['bench', 'board', 'diagnose', 'evaluate', 'export', 'plot', 'predict', 'train', 'tune']
    """
    parser = ArgumentParser(
        prog="chainrule", description="Train, evaluate and use small neural networks on NumPy.",
        epilog="Run 'chainrule COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    parser.subparsers = sub.choices  # name -> the command's parser
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule ARGV``; returns the exit status (see errors.py).

    >>> main(["evaluate", "/nonexistent/model.safetensors"])  # prints: chainrule: error: ... no such ...
    2
    """
    # Started with stdout or stderr closed (``>&-``, some daemons): Python sets sys.stdout to None,
    # and a print to None would go to the other stream. Their output is dropped; the work goes on.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command's own parser, which points at the command's --help
        (parser.subparsers[args.command] if args.command else parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 0
    if args.command != "train" and launched_size() > 1:  # mpi4py is not needed to say so
        complain(f"chainrule: error: chainrule {args.command} runs in one process; under mpirun, only "
                 f"chainrule train runs across processes (drop mpirun, or use -n 1)")
        return EXIT_USAGE
    with warnings.catch_warnings():  # every command's warnings (a class with no example...) one line each
        warnings.showwarning = warn_in_one_line
        return run_command(args.func, args, parser.subparsers[args.command])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``chainrule diagnose``: the training recipe as checks (chainrule.diagnose), one row each, then
the verdict; exit status 1 when a check fails, 0 otherwise (warnings allowed)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
from typing import TextIO

from ..data import DATASETS
from ..diagnose import MODEL_CHECKS, Check, diagnose, failed, prepare, verdict
from ..threads import limit_threads
from ..train import DEFAULT_DATASET, DEFAULT_MODEL, TrainConfig
from .errors import settings_as_options
from .options import add_config_options, config_from_args, option_name
from .train import SPEC_HELP

__all__ = ["HELP", "EXIT_FAILED", "add_arguments", "run", "format_row"]

HELP = "check the data, the model and the learning rate before a long training"
EXIT_FAILED = 1  # a check failed
NAME_WIDTH = 28
_OPTIONS = {f.name: option_name(f.name) for f in dataclasses.fields(TrainConfig)}  # lr -> --lr, as advice names them
_NOT_CHECK_OPTIONS = ("diagnostics",)  # the checks always look at the layers; nothing is recorded per epoch


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule diagnose``: those of ``chainrule train`` that say what is trained and how."""
    parser.description = (
        "Run the training recipe as checks before a long training: the data (class balance, constant and "
        "non-finite features, train/test duplicates, feature scale), the loss at init against ln(classes), a "
        "float64 gradient check, overfitting one batch of 32 examples, an input-independent baseline (zeroed "
        "inputs) and the initial layer statistics. Exit status 1 when a check fails.")
    parser.epilog = SPEC_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--dataset", default=DEFAULT_DATASET,
                        help=f"one of {', '.join(DATASETS)}, or a .npz, .csv or .tsv file (default: {DEFAULT_DATASET})")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="SPEC", help=f"model SPEC (default: {DEFAULT_MODEL})")
    add_config_options(parser.add_argument_group(
        "training (TrainConfig's fields, as chainrule train takes them; the checks use the optimizer, lr, "
        "momentum, weight decay, batch size, clip_grad and seed)"), skip=_NOT_CHECK_OPTIONS)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for NumPy (default: 1 where threadpoolctl is installed: the checks train "
                             "on small batches, where more threads only wait for each other)")
    parser.add_argument("--data-dir", default=None, help="folder with the data set's files")
    return parser


def format_row(check: Check, width: int = NAME_WIDTH) -> str:
    """One check as a row: status, name, figure and, on a warning or a failure, what to do.

    >>> format_row(Check("loss at init", "pass", "2.31 vs ln(10) = 2.30"), 14)
    'pass  loss at init    2.31 vs ln(10) = 2.30'
    """
    row = f"{check.status:<4}  {check.name:<{width}}  {check.figure}"
    if check.advice and check.status != "pass":
        row += f" -> {settings_as_options(check.advice, _OPTIONS)}"
    return row


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """``chainrule diagnose``: print each check as it is done, then the verdict; returns 1 when a check
    failed, else 0."""
    stream = stream or sys.stdout
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"threads must be a positive integer, got {args.threads}")
    config = config_from_args(args, skip=_NOT_CHECK_OPTIONS)
    TrainConfig(**config).validate()  # a bad option fails before any data is read
    threads = args.threads
    if threads is None and importlib.util.find_spec("threadpoolctl") is not None:
        threads = 1
    with limit_threads(threads):
        subject = prepare(args.dataset, args.model, data_dir=args.data_dir, **config)
        print(subject.header(), file=stream, flush=True)
        checks = diagnose(subject, on_check=lambda c: print(format_row(c), file=stream, flush=True))
    if not any(c.name in MODEL_CHECKS for c in checks):
        print(f"not run: {', '.join(MODEL_CHECKS)} (they need finite training data)", file=stream)
    print(verdict(checks), file=stream, flush=True)
    return EXIT_FAILED if failed(checks) else 0

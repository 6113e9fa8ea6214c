"""``chainrule train``: train an MLP given by a SPEC on a data set and save the run.

The training options are TrainConfig's fields (see options.py): its defaults are this
command's, as they are ``chainrule.fit()``'s.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import warnings
from pathlib import Path

from ..data import DATASETS
from ..diagnostics import DiagnosticsWarning
from ..distributed import Communicator, world
from ..extras import installed
from ..progress import count
from ..rundir import DIAGNOSTICS, claim, default_run_folder
from ..threads import limit_threads
from ..train import DEFAULT_DATASET, DEFAULT_MODEL, Interrupted, TrainConfig, catch_signals, fit, resume
from .errors import UserError, warn_in_one_line, with_option
from .evaluate import final_line
from .options import add_config_options, config_from_args, given_options
from .plot import pictures_skipped

__all__ = ["HELP", "SPEC_HELP", "add_arguments", "run", "draw_pictures"]

HELP = "train an MLP and save it"
SPEC_HELP = """\
model SPEC: a short string for an MLP; input and output sizes come from the data.
  linear                      Linear + softmax (the exercise's first model)
  200tanh                     Linear(784,200), Tanh, Linear(200,10) (the exercise's second)
  512relu-256relu             two ReLU hidden layers
  512relu-dropout0.2-256relu  dropout between layers
activations: tanh, relu, sigmoid, leakyrelu. The softmax output is fused into the loss.
"""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule train``: the data, the model, TrainConfig's fields, the run folder."""
    parser.description = ("Train an MLP given by a SPEC. Under mpirun -n K it trains data-parallel across the K "
                          "processes (pip install 'chainrule[mpi]'): --batch-size is the whole batch, the weights "
                          "are those of one process, and rank 0 writes the run.")
    parser.epilog = SPEC_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--dataset", default=None,
                        help=f"one of {', '.join(DATASETS)}, or a .npz, .csv or .tsv file (default: {DEFAULT_DATASET})")
    parser.add_argument("--model", default=None, metavar="SPEC", help=f"model SPEC (default: {DEFAULT_MODEL})")
    add_config_options(parser.add_argument_group("training (TrainConfig's fields)"))
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for NumPy (default: all cores); 1 is often faster for small networks "
                             "or on a busy machine")
    parser.add_argument("--data-dir", default=None, help="folder with the data set's files")
    parser.add_argument("--out", default=None, help="output folder (default: runs/<dataset>-<model>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    parser.add_argument("--resume", metavar="OUT", default=None,
                        help="continue an interrupted run from OUT/last.safetensors, with its saved settings")
    parser.add_argument("--no-plots", action="store_true", help="skip the pictures")
    parser.add_argument("--quiet", action="store_true", help="print only the final line")
    return parser


def run(args: argparse.Namespace) -> int:
    """``chainrule train``: train (or resume), save, draw the pictures, print the result; returns 0."""
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be a positive integer, got {args.threads}")
    comm = world()  # under mpirun -n K: data-parallel over K processes (rank 0 writes and prints)
    with warnings.catch_warnings():
        warnings.showwarning = _warn  # a resume that will not be bitwise says so in one line
        if comm.rank != 0:
            warnings.simplefilter("ignore")  # every process would warn alike
        if args.resume:  # resume() runs with the thread count the run was saved with
            return _train(args, comm)
        with limit_threads(args.threads):
            return _train(args, comm)


def _warn(message, category, filename, lineno, file=None, line=None):
    """A warning in one line; a diagnostics remedy's settings as this command's options (lr=0.01 as --lr 0.01)."""
    if issubclass(category, DiagnosticsWarning):
        options = argparse.ArgumentParser(add_help=False)
        add_config_options(options)
        message = with_option(str(message), options, message)
    warn_in_one_line(message, category, filename, lineno, file, line)


def _train(args: argparse.Namespace, comm: Communicator) -> int:
    if args.resume:
        extra = given_options(args) + [f"--{k}" for k in ("dataset", "model", "out") if getattr(args, k) is not None]
        if extra:
            raise UserError(f"--resume continues the saved run with its own settings; drop {', '.join(extra)}")
        out = Path(args.resume)
        holding = claim(out, resume=True) if comm.rank == 0 else contextlib.nullcontext()
    else:
        config = config_from_args(args)
        TrainConfig(**config).validate()  # bad options fail before any data is read
        dataset = DEFAULT_DATASET if args.dataset is None else args.dataset
        model = DEFAULT_MODEL if args.model is None else args.model
        out = Path(args.out) if args.out else default_run_folder(dataset, model)
        holding = claim(out, overwrite=args.overwrite) if comm.rank == 0 else contextlib.nullcontext()  # before any data
    # decided before any work: no run waits on a missing extra
    draw = not args.no_plots and comm.rank == 0 and installed("matplotlib")
    if not args.no_plots and comm.rank == 0 and not draw:
        print(pictures_skipped(out), file=sys.stderr, flush=True)
    with holding:  # one run per folder, from the check to the last picture
        if args.resume:
            result = resume(out, data_dir=args.data_dir, quiet=args.quiet, threads=args.threads, comm=comm)
        else:
            result = fit(dataset, model, data_dir=args.data_dir, out=out, quiet=args.quiet, comm=comm, **config)
        written = draw_pictures(out, result) if draw else []
    s = result.summary
    out = result.out_dir
    if comm.rank != 0:  # rank 0 reports the run
        return 0
    if not args.quiet:
        val = s["val_accuracy"]
        val = "no validation split" if val is None or math.isnan(val) else f"val accuracy {val:.2%}"
        print(f"{s['dataset']}, {s['model']} ({s['parameters']:,} parameters): {count(s['epochs'], 'epoch')} in "
              f"{s['seconds']:.1f}s, best epoch {s['best_epoch']}, {val}, test accuracy {s['test_accuracy']:.2%}")
        files = ["model.safetensors", "metrics.jsonl", *([DIAGNOSTICS] if s["config"]["diagnostics"] else []),
                 "summary.json", *written]
        print(f"wrote {out}/: {', '.join(files)}")
    print(final_line(s))
    return 0


def draw_pictures(out: Path, result) -> list[str]:
    """The pictures of ``result`` (a FitResult) into ``out``; returns the file names written. The run is
    complete and saved by now: a stop signal or a failed write here loses nothing, and says so
    (``chainrule plot OUT`` draws them again). For example: ``draw_pictures(Path("runs/x"), fit(...))``."""
    from ..plots import run_pictures

    again = f"the run is complete and saved in {out}; chainrule plot {out} draws the pictures"
    written = []
    with catch_signals() as stop:  # a signal is taken between two pictures, never inside matplotlib
        try:
            for name, draw in run_pictures(out, result.history, result.model, result.test_labels,
                                           result.test_predictions):
                if stop.signum is not None:
                    break
                try:
                    draw()
                except OSError as e:
                    raise UserError(f"cannot write {out / name} ({e.strerror or e}); {again}") from None
                written.append(name)
        except Interrupted:  # a second signal
            pass
    if stop.signum is not None:
        raise Interrupted(f"interrupted while drawing the pictures; {again}", stop.signum)
    return written

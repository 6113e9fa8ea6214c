"""The ``chainrule`` command: train, evaluate, predict, tune, bench, plot.

A mistake a user can make (unknown data set, missing file, bad SPEC, a
checkpoint that doesn't fit) prints one line and exits with status 2, without
a traceback; set CHAINRULE_DEBUG=1 to see the traceback anyway. A stop signal
(Ctrl-C's SIGINT, SIGTERM, SIGHUP) exits with 128 + its number (130, 143, 129).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from . import __version__, bench, tune
from ._parser import ArgumentParser
from .data import DATASETS, DataError, files, load_dataset, read_idx
from .data.files import NpzReader, open_regular, read_text
from .io import CheckpointError
from .model import Classifier, load
from .rundir import claim
from .spec import SpecError
from .threads import limit_threads
from .train import (DEFAULT_MODEL, DEFAULTS, OPTIMIZERS, SCHEDULES, Interrupted, MetricsError, TrainConfig,
                    TrainingDiverged, catch_signals, evaluate_arrays, fit, read_metrics, resume, saved_config)

EXIT_USAGE = 2
EXIT_SIGNAL = 128  # + the signal's number, as a shell reports a process a signal ended: 130 for Ctrl-C
EXIT_DIVERGED = 3
# An error line longer than this is shortened in the middle. The longest messages meant in full
# (the data set that was not found: where it was looked for, why each download failed) reach
# some 800 characters; what goes past is a file's contents or a list of its names, echoed.
MAX_MESSAGE_CHARS = 1000
IMAGE_FORMATS = ["PNG", "JPEG"]  # what predict reads as an image, told apart by content
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


SPEC_HELP = """\
model SPEC: a short string for an MLP; input and output sizes come from the data.
  linear                      Linear + softmax (the exercise's first model)
  200tanh                     Linear(784,200), Tanh, Linear(200,10) (the exercise's second)
  512relu-256relu             two ReLU hidden layers
  512relu-dropout0.2-256relu  dropout between layers
activations: tanh, relu, sigmoid, leakyrelu. The softmax output is fused into the loss.
"""


class UserError(Exception):
    """A mistake on the command line: one line, exit status 2."""


def _error_types():
    return (UserError, DataError, SpecError, CheckpointError, MetricsError, ValueError, OSError)


def _warn_in_one_line(message, category, filename, lineno, file=None, line=None):
    print(f"chainrule: warning: {message}", file=sys.stderr)


# --------------------------------------------------------------------- train
def _default_out(dataset: str, model: str) -> Path:
    name = Path(dataset).stem if dataset.endswith((".npz", ".csv")) else dataset
    return Path("runs") / f"{name}-{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def _final_line(summary_or_eval: dict) -> str:
    errors, size = summary_or_eval["test_errors"], summary_or_eval["test_size"]
    return f"test errors: {errors} / {size} ({errors / max(size, 1):.1%})"


TRAIN_OPTIONS = ("epochs", "batch_size", "lr", "optimizer", "weight_decay", "patience", "val_split", "seed",
                 "schedule", "clip_grad", "shift")


def cmd_train(args) -> int:
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be a positive integer, got {args.threads}")
    with warnings.catch_warnings():
        warnings.showwarning = _warn_in_one_line  # a resume that will not be bitwise says so in one line
        if args.resume:  # resume() runs with the thread count the run was saved with
            return _train(args)
        with limit_threads(args.threads):
            return _train(args)


def _train(args) -> int:
    given = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    if args.resume:
        extra = [f"--{k.replace('_', '-')}" for k in given] + [f"--{k}" for k in ("dataset", "model", "out")
                                                                 if getattr(args, k) is not None]
        if extra:
            raise UserError(f"--resume continues the saved run with its own settings; drop {', '.join(extra)}")
        out = Path(args.resume)
        holding = claim(out, resume=True)
    else:
        config = {**{k: getattr(DEFAULTS, k) for k in TRAIN_OPTIONS}, **given}
        TrainConfig(**config).validate()  # bad options fail before any data is read
        dataset = "digits" if args.dataset is None else args.dataset
        model = DEFAULT_MODEL if args.model is None else args.model
        out = Path(args.out) if args.out else _default_out(dataset, model)
        holding = claim(out, overwrite=args.overwrite)  # checked before any data is read
    with holding:  # one run per folder, from the check to the last picture
        if args.resume:
            result = resume(out, data_dir=args.data_dir, quiet=args.quiet, threads=args.threads)
        else:
            result = fit(dataset, model, data_dir=args.data_dir, out=out, quiet=args.quiet, **config)
        written = [] if args.no_plots else _draw_pictures(out, result)
    s = result.summary
    out = result.out_dir
    if not args.quiet:
        print(f"{s['dataset']}, {s['model']} ({s['parameters']:,} parameters): {s['epochs']} epochs in "
              f"{s['seconds']:.1f}s, best epoch {s['best_epoch']}, val accuracy {s['val_accuracy']:.2%}, "
              f"test accuracy {s['test_accuracy']:.2%}")
        files = ["model.safetensors", "metrics.jsonl", "summary.json", *written]
        print(f"wrote {out}/: {', '.join(files)}")
    print(_final_line(s))
    return 0


def _draw_pictures(out: Path, result) -> list[str]:
    """The run's pictures. The run is complete and saved by now: a stop signal or a failed write
    here loses nothing, and says so (``chainrule plot OUT`` draws them again)."""
    from .plots import run_pictures

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


# ------------------------------------------------------------------ evaluate
def _load_for_data(checkpoint: str, dataset: str | None, data_dir: str | None):
    model = load(checkpoint)
    name = dataset or model.info.get("dataset")
    if not isinstance(name, str):
        raise UserError(f"{checkpoint}: no data set recorded in the checkpoint; pass --dataset")
    config = saved_config(model.info, checkpoint)  # the split's seed; load() checked the rest
    data = load_dataset(name, data_dir=data_dir, seed=config.seed if config else 0)
    if data.num_features != model.num_features or data.num_classes != model.num_classes:
        raise UserError(f"{checkpoint}: the model takes {model.num_features} features and {model.num_classes} "
                        f"classes, but {data.name} has {data.num_features} and {data.num_classes}")
    return model, data


def _evaluate_test_set(checkpoint: str, model: Classifier, data) -> dict:
    result = evaluate_arrays(model, data.x_test, data.y_test)
    if len(data.y_test) and not np.isfinite(result["loss"]):
        raise UserError(f"{checkpoint}: the network's outputs overflow on {data.name}'s test set (weights too "
                        f"large to compute with in float32)")
    return result


def cmd_evaluate(args) -> int:
    model, data = _load_for_data(args.checkpoint, args.dataset, args.data_dir)
    result = _evaluate_test_set(args.checkpoint, model, data)
    summary = {"test_errors": result["errors"], "test_size": result["size"]}
    if not args.quiet:
        print(f"{data.name}, {model.spec}: test accuracy {result['accuracy']:.2%}, test loss {result['loss']:.4f}")
    print(_final_line(summary))
    return 0


# ------------------------------------------------------------------- predict
def _read_image(path: str, model: Classifier) -> np.ndarray:
    if not model.image_shape or len(model.image_shape) != 2:
        raise UserError(f"{path}: this model was not trained on images; give an .npz file instead")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise UserError("reading images needs Pillow: pip install pillow") from None
    with open_regular(path, limit=files.MAX_DATA_BYTES) as f, warnings.catch_warnings():
        # Pillow warns, then refuses, past its own pixel limit: one line, ours, either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Only these formats, recognised by their content: no other decoder (and no external
            # program, such as Ghostscript for PostScript) is ever reached through a file name.
            with Image.open(f, formats=IMAGE_FORMATS) as img:
                width, height = img.size  # from the header: nothing is decoded yet
                if width * height > files.MAX_IMAGE_PIXELS:
                    raise UserError(f"{path}: the image is {width}x{height} pixels, more than the "
                                    f"{files.MAX_IMAGE_PIXELS:,} predict reads")
                gray = img.convert("L").resize(model.image_shape[::-1], Image.Resampling.LANCZOS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise UserError(f"{path}: the image is larger than the {files.MAX_IMAGE_PIXELS:,} pixels predict "
                            f"reads ({' '.join(str(e).split())})") from None
        except UnidentifiedImageError:
            raise UserError(f"{path}: not a {' or '.join(IMAGE_FORMATS)} image") from None
        except (OSError, ValueError, SyntaxError) as e:  # Pillow's decoders raise these for damaged files
            raise UserError(f"{path}: cannot read the image ({' '.join(str(e).split())})") from None
    x = np.asarray(gray, dtype=np.float32) / np.float32(255)
    if x.mean() > 0.5:  # dark strokes on a light background: flip to the data's light-on-dark
        x = 1 - x
    return x.reshape(1, -1)


def _read_npz_inputs(path: str) -> np.ndarray:
    with NpzReader(path) as npz:
        key = "x" if "x" in npz.names else ("x_test" if "x_test" in npz.names else None)
        if key is None:
            raise UserError(f"{path}: expected an array named 'x' (found {', '.join(npz.names) or 'none'})")
        return npz.read(key)


def _read_inputs(path: str, model: Classifier) -> np.ndarray:
    lower = path.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return _read_image(path, model)
    x = _read_npz_inputs(path) if lower.endswith(".npz") else read_idx(path)
    if x.ndim == 0:
        raise UserError(f"{path}: holds a single number; expected examples of {model.num_features} features")
    if x.ndim == 1 or (model.image_shape and x.shape == tuple(model.image_shape)):
        x = x.reshape(1, -1)
    if len(x) == 0:
        raise UserError(f"{path}: no examples in it")
    x = x.reshape(len(x), -1)
    # integers are always finite: only floats are checked (a full-size mask for uint8 pixels would
    # double the memory a large IDX file needs)
    if x.dtype.kind not in "fiu" or (x.dtype.kind == "f" and not np.isfinite(x).all()):
        raise UserError(f"{path}: inputs must be finite numbers")
    if x.shape[1] != model.num_features:
        raise UserError(f"{path}: {x.shape[1]} features per example, but the model takes {model.num_features}")
    return x  # integer pixels are scaled by the model itself (Classifier._check)


def cmd_predict(args) -> int:
    for option in ("top", "limit"):
        if getattr(args, option) < 1:
            raise UserError(f"--{option} must be at least 1, got {getattr(args, option)}")
    model = load(args.checkpoint)
    x = _read_inputs(args.input, model)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, in one line
        proba = model.predict_proba(x)
    if not np.isfinite(proba).all():
        raise UserError(f"{args.input}: the network's outputs overflow for these inputs; are they scaled as the "
                        f"training data was?")
    top = min(args.top, model.num_classes)
    for i, p in enumerate(proba[: args.limit]):
        order = np.argsort(p)[::-1][:top]
        ranked = ", ".join(f"{model.classes[k]} {p[k]:.3f}" for k in order)
        print(f"{i}: {model.classes[order[0]]}  ({ranked})")
    if len(proba) > args.limit:
        print(f"... {len(proba) - args.limit} more (use --limit)")
    return 0


# ---------------------------------------------------------------------- plot
def cmd_plot(args) -> int:
    from .plots import plot_bench, plot_run

    out = Path(args.out)
    if out.suffix == ".json":  # a chainrule bench result
        text = read_text(out)
        try:
            res = json.loads(text)
            picture = out.with_suffix(".png")
            plot_bench(res, picture)
        except OSError as e:
            raise UserError(f"{out}: cannot read ({e.strerror or e})") from None
        except (ValueError, KeyError, TypeError, AttributeError) as e:  # JSONDecodeError is a ValueError
            raise UserError(f"{out}: not a chainrule bench result ({type(e).__name__}: {e})") from None
        print(f"wrote {picture}")
        return 0
    metrics, checkpoint = out / "metrics.jsonl", out / "model.safetensors"
    if not metrics.exists() or not checkpoint.exists():  # read_text and load refuse what is not a regular file
        raise UserError(f"{out}: not a training run folder (needs metrics.jsonl and model.safetensors)")
    history = read_metrics(metrics)
    model, data = _load_for_data(str(checkpoint), None, args.data_dir)
    predictions = _evaluate_test_set(str(checkpoint), model, data)["predictions"]
    written = plot_run(out, history, model, data.y_test, predictions)
    print(f"wrote {out}/: {', '.join(written)}")
    return 0


# -------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="chainrule", description="Train, evaluate and use small neural networks on NumPy.",
        epilog="Run 'chainrule COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train an MLP and save it", description="Train an MLP given by a SPEC.",
                       epilog=SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--dataset", default=None,
                   help=f"one of {', '.join(DATASETS)}, or a .npz / .csv file (default: digits)")
    t.add_argument("--model", default=None, metavar="SPEC", help=f"model SPEC (default: {DEFAULT_MODEL})")
    t.add_argument("--epochs", type=int, help=f"(default: {DEFAULTS.epochs})")
    t.add_argument("--batch-size", type=int, help=f"(default: {DEFAULTS.batch_size})")
    t.add_argument("--lr", type=float, help=f"learning rate (default: {DEFAULTS.lr})")
    t.add_argument("--optimizer", choices=OPTIMIZERS,
                   help=f"momentum = SGD with momentum 0.9 (default: {DEFAULTS.optimizer})")
    t.add_argument("--weight-decay", type=float, help=f"L2 (decoupled with adamw) (default: {DEFAULTS.weight_decay})")
    t.add_argument("--schedule", choices=SCHEDULES, help=f"learning-rate schedule: step (full rate for the first third of the epochs, a tenth for the "
                        f"second, a hundredth for the last), cosine (half a cosine from the full rate toward 0 over the epochs), none "
                        f"(default: {DEFAULTS.schedule})")
    t.add_argument("--patience", type=int,
                   help=f"stop after this many epochs without a better validation loss; 0 = never (default: {DEFAULTS.patience})")
    t.add_argument("--val-split", type=float,
                   help=f"fraction of the training set held out for validation (default: {DEFAULTS.val_split})")
    t.add_argument("--clip-grad", type=float, help="clip the global gradient norm to this value")
    t.add_argument("--shift", type=int, help="augment: move training images by up to N pixels (image data only; default: 0)")
    t.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for NumPy (default: all cores); 1 is often faster for small networks "
                        "or on a busy machine")
    t.add_argument("--seed", type=int, help=f"(default: {DEFAULTS.seed})")
    t.add_argument("--data-dir", default=None, help="folder with the data set's files")
    t.add_argument("--out", default=None, help="output folder (default: runs/<dataset>-<model>-<time>)")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    t.add_argument("--resume", metavar="OUT", default=None,
                   help="continue an interrupted run from OUT/last.safetensors, with its saved settings")
    t.add_argument("--no-plots", action="store_true", help="skip the pictures")
    t.add_argument("--quiet", action="store_true", help="print only the final line")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test accuracy of a saved model")
    e.add_argument("checkpoint", help="a model.safetensors written by chainrule train")
    e.add_argument("--dataset", default=None, help="(default: the one the model was trained on)")
    e.add_argument("--data-dir", default=None, help="folder with the data set's files")
    e.add_argument("--quiet", action="store_true", help="print only the final line")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify inputs with a saved model")
    p.add_argument("checkpoint", help="a model.safetensors written by chainrule train")
    p.add_argument("input", help="an .npz (array 'x'), an IDX file, or a PNG or JPEG image. Integer arrays are "
                                 "taken for raw pixels and divided as the training data's were (digits by 16, MNIST and "
                                 "Fashion-MNIST by 255); float arrays are used as given, so scale them likewise")
    p.add_argument("--top", type=int, default=3, help="probabilities to show per example (default: 3)")
    p.add_argument("--limit", type=int, default=20, help="examples to print (default: 20)")
    p.set_defaults(func=cmd_predict)

    tu = sub.add_parser("tune", help="random search of architectures and settings on the validation split",
                        description="Random search on the validation split; the best is retrained on train+val "
                                    "and tested once.")
    tune.add_arguments(tu)
    tu.set_defaults(func=tune.run)

    be = sub.add_parser("bench", help="time training against a hand-written NumPy loop, PyTorch and scikit-learn",
                        description="Seconds per epoch of chainrule's two paths, a hand-written NumPy loop, PyTorch "
                                    "and scikit-learn (when installed), interleaved; medians and ratios.")
    bench.add_arguments(be)
    be.set_defaults(func=bench.run)

    pl = sub.add_parser("plot", help="draw a run's pictures again, or a bench result's")
    pl.add_argument("out", help="a run folder written by chainrule train, or a JSON file written by chainrule bench")
    pl.add_argument("--data-dir", default=None, help="folder with the data set's files (for the confusion matrix)")
    pl.set_defaults(func=cmd_plot)
    parser.subparsers = sub.choices  # name -> the command's parser
    return parser


def _one_line(e: BaseException) -> str:
    """The error's first line, at most MAX_MESSAGE_CHARS: its start (the file) and end kept, the middle cut.

    >>> line = _one_line(ValueError("f.csv: " + "x" * 5000 + " is not a number"))
    >>> line[:9], len(line), line[-16:], line[600:657]
    ('f.csv: xx', 951, ' is not a number', ' [... message shortened from 5,023 characters ...] xxxxxx')
    """
    text = str(e).strip()
    message = text.splitlines()[0] if text else type(e).__name__
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    head, tail = MAX_MESSAGE_CHARS * 3 // 5, MAX_MESSAGE_CHARS * 3 // 10  # and some 50 characters between
    return f"{message[:head]} [... message shortened from {len(message):,} characters ...] {message[-tail:]}"


def main(argv: Sequence[str] | None = None) -> int:
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
    try:
        with catch_signals(defer=False):  # SIGTERM and SIGHUP stop a command as Ctrl-C does
            code = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:  # chainrule predict ... | head: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    except Interrupted as e:  # training's "saved ...; continue with ...", the pictures' "complete and saved"
        _complain(f"chainrule: {e}")
        return EXIT_SIGNAL + e.signum
    except KeyboardInterrupt:
        _complain("chainrule: interrupted")
        return EXIT_SIGNAL + signal.SIGINT
    except TrainingDiverged as e:
        _complain(f"chainrule: error: {_one_line(e)}")
        return EXIT_DIVERGED
    except MemoryError as e:  # data within the size limits can still need more than this machine has
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        _complain(f"chainrule: error: out of memory ({_one_line(e) if str(e).strip() else 'no more could be allocated'})")
        return EXIT_USAGE
    except _error_types() as e:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        _complain(f"chainrule: error: {_one_line(e)}")
        return EXIT_USAGE


def _complain(line: str) -> None:
    """One line on stderr, if there is still a stderr (a closed terminal after SIGHUP has none)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

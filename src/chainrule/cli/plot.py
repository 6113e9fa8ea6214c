"""``chainrule plot OUT``: draw a run folder's pictures again (chainrule train's or chainrule tune's: both
hold metrics.jsonl and model.safetensors; diagnostics.png too where the run recorded diagnostics.jsonl),
or a bench result's bars."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..data.files import read_text
from ..train import read_metrics
from .errors import UserError
from .evaluate import evaluate_test_set, load_for_data

__all__ = ["HELP", "add_arguments", "run", "NO_MATPLOTLIB", "pictures_skipped"]

HELP = "draw a run's pictures again, or a bench result's"
NO_MATPLOTLIB = "matplotlib is not installed (pip install 'chainrule[cli]')"


def pictures_skipped(out) -> str:
    """The one line train and tune print when matplotlib is missing.

    >>> pictures_skipped("runs/x")
    "pictures skipped: matplotlib is not installed (pip install 'chainrule[cli]'); chainrule plot runs/x draws them later"
    """
    return f"pictures skipped: {NO_MATPLOTLIB}; chainrule plot {out} draws them later"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule plot``."""
    parser.add_argument("out", help="a run folder written by chainrule train or chainrule tune, or a JSON file "
                                    "written by chainrule bench")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the data set's files (for the confusion matrix)")
    return parser


def run(args: argparse.Namespace) -> int:
    """``chainrule plot``: write the pictures and name them; returns 0."""
    from ..extras import installed
    from ..plots import plot_bench, plot_run

    if not installed("matplotlib"):
        raise UserError(f"chainrule plot draws with matplotlib, and {NO_MATPLOTLIB}")
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
        raise UserError(f"{out}: not a training run folder (needs metrics.jsonl and model.safetensors, as chainrule train and tune write)")
    history = read_metrics(metrics)
    model, data = load_for_data(str(checkpoint), None, args.data_dir)
    predictions = evaluate_test_set(str(checkpoint), model, data)["predictions"]
    written = plot_run(out, history, model, data.y_test, predictions)
    print(f"wrote {out}/: {', '.join(written)}")
    return 0

"""``chainrule evaluate CHECKPOINT``: a saved model's accuracy on its data set's test split."""

from __future__ import annotations

import argparse

import numpy as np

from ..data import load_dataset
from ..model import Classifier, load
from ..rundir import checkpoint_in
from ..train import evaluate_arrays, saved_config
from .errors import UserError

__all__ = ["HELP", "add_arguments", "run", "final_line", "load_for_data", "evaluate_test_set"]

HELP = "test accuracy of a saved model"


def final_line(summary_or_eval: dict) -> str:
    """The last line train, evaluate and tune print.

    >>> final_line({"test_errors": 9, "test_size": 360})
    'test errors: 9 / 360 (2.5%)'
    """
    errors, size = summary_or_eval["test_errors"], summary_or_eval["test_size"]
    return f"test errors: {errors} / {size} ({errors / max(size, 1):.1%})"


def load_for_data(checkpoint: str, dataset: str | None, data_dir: str | None):
    """(the model in ``checkpoint``, the data set it was trained on or ``dataset``), checked to fit."""
    checkpoint = checkpoint_in(checkpoint)  # a run folder: its model.safetensors
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


def evaluate_test_set(checkpoint: str, model: Classifier, data) -> dict:
    """evaluate_arrays on the test split, refusing outputs that overflow."""
    result = evaluate_arrays(model, data.x_test, data.y_test)
    if len(data.y_test) and not np.isfinite(result["loss"]):
        raise UserError(f"{checkpoint}: the network's outputs overflow on {data.name}'s test set (weights too "
                        f"large to compute with in float32)")
    return result


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule evaluate``."""
    parser.add_argument("checkpoint", help="a model.safetensors written by chainrule train, or the run folder "
                                           "that holds it")
    parser.add_argument("--dataset", default=None, help="(default: the one the model was trained on)")
    parser.add_argument("--data-dir", default=None, help="folder with the data set's files")
    parser.add_argument("--quiet", action="store_true", help="print only the final line")
    return parser


def run(args: argparse.Namespace) -> int:
    """``chainrule evaluate``: print the test accuracy and loss, then the test errors; returns 0."""
    checkpoint = checkpoint_in(args.checkpoint)
    model, data = load_for_data(checkpoint, args.dataset, args.data_dir)
    result = evaluate_test_set(checkpoint, model, data)
    summary = {"test_errors": result["errors"], "test_size": result["size"]}
    if not args.quiet:
        print(f"{data.name}, {model.spec}: test accuracy {result['accuracy']:.2%}, test loss {result['loss']:.4f}")
    print(final_line(summary))
    return 0

"""``chainrule predict CHECKPOINT INPUT``: the classes a saved model gives the examples in a file."""

from __future__ import annotations

import argparse

import numpy as np

from ..data.inputs import read_inputs
from ..model import load
from .errors import UserError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "classify inputs with a saved model"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule predict``."""
    parser.add_argument("checkpoint", help="a model.safetensors written by chainrule train")
    parser.add_argument("input", help="an .npz (array 'x'), an IDX file, or a PNG or JPEG image. Integer arrays are "
                                      "taken for raw pixels and divided as the training data's were (digits by 16, "
                                      "MNIST and Fashion-MNIST by 255); float arrays are used as given, so scale "
                                      "them likewise")
    parser.add_argument("--top", type=int, default=3, help="probabilities to show per example (default: 3)")
    parser.add_argument("--limit", type=int, default=20, help="examples to print (default: 20)")
    return parser


def run(args: argparse.Namespace) -> int:
    """``chainrule predict``: one line per example, its class and the top probabilities; returns 0."""
    for option in ("top", "limit"):
        if getattr(args, option) < 1:
            raise UserError(f"--{option} must be at least 1, got {getattr(args, option)}")
    model = load(args.checkpoint)
    x = read_inputs(args.input, model.num_features, model.image_shape)
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

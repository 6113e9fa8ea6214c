"""``chainrule predict CHECKPOINT INPUT...``: the classes a saved model gives the examples in files."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..data import DataError
from ..data.inputs import WHAT_PREDICT_READS, input_files, read_inputs
from ..model import load
from ..rundir import checkpoint_in
from .errors import EXIT_USAGE, UserError, complain, one_line

__all__ = ["HELP", "add_arguments", "run"]

HELP = "classify inputs with a saved model"
MAX_SHOWN = 100  # pictures in one --show grid


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule predict``."""
    parser.add_argument("checkpoint", help="a model.safetensors written by chainrule train, or the run folder "
                                           "that holds it")
    parser.add_argument("inputs", nargs="+", metavar="input",
                        help=f"{WHAT_PREDICT_READS}, told apart by content; a folder means the files of those "
                             f"kinds in it, sorted by name. Integer arrays are taken for raw pixels and divided as "
                             f"the training data's were (digits by 16, MNIST and Fashion-MNIST by 255); float "
                             f"arrays are used as given, so scale them likewise. Images are made gray, resized to "
                             f"the training images' size, and turned light-on-dark like them (a transparent "
                             f"background becomes the dark one). With several files (or a folder) each line starts "
                             f"with the file's name (and [i] for each example of a file that holds several); a file "
                             f"that can't be read gets one line on stderr, the others are still classified, and "
                             f"the exit status is 2")
    parser.add_argument("--top", type=int, default=3, help="probabilities to show per example (default: 3)")
    parser.add_argument("--limit", type=int, default=20, help="examples to print per file (default: 20)")
    parser.add_argument("--show", metavar="OUT.png", default=None,
                        help="save the images the model sees, after conversion, as one picture: a grid with a "
                             f"panel per printed example (at most {MAX_SHOWN}), titled with its file and class "
                             "(needs matplotlib)")
    return parser


def _expand(inputs: list[str]) -> list[tuple[str, Exception | None]]:
    """(file, None) for each input, a folder's files in its place; (folder, error) for a folder without any."""
    files = []
    for name in inputs:
        if os.path.isdir(name):
            try:
                files += [(path, None) for path in input_files(name)]
            except DataError as e:
                files.append((name, e))
        else:
            files.append((name, None))
    return files


def _seen(model, x: np.ndarray) -> np.ndarray:
    """The examples as the network gets them (raw integer pixels scaled as Classifier does)."""
    if x.dtype.kind in "iu":
        pixel_max = model.info.get("pixel_max") or (255 if x.dtype == np.uint8 else None)
        if pixel_max:
            return x.astype(np.float32) / np.float32(pixel_max)
    return x.astype(np.float32, copy=False)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError("--show needs matplotlib, which is not installed (pip install 'chainrule[cli]')") from None
    matplotlib.use("Agg")  # files only; works without a display
    import matplotlib.pyplot as plt

    return plt


def _check_show(path: str) -> None:
    """Refuse a --show path that can't be written, before any example is read or printed."""
    from matplotlib.backend_bases import FigureCanvasBase

    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise UserError(f"--show {path}: is a folder; give a file name, such as {os.path.join(path, 'seen.png')}")
    if not os.path.isdir(folder):
        raise UserError(f"--show {path}: no such folder {folder}")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if ext and ext not in formats:
        raise UserError(f"--show {path}: cannot draw .{ext} pictures (use one of {', '.join(sorted(formats))})")


def _show(path: str, shown: list[tuple[str, np.ndarray]], image_shape) -> None:
    """A grid of the examples the model saw, one panel each, written atomically to ``path``."""
    from ..atomic import atomic_write

    plt = _pyplot()
    n = len(shown)
    cols = min(n, 10)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, x) in zip(axes.flat, shown):
        ax.imshow(x.reshape(image_shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format=os.path.splitext(path)[1].lstrip(".").lower() or "png", dpi=110)
    except OSError as e:  # a full disk, no permission: name the file, not the temporary one beside it
        raise UserError(f"--show {path}: cannot write it ({e.strerror or one_line(e)})") from None
    finally:
        plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """``chainrule predict``: one line per example, its class and the top probabilities; returns 0, or 2
    when a file could not be read (its line on stderr, the others still predicted)."""
    for option in ("top", "limit"):
        if getattr(args, option) < 1:
            raise UserError(f"--{option} must be at least 1, got {getattr(args, option)}")
    model = load(checkpoint_in(args.checkpoint))
    if args.show and not model.image_shape:
        raise UserError(f"--show: this model was not trained on images ({model.spec} on "
                        f"{model.info.get('dataset') or 'its data'}), there is nothing to picture")
    if args.show:
        _pyplot()  # a missing matplotlib is one line before any work, as is a path that can't be written
        _check_show(args.show)
    files = _expand(args.inputs)
    several = len(files) > 1 or any(os.path.isdir(name) for name in args.inputs)
    top = min(args.top, model.num_classes)
    failed, shown = 0, []
    for path, error in files:
        try:
            if error is not None:
                raise error
            x = read_inputs(path, model.num_features, model.image_shape)
            with np.errstate(over="ignore", invalid="ignore"):  # reported below, in one line
                proba = model.predict_proba(x)
            if not np.isfinite(proba).all():
                raise UserError(f"{path}: the network's outputs overflow for these inputs; are they scaled as the "
                                f"training data was?")
        except (UserError, DataError, ValueError, OSError) as e:
            if os.environ.get("CHAINRULE_DEBUG") or not several:
                raise
            sys.stdout.flush()
            complain(f"chainrule: error: {one_line(e)}")
            failed += 1
            continue
        for i, p in enumerate(proba[: args.limit]):
            order = np.argsort(p)[::-1][:top]
            ranked = ", ".join(f"{model.classes[k]} {p[k]:.3f}" for k in order)
            label = (f"{path}[{i}]" if len(proba) > 1 else path) if several else str(i)
            print(f"{label}: {model.classes[order[0]]}  ({ranked})")
            if args.show and len(shown) < MAX_SHOWN:
                title = os.path.basename(path) + (f"[{i}]" if len(proba) > 1 else "")
                shown.append((f"{title}: {model.classes[order[0]]}", _seen(model, x[i])))
        if len(proba) > args.limit:
            print(f"... {len(proba) - args.limit} more{f' in {path}' if several else ''} (use --limit)")
    if shown:
        _show(args.show, shown, model.image_shape)
    return EXIT_USAGE if failed else 0

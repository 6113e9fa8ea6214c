"""Pictures of a training run, with matplotlib (no screen needed).

* ``curves.png``: training and validation loss and accuracy per epoch;
* ``confusion.png``: the test set's confusion matrix;
* ``weights.png``: the first layer's weights drawn as images, one tile per
  hidden unit, sign as colour and magnitude as intensity (Hinton's way);

and of a ``chainrule bench`` run: seconds per epoch of every contender, grouped
by batch size, with the roofline (:func:`plot_bench`, drawn by ``chainrule.bench.report``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .atomic import atomic_write

__all__ = ["plot_curves", "plot_confusion", "plot_weight_tiles", "confusion_matrix", "run_pictures", "plot_run",
           "plot_bench", "have_matplotlib"]


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported (an optional extra: without it there are no pictures).

    >>> isinstance(have_matplotlib(), bool)
    True
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; works without a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> None:
    """savefig through atomic_write: a reader never sees half a picture, and a symbolic link at
    ``path`` is replaced, not written through."""
    plt = _pyplot()
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=110)
    finally:
        plt.close(fig)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[i, j] = examples of class i predicted as j."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def plot_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> None:
    """Loss, accuracy and learning rate per epoch (metrics.jsonl's lines) side by side in ``path``.

    For example: ``plot_curves(read_metrics("runs/x/metrics.jsonl"), "curves.png")``.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    epochs = [m["epoch"] for m in history]
    has_lr = all(isinstance(m.get("lr"), (int, float)) for m in history)
    marker = "." if len(epochs) < 30 else None  # a short run's points show, a one-epoch run's too
    fig, axes = plt.subplots(1, 3 if has_lr else 2, figsize=(14 if has_lr else 10, 4))
    ax_loss, ax_acc = axes[0], axes[1]
    ax_loss.plot(epochs, [m["train_loss"] for m in history], label="training", marker=marker)
    ax_acc.plot(epochs, [m["train_accuracy"] for m in history], label="training", marker=marker)
    if any(m["val_loss"] == m["val_loss"] for m in history):
        ax_loss.plot(epochs, [m["val_loss"] for m in history], label="validation", marker=marker)
        ax_acc.plot(epochs, [m["val_accuracy"] for m in history], label="validation", marker=marker)
    losses = [m[k] for m in history for k in ("train_loss", "val_loss") if m[k] == m[k]]
    # a log scale needs positive values (a one-class data set reaches a loss of exactly 0)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss", yscale="log" if min(losses) > 0 else "linear")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
    if has_lr:  # the rate the epoch trained with (a scheduler changes it between epochs)
        ax_lr = axes[2]
        ax_lr.plot(epochs, [m["lr"] for m in history], color="tab:green", marker=marker)
        ax_lr.set(xlabel="epoch", ylabel="learning rate", title="learning rate")
        ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    for ax in axes:
        if len(epochs) == 1:
            ax.set_xticks(epochs)  # MaxNLocator would tick fractions around a single epoch
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_confusion(counts: np.ndarray, classes: Sequence[str], path: str | os.PathLike, title: str = "") -> None:
    plt = _pyplot()
    n = len(classes)
    size = max(4.5, 0.5 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(counts, cmap="Blues")
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true",
           title=title or f"confusion matrix ({int(np.trace(counts))}/{int(counts.sum())} right)")
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    fig.tight_layout()
    _save(fig, path)


def plot_weight_tiles(weight: np.ndarray, image_shape: Sequence[int], path: str | os.PathLike,
                      titles: Sequence[str] | None = None, max_tiles: int = 100, title: str = "") -> None:
    """Each column of ``weight`` (in, units) as an image: red positive, blue negative. At most
    ``max_tiles`` tiles; the title says so when there are more units ("first 100 of 256 units").

    For example: ``plot_weight_tiles(np.ones((64, 10)), (8, 8), "weights.png", titles=list("0123456789"))``.
    """
    plt = _pyplot()
    total = weight.shape[1]
    units = min(total, max_tiles)
    if units < total:
        title = f"{title}: first {units} of {total} units" if title else f"first {units} of {total} units"
    cols = min(units, 10 if titles is None else 5)
    rows = math.ceil(units / cols)
    # a titled tile gets room above it for its label, so that a row's labels clear the tiles above
    tile_h = 1.3 + (0.35 if titles is not None else 0)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, tile_h * rows + (0.5 if title else 0)), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= units:
            continue
        tile = weight[:, k].reshape(image_shape)
        scale = np.abs(tile).max() or 1.0  # per tile: magnitude as intensity, sign as colour
        ax.imshow(tile, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(h_pad=0.6 if titles is not None else None)
    _save(fig, path)


def run_pictures(out_dir: str | os.PathLike, history, model, y_test=None,
                 test_predictions=None) -> list[tuple[str, Callable[[], None]]]:
    """The pictures of a run, as (file name, function that draws it into out_dir), for a caller
    that wants to stop between two of them; ``plot_run`` draws them all."""
    out_dir = os.fspath(out_dir)
    pictures = []
    if history:
        pictures.append(("curves.png", lambda: plot_curves(history, os.path.join(out_dir, "curves.png"),
                                                          f"{model.spec} on {model.info.get('dataset', '')}")))
    if y_test is not None and test_predictions is not None and len(y_test):
        counts = confusion_matrix(y_test, test_predictions, model.num_classes)
        pictures.append(("confusion.png",
                         lambda: plot_confusion(counts, model.classes, os.path.join(out_dir, "confusion.png"))))
    if model.image_shape:
        first = model.net.params()[0]
        titles = model.classes if first.shape[1] == model.num_classes else None
        pictures.append(("weights.png", lambda: plot_weight_tiles(
            first, model.image_shape, os.path.join(out_dir, "weights.png"), titles,
            title=f"first-layer weights of {model.spec} (red +, blue −)")))
    return pictures


def plot_run(out_dir: str | os.PathLike, history, model, y_test=None, test_predictions=None) -> list[str]:
    """All pictures of a run into out_dir; returns the file names written."""
    pictures = run_pictures(out_dir, history, model, y_test, test_predictions)
    for _, draw in pictures:
        draw()
    return [name for name, _ in pictures]


def plot_bench(res: dict[str, Any], path: str | os.PathLike) -> None:
    """A ``chainrule bench`` result as bars in ``path``: :func:`chainrule.bench.plot_bench`, which draws it
    beside the bench's report (imported here when called; chainrule.bench imports nothing from this module).
    For example: ``plot_bench(json.loads(Path("bench.json").read_text()), "bench.png")``.
    """
    from .bench.report import plot_bench as draw

    draw(res, path)

"""Pictures of a training run, with matplotlib (no screen needed).

* ``curves.png``: training and validation loss and accuracy per epoch;
* ``confusion.png``: the test set's confusion matrix;
* ``weights.png``: the first layer's weights drawn as images, one tile per
  hidden unit, sign as colour and magnitude as intensity (Hinton's way);
* ``diagnostics.png``, when the run recorded diagnostics.jsonl: per-layer δ norms, update
  ratios, saturated and dead fractions over the epochs, and each layer's activation
  histogram at the first and the last epoch (:func:`plot_diagnostics`);

and of a ``chainrule bench`` run: seconds per epoch of every contender, grouped
by batch size, with the roofline (:func:`plot_bench`, drawn by ``chainrule.bench.report``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .atomic import atomic_write
from .data.files import read_text
from .diagnostics import (DEAD_LIMIT, RELU_FAMILY, SATURATED_LIMIT, SATURATING, TAIL, UPDATE_HIGH, UPDATE_LOW,
                          UPDATE_REFERENCE)
from .rundir import DIAGNOSTICS

__all__ = ["plot_curves", "plot_confusion", "plot_weight_tiles", "confusion_matrix", "run_pictures", "plot_run",
           "plot_bench", "plot_diagnostics", "read_diagnostics"]


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


def read_diagnostics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The per-epoch records of a run's diagnostics.jsonl. A last line that is not valid JSON (a run
    killed while writing it) is left out; any other malformed line is a ValueError naming the file
    and the line.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "diagnostics.jsonl")
    >>> _ = open(path, "w").write('{"epoch": 1, "layers": []}\\n{"epoch": 2, "la')
    >>> [r["epoch"] for r in read_diagnostics(path)]
    [1]
    """
    name = os.fspath(path)
    lines = [(number, line) for number, line in enumerate(read_text(name, error=ValueError).splitlines(), 1)
             if line.strip()]
    records = []
    for k, (number, line) in enumerate(lines):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            if k == len(lines) - 1:  # half a line: the writer was stopped mid-write
                break
            raise ValueError(f"{name} line {number}: not valid JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"{name} line {number}: not a JSON object ({line.strip()[:40]})")
        epoch, layers = record.get("epoch"), record.get("layers")
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise ValueError(f"{name} line {number}: field 'epoch' must be a whole number, got {epoch!r}")
        if not isinstance(layers, list) or not all(isinstance(r, dict) for r in layers):
            raise ValueError(f"{name} line {number}: field 'layers' must be a list of objects")
        records.append(record)
    return records


def _figure(row: dict[str, Any], key: str, positive: bool = False) -> float:
    """A row's figure as a float for plotting: NaN when missing, null, not a number (or, on a log axis, not > 0)."""
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return math.nan
    return float(value) if value > 0 or not positive else math.nan


def _update_ratio(row: dict[str, Any], positive: bool = True) -> float:
    """The epoch's mean update ratio, else its last step's."""
    mean = _figure(row, "update_ratio_mean", positive)
    return mean if mean == mean else _figure(row, "update_ratio", positive)


def _zeros_left_off(ax, layers, value, what: str) -> None:
    """Say in the panel how many figures were 0 or less: a log scale cannot draw them (a δ or an update
    of exactly 0 is a network that has stopped learning, not a missing figure)."""
    n = sum(1 for rows in layers.values() for row in rows.values() if value(row) <= 0)
    if n:
        ax.text(0.01, 0.02, f"{n} {what} of exactly 0 not drawn (log scale)", fontsize=8,
                color="tab:red", transform=ax.transAxes, va="bottom", bbox=dict(facecolor="white", alpha=0.7,
                                                                               edgecolor="none", pad=1))


def _say(ax, text: str) -> None:
    """A panel with nothing to draw says why, in its middle."""
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.35", wrap=True)


def _layer_lines(ax, epochs, layers, value, colours, style="-", marker=None) -> bool:
    """One line per layer of ``layers`` (name -> {epoch: row}); False when no figure is finite."""
    drawn = False
    for (name, label), by_epoch in layers.items():
        ys = [value(by_epoch[e]) if e in by_epoch else math.nan for e in epochs]
        if all(y != y for y in ys):
            continue
        ax.plot(epochs, ys, style, color=colours[name], label=label, marker=marker, markersize=4, linewidth=1.4)
        drawn = True
    return drawn


def _histogram_panel(ax, first: dict | None, last: dict | None, labels: tuple[str, str], kind: str) -> None:
    drawn = False
    for hist, label, style in ((first, labels[0], dict(fill=True, alpha=0.35, color="0.45")),
                               (last, labels[1], dict(fill=False, color="tab:blue", linewidth=1.3))):
        counts = np.asarray((hist or {}).get("counts") or [], np.float64)
        lo, hi = _figure(hist or {}, "lo"), _figure(hist or {}, "hi")
        if label is None or not counts.size or counts.sum() <= 0 or not hi > lo:
            continue
        edges = np.linspace(lo, hi, counts.size + 1)
        # each scaled to its peak: a narrow histogram (all one value) would flatten a wide one to nothing
        ax.stairs(counts / counts.max(), edges, label=label, **style)
        drawn = True
    if kind in SATURATING:  # the flat tails that count as saturated: |tanh| > TAIL, sigmoid beyond 1 − TAIL or TAIL
        for a, b in ((-1.0, -TAIL) if kind == "tanh" else (0.0, 1 - TAIL), (TAIL, 1.0)):
            ax.axvspan(a, b, color="tab:red", alpha=0.12, linewidth=0)
    if not drawn:
        _say(ax, "no finite activations")
    ax.tick_params(labelsize=7)
    ax.set_yticks([])


def _histograms(subfig, records, shown, kinds, rows: int, cols: int) -> None:
    """The activation histogram of each layer in ``shown`` ((name, label) pairs) at the first and the last epoch."""
    first, last = records[0], records[-1]
    first_rows = {str(row.get("name")): row for row in first["layers"]}
    last_rows = {str(row.get("name")): row for row in last["layers"]}
    labels = (f"epoch {first['epoch']}", None if first is last else f"epoch {last['epoch']}")
    axes = subfig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    if not shown:
        _say(axes[0, 0], "no activation histograms recorded")
        return
    key = {}
    for (name, label), ax in zip(shown, axes.flat):
        _histogram_panel(ax, first_rows.get(name, {}).get("histogram"), last_rows.get(name, {}).get("histogram"),
                         labels, kinds[name])
        ax.set_title(label, fontsize=8)
        for h, epoch in zip(*ax.get_legend_handles_labels()):
            key.setdefault(epoch, h)
    if key:
        order = [epoch for epoch in labels if epoch in key]
        subfig.legend([key[e] for e in order], order, loc="outside upper right", fontsize=8, ncols=2, frameon=False)


def plot_diagnostics(records: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> None:
    """What happens inside a network over its epochs (diagnostics.jsonl's records) in ``path``: each
    Linear layer's δ norm and update ratio ‖Δθ‖/‖θ‖ (log scales, the 1e-3 reference dashed), the
    saturated (sigmoid, tanh) and dead (ReLU family) fractions with their 0.5 warning limit, and
    each layer's activation histogram at the first and the last epoch. Null figures leave gaps.

    For example: ``plot_diagnostics(read_diagnostics("runs/x/diagnostics.jsonl"), "diagnostics.png")``.
    """
    if not records:
        raise ValueError("plot_diagnostics: no records to draw")
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = sorted({r["epoch"] for r in records})  # a record written again for an epoch replaces the first
    layers: dict[tuple[str, str], dict[int, dict]] = {}  # (name, label) -> {epoch: row}, in network order
    kinds: dict[str, str] = {}
    for r in records:
        for row in r["layers"]:
            name, kind = str(row.get("name")), str(row.get("kind"))
            layers.setdefault((name, f"{name} {kind}"), {})[r["epoch"]] = row
            kinds[name] = kind
    cmap = plt.get_cmap("viridis")
    names = list(kinds)
    colours = {n: cmap(0.88 * i / max(1, len(names) - 1)) for i, n in enumerate(names)}  # depth as colour
    of = lambda wanted: {k: v for k, v in layers.items() if kinds[k[0]] in wanted}  # noqa: E731
    linear = of({"linear"}) or layers  # δ of the pre-activations; every layer's for a net without Linear
    single = len(epochs) == 1
    marker = "o" if single else ("." if len(epochs) < 30 else None)

    with_hist = [k for k, v in layers.items() if any(isinstance(row.get("histogram"), dict) for row in v.values())]
    shown = [k for k in with_hist if kinds[k[0]] != "linear"] if len(with_hist) > 24 else with_hist
    hidden = len(shown) > 24
    shown = shown[:24]
    rows = max(1, math.ceil(len(shown) / 7))
    cols = max(4, math.ceil(len(shown) / rows))  # the rows balanced, at most 7 panels in each
    fig = plt.figure(figsize=(16, 4.6 + 1.75 * rows), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4.2, 1.75 * rows + 0.4])
    ax_delta, ax_update, ax_frac, ax_key = top.subplots(1, 4, width_ratios=[1, 1, 1, 0.42])
    note = f" (epoch {epochs[0]} only)" if single else ""

    if _layer_lines(ax_delta, epochs, linear, lambda row: _figure(row, "grad_norm", True), colours, marker=marker):
        ax_delta.set_yscale("log")
        _zeros_left_off(ax_delta, linear, lambda row: _figure(row, "grad_norm"), "δ norms")
    else:
        _say(ax_delta, "no δ norms recorded\n(diagnostics without labels, or an overflowed network)")
    ax_delta.set(xlabel="epoch", ylabel="mean ‖δ‖ per example", title="δ norm per layer" + note)

    if _layer_lines(ax_update, epochs, of({"linear"}), _update_ratio, colours, marker=marker):
        ax_update.set_yscale("log")
        low, high = ax_update.get_ylim()
        low, high = min(low, UPDATE_REFERENCE / 3), max(high, UPDATE_REFERENCE * 3)
        ax_update.axhline(UPDATE_REFERENCE, color="black", linestyle="--", linewidth=1)
        box = dict(facecolor="white", alpha=0.7, edgecolor="none", pad=1)
        ax_update.text(0.01, UPDATE_REFERENCE * 1.15, f"{UPDATE_REFERENCE:g}: healthy", fontsize=8, va="bottom",
                       transform=ax_update.get_yaxis_transform(), bbox=box)
        # the warning zones, shaded, each named in its corner when its edge is in view
        for a, b, where, y in ((UPDATE_HIGH, max(high, UPDATE_HIGH), f"too large above {UPDATE_HIGH:g}", 0.98),
                               (min(low, UPDATE_LOW), UPDATE_LOW, f"stalled below {UPDATE_LOW:g}", 0.02)):
            ax_update.axhspan(a, b, color="tab:red", alpha=0.08, linewidth=0)
            if low < (a if y > 0.5 else b) < high:
                ax_update.text(0.99, y, where, fontsize=8, color="tab:red", ha="right",
                               va="top" if y > 0.5 else "bottom", transform=ax_update.transAxes, bbox=box)
        ax_update.set_ylim(low, high)
        _zeros_left_off(ax_update, of({"linear"}), lambda row: _update_ratio(row, positive=False), "ratios")
    else:
        _say(ax_update, "no update ratios recorded")
    ax_update.set(xlabel="epoch", ylabel="‖Δθ‖ / ‖θ‖ per step (epoch mean)",
                  title="update ratio of the weights" + note)

    saturating, relu = of(SATURATING), of(RELU_FAMILY)
    drawn = _layer_lines(ax_frac, epochs, saturating, lambda row: _figure(row, "saturated"), colours, marker=marker)
    drawn |= _layer_lines(ax_frac, epochs, relu, lambda row: _figure(row, "dead"), colours, "--", marker=marker)
    if drawn:
        for limit in sorted({SATURATED_LIMIT if saturating else None, DEAD_LIMIT if relu else None} - {None}):
            ax_frac.axhline(limit, color="tab:red", linestyle=":", linewidth=1.2)
            ax_frac.text(0.01, limit + 0.015, f"warning above {limit:g}", transform=ax_frac.get_yaxis_transform(),
                         fontsize=8, color="tab:red", va="bottom")
    else:
        _say(ax_frac, "no sigmoid, tanh or ReLU-family layers" if not (saturating or relu) else "no fractions recorded")
    what = " / ".join(w for w, on in (("saturated (solid)", saturating), ("dead (dashed)", relu)) if on) or "fraction"
    ax_frac.set(ylim=(-0.03, 1.03), xlabel="epoch", ylabel=what, title="saturated and dead units" + note)

    for ax in (ax_delta, ax_update, ax_frac):
        pad = 0.5 if single else 0.04 * (max(epochs) - min(epochs))
        ax.set_xlim(min(epochs) - pad, max(epochs) + pad)
        if single:
            ax.set_xticks(epochs[:1])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="major")
    handles = {}
    for ax in (ax_delta, ax_update, ax_frac):
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    ax_key.axis("off")
    if handles:
        order = sorted(handles, key=lambda label: names.index(label.split(" ")[0]))
        ax_key.legend([handles[k] for k in order], order, loc="upper left", title="layer", frameon=False,
                      fontsize=8 if len(order) <= 16 else 6.5, ncols=1 if len(order) <= 20 else 2, borderaxespad=0)

    _histograms(bottom, records, shown, kinds, rows, cols)
    left_out = len(with_hist) - len(shown)
    more = f"; {left_out} of {len(with_hist)} layers left out" + ("" if hidden else ", the Linear ones")
    more = more if left_out else ""
    which = f"epoch {epochs[0]}" if single else "first and last epoch"
    tails = "; red: the flat tails" if any(kinds[k[0]] in SATURATING for k in shown) else ""
    bottom.suptitle(f"activations per layer, {which} (each scaled to its peak{tails}){more}", fontsize=10)
    probe = records[-1].get("probe_size")
    rates = [r.get("lr") for r in records if isinstance(r.get("lr"), (int, float))]
    notes = [f"probe of {probe:,} examples" if isinstance(probe, int) else ""]
    if rates:  # the rate each epoch trained with: a schedule changes it
        notes.append(f"lr={rates[0]:.3g}" if min(rates) == max(rates) else f"lr {rates[0]:.3g} → {rates[-1]:.3g}")
    notes = ", ".join(n for n in notes if n)
    fig.suptitle(f"{title or 'diagnostics'} ({notes})" if notes else title or "diagnostics")
    _save(fig, path)


def run_pictures(out_dir: str | os.PathLike, history, model, y_test=None,
                 test_predictions=None) -> list[tuple[str, Callable[[], None]]]:
    """The pictures of a run, as (file name, function that draws it into out_dir), for a caller
    that wants to stop between two of them; ``plot_run`` draws them all. diagnostics.png is among
    them when out_dir holds a diagnostics.jsonl with at least one whole line."""
    out_dir = os.fspath(out_dir)
    pictures = []
    recorded = os.path.join(out_dir, DIAGNOSTICS)
    records = read_diagnostics(recorded) if os.path.isfile(recorded) else []
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
    if records:
        pictures.append(("diagnostics.png", lambda: plot_diagnostics(
            records, os.path.join(out_dir, "diagnostics.png"),
            f"inside {model.spec} on {model.info.get('dataset', '')}")))
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

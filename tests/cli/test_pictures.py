"""The pictures of a run: what weights.png and curves.png show, and a core install without matplotlib
or tqdm (made unimportable in-process: a None entry in sys.modules makes ``import`` raise ImportError)."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from chainrule import plots
from chainrule.cli import main
from chainrule.progress import LineReporter, default_reporter

SKIPPED = "pictures skipped: matplotlib is not installed (pip install 'chainrule[cli]'); chainrule plot"


@pytest.fixture
def no_extras(monkeypatch):
    """matplotlib and tqdm as if not installed."""
    for name in ("matplotlib", "matplotlib.pyplot", "tqdm", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, name, None)


def test_train_without_matplotlib_or_tqdm_finishes_and_says_so_in_one_line(no_extras, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons", "--epochs", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"{SKIPPED} {out} draws them later\n"
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == []
    assert {"model.safetensors", "metrics.jsonl", "summary.json"} <= {p.name for p in out.iterdir()}
    assert "wrote" in captured.out and ".png" not in captured.out
    assert captured.out.rstrip().splitlines()[-1].startswith("test errors: ")


def test_the_missing_extra_is_told_before_any_training(no_extras, tmp_path, capsys, monkeypatch):
    from chainrule.cli import train as train_command

    def fit(*args, **kwargs):  # the line is out before training starts
        assert SKIPPED in capsys.readouterr().err
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "fit", fit)
    with pytest.raises(KeyboardInterrupt):
        train_command.run(train_command.add_arguments(__import__("argparse").ArgumentParser()).parse_args(
            ["--dataset", "moons", "--out", str(tmp_path / "run")]))


def test_no_plots_without_matplotlib_says_nothing(no_extras, tmp_path, capsys):
    assert main(["train", "--dataset", "moons", "--epochs", "1", "--no-plots", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().err == ""


def test_plot_without_matplotlib_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons", "--epochs", "1", "--no-plots", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matplotlib is not installed (pip install 'chainrule[cli]')" in err


def test_tune_without_matplotlib_or_tqdm_finishes(no_extras, tmp_path, capsys):
    out = tmp_path / "tune"
    assert main(["tune", "--dataset", "moons", "--trials", "1", "--epochs", "1", "--widths", "8", "--depths", "1",
                 "--quiet", "--out", str(out)]) == 0
    assert capsys.readouterr().err == f"{SKIPPED} {out} draws them later\n"
    assert not list(out.glob("*.png")) and (out / "metrics.jsonl").exists()


def test_progress_falls_back_to_lines_without_tqdm(no_extras):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert type(default_reporter(Terminal())) is LineReporter


def test_a_tune_folder_gets_the_winners_pictures_and_plot_takes_it(tmp_path, capsys):
    out = tmp_path / "tune"
    assert main(["tune", "--dataset", "digits", "--trials", "1", "--epochs", "1", "--widths", "8", "--depths", "1",
                 "--out", str(out)]) == 0
    assert "curves.png, confusion.png, weights.png" in capsys.readouterr().out
    for name in ("curves.png", "confusion.png", "weights.png"):
        (out / name).unlink()
    assert main(["plot", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}/: curves.png, confusion.png, weights.png\n"
    assert all((out / name).stat().st_size > 0 for name in ("curves.png", "confusion.png", "weights.png"))


def test_weights_title_says_when_it_shows_only_some_units(figures):
    plots.plot_weight_tiles(np.ones((64, 256), np.float32), (8, 8), "w.png", title="first-layer weights")
    assert figures[-1]._suptitle.get_text() == "first-layer weights: first 100 of 256 units"
    plots.plot_weight_tiles(np.ones((64, 30), np.float32), (8, 8), "w.png", title="first-layer weights")
    assert figures[-1]._suptitle.get_text() == "first-layer weights"


@pytest.mark.parametrize("shape", [(8, 8), (28, 28)])
def test_titled_tiles_clear_the_row_above(figures, shape):
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    weight = np.random.default_rng(0).normal(size=(shape[0] * shape[1], 10)).astype(np.float32)
    plots.plot_weight_tiles(weight, shape, "w.png", titles=classes, title="first-layer weights of linear")
    fig = figures[-1]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = np.array(fig.axes).reshape(2, 5)
    for j in range(5):  # each second-row title ends below the tile above it
        assert axes[1, j].title.get_window_extent(renderer).y1 < axes[0, j].get_window_extent(renderer).y0


def test_curves_show_the_learning_rate(figures):
    history = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.5, "val_loss": 1 / e, "val_accuracy": 0.5,
                "lr": 0.1 / e} for e in (1, 2, 3)]
    plots.plot_curves(history, "c.png")
    titles = [ax.get_title() for ax in figures[-1].axes]
    assert titles == ["loss", "accuracy", "learning rate"]
    assert list(figures[-1].axes[2].lines[0].get_ydata()) == [0.1, 0.05, 0.1 / 3]


def test_a_one_epoch_run_shows_its_point_at_epoch_1(figures):
    plots.plot_curves([{"epoch": 1, "train_loss": 0.7, "train_accuracy": 0.74, "val_loss": float("nan"),
                        "val_accuracy": float("nan"), "lr": 2.4e-4}], "c.png")
    for ax in figures[-1].axes:
        assert list(ax.get_xticks()) == [1] and ax.lines[0].get_marker() == "."

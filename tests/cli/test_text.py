"""The words of the progress, final and tune lines: "1 error" and "1 epoch" in the singular, and
"no validation split" where there is none (not "val accuracy nan%")."""

from __future__ import annotations

import io

import numpy as np

from chainrule.cli import build_parser, main
from chainrule.cli import tune as tune_command
from chainrule.progress import count, format_epoch


def test_count_is_singular_only_for_one():
    assert [count(n, "error") for n in (0, 1, 2)] == ["0 errors", "1 error", "2 errors"]


def test_epoch_line_says_1_error():
    m = {"epoch": 1, "train_loss": 0.1, "train_accuracy": 0.99, "train_errors": 1, "val_loss": 0.2,
         "val_accuracy": 0.9, "val_errors": 1, "seconds": 0.1}
    assert format_epoch(m, 1) == ("epoch 1/1: loss 0.1000, train acc 99.00% (1 error), val loss 0.2000, "
                                  "val acc 90.00% (1 error), 0.1s")
    assert "(2 errors)" in format_epoch({**m, "train_errors": 2})


def test_train_without_a_validation_split_says_so(tmp_path, capsys):
    assert main(["train", "--dataset", "moons", "--epochs", "1", "--val-split", "0", "--no-plots",
                 "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out
    assert "1 epoch in " in out and ", no validation split, test accuracy" in out


def test_train_with_a_validation_split_names_its_accuracy(tmp_path, capsys):
    assert main(["train", "--dataset", "moons", "--epochs", "2", "--no-plots", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "2 epochs in " in out and ", val accuracy " in out


def test_tune_lines_are_singular_for_one_epoch_and_say_how_long_the_retrain_takes(tmp_path):
    stream = io.StringIO()
    args = build_parser().parse_args(["tune", "--dataset", "moons", "--trials", "1", "--epochs", "1",
                                      "--widths", "8", "--depths", "1", "--minutes", "10", "--no-plots",
                                      "--out", str(tmp_path / "t")])
    assert tune_command.run(args, stream) == 0
    text = stream.getvalue()
    assert "for 1 epoch, expected to take about " in text and "within the --minutes budget" in text
    assert "1 epoch in " in text and "1 epochs" not in text


def test_retrain_past_the_budget_says_by_how_much():
    assert tune_command._expected({"expected_seconds": 61.0, "seconds_left": -3.0}) == (
        "expected to take about 61s, past the --minutes budget by about 61s")
    assert tune_command._expected({"expected_seconds": 2.0, "seconds_left": None}) == "expected to take about 2s"


def test_every_command_prints_a_warning_in_one_line(tmp_path, capsys):
    """evaluate (and plot, tune) reload the data, and its warnings: one line each, as train prints them."""
    rows = np.random.default_rng(0).normal(size=(60, 3))
    data = tmp_path / "from1.tsv"
    np.savetxt(data, np.c_[rows, (rows[:, 0] > 0) + 1], delimiter="\t", fmt="%.4f")  # labels 1 and 2
    assert main(["train", "--dataset", str(data), "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet",
                 "--no-plots"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule: warning: ") and "class 0 has no training example" in err[0]

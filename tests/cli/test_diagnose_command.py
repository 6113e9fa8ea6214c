"""chainrule diagnose on the command line: a row per check, the verdict, and the exit status (0, 1 when a
check fails, 2 on bad input)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chainrule.cli import build_parser, main
from chainrule.diagnose import MODEL_CHECKS

ROWS = ("data: class balance", "data: constant features", "data: non-finite features", "data: train/test duplicates",
        "data: feature scale", *MODEL_CHECKS)


def _rows(text: str) -> dict[str, str]:
    """check name -> its row (the status first)."""
    found = {}
    for line in text.splitlines():
        for name in ROWS:
            if line[6:].startswith(name):
                found[name] = line
    return found


def test_the_default_config_on_the_digits_passes_every_check(capsys):
    assert main(["diagnose"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("diagnose digits (1,437 training examples, 64 features, 10 classes), model "
                               "256relu-dropout0.2 (19,210 parameters), adam lr 0.001")
    rows = _rows(out)
    assert list(rows) == list(ROWS) and all(row.startswith("pass  ") for row in rows.values())
    assert lines[1:11] == list(rows.values()) and lines[-1] == "all checks passed"


def test_a_huge_learning_rate_fails_and_exits_1(capsys):
    assert main(["diagnose", "--lr", "1e6"]) == 1
    out = capsys.readouterr().out
    overfit = _rows(out)["overfit one batch"]
    assert overfit.startswith("fail  overfit one batch") and "diverged (loss " in overfit
    assert "--lr 1e+06" in overfit and "lr=" not in overfit  # the advice in the command line's words
    assert out.splitlines()[-1] == "2 checks failed"  # the overfit and the baseline both diverge


def test_warnings_alone_exit_0(capsys):
    argv = ["diagnose", "--model", "-".join(["64sigmoid"] * 6), "--optimizer", "sgd", "--lr", "0.01"]
    assert main(argv) == 1  # SGD at 0.01 cannot fit one batch through six sigmoids in 300 steps
    rows = _rows(capsys.readouterr().out)
    assert rows["layer statistics at init"].startswith("warn") and "vanishing gradients" in rows["layer statistics at init"]
    assert main(["diagnose", "--dataset", "xor", "--model", "4tanh", "--lr", "0.05"]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["data: train/test duplicates"].startswith("warn") and out.splitlines()[-1] == "1 warning"


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "nonesuch"], "unknown dataset 'nonesuch'"),
    (["--model", "12foo"], "model SPEC '12foo'"),
    (["--lr", "-1"], "--lr must be a positive number"),
    (["--batch-size", "0"], "--batch-size must be a positive integer"),
    (["--threads", "0"], "--threads must be a positive integer"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["diagnose", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("chainrule: error: ") and message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_the_options_are_train_s_without_the_run_folder():
    train = {a.dest for a in build_parser().subparsers["train"]._actions}
    diagnose = {a.dest for a in build_parser().subparsers["diagnose"]._actions}
    assert train - diagnose == {"out", "overwrite", "resume", "no_plots", "quiet", "diagnostics"}
    assert diagnose <= train


def test_python_dash_m_exit_status():
    proc = subprocess.run([sys.executable, "-m", "chainrule", "diagnose", "--lr", "1e6"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == ""
    assert proc.stdout.splitlines()[-1] == "2 checks failed"
    proc = subprocess.run([sys.executable, "-m", "chainrule", "diagnose", "--dataset", "nonesuch"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr

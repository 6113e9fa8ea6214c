"""chainrule tune on the command line: its options, its errors (one line, exit status 2) and its report."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from chainrule.cli import build_parser, main
from chainrule.cli import tune as tune_command


@pytest.mark.parametrize("argv, message", [
    (["--trials", "0"], "--trials must be a positive integer"),
    (["--minutes", "-1"], "--minutes must be a positive number"),
    (["--val-split", "0"], "--val-split must be in (0, 1)"),
    (["--activations", "relu,swish"], "--activations must be among"),
    (["--optimizers", "lbfgs"], "--optimizers must be among"),
    (["--widths", "0"], "--widths must be integers"),
    (["--lr", "0.1:0.01"], "--lr needs 0 < LO <= HI"),
    (["--dropouts", "1"], "--dropouts must be in [0, 1)"),
    (["--epochs", "0"], "--epochs must be a positive integer"),
    (["--dataset", "nonesuch"], "unknown dataset 'nonesuch'"),
    (["--dataset", "xor"], "--val-split 0.1 of xor's 4 training examples leaves none for validation, and tuning "
                           "scores its trials there; use a larger split"),  # not "--val-split 0", which tune refuses
])
def test_user_errors_print_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main(["tune", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chainrule: error: ") and message in err


def _args(*argv):
    return build_parser().parse_args(["tune", *argv])


def test_plain_output_when_not_a_terminal(tmp_path):
    stream = io.StringIO()
    assert tune_command.run(_args("--dataset", "moons", "--trials", "3", "--epochs", "2", "--widths", "16",
                            "--out", str(tmp_path)), stream) == 0
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["trial 1/3", "trial 2/3", "trial 3/3"]
    assert "\x1b" not in stream.getvalue()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert [line.split()[0] for line in lines[header + 1:header + 4]] == ["1", "2", "3"]
    assert lines[-1].startswith("test errors: ") and (tmp_path / "tune.json").is_file()


def test_quiet_prints_only_the_final_line(tmp_path):
    stream = io.StringIO()
    tune_command.run(_args("--dataset", "moons", "--trials", "2", "--epochs", "2", "--quiet", "--out", str(tmp_path)),
               stream)
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("test errors: ")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_output_redraws_the_table(tmp_path):
    stream = _Terminal()
    tune_command.run(_args("--dataset", "moons", "--trials", "3", "--epochs", "2", "--out", str(tmp_path)), stream)
    text = stream.getvalue()
    assert text.count("\x1b[J") == 2  # the table is drawn after each trial, over the previous one
    assert "tuning" in text and text.rstrip().splitlines()[-1].startswith("test errors: ")


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chainrule", "tune", "--dataset", "moons", "--trials", "2",
                           "--epochs", "2", "--quiet", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("test errors: ") and (tmp_path / "model.safetensors").is_file()


def test_chainrule_tune_subcommand(tmp_path, capsys):
    argv = ["tune", "--dataset", "moons", "--trials", "2", "--epochs", "2", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("test errors: ")
    assert main(["tune", "--dataset", "moons", "--trials", "0"]) == 2
    assert "--trials must be a positive integer" in capsys.readouterr().err

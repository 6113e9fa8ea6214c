"""The chainrule command, end to end in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def run(*args, cwd=None, check_rc=None, env=None):
    # No downloads from tests: an unreachable mirror makes "absent" fail fast, offline or not.
    env = {**os.environ, "CHAINRULE_MIRROR": "http://127.0.0.1:9", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = run("train", "--out", out, "--quiet", check_rc=0)
    return out, proc


def test_train_defaults_on_digits_end_to_end(digits_run):
    out, proc = digits_run
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("test errors: ")  # --quiet: only the final line
    errors, size = map(int, lines[0].split(":")[1].split("(")[0].split("/"))
    assert size == 360 and errors <= 10  # >= 97% test accuracy
    for name in ("model.safetensors", "metrics.jsonl", "summary.json", "curves.png", "confusion.png", "weights.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_errors"] == errors and summary["dataset"] == "digits"


def test_evaluate_reproduces_the_training_runs_accuracy(digits_run):
    out, proc = digits_run
    ev = run("evaluate", out / "model.safetensors", check_rc=0)
    assert ev.stdout.strip().splitlines()[-1] == proc.stdout.strip()


def test_predict_on_npz_and_png(digits_run, tmp_path):
    out, _ = digits_run
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data[:5] / 16).astype(np.float32)
    np.savez(tmp_path / "five.npz", x=x)
    pred = run("predict", out / "model.safetensors", tmp_path / "five.npz", check_rc=0)
    rows = pred.stdout.strip().splitlines()
    assert len(rows) == 5 and [r.split()[1] for r in rows] == [str(v) for v in digits.target[:5]]
    from PIL import Image

    img = Image.fromarray((digits.images[0] / 16 * 255).astype(np.uint8)).resize((64, 64), Image.Resampling.NEAREST)
    img.save(tmp_path / "zero.png")
    png = run("predict", out / "model.safetensors", tmp_path / "zero.png", check_rc=0)
    assert png.stdout.split()[1] == "0"


def test_plot_redraws_pictures(digits_run):
    out, _ = digits_run
    (out / "curves.png").unlink()
    run("plot", out, check_rc=0)
    assert (out / "curves.png").is_file()


def test_progress_is_one_plain_line_per_epoch_when_piped(tmp_path):
    proc = run("train", "--dataset", "xor", "--model", "4tanh", "--epochs", "3", "--val-split", "0", "--no-plots",
               "--out", tmp_path, check_rc=0)
    lines = proc.stdout.strip().splitlines()
    assert [l.split(":")[0] for l in lines[:3]] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert lines[-1].startswith("test errors: ")


def test_help_explains_specs():
    proc = run("train", "--help", check_rc=0)
    for example in ("linear", "200tanh", "512relu-256relu", "dropout0.2"):
        assert example in proc.stdout
    assert run("--help", check_rc=0).stdout.count("train") >= 1
    assert run(check_rc=0).stdout.startswith("usage: chainrule")  # no command: the help, as pip does


@pytest.mark.parametrize("args,needle", [
    (["train", "--dataset", "nosuchdata"], "unknown dataset 'nosuchdata'"),
    (["train", "--model", "200tanhh"], "cannot read '200tanhh'"),
    (["train", "--lr", "-1"], "--lr must be a positive number"),
    (["train", "--batch-size", "0"], "--batch-size must be a positive integer"),
    (["train", "--val-split", "1"], "--val-split must be in [0, 1)"),
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent"], "data folder /nonexistent: no such folder"),
    (["evaluate", "/nonexistent/model.safetensors"], "no such checkpoint file"),
    (["predict", "/nonexistent/model.safetensors", "x.npz"], "no such checkpoint file"),
    (["plot", "/nonexistent"], "not a training run folder"),
])
def test_user_errors_print_one_line_and_exit_2(args, needle, tmp_path):
    proc = run(*args, "--out", tmp_path / "o") if args[0] == "train" else run(*args)
    if "mnist" in args and proc.returncode == 0:
        pytest.skip("MNIST found in $CHAINRULE_DATA or the cache on this machine")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    if needle:
        assert needle in err[0]


def test_a_checkpoint_that_does_not_fit_the_data(digits_run, tmp_path):
    out, _ = digits_run
    proc = run("evaluate", out / "model.safetensors", "--dataset", "moons")
    assert proc.returncode == 2 and "takes 64 features and 10 classes, but moons has 2 and 2" in proc.stderr
    np.savez(tmp_path / "wrong.npz", x=np.zeros((2, 5), np.float32))
    proc = run("predict", out / "model.safetensors", tmp_path / "wrong.npz")
    assert proc.returncode == 2 and "5 features per example" in proc.stderr


def test_python_dash_m_and_version():
    proc = run("--version", check_rc=0)
    assert proc.stdout.startswith("chainrule ")


def test_predict_on_an_idx_file(digits_run, tmp_path):
    out, _ = digits_run
    from sklearn.datasets import load_digits

    from chainrule.data import write_idx

    digits = load_digits()
    images = (digits.images[:3] / 16 * 255).astype(np.uint8)  # uint8 IDX pixels are divided by 255
    write_idx(tmp_path / "three-idx3-ubyte", images)
    proc = run("predict", out / "model.safetensors", tmp_path / "three-idx3-ubyte", "--top", "2", check_rc=0)
    rows = proc.stdout.strip().splitlines()
    assert [r.split()[1] for r in rows] == [str(v) for v in digits.target[:3]]
    assert all(r.count(".") == 2 for r in rows)  # two probabilities each


def test_progress_bar_on_a_terminal():
    import io

    import chainrule as cr
    from chainrule.progress import TqdmReporter, default_reporter

    class FakeTty(io.StringIO):
        def isatty(self):
            return True

    stream = FakeTty()
    assert isinstance(default_reporter(stream), TqdmReporter)
    cr.fit("moons", model="8tanh", epochs=2, callback=TqdmReporter(stream))
    text = stream.getvalue()
    assert "epoch 1/2" in text and "ex/s" in text and "batch" in text
    assert "epoch 2/2: loss" in text  # the per-epoch summary line after the bar


def test_threads_option(tmp_path):
    proc = run("train", "--dataset", "xor", "--model", "4tanh", "--epochs", "2", "--val-split", "0", "--no-plots",
               "--quiet", "--threads", "1", "--out", tmp_path, check_rc=0)
    assert proc.stdout.startswith("test errors: ")
    bad = run("train", "--threads", "0", "--out", tmp_path / "b")
    assert bad.returncode == 2 and "--threads must be a positive integer" in bad.stderr


def test_a_reader_that_stops_early_is_not_an_error(digits_run, tmp_path):
    """chainrule predict ... | head -1: a closed pipe ends the command quietly, exit 0."""
    out, _ = digits_run
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).random((3000, 64), dtype=np.float32))
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "predict", str(out / "model.safetensors"),
                             str(tmp_path / "x.npz"), "--limit", "3000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("0: ")
    proc.stdout.close()  # as head does after its line
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == ""


@pytest.mark.parametrize("fd", [1, 2])
def test_a_run_started_with_stdout_or_stderr_closed_runs_to_its_end(tmp_path, fd):
    """chainrule train ... >&- (a cron job, a daemon): sys.stdout is None, which the progress
    reporter asked isatty() of (AttributeError, exit 1, no run)."""
    args = ["train", "--dataset", "xor", "--model", "4tanh", "--epochs", "2", "--val-split", "0", "--no-plots",
            "--out", str(tmp_path / "run")]
    proc = subprocess.run([sys.executable, "-m", "chainrule", *args], preexec_fn=lambda: os.close(fd),
                          stdout=subprocess.DEVNULL if fd == 2 else None,
                          stderr=subprocess.PIPE if fd == 1 else None, timeout=300, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "summary.json").is_file()

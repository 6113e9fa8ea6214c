"""Crash safety: Ctrl-C, SIGTERM, SIGHUP, SIGKILL and resume give bitwise the weights of an
uninterrupted run; one run holds a folder at a time; a closed stdout doesn't end a run."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import load_weights
from chainrule.rundir import RunFolderBusy
from training_callbacks import InterruptAt  # tests/training_callbacks.py

# Slow enough per epoch (~0.3 s) to be interrupted mid-epoch; dropout and shifts
# exercise every random stream that resume must restore.
ARGS = ["--dataset", "digits", "--model", "256relu-dropout0.3-256relu", "--batch-size", "8", "--epochs", "6",
        "--shift", "1", "--optimizer", "adam", "--lr", "0.001", "--no-plots", "--quiet"]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _start(*args, ignore=()):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def set_signals():
        # A child inherits ignored signals: pytest started as a background job of a script runs with
        # SIGINT ignored, and chainrule rightly keeps an ignored signal ignored. Start each run as a
        # terminal would, then ignore what the test asks (as nohup does for SIGHUP).
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN if signum in ignore else signal.SIG_DFL)
    return subprocess.Popen([sys.executable, "-m", "chainrule", "train", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=set_signals)


@pytest.fixture
def ctrl_c_as_in_a_terminal(monkeypatch):
    """This process's SIGINT handler as Python installs it in a terminal (it is SIG_IGN when pytest was
    started as a background job), for the tests that send Ctrl-C to themselves."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _final_state(out: Path):
    arrays, info = load_weights(out / "last.safetensors")
    history = [{k: v for k, v in m.items() if k != "seconds"} for m in info["resume"]["history"]]
    best, _ = load_weights(out / "model.safetensors")
    return arrays, history, best


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    proc = _start(*ARGS, "--out", out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return out, proc.stdout.read()


def _wait_for(path: Path, proc, timeout=120):
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.02)


def _assert_same_run(a: Path, b: Path):
    arrays_a, history_a, best_a = _final_state(a)
    arrays_b, history_b, best_b = _final_state(b)
    assert history_a == history_b
    assert sorted(arrays_a) == sorted(arrays_b)
    for k in arrays_a:  # bitwise: weights, optimizer moments, best weights
        assert arrays_a[k].tobytes() == arrays_b[k].tobytes(), k
    for k in best_a:
        assert best_a[k].tobytes() == best_b[k].tobytes(), k
    lines = [json.loads(line) for line in (b / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == list(range(1, len(history_a) + 1))  # no duplicate lines after resume


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_saves_last_and_resume_is_bitwise_identical(uninterrupted, tmp_path, signum, status):
    """Ctrl-C, and what batch schedulers, docker stop, timeout (SIGTERM) and a closed terminal (SIGHUP) send."""
    straight, straight_stdout = uninterrupted
    proc = _start(*ARGS, "--out", tmp_path)
    _wait_for(tmp_path / "last.safetensors", proc)
    time.sleep(0.15)  # somewhere inside the second epoch
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == status
    err = proc.stderr.read()
    assert "continue with: chainrule train --resume" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    _, info = load_weights(tmp_path / "last.safetensors")
    assert info["resume"]["partial"] is not None or len(info["resume"]["history"]) >= 1
    resumed = _start("--resume", tmp_path, "--no-plots", "--quiet")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert resumed.stdout.read() == straight_stdout
    _assert_same_run(straight, tmp_path)


def test_sigkill_at_random_moments_always_leaves_a_resumable_run(uninterrupted, tmp_path):
    straight, _ = uninterrupted
    rng = random.Random(0)
    kills = 0
    proc = _start(*ARGS, "--out", tmp_path)
    for _ in range(6):
        _wait_for(tmp_path / "last.safetensors", proc)
        # short lives: the whole run is only a second or two of training on a quiet machine,
        # and at least two kills must land before it ends
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break
        proc.kill()  # SIGKILL: no handler runs, a write may be cut off halfway
        proc.wait()
        kills += 1
        # whatever moment it died, the training state loads, and so does the best model once written
        cr.load(tmp_path / "last.safetensors", prefix="model.")
        if (tmp_path / "model.safetensors").exists():
            cr.load(tmp_path / "model.safetensors")
        proc = _start("--resume", tmp_path, "--no-plots", "--quiet")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert kills >= 2
    _assert_same_run(straight, tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))  # leftovers of cut-off writes are cleaned up


def test_divergence_stops_at_once_and_keeps_the_last_good_state(tmp_path):
    with pytest.raises(cr.train.TrainingDiverged,
                       match=r"diverged at epoch 1, step \d+: the loss is nan.*try a lower learning rate than lr=1e\+08, or clip_grad=1.0$"):
        cr.fit("digits", model="64relu-64relu", epochs=5, lr=1e8, optimizer="sgd", out=tmp_path, quiet=True)
    last = cr.load(tmp_path / "last.safetensors", prefix="model.")
    assert all(np.isfinite(p).all() for p in last.net.params())  # the good state, not the diverged one


def test_divergent_run_on_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", "--lr", "1e8", "--optimizer", "sgd",
                           "--model", "64relu-64relu", "--out", tmp_path, "--quiet"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "training diverged at epoch" in err[0]
    assert err[0].endswith("try a lower learning rate than --lr 1e+08, or --clip-grad 1.0"), err  # the options
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("step", [None, 3])
def test_ctrl_c_on_an_epochs_last_step_resumes_bitwise_too(tmp_path, step):
    """On the last step the loader has moved on to the next epoch: the run must stop at the
    epoch's end, not save a half-epoch that resume would run twice."""
    kw = dict(model="32relu", epochs=4, patience=None, quiet=True)
    cr.fit("digits", out=tmp_path / "straight", **kw)
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit("digits", out=tmp_path / "cut", callback=InterruptAt(2, step), **kw)
    cr.train.resume(tmp_path / "cut", quiet=True)
    _assert_same_run(tmp_path / "straight", tmp_path / "cut")


def test_a_signal_ignored_as_nohup_does_stays_ignored(uninterrupted, tmp_path):
    straight, _ = uninterrupted
    proc = _start(*ARGS, "--out", tmp_path, ignore=[signal.SIGHUP])
    _wait_for(tmp_path / "last.safetensors", proc)
    time.sleep(0.15)
    proc.send_signal(signal.SIGHUP)  # the terminal nohup was started from closes
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    _assert_same_run(straight, tmp_path)


class _SignalAt(InterruptAt):
    """Sends real signals to this process at a given step: the handler, not a flag set by hand."""

    def __init__(self, epoch: int, step: int, signums):
        super().__init__(epoch, step)
        self.signums = signums

    def on_batch_end(self, loss, size):
        self.done += 1
        if not self.fired and self.current == self.epoch and self.done == self.step:
            self.fired = True
            for signum in self.signums:
                os.kill(os.getpid(), signum)


def test_a_second_signal_stops_at_once_and_still_says_how_to_resume(tmp_path):
    kw = dict(model="32relu", epochs=4, patience=None, quiet=True)
    cr.fit("digits", out=tmp_path / "straight", **kw)
    with pytest.raises(cr.train.TrainingInterrupted) as caught:
        cr.fit("digits", out=tmp_path / "cut", callback=_SignalAt(2, 3, [signal.SIGTERM, signal.SIGTERM]), **kw)
    message = str(caught.value)
    assert caught.value.signum == signal.SIGTERM
    assert "stopped at once by a second signal" in message
    assert f"the last good state (epoch 1) is intact in {tmp_path / 'cut' / 'last.safetensors'}" in message
    assert f"continue with: chainrule.train.resume({str(tmp_path / 'cut')!r})" in message
    assert "--" not in message  # the library speaks Python; the command line shows its command (test at line 101)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are put back
    cr.train.resume(tmp_path / "cut", quiet=True)
    _assert_same_run(tmp_path / "straight", tmp_path / "cut")


def test_ctrl_c_while_drawing_the_pictures_says_the_run_is_complete(tmp_path, capsys, monkeypatch,
                                                                  ctrl_c_as_in_a_terminal):
    from chainrule import plots
    from chainrule.cli import main

    drawn = []
    real_curves = plots.plot_curves

    def curves_then_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # arrives inside matplotlib's work
        real_curves(*args, **kwargs)
        drawn.append("curves.png")
    monkeypatch.setattr(plots, "plot_curves", curves_then_ctrl_c)
    out = tmp_path / "run"
    assert main(["train", "--model", "16relu", "--epochs", "2", "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"chainrule: interrupted while drawing the pictures; the run is complete and saved in {out}; "
                   f"chainrule plot {out} draws the pictures"]
    assert drawn == ["curves.png"] and not (out / "confusion.png").exists()  # it stopped between two pictures
    assert (out / "summary.json").is_file() and (out / "model.safetensors").is_file()
    monkeypatch.undo()
    assert main(["plot", str(out)]) == 0 and (out / "confusion.png").is_file()


def test_one_run_per_folder_across_processes(tmp_path):
    out = tmp_path / "run"
    first = _start(*ARGS, "--out", out)
    _wait_for(out / "last.safetensors", first)
    # Paused, it holds the folder for as long as the checks take (on a loaded machine, running, it
    # could finish its six epochs before the last of them starts).
    first.send_signal(signal.SIGSTOP)
    new = ["--out", out, "--epochs", "1", "--quiet"]
    for argv in (new, new + ["--overwrite"], ["--resume", out, "--quiet"]):
        second = subprocess.run([sys.executable, "-m", "chainrule", "train", *map(str, argv)], capture_output=True,
                                text=True, timeout=120)
        err = second.stderr.strip().splitlines()
        assert second.returncode == 2 and len(err) == 1, second.stderr
        assert str(out) in err[0] and f"pid {first.pid}" in err[0] and "Traceback" not in second.stderr
    with pytest.raises(RunFolderBusy, match=f"pid {first.pid}"):  # the Python API as well
        cr.fit("digits", model="16relu", epochs=1, out=out, quiet=True)
    with pytest.raises(RunFolderBusy, match=f"pid {first.pid}"):
        cr.train.resume(out, quiet=True)
    assert first.poll() is None  # the first run was never disturbed
    first.kill()  # the lock dies with its process
    first.wait()
    assert cr.train.resume(out, quiet=True).summary["epochs"] == 6


def test_a_closed_stdout_does_not_end_the_run(tmp_path):
    """chainrule train ... | head -1: the reader leaves; training goes on silently and writes every file."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "--model", "32relu", "--epochs", "8",
                             "--patience", "0", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().startswith("epoch 1/8: ")
    proc.stdout.close()  # as head does after its line
    assert proc.wait(timeout=300) == 0
    assert proc.stderr.read() == ""
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 8
    for name in ("model.safetensors", "last.safetensors", "summary.json", "curves.png", "confusion.png", "weights.png"):
        assert (out / name).is_file(), name


def test_overwrite_leaves_nothing_of_the_old_run_to_resume(tmp_path):
    """A new run in an old run's folder writes its own last.safetensors at its start."""
    out = tmp_path / "run"
    cr.fit("digits", model="16relu", epochs=2, out=out, quiet=True)
    cr.train.prepare_out(out, overwrite=True)
    assert not any((out / name).exists() for name in cr.train.RUN_FILES)
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit("digits", model="24relu", epochs=3, out=out, callback=InterruptAt(1, 2), quiet=True)
    assert cr.train.resume(out, quiet=True).model.spec == "24relu"


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_a_state_in_the_older_optimizer_layout_resumes_bitwise(tmp_path, optimizer):
    """chainrule 0.1.0 first wrote one global ``step_count`` beside the learning rate and named SGD's
    buffer ``momentum``, with no fingerprint; such a state, cut mid-epoch, still resumes bitwise (with
    a warning that nothing was recorded to check it against)."""
    from chainrule.io import save_weights

    kw = dict(model="32relu", epochs=3, patience=None, quiet=True, optimizer=optimizer, lr=0.01)
    cr.fit("digits", out=tmp_path / "straight", **kw)
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit("digits", out=tmp_path / "cut", callback=InterruptAt(2, 5), **kw)
    last = tmp_path / "cut" / "last.safetensors"
    arrays, info = load_weights(last)
    state = info["resume"]
    steps = len(state["history"]) * 41 + state["partial"]["steps"]  # 1,293 training digits in batches of 32
    assert all(int(v) == steps for k, v in arrays.items() if k.endswith(".step"))
    old = {k.replace(".momentum_buffer", ".momentum"): v for k, v in arrays.items() if not k.endswith(".step")}
    del state["fingerprint"]
    state["optimizer"] = {"step_count": steps, "lr": state["optimizer"]["lr"]}
    save_weights(old, last, info)
    with pytest.warns(cr.train.ResumeWarning, match="does not record"):
        cr.train.resume(tmp_path / "cut", quiet=True)
    _assert_same_run(tmp_path / "straight", tmp_path / "cut")

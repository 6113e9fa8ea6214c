"""OUT/status.json: running while a run trains, then finished, diverged or interrupted."""

import json
import os

import pytest

import chainrule as cr
from chainrule.train import TrainingDiverged
from chainrule.train.signals import TrainingInterrupted
from chainrule.progress import Callback


def _status(out):
    return json.loads((out / "status.json").read_text())


def test_a_finished_run_says_so(tmp_path):
    out = tmp_path / "run"
    cr.fit("moons", "4tanh", epochs=2, out=out, quiet=True)
    record = _status(out)
    assert record["status"] == "finished" and record["pid"] == os.getpid() and record["message"] is None
    assert record["started"] <= record["updated"] and record["started"].endswith("Z")


class _Watch(Callback):
    """Reads status.json during the run, and optionally stops it."""

    def __init__(self, out, stop=None):
        self.out, self.stop, self.seen = out, stop, []

    def on_train_begin(self, trainer):
        self.trainer = trainer

    def on_epoch_end(self, metrics):
        self.seen.append(_status(self.out)["status"])
        if self.stop == "signal":
            self.trainer._ask_to_stop(2)


def test_running_during_the_run_and_interrupted_by_a_signal_then_running_again_on_resume(tmp_path):
    out = tmp_path / "run"
    watch = _Watch(out, stop="signal")
    with pytest.raises(TrainingInterrupted):
        cr.fit("moons", "4tanh", epochs=3, out=out, callback=watch)
    assert watch.seen == ["running"]
    first = _status(out)
    assert first["status"] == "interrupted" and "interrupted" in first["message"]
    resumed = cr.train.resume(out, quiet=True)
    assert resumed.summary["epochs"] == 3
    again = _status(out)
    assert again["status"] == "finished" and again["started"] == first["started"]  # the run's first start


def test_a_diverged_run_says_so_with_the_reason(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged):
        cr.fit("digits", "64relu", epochs=3, optimizer="sgd", lr=1e6, out=out, quiet=True)
    record = _status(out)
    assert record["status"] == "diverged" and record["message"].startswith("training diverged at epoch 1")


def test_no_file_without_a_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cr.fit("moons", "4tanh", epochs=1, quiet=True)
    assert not list(tmp_path.rglob("status.json"))

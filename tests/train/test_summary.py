"""What a run reports: summary.json's training accuracy, and null for the validation figures of
a run without a validation split (in metrics.jsonl, the saved state and read back)."""

from __future__ import annotations

import json
import math

import numpy as np

import chainrule as cr
from chainrule.data import load_dataset
from chainrule.io import load_weights, save_weights
from chainrule.train import Trainer, TrainConfig, evaluate_arrays, read_metrics


def test_train_accuracy_is_the_saved_weights_in_eval_mode_on_the_training_split(tmp_path):
    data = load_dataset("digits")
    cr.manual_seed(0)
    model = cr.Classifier.from_spec("32relu-dropout0.5", data.num_features, data.classes, data.image_shape)
    trainer = Trainer(model, data, TrainConfig(epochs=3, shift=1), out_dir=tmp_path)
    result = trainer.fit()
    s = result.summary
    train = evaluate_arrays(result.model, trainer.x_train, trainer.y_train)  # the best weights, restored
    assert s["train_accuracy"] == train["accuracy"]
    best = result.history[s["best_epoch"] - 1]
    assert s["train_accuracy_running"] == best["train_accuracy"]  # with dropout and shifts: another figure
    assert s["train_accuracy"] != s["train_accuracy_running"]
    assert json.loads((tmp_path / "summary.json").read_text())["train_accuracy"] == s["train_accuracy"]


def test_without_a_validation_split_every_validation_figure_is_null(tmp_path):
    result = cr.fit("moons", model="8tanh", epochs=2, val_split=0, out=tmp_path, quiet=True)
    assert [m["val_errors"] for m in result.history] == [None, None]
    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        m = json.loads(line)
        assert (m["val_loss"], m["val_accuracy"], m["val_errors"]) == (None, None, None)
    read = read_metrics(tmp_path / "metrics.jsonl")
    assert [m["val_errors"] for m in read] == [None, None]
    assert all(math.isnan(m["val_loss"]) and math.isnan(m["val_accuracy"]) for m in read)
    assert json.loads((tmp_path / "summary.json").read_text())["val_accuracy"] is None
    with_split = cr.fit("moons", model="8tanh", epochs=1, quiet=True).history[0]
    assert isinstance(with_split["val_errors"], int) and not math.isnan(with_split["val_loss"])


def test_older_files_with_val_errors_0_and_no_validation_read_as_null(tmp_path):
    cr.fit("moons", model="8tanh", epochs=2, val_split=0, out=tmp_path, quiet=True)
    # metrics.jsonl as an earlier chainrule wrote it: 0 errors beside a null accuracy
    old = [json.loads(line) | {"val_errors": 0} for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in old))
    assert [m["val_errors"] for m in read_metrics(tmp_path / "metrics.jsonl")] == [None, None]
    # and the training state: resumed (the run is complete), it rewrites metrics.jsonl with nulls
    arrays, info = load_weights(tmp_path / "last.safetensors")
    for m in info["resume"]["history"] + [info["resume"]["best"]["metrics"]]:
        assert m["val_errors"] is None
        m["val_errors"] = 0
    save_weights(arrays, tmp_path / "last.safetensors", info)
    result = cr.train.resume(tmp_path, quiet=True)
    assert [m["val_errors"] for m in result.history] == [None, None]
    assert [json.loads(line)["val_errors"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [
        None, None]


def test_evaluate_arrays_loss_is_the_training_criterion():
    data = load_dataset("moons")
    cr.manual_seed(0)
    model = cr.Classifier.from_spec("8tanh", data.num_features, data.classes)
    got = evaluate_arrays(model, data.x_test, data.y_test)
    logits = model.logits(data.x_test)
    assert got["loss"] == cr.nn.CrossEntropyLoss().fprop(logits, data.y_test)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert np.isclose(got["loss"], -np.log(p[np.arange(len(p)), data.y_test]).mean(), rtol=1e-5)
    assert np.isnan(evaluate_arrays(model, np.full((2, 2), np.inf, np.float32), np.array([0, 1]))["loss"])

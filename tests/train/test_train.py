"""The training loop: metrics, early stopping, reproducibility, real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_dataset
from chainrule.train import TrainConfig, Trainer, evaluate_arrays

FASHION = Path("/usr/share/datasets/fashion-mnist")


def _strip_time(history):
    return [{k: v for k, v in m.items() if k != "seconds"} for m in history]


def test_fit_on_digits_writes_metrics_and_reaches_97_percent(tmp_path):
    result = cr.fit("digits", quiet=True, out=tmp_path, epochs=60, batch_size=32, lr=0.1, optimizer="momentum",
                    weight_decay=5e-4, patience=20, schedule="cosine", model="256relu-dropout0.2")
    s = result.summary
    assert s["test_accuracy"] >= 0.97 and s["test_size"] == 360
    for key in ("dataset", "model", "parameters", "epochs", "seconds", "train_accuracy", "val_accuracy",
                "test_accuracy", "test_errors", "test_size"):
        assert key in s
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == s["epochs"] and json.loads(lines[0])["epoch"] == 1
    assert json.loads((tmp_path / "summary.json").read_text())["test_errors"] == s["test_errors"]
    reloaded = cr.load(tmp_path / "model.safetensors")
    data = load_dataset("digits")
    assert evaluate_arrays(reloaded, data.x_test, data.y_test)["errors"] == s["test_errors"]


def test_same_seed_gives_identical_metrics():
    runs = [cr.fit("moons", model="16tanh-dropout0.1-8relu", epochs=4, seed=3, quiet=True) for _ in range(2)]
    assert _strip_time(runs[0].history) == _strip_time(runs[1].history)
    for a, b in zip(runs[0].model.net.params(), runs[1].model.net.params()):
        np.testing.assert_array_equal(a, b)
    other = cr.fit("moons", model="16tanh-dropout0.1-8relu", epochs=4, seed=4, quiet=True)
    assert _strip_time(other.history) != _strip_time(runs[0].history)


def test_early_stopping_restores_the_best_weights():
    # A large learning rate makes the validation loss go up and down; patience 2 stops the run.
    data = load_dataset("digits")
    cr.manual_seed(0)
    model = cr.Classifier.from_spec("64relu", data.num_features, data.classes)
    trainer = Trainer(model, data, TrainConfig(epochs=40, lr=0.5, batch_size=16, optimizer="momentum", patience=2,
                                               val_split=0.2, seed=0, weight_decay=0))
    result = trainer.fit()
    losses = [m["val_loss"] for m in result.history]
    best = int(np.argmin(losses))
    assert result.summary["stopped_early"] and len(losses) == best + 1 + 2
    assert result.summary["best_epoch"] == best + 1
    restored = evaluate_arrays(model, trainer.x_val, trainer.y_val)["loss"]
    assert restored == pytest.approx(losses[best], rel=1e-6)
    assert restored < losses[-1]


def test_validation_split_comes_from_training_data_only():
    data = load_dataset("digits")
    trainer = Trainer(cr.Classifier.from_spec("linear", 64, data.classes), data, TrainConfig(val_split=0.25))
    assert len(trainer.x_train) + len(trainer.x_val) == len(data.x_train)
    assert len(data.x_test) == 360


@pytest.mark.parametrize("field,value,message", [
    ("lr", -0.1, "^lr must be a positive number, got -0.1$"), ("batch_size", 0, "^batch_size must be a positive integer"),
    ("val_split", 1.0, r"^val_split must be in \[0, 1\)"), ("epochs", 0, "^epochs must be"),
    ("optimizer", "rmsprop", "^optimizer must be one of"), ("patience", -1, "^patience must be"),
    ("shift", 20, "^shift must be"), ("clip_grad", 0.0, "^clip_grad must be"),
])
def test_nonsense_options_are_refused_naming_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value}).validate()
    with pytest.raises(ValueError, match=message):  # fit() checks before it loads anything
        cr.fit("no-such-data-set", **{field: value}, quiet=True)


def test_fit_and_trainconfig_share_one_set_of_defaults():
    import dataclasses

    assert cr.fit is cr.train.fit and not hasattr(cr.train, "DEFAULTS")
    result = cr.fit("moons", model="4tanh", epochs=1, quiet=True)
    expected = dataclasses.asdict(TrainConfig(epochs=1).validate())
    assert result.summary["config"] == expected and result.model.info["train_config"] == expected


def test_val_split_and_shift_problems_name_the_field():
    data = load_dataset("moons")
    with pytest.raises(ValueError, match="^shift needs image data; moons has no 2-D image shape$"):
        Trainer(cr.Classifier.from_spec("4tanh", data.num_features, data.classes), data, TrainConfig(shift=1))
    tiny = cr.data.Data(data.x_train[:4], data.y_train[:4], data.x_test, data.y_test, name="tiny", classes=data.classes)
    with pytest.raises(cr.data.DataError, match=r"^val_split 0.1 of tiny's 4 training examples leaves none"):
        Trainer(cr.Classifier.from_spec("4tanh", tiny.num_features, tiny.classes), tiny, TrainConfig(val_split=0.1))


def test_schedules_set_the_learning_rate():
    cos = cr.fit("xor", model="4tanh", epochs=4, schedule="cosine", lr=0.2, val_split=0, quiet=True)
    assert [m["lr"] for m in cos.history] == pytest.approx([0.2, 0.2 * 0.8535534, 0.1, 0.2 * 0.1464466])
    step = cr.fit("xor", model="4tanh", epochs=6, schedule="step", lr=0.2, val_split=0, quiet=True)
    assert [m["lr"] for m in step.history] == pytest.approx([0.2, 0.2, 0.02, 0.02, 0.002, 0.002])


def test_shift_augmentation_keeps_pixels_and_moves_them():
    from chainrule.data.augment import random_shift

    rng = np.random.default_rng(0)
    x = np.zeros((50, 64), np.float32)
    x[:, 27] = 1.0  # one pixel near the centre of an 8x8 image
    out = random_shift(x, (8, 8), 2, rng)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert (out.sum(axis=1) == 1).all()  # a centre pixel never falls off with shifts of 2
    assert len(set(out.argmax(axis=1))) > 5


@pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_200tanh_two_epochs_reaches_84_percent():
    result = cr.fit("fashion-mnist", model="200tanh", epochs=2, lr=0.01, batch_size=32, optimizer="momentum",
                    schedule="cosine", patience=None, quiet=True)
    assert result.summary["test_size"] == 10_000
    assert result.summary["test_accuracy"] >= 0.84, result.summary


def test_a_run_on_your_own_file_can_be_evaluated_plotted_and_resumed(tmp_path, monkeypatch):
    """The checkpoint records the file's absolute path, not just its stem."""
    from chainrule.cli import main

    d = cr.data.load_digits()
    np.savez(tmp_path / "mine.npz", x=d.x_train, y=d.y_train, x_test=d.x_test, y_test=d.y_test)
    monkeypatch.chdir(tmp_path)  # a relative path, as a user types it
    result = cr.fit("mine.npz", model="16relu", epochs=2, out=tmp_path / "run", quiet=True)
    assert result.model.info["dataset"] == str(tmp_path / "mine.npz")
    monkeypatch.chdir("/")
    assert main(["evaluate", str(tmp_path / "run" / "model.safetensors"), "--quiet"]) == 0
    assert main(["plot", str(tmp_path / "run")]) == 0
    assert cr.train.resume(tmp_path / "run", quiet=True).summary["epochs"] == 2


def test_a_nan_validation_loss_is_never_the_best_epoch():
    data = cr.data.load_digits()
    trainer = cr.train.Trainer(cr.Classifier.from_spec("16relu", 64, data.classes, None, {}), data,
                               cr.TrainConfig(epochs=3, patience=None))
    assert not trainer._track_best({"epoch": 1, "val_loss": float("nan")}) and trainer.best is None
    assert trainer._track_best({"epoch": 2, "val_loss": 0.5}) and trainer.best["score"] == 0.5
    assert not trainer._track_best({"epoch": 3, "val_loss": float("nan")}) and trainer.best["score"] == 0.5


def test_patience_running_out_on_the_last_epoch_is_not_an_early_stop(monkeypatch):
    def worse_every_epoch(self, epoch):  # the validation loss only grows: epoch 1 stays the best
        return {"epoch": epoch, "lr": 0.1, "train_loss": 1.0, "train_accuracy": 0.5, "train_errors": 1,
                "val_loss": float(epoch), "val_accuracy": 0.5, "val_errors": 1, "seconds": 0.0}

    monkeypatch.setattr(Trainer, "train_epoch", worse_every_epoch)
    data = cr.data.load_digits()

    def run(patience):
        model = cr.Classifier.from_spec("16relu", 64, data.classes, None, {})
        return Trainer(model, data, TrainConfig(epochs=3, patience=patience)).fit().summary

    assert (run(2)["epochs"], run(2)["stopped_early"]) == (3, False)  # ran out exactly at the end
    assert (run(1)["epochs"], run(1)["stopped_early"]) == (2, True)
    assert cr.fit("digits", model="16relu", epochs=2, patience=0, quiet=True).summary["epochs"] == 2  # 0: never


def test_files_for_people_are_strict_json_even_without_a_validation_split(tmp_path):
    """No NaN tokens (jq and JavaScript reject them): a missing validation loss is null."""
    from chainrule.cli import main

    def strict(text):
        return json.loads(text, parse_constant=lambda token: pytest.fail(f"non-JSON token {token}"))

    cr.fit("digits", model="16relu", epochs=2, val_split=0.0, out=tmp_path, quiet=True)
    lines = [strict(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["val_loss"] for m in lines] == [None, None]
    strict((tmp_path / "summary.json").read_text())
    assert main(["plot", str(tmp_path)]) == 0  # read back: null is "no validation" again

"""chainrule tune: random search on the validation split, one look at the test set, tune.json and a checkpoint."""

from __future__ import annotations

import dataclasses
import json
import shlex

import numpy as np
import pytest

import chainrule as cr
import chainrule.train
from chainrule.data import load_dataset
from chainrule.train import TrainConfig, evaluate_arrays
from chainrule.tune import SearchSpace, format_table, rank_trials, sample_trials, tune

SMALL = SearchSpace(depths=(1, 2), widths=(16, 32), activations=("relu", "tanh"), dropouts=(0.0, 0.1))
TIMING = ("seconds", "retrain_seconds")  # measured times differ from run to run


def _without_timing(trials):
    return [{k: v for k, v in t.items() if k not in TIMING} for t in trials]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One small search on digits, shared by the tests that only read its results."""
    out = tmp_path_factory.mktemp("tune-digits")
    data = load_dataset("digits")
    calls = []
    original = chainrule.train.parallel.evaluate_arrays

    def counting(model, x, y):
        calls.append(x)
        return original(model, x, y)

    chainrule.train.parallel.evaluate_arrays = counting  # the Trainer evaluates through parallel.py, which looks the name up at call time
    try:
        result = tune(data, trials=4, epochs=4, seed=1, batch_size=64, out=out,
                      space=SearchSpace(depths=(1,), widths=(32, 64), dropouts=(0.0,)))
    finally:
        chainrule.train.parallel.evaluate_arrays = original
    return result, out, data, calls


def test_the_test_set_is_evaluated_once(digits_run):
    result, _, data, calls = digits_run
    on_test = [x for x in calls if len(x) and np.shares_memory(x, data.x_test)]
    assert len(on_test) == 1
    assert calls[-1] is on_test[0]  # at the very end, after every trial
    assert not any(len(x) == len(data.x_test) for x in calls[:-1])  # the trials scored only validation rows


def test_trials_are_ranked_by_validation_accuracy(digits_run):
    result = digits_run[0]
    ranked = sorted(result.trials, key=lambda t: t["rank"])
    assert [t["rank"] for t in ranked] == [1, 2, 3, 4]
    accuracies = [t["val_accuracy"] for t in ranked]
    assert accuracies == sorted(accuracies, reverse=True)
    assert result.best["rank"] == 1 and result.best["val_accuracy"] == max(accuracies)
    table = format_table(result.trials)
    assert table[0].split()[:3] == ["rank", "trial", "model"]
    assert [int(line.split()[1]) for line in table[1:]] == [t["trial"] for t in ranked]


def test_best_is_retrained_on_train_plus_val_for_its_best_epochs(digits_run):
    result, _, data, _ = digits_run
    final = result.final
    assert final["train_size"] == len(data.x_train) == 1437
    assert final["epochs"] == result.best["best_epoch"]
    assert final["config"]["val_split"] == 0 and final["config"]["lr"] == result.best["lr"]
    assert result.best["train_size"] + result.best["val_size"] == len(data.x_train)
    assert final["test_size"] == 360 and final["test_accuracy"] > 0.85


def test_tune_json_and_checkpoint_are_written_and_loadable(digits_run):
    result, out, data, _ = digits_run
    record = json.loads((out / "tune.json").read_text())
    assert record["status"] == "done" and record["dataset"] == "digits" and record["seed"] == 1
    assert len(record["trials"]) == 4 and record["best"]["trial"] == result.best["trial"]
    assert record["final"]["test_errors"] == result.final["test_errors"]
    for trial in record["trials"]:
        assert trial["command"].startswith("chainrule train --dataset digits --model ")
    model = cr.load(out / "model.safetensors")
    assert model.spec == result.best["model"]
    assert evaluate_arrays(model, data.x_test, data.y_test)["errors"] == result.final["test_errors"]
    assert model.info["dataset"] == "digits"


def test_same_seed_same_trials():
    assert sample_trials(SearchSpace(), 10, seed=5) == sample_trials(SearchSpace(), 10, seed=5)
    assert sample_trials(SearchSpace(), 10, seed=5) != sample_trials(SearchSpace(), 10, seed=6)
    assert sample_trials(SearchSpace(), 3, seed=5) == sample_trials(SearchSpace(), 10, seed=5)[:3]
    runs = [tune("moons", trials=3, epochs=3, seed=2, space=SMALL) for _ in range(2)]
    assert _without_timing(runs[0].trials) == _without_timing(runs[1].trials)
    assert runs[0].final["test_errors"] == runs[1].final["test_errors"]


def test_samples_stay_in_the_space():
    space = SearchSpace(depths=(0, 2), widths=(8, 24), activations=("sigmoid",), dropouts=(0.0, 0.25),
                        optimizers=("adamw",), lr=(1e-3, 1e-2), weight_decay=(0, 0))
    for t in sample_trials(space, 40):
        assert t["depth"] in (0, 2) and 1e-3 <= t["lr"] <= 1e-2 and t["weight_decay"] == 0
        assert t["optimizer"] == "adamw"
        if t["depth"] == 0:
            assert t["model"] == "linear"
        else:
            assert t["width"] in (8, 24) and t["activation"] == "sigmoid"
            cr.spec.parse_spec(t["model"])  # a SPEC chainrule can build


def test_the_recorded_command_reproduces_the_final_model(tmp_path, capsys):
    from chainrule.cli import main as cli_main

    result = tune("moons", trials=2, epochs=3, seed=4, space=SMALL)
    command = shlex.split(result.final["command"])
    assert command[:2] == ["chainrule", "train"]
    assert cli_main(command[1:] + ["--out", str(tmp_path / "again"), "--no-plots", "--quiet"]) == 0
    errors = result.final["test_errors"]
    assert capsys.readouterr().out.strip().endswith(f"test errors: {errors} / 200 ({errors / 200:.1%})")


def test_minutes_budget_cuts_the_search():
    result = tune("moons", minutes=1e-6, epochs=5, space=SMALL)
    assert len(result.trials) == 1  # the first trial always runs, for one epoch at least
    assert result.trials[0]["status"] == "cut by deadline" and result.trials[0]["epochs_run"] == 1
    assert result.final["epochs"] == 1


def test_diverged_trials_are_listed_last_and_never_chosen():
    space = SearchSpace(optimizers=("sgd",), lr=(0.1, 1000), activations=("relu",), widths=(32,))
    result = tune("moons", trials=6, epochs=3, space=space)
    statuses = [t["status"] for t in result.trials]
    assert "diverged" in statuses and "done" in statuses
    assert result.best["status"] == "done"
    table = format_table(result.trials)
    first_diverged = next(i for i, line in enumerate(table) if "diverged" in line)
    assert all("diverged" in line for line in table[first_diverged:])
    assert len(rank_trials(result.trials)) == statuses.count("done")


def test_all_diverged_is_a_user_error():
    with pytest.raises(ValueError, match="every trial diverged"):
        tune("moons", trials=2, epochs=2, space=SearchSpace(optimizers=("sgd",), lr=(1e4, 1e4),
                                                            activations=("relu",)))


def test_library_errors_name_the_argument():
    for kwargs, message in (({"trials": 0}, "trials must be a positive integer, got 0"),
                            ({"minutes": -1}, "minutes must be a positive number"),
                            ({"val_split": 0}, "val_split must be in (0, 1)"),
                            ({"space": SearchSpace(widths=(0,))}, "widths must be integers"),
                            ({"lr": 0.1}, "lr is drawn for each trial"),
                            ({"epoch": 3}, "unknown training settings epoch")):
        with pytest.raises(ValueError) as e:
            tune("moons", **kwargs)
        assert message in str(e.value) and "--" not in str(e.value), e.value


def test_shared_training_settings_default_to_train_config(tmp_path):
    """What a trial does not draw comes from TrainConfig's defaults, as fit()'s and chainrule train's do."""
    defaults = dataclasses.asdict(TrainConfig())
    result = tune("moons", trials=1, epochs=1, space=SMALL)
    shared = result.record["trial_config"]
    assert shared["epochs"] == 1
    for name in ("batch_size", "momentum", "schedule", "val_split", "shift", "clip_grad"):
        assert shared[name] == defaults[name], name
    assert result.final["config"]["batch_size"] == defaults["batch_size"]


def test_tune_in_python_refuses_a_folder_of_other_files_as_fit_does(tmp_path):
    """The command line held its --out folder, but tune(out=...) wrote its model.safetensors and
    tune.json into any folder, over the user's own files of those names."""
    from chainrule import rundir

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    with pytest.raises(rundir.RunFolderError, match="holds files that are not a chainrule run"):
        tune("moons", trials=1, epochs=1, out=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    out = tmp_path / "run"
    tune("moons", trials=1, epochs=1, out=out)
    with pytest.raises(rundir.RunFolderError, match="already holds a run"):
        tune("moons", trials=1, epochs=1, out=out)
    assert tune("moons", trials=1, epochs=1, out=out, overwrite=True).final["checkpoint"] == "model.safetensors"

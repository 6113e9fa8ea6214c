"""chainrule tune: random search on the validation split, one look at the test set, tune.json and a checkpoint."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.train
from chainrule import tune as tuning
from chainrule.data import load_dataset
from chainrule.train import evaluate_arrays
from chainrule.tune import SearchSpace, format_table, rank_trials, sample_trials, tune

SMALL = SearchSpace(depths=(1, 2), widths=(16, 32), activations=("relu", "tanh"), dropouts=(0.0, 0.1))
TIMING = ("seconds",)


def _without_timing(trials):
    return [{k: v for k, v in t.items() if k not in TIMING} for t in trials]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One small search on digits, shared by the tests that only read its results."""
    out = tmp_path_factory.mktemp("tune-digits")
    data = load_dataset("digits")
    calls = []
    original = chainrule.train.evaluate_arrays

    def counting(model, x, y):
        calls.append(x)
        return original(model, x, y)

    chainrule.train.evaluate_arrays = counting  # Trainer.fit looks the name up at call time
    try:
        result = tune(data, trials=4, epochs=4, seed=1, batch_size=64, out=out,
                      space=SearchSpace(depths=(1,), widths=(32, 64), dropouts=(0.0,)))
    finally:
        chainrule.train.evaluate_arrays = original
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
    (["--dataset", "xor"], "leaves none for validation"),
])
def test_user_errors_print_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert tuning.main(argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chainrule: error: ") and message in err


def _args(*argv):
    return tuning.build_parser().parse_args(list(argv))


def test_plain_output_when_not_a_terminal(tmp_path):
    stream = io.StringIO()
    assert tuning.run(_args("--dataset", "moons", "--trials", "3", "--epochs", "2", "--widths", "16",
                            "--out", str(tmp_path)), stream) == 0
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["trial 1/3", "trial 2/3", "trial 3/3"]
    assert "\x1b" not in stream.getvalue()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert [line.split()[0] for line in lines[header + 1:header + 4]] == ["1", "2", "3"]
    assert lines[-1].startswith("test errors: ") and (tmp_path / "tune.json").is_file()


def test_quiet_prints_only_the_final_line(tmp_path):
    stream = io.StringIO()
    tuning.run(_args("--dataset", "moons", "--trials", "2", "--epochs", "2", "--quiet", "--out", str(tmp_path)),
               stream)
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("test errors: ")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_output_redraws_the_table(tmp_path):
    stream = _Terminal()
    tuning.run(_args("--dataset", "moons", "--trials", "3", "--epochs", "2", "--out", str(tmp_path)), stream)
    text = stream.getvalue()
    assert text.count("\x1b[J") == 2  # the table is drawn after each trial, over the previous one
    assert "tuning" in text and text.rstrip().splitlines()[-1].startswith("test errors: ")


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chainrule.tune", "--dataset", "moons", "--trials", "2",
                           "--epochs", "2", "--quiet", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("test errors: ") and (tmp_path / "model.safetensors").is_file()


def test_chainrule_tune_subcommand(tmp_path, capsys):
    from chainrule import cli

    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    if "tune" not in sub.choices:
        pytest.skip("cli.py does not offer 'chainrule tune' yet")
    argv = ["tune", "--dataset", "moons", "--trials", "2", "--epochs", "2", "--quiet", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("test errors: ")
    assert cli.main(["tune", "--dataset", "moons", "--trials", "0"]) == 2
    assert "--trials must be a positive integer" in capsys.readouterr().err


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

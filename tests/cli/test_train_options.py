"""chainrule train's training options are TrainConfig's fields: one option per field, with its default,
so that ``chainrule train`` and ``chainrule.fit()`` train with the same settings."""

from __future__ import annotations

import dataclasses
import json

import pytest

import chainrule as cr
from chainrule.cli import build_parser, main
from chainrule.train import OPTIMIZERS, SCHEDULES, TrainConfig

RUN_OPTIONS = {"dataset", "model", "threads", "data_dir", "out", "overwrite", "resume", "no_plots", "quiet", "help"}


def _train_parser():
    return build_parser().subparsers["train"]


def test_every_train_config_field_is_an_option_with_its_default_and_nothing_else():
    parser = _train_parser()
    options = {a.dest: a for a in parser._actions if a.option_strings}
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert set(options) - RUN_OPTIONS == set(fields)
    defaults = parser.parse_args([])
    for name, f in fields.items():
        action = options[name]
        flag = "--" + name.replace("_", "-")  # a switch also has its --no- form
        assert action.option_strings == ([flag, "--no-" + flag[2:]] if f.type in (bool, "bool") else [flag])
        assert action.default == f.default and getattr(defaults, name) == f.default, name
        assert "(default: " in action.help, name
    assert tuple(options["optimizer"].choices) == OPTIMIZERS and tuple(options["schedule"].choices) == SCHEDULES
    assert isinstance(parser.parse_args(["--batch-size", "7"]).batch_size, int)
    assert parser.parse_args(["--clip-grad", "2.5"]).clip_grad == 2.5


def test_tune_offers_the_fields_a_trial_does_not_draw():
    parser = build_parser().subparsers["tune"]
    defaults = parser.parse_args([])
    for f in dataclasses.fields(TrainConfig):
        if f.name not in ("optimizer", "lr", "weight_decay", "seed", "diagnostics"):  # drawn per trial, the
            assert getattr(defaults, f.name) == f.default, f.name               # search's own, or one run's
    assert not hasattr(defaults, "diagnostics")


@pytest.mark.parametrize("dataset, extra", [("moons", []), ("digits", ["--lr", "0.05", "--patience", "0"])])
def test_fit_and_chainrule_train_record_the_same_config(tmp_path, dataset, extra):
    given = {"epochs": 1, **({"lr": 0.05, "patience": 0} if extra else {})}
    fitted = cr.fit(dataset, "8tanh", seed=3, out=tmp_path / "fit", quiet=True, **given)
    argv = ["train", "--dataset", dataset, "--model", "8tanh", "--seed", "3", "--epochs", "1", *extra,
            "--out", str(tmp_path / "cli"), "--no-plots", "--quiet"]
    assert main(argv) == 0
    configs, summaries = [], []
    for run in ("fit", "cli"):
        configs.append(cr.load(tmp_path / run / "model.safetensors").info["train_config"])
        summaries.append(json.loads((tmp_path / run / "summary.json").read_text())["config"])
    assert configs[0] == configs[1] == summaries[0] == summaries[1] == fitted.summary["config"]
    assert configs[1]["epochs"] == 1 and configs[1]["seed"] == 3
    if extra:
        assert configs[1]["lr"] == 0.05 and configs[1]["patience"] is None  # 0: never stop early


def test_an_option_given_with_resume_is_named(capsys):
    assert main(["train", "--resume", "/nonexistent", "--momentum", "0.5", "--batch-size", "8"]) == 2
    assert capsys.readouterr().err.strip() == ("chainrule: error: --resume continues the saved run with its own "
                                               "settings; drop --momentum, --batch-size")


def test_one_default_data_set_and_model_for_the_commands_and_the_functions():
    import inspect

    from chainrule.train import DEFAULT_DATASET, DEFAULT_MODEL
    from chainrule.tune import tune

    assert inspect.signature(cr.fit).parameters["dataset"].default == DEFAULT_DATASET
    assert inspect.signature(cr.fit).parameters["model"].default == DEFAULT_MODEL
    assert inspect.signature(tune).parameters["dataset"].default == DEFAULT_DATASET
    assert build_parser().subparsers["tune"].parse_args([]).dataset == DEFAULT_DATASET
    for command in ("train", "tune"):
        assert f"(default: {DEFAULT_DATASET})" in " ".join(build_parser().subparsers[command].format_help().split())

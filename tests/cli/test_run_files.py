"""A run's files, damaged or hand-edited, given to evaluate and plot: one line, exit 2, no warnings."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.io import load_weights, save_weights


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--dataset", "moons", "--model", "4tanh", "--epochs", "2", "--out", str(out), "--quiet",
                 "--no-plots", "--overwrite"]) == 0
    return out


def _one_line(capsys, argv):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning would escape as an exception
        code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize("line,needle", [
    ("{}", "line 2: field 'epoch' is missing"), ("[1, 2]", "line 2: not a JSON object"),
    ("null", "line 2: not a JSON object"), ('"text"', "line 2: not a JSON object"), ("{oops", "line 2: not valid JSON"),
    ('{"epoch": "2"}', "line 2: field 'epoch' must be a positive integer"),
    ("BAD_EPOCH", "line 2: epoch 7, expected 2"), ("EXTRA_FIELD", "line 2: field 'colour' is not a field"),
    ("NEGATIVE_LOSS", "line 2: field 'train_loss' must be a non-negative number"),
])
def test_plot_names_the_metrics_file_and_line_that_is_malformed(run, tmp_path, capsys, line, needle):
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes((run / "model.safetensors").read_bytes())
    first, second = (run / "metrics.jsonl").read_text().splitlines()
    edits = {"BAD_EPOCH": {"epoch": 7}, "EXTRA_FIELD": {"colour": "red"}, "NEGATIVE_LOSS": {"train_loss": -1}}
    if line in edits:
        line = json.dumps({**json.loads(second), **edits[line]})
    (folder / "metrics.jsonl").write_text(f"{first}\n{line}\n")
    code, err = _one_line(capsys, ["plot", folder])
    assert code == 2 and len(err) == 1 and f"{folder / 'metrics.jsonl'} {needle}" in err[0], err
    assert not list(folder.glob("*.png"))


@pytest.mark.parametrize("field,value,needle", [
    ("train_config", "abc", "field 'train_config' must be an object, got 'abc'"),
    ("train_config", [1, 2], "field 'train_config' must be an object"),
    ("train_config", {"seed": "x"}, "field 'train_config.seed' must be a non-negative integer"),
    ("train_config", {"seed": 1, "colour": "red"}, "field 'train_config.colour' is not a field chainrule writes"),
    ("dataset", 5, "field 'dataset' must be a string or null"),
    ("classes", "ab", "field 'classes' must be a list"),
    ("pixel_max", "x", "field 'pixel_max' must be a positive number or null"),
    ("image_shape", [3, 3], "field 'image_shape' [3, 3] does not hold 2 features"),
])
def test_metadata_of_the_wrong_type_is_one_line_in_evaluate_and_plot(run, tmp_path, capsys, field, value, needle):
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "metrics.jsonl").write_text((run / "metrics.jsonl").read_text())
    arrays, info = load_weights(run / "model.safetensors")
    if field == "train_config" and isinstance(value, dict):  # one field edited in the real one
        value = {**info["train_config"], **value}
    save_weights(arrays, folder / "model.safetensors", {**info, field: value})
    for argv in (["evaluate", folder / "model.safetensors"], ["plot", folder]):
        code, err = _one_line(capsys, argv)
        assert code == 2 and len(err) == 1, (argv, err)
        assert f"{folder / 'model.safetensors'}: metadata {needle}" in err[0], err


def test_evaluate_and_plot_on_huge_weights_are_one_line_without_warnings(run, tmp_path, capsys):
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "metrics.jsonl").write_text((run / "metrics.jsonl").read_text())
    arrays, info = load_weights(run / "model.safetensors")
    huge = {k: np.where(v >= 0, np.float32(3e38), np.float32(-3e38)) for k, v in arrays.items()}
    save_weights(huge, folder / "model.safetensors", info)
    for argv in (["evaluate", folder / "model.safetensors"], ["plot", folder]):
        code, err = _one_line(capsys, argv)
        assert code == 2 and len(err) == 1 and "overflow" in err[0] and "model.safetensors" in err[0], (argv, err)


def test_patience_says_that_0_is_allowed(tmp_path, capsys):
    code, err = _one_line(capsys, ["train", "--patience", "-1", "--out", tmp_path / "o", "--quiet"])
    assert code == 2 and err == ["chainrule: error: --patience must be a non-negative integer (0: never stop "
                                 "early), got -1"]
    assert main(["train", "--dataset", "moons", "--model", "4tanh", "--epochs", "1", "--patience", "0",
                 "--out", str(tmp_path / "o"), "--quiet", "--no-plots"]) == 0

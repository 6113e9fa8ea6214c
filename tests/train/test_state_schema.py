"""A hand-edited training state: every single-field edit of last.safetensors either resumes or is
refused with one CheckpointError line naming the file (through the API and the command line)."""

from __future__ import annotations

import copy
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.cli import main
from chainrule.io import CheckpointError, load_weights, save_weights
from training_callbacks import InterruptAt  # tests/training_callbacks.py


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """A run stopped in the middle of epoch 2: history, best, partial and every RNG state are filled in.
    Its data is a small image file (6x6 pixels, 3 classes), quick to load for each of the edits."""
    folder = tmp_path_factory.mktemp("cut")
    rng = np.random.default_rng(0)
    np.savez(folder / "images.npz", x=rng.integers(0, 256, (300, 6, 6)).astype(np.uint8), y=np.arange(300) % 3)
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit(str(folder / "images.npz"), model="8relu-dropout0.1", epochs=3, batch_size=32, optimizer="adam",
               lr=0.01, shift=1, out=folder / "run", callback=InterruptAt(2, 3), quiet=True)
    arrays, info = load_weights(folder / "run" / "last.safetensors")
    assert info["resume"]["partial"] is not None and info["resume"]["best"] is not None
    return arrays, info


@pytest.fixture
def no_fsync(monkeypatch):
    """Durability is not what these tests are about: skip fsync, the slowest part of a resumed run."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


# ---------------------------------------------------------------- the edits
REPLACEMENTS = {
    "a string": "x", "an empty string": "", "null": None, "true": True, "a list": [1], "an empty list": [],
    "an object": {"a": 1}, "an empty object": {}, "-1": -1, "-0.5": -0.5, "0": 0, "1.5": 1.5, "10**30": 10**30,
    "1e308": 1e308, "10**400": 10**400, "NaN": math.nan, "inf": math.inf, "-inf": -math.inf, "2**64": 2**64,
}


def _nodes(value, path=()):
    """Every (path, value) in a JSON tree, containers included."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, (*path, i))


def _set(tree, path, value=None, delete=False):
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return tree


def _edits(arrays, info):
    """(description, arrays, metadata) for every single-field edit of a training state."""
    for path, value in _nodes(info):
        if not path:
            continue
        where = ".".join(map(str, path))
        for label, replacement in REPLACEMENTS.items():
            if replacement is not value and not (type(replacement) is type(value) and replacement == value):
                yield f"{where} = {label}", arrays, _set(info, path, replacement)
        yield f"{where} missing", arrays, _set(info, path, delete=True)
        if isinstance(value, dict):
            yield f"{where} with an extra key", arrays, _set(info, path, {**value, "extra": 1})
        if isinstance(value, list):
            yield f"{where} with an extra item", arrays, _set(info, path, [*value, value[-1] if value else 1])
    yield "an extra top-level key", arrays, {**info, "extra": 1}
    for key, array in arrays.items():
        others = {k: v for k, v in arrays.items() if k != key}
        yield f"tensor {key} missing", others, info
        yield f"tensor {key} renamed", {**others, key + "x": array}, info
        yield f"tensor {key} with an extra row", {**others, key: np.concatenate([array.reshape(-1), array.reshape(-1)[:1]])
                                                   if array.ndim < 2 else np.vstack([array, array[:1]])}, info
        yield f"tensor {key} as float64", {**others, key: array.astype(np.float64)}, info
        if array.dtype.kind == "f" and array.size:
            yield f"tensor {key} NaN", {**others, key: np.full_like(array, np.nan)}, info
            yield f"tensor {key} huge", {**others, key: np.full_like(array, 3e38)}, info
        if array.dtype.kind == "i":
            yield f"tensor {key} negative", {**others, key: -np.ones_like(array) * 10**12}, info
    yield "an extra tensor", {**arrays, "optim.99.exp_avg": np.zeros(3, np.float32)}, info
    yield "best weights dropped", {k: v for k, v in arrays.items() if not k.startswith("best.")}, info
    yield "optimizer buffers dropped", {k: v for k, v in arrays.items() if not k.startswith("optim.")}, info


def _write(folder, arrays, info):
    folder.mkdir(exist_ok=True)
    save_weights(arrays, folder / "last.safetensors", info)
    return folder


def test_every_single_field_edit_resumes_or_is_one_checkpoint_error(state, tmp_path, no_fsync):
    """An edit the checks let through must run to the end, or stop as training does when the loss
    stops being finite (a state with weights of 3e38 is a valid one that diverges)."""
    arrays, info = state
    tried, refused, failures = 0, 0, []
    for i, (what, edited_arrays, edited_info) in enumerate(_edits(arrays, info)):
        folder = _write(tmp_path / str(i), edited_arrays, edited_info)
        tried += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a changed version is a warning, checked elsewhere
                cr.train.resume(folder, quiet=True)
        except CheckpointError as e:
            refused += 1
            if "\n" in str(e) or str(folder / "last.safetensors") not in str(e):
                failures.append(f"{what}: {str(e)[:200]!r}")
        except cr.train.TrainingDiverged:
            pass
        except Exception as e:  # noqa: BLE001 - the point: nothing else may escape
            failures.append(f"{what}: {type(e).__name__}: {str(e)[:200]}")
    assert not failures, f"{len(failures)} of {tried} edits: " + "; ".join(failures[:20])
    print(f"{tried} edits: {refused} refused, {tried - refused} resumed")
    assert tried > 1500 and refused > tried // 2


def test_a_sample_of_edits_on_the_command_line_is_one_line_exit_2(state, tmp_path, capsys, no_fsync):
    arrays, info = state
    edits = list(_edits(arrays, info))
    codes = []
    for i, (what, edited_arrays, edited_info) in enumerate(edits[:: len(edits) // 60]):
        folder = _write(tmp_path / str(i), edited_arrays, edited_info)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(["train", "--resume", str(folder), "--quiet", "--no-plots"])
        err = capsys.readouterr().err.strip().splitlines()
        errors = [line for line in err if not line.startswith("chainrule: warning: ")]
        assert code in (0, 2, 3), (what, code, err)  # 3: the edited state diverges
        if code == 2:
            assert len(errors) == 1 and errors[0].startswith("chainrule: error: ") and "last.safetensors" in errors[0], (
                what, err)
        codes.append(code)
    assert codes.count(2) > 10 and len(codes) >= 60


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_json_value_in_any_field_resumes_or_is_one_checkpoint_error(state, tmp_path_factory, no_fsync, data):
    arrays, info = state
    paths = [path for path, _ in _nodes(info) if path]
    path = data.draw(st.sampled_from(paths), label="field")
    value = data.draw(JSON, label="value")
    folder = _write(tmp_path_factory.mktemp("edit"), arrays, _set(info, path, value))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cr.train.resume(folder, quiet=True)
    except CheckpointError as e:
        assert "\n" not in str(e) and str(folder / "last.safetensors") in str(e)
    except cr.train.TrainingDiverged:
        pass


@pytest.mark.parametrize("schedule", ["step", "cosine", "none"])
def test_an_epoch_count_beyond_float_range_is_valid_and_scheduled(schedule):
    net = cr.nn.Linear(2, 2)
    config = cr.TrainConfig(epochs=10**400, schedule=schedule).validate()
    sched = cr.train.make_schedule(cr.train.make_optimizer(net.parameters(), config), config)
    sched.step()
    assert sched.optimizer.lr == config.lr

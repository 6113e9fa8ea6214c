"""Diagnostics while training (TrainConfig.diagnostics): they never change training, write one line
per epoch that survives resume, measure the real update, and warn once per kind with a remedy."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.diagnostics import STEPS_MEASURED, DiagnosticsWarning, Recorder
from chainrule.io import CheckpointError, load_weights, save_weights
from chainrule.random import default_generator
from training_callbacks import InterruptAt  # tests/training_callbacks.py

LINE_KEYS = {"epoch", "lr", "probe_size", "layers"}
ROW_KEYS = {"name", "kind", "units", "mean", "std", "saturated", "dead", "grad_norm", "histogram"}
LINEAR_KEYS = ROW_KEYS | {"weight_grad_norm", "weight_norm", "update_ratio", "update_ratio_mean", "update_steps"}
SIX_SIGMOIDS = "-".join(["64sigmoid"] * 6)


def _run_state(out):
    """Every tensor of last.safetensors (weights, optimizer moments, best weights), the history less
    its timings, and every random stream's state."""
    arrays, info = load_weights(out / "last.safetensors")
    state = info["resume"]
    history = [{k: v for k, v in m.items() if k != "seconds"} for m in state["history"]]
    streams = {k: state[k] for k in ("loader", "augment_rng", "global_rng")}
    return arrays, history, streams


def _lines(out):
    return [json.loads(line) for line in (out / "diagnostics.jsonl").read_text().splitlines()]


def test_diagnostics_never_change_training(tmp_path):
    kw = dict(model="64relu-dropout0.2-32tanh", epochs=3, shift=1, patience=None, quiet=True)
    plain = cr.fit("digits", out=tmp_path / "plain", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a healthy net: no finding, and no NumPy warning either
        seen = cr.fit("digits", out=tmp_path / "seen", diagnostics=True, **kw)
    a, history_a, streams_a = _run_state(tmp_path / "plain")
    b, history_b, streams_b = _run_state(tmp_path / "seen")
    assert sorted(a) == sorted(b) and len(a) > 10
    for key in a:
        assert np.array_equal(a[key], b[key]) and a[key].dtype == b[key].dtype, key
    assert history_a == history_b and streams_a == streams_b
    for pa, pb in zip(plain.model.net.parameters(), seen.model.net.parameters()):
        assert np.array_equal(pa.data, pb.data)
    assert plain.summary["warnings"] == [] == seen.summary["warnings"]
    assert not (tmp_path / "plain" / "diagnostics.jsonl").exists()
    assert json.loads((tmp_path / "plain" / "summary.json").read_text())["warnings"] == []
    assert len(_lines(tmp_path / "seen")) == 3


def test_one_line_per_epoch_with_the_agreed_keys(tmp_path):
    result = cr.fit("digits", model="32relu-16tanh", epochs=2, lr=0.01, out=tmp_path, diagnostics=True, quiet=True)
    lines = _lines(tmp_path)
    assert [line["epoch"] for line in lines] == [1, 2]
    steps = math.ceil(result.summary["train_size"] / 32)  # 41 steps of batch 32
    for line, metrics in zip(lines, result.history):
        assert set(line) == LINE_KEYS
        assert line["lr"] == metrics["lr"] and line["probe_size"] == min(1000, result.summary["train_size"])
        assert [(r["name"], r["kind"], r["units"]) for r in line["layers"]] == [
            ("0", "linear", 32), ("1", "relu", 32), ("2", "linear", 16), ("3", "tanh", 16), ("4", "linear", 10)]
        for row in line["layers"]:
            assert set(row) == (LINEAR_KEYS if row["kind"] == "linear" else ROW_KEYS), row["name"]
            assert sum(row["histogram"]["counts"]) == line["probe_size"] * row["units"]
            assert len(row["histogram"]["counts"]) == 30
            if row["kind"] == "linear":
                assert row["update_steps"] == min(STEPS_MEASURED, steps) == 32
                assert 1e-5 < row["update_ratio_mean"] < 0.1 and 1e-5 < row["update_ratio"] < 0.1
    assert lines[1]["layers"][1]["dead"] is not None and lines[1]["layers"][3]["saturated"] is not None


def test_every_step_of_a_short_epoch_is_measured(tmp_path):
    result = cr.fit("digits", model="16tanh", epochs=1, batch_size=128, out=tmp_path, diagnostics=True, quiet=True)
    steps = math.ceil(result.summary["train_size"] / 128)
    assert steps < STEPS_MEASURED
    assert {row["update_steps"] for row in _lines(tmp_path)[0]["layers"] if row["kind"] == "linear"} == {steps}


def test_the_update_ratio_is_the_real_step_sgd_and_adam():
    """SGD moves W by lr·g; Adam's first step moves every weight by lr (m̂/√v̂ = g/|g|): ratios by hand."""
    x = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.25]], np.float32)
    y = np.array([0, 1, 1])
    for kind in ("sgd", "adam"):
        cr.manual_seed(0)
        net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 2))
        opt = cr.optim.SGD(net.parameters(), lr=0.1) if kind == "sgd" else cr.optim.Adam(net.parameters(), lr=0.01)
        rec = Recorder(net, x, y, seed=0, steps_per_epoch=1)
        loss = cr.nn.CrossEntropyLoss()
        loss.fprop(net.fprop(x), y)
        net.bprop(loss.bprop())
        weights = [net[0].weight, net[2].weight]
        before = [w.data.astype(np.float64) for w in weights]
        grads = [w.grad.astype(np.float64) for w in weights]
        assert rec.before_step(1)
        opt.step()
        rec.after_step()
        line = rec.end_epoch(1, lr=opt.lr, initial_lr=opt.lr)
        ratios = [row["update_ratio"] for row in line["layers"] if row["kind"] == "linear"]
        for w0, g, ratio in zip(before, grads, ratios):
            step = 0.1 * np.linalg.norm(g) if kind == "sgd" else 0.01 * math.sqrt(np.count_nonzero(g))
            assert ratio == pytest.approx(step / np.linalg.norm(w0), rel=1e-4)
        assert [row["update_steps"] for row in line["layers"] if row["kind"] == "linear"] == [1, 1]


def test_a_layer_used_twice_gets_its_update_ratio_at_both_uses():
    cr.manual_seed(0)
    shared = cr.nn.Linear(3, 3)
    net = cr.nn.Sequential(shared, cr.nn.Tanh(), shared, cr.nn.Linear(3, 2))
    x, y = np.eye(3, dtype=np.float32), np.array([0, 1, 1])
    rec = Recorder(net, x, y, seed=0, steps_per_epoch=1)
    before = shared.weight.data.astype(np.float64)
    loss = cr.nn.CrossEntropyLoss()
    loss.fprop(net.fprop(x), y)
    net.bprop(loss.bprop())
    assert rec.before_step(1)
    cr.optim.SGD(net.parameters(), lr=0.1).step()
    rec.after_step()
    rows = rec.end_epoch(1, lr=0.1, initial_lr=0.1)["layers"]
    expected = np.linalg.norm(shared.weight.data - before) / np.linalg.norm(before)
    assert rows[0]["update_ratio"] == rows[2]["update_ratio"] == pytest.approx(expected, rel=1e-5)
    assert expected > 0


def test_each_run_warns_again_in_the_same_process():
    """Once per kind and run: a second run's warnings are shown too, not swallowed as repeats."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own setting: a repeat from the same place is not shown
        for _ in range(2):
            cr.fit("digits", model="64relu", optimizer="sgd", lr=3.0, epochs=1, diagnostics=True)
    shown = [str(w.message) for w in caught if issubclass(w.category, DiagnosticsWarning)]
    assert len(shown) == 4 and shown[:2] == shown[2:]  # dead units and exploding updates, in each run


def test_the_probe_set_is_the_seeds_and_leaves_the_global_stream_alone():
    data = cr.data.load_dataset("digits")
    net = cr.nn.Sequential(cr.nn.Linear(64, 4))
    state = default_generator().bit_generator.state
    a = Recorder(net, data.x_train, data.y_train, seed=0, steps_per_epoch=10)
    assert default_generator().bit_generator.state == state
    b = Recorder(net, data.x_train, data.y_train, seed=0, steps_per_epoch=10)
    c = Recorder(net, data.x_train, data.y_train, seed=1, steps_per_epoch=10)
    assert len(a.probe_y) == 1000 and np.array_equal(a.probe_x, b.probe_x) and not np.array_equal(a.probe_x, c.probe_x)
    assert len(Recorder(net, data.x_train[:50], data.y_train[:50], seed=0, steps_per_epoch=2).probe_y) == 50
    assert a.measured == frozenset(range(1, 11))
    measured = sorted(Recorder(net, data.x_train, data.y_train, 0, steps_per_epoch=1000).measured)
    assert measured[:3] == [32, 63, 94] and measured[-1] == 1000 and len(measured) == 32  # ⌈1000·i/32⌉


@pytest.mark.parametrize("step", [None, 20])
def test_resume_keeps_the_lines_of_the_epochs_done_and_the_warnings_given(tmp_path, step):
    """A six-sigmoid net warns of vanishing gradients and stalled updates in epoch 1; stopped in
    epoch 2 and resumed, it warns of neither again, and every file ends as the uninterrupted run's."""
    kw = dict(model=SIX_SIGMOIDS, optimizer="sgd", lr=0.01, epochs=4, shift=1, diagnostics=True, quiet=True)
    with pytest.warns(DiagnosticsWarning) as straight_warned:
        straight = cr.fit("digits", out=tmp_path / "straight", **kw)
    assert [w["kind"] for w in straight.summary["warnings"]] == ["vanishing_gradients", "stalled_updates"]
    assert len(straight_warned) == 2
    with pytest.raises(cr.train.TrainingInterrupted), pytest.warns(DiagnosticsWarning):
        cr.fit("digits", out=tmp_path / "cut", callback=InterruptAt(2, step), **kw)
    done = 2 if step is None else 1
    assert len(_lines(tmp_path / "cut")) == done
    with open(tmp_path / "cut" / "diagnostics.jsonl", "a") as f:  # a line written after the state was saved
        f.write(json.dumps({**_lines(tmp_path / "cut")[-1], "epoch": done + 1}) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DiagnosticsWarning)  # the kinds warned of before are not warned again
        resumed = cr.train.resume(tmp_path / "cut", quiet=True)
    assert _lines(tmp_path / "cut") == _lines(tmp_path / "straight") and len(_lines(tmp_path / "cut")) == 4
    assert resumed.summary["warnings"] == straight.summary["warnings"]
    assert json.loads((tmp_path / "cut" / "summary.json").read_text())["warnings"] == straight.summary["warnings"]
    a, history_a, _ = _run_state(tmp_path / "straight")
    b, history_b, _ = _run_state(tmp_path / "cut")
    assert history_a == history_b and all(np.array_equal(a[k], b[k]) for k in a) and sorted(a) == sorted(b)


def test_states_written_before_diagnostics_still_resume(tmp_path):
    kw = dict(model="16tanh", epochs=2, quiet=True)
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit("digits", out=tmp_path / "old", callback=InterruptAt(1, 5), **kw)
    arrays, info = load_weights(tmp_path / "old" / "last.safetensors")
    del info["train_config"]["diagnostics"]  # as an earlier chainrule wrote it
    assert "diagnostics" not in info["resume"]
    save_weights(arrays, tmp_path / "old" / "last.safetensors", info)
    result = cr.train.resume(tmp_path / "old", quiet=True)
    assert result.summary["config"]["diagnostics"] is False and result.summary["warnings"] == []


def test_a_state_whose_diagnostics_do_not_fit_is_refused(tmp_path):
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit("digits", model="16tanh", epochs=2, diagnostics=True, out=tmp_path, quiet=True,
               callback=InterruptAt(1, 5))
    arrays, info = load_weights(tmp_path / "last.safetensors")
    assert info["resume"]["diagnostics"]["steps"] == 3  # of the 41 steps' 32 measured, 2, 3 and 4 were done
    info["resume"]["diagnostics"]["sums"].append(0.5)
    save_weights(arrays, tmp_path / "last.safetensors", info)
    with pytest.raises(CheckpointError, match="resume.diagnostics.sums' has 3 figures, the model has 2 Linear"):
        cr.train.resume(tmp_path, quiet=True)
    info["resume"]["diagnostics"]["sums"] = ["x", 1]
    save_weights(arrays, tmp_path / "last.safetensors", info)
    with pytest.raises(CheckpointError, match=r"resume\.diagnostics\.sums\[0\]"):
        cr.train.resume(tmp_path, quiet=True)


def test_diagnostics_must_be_a_bool():
    with pytest.raises(ValueError, match="^diagnostics must be true or false, got 1$"):
        cr.fit("xor", model="4tanh", epochs=1, diagnostics=1)


# ----------------------------------------------------------------- the command line's warnings
def _train(capsys, tmp_path, *args):
    assert main(["train", "--dataset", "digits", *args, "--diagnostics", "--out", str(tmp_path / "run"),
                 "--no-plots", "--quiet"]) == 0
    return [line for line in capsys.readouterr().err.splitlines() if "warning" in line]


def test_six_sigmoid_layers_warn_of_vanishing_gradients_with_options_as_flags(capsys, tmp_path):
    err = _train(capsys, tmp_path, "--model", SIX_SIGMOIDS, "--optimizer", "sgd", "--lr", "0.01", "--epochs", "3")
    vanishing = [line for line in err if "vanishing gradients" in line]
    assert len(vanishing) == 1 and vanishing[0].startswith("chainrule: warning: vanishing gradients: the first ")
    assert vanishing[0].endswith("use relu units, fewer layers, or Glorot init")
    assert all(line.startswith("chainrule: warning: ") for line in err) and len(err) == 2
    stalled = [line for line in err if "stalled" in line]
    assert stalled[0].endswith("try a higher learning rate than --lr 0.01") and "lr=" not in " ".join(err)
    kinds = [w["kind"] for w in json.loads((tmp_path / "run" / "summary.json").read_text())["warnings"]]
    assert kinds == ["vanishing_gradients", "stalled_updates"]


def test_a_healthy_run_warns_of_nothing(capsys, tmp_path):
    assert _train(capsys, tmp_path, "--epochs", "3") == []  # the default model and optimizer


@pytest.mark.parametrize("model, lr, kind, message", [
    ("64relu", "3", "dead_units", "of its units are never active on the probe set and get no gradient; "
                                  "try a lower learning rate than --lr 3, or leakyrelu units"),
    ("64tanh", "3", "saturation", "of its activations are saturated (in the flat tails, where the gradient "
                                  "vanishes); try a lower learning rate than --lr 3, standardized inputs, relu units, "
                                  "or Glorot init")])
def test_a_too_large_sgd_step_kills_relus_and_saturates_tanh(capsys, tmp_path, model, lr, kind, message):
    err = _train(capsys, tmp_path, "--model", model, "--optimizer", "sgd", "--lr", lr, "--epochs", "2")
    assert sum(message in line for line in err) == 1, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    found = {w["kind"]: w for w in summary["warnings"]}
    assert found[kind]["epoch"] == 1 and found[kind]["value"] > 0.9 and found[kind]["layer"] == "1"


def test_the_switch_on_the_command_line_and_in_tunes_commands(capsys):
    from chainrule.tune import train_command

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--diagnostics, --no-diagnostics" in " ".join(capsys.readouterr().out.split())
    assert train_command("digits", "8tanh", {"epochs": 2, "diagnostics": True}).endswith("--epochs 2 --diagnostics")
    assert train_command("digits", "8tanh", {"epochs": 2, "diagnostics": False}).endswith("--epochs 2")

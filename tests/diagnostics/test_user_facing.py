"""What a learner sees of diagnostics from Python: warnings that point at their own line."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.diagnostics import DiagnosticsWarning, check_layers, layer_stats

SIX_SIGMOIDS = "-".join(["64sigmoid"] * 6)


def test_a_diagnostics_warning_points_at_the_callers_fit_line_not_the_trainer():
    with pytest.warns(DiagnosticsWarning) as warned:
        cr.fit("digits", SIX_SIGMOIDS, optimizer="sgd", lr=0.01, epochs=1, diagnostics=True, quiet=True)
    assert {w.filename for w in warned} == {__file__}
    assert "vanishing gradients" in str(warned[0].message)


def test_saturation_from_unscaled_inputs_names_the_inputs_in_its_remedy():
    # features a thousand times too large saturate a Glorot-initialised tanh layer at once: the
    # learning rate is not the cause there, the inputs are
    data = cr.data.load_dataset("digits")
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.Tanh(), cr.nn.Linear(32, 10))
    rows = layer_stats(net, data.x_train[:500] * 1000, data.y_train[:500])
    assert rows[1]["saturated"] > 0.9
    [finding] = [f for f in check_layers(rows) if f.kind == "saturation"]
    assert "standardized inputs" in finding.message


def test_images_given_to_a_plain_sequential_say_how_to_flatten_them():
    data = cr.data.load_dataset("digits")
    net = cr.nn.Sequential(cr.nn.Linear(64, 8), cr.nn.ReLU(), cr.nn.Linear(8, 10))
    images = data.x_test[:5].reshape(5, 8, 8)
    with pytest.raises(ValueError, match=r"input has 8 features, expected 64.*flatten the images first"):
        layer_stats(net, images)
    assert len(layer_stats(net, images.reshape(5, -1))) == 3


def test_train_help_says_where_the_diagnostics_go(capsys):
    from chainrule.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--diagnostics" in text and "OUT/diagnostics.jsonl, drawn in OUT/diagnostics.png" in text


def test_the_remedies_at_init_leave_the_learning_rate_out_and_training_ones_name_it():
    rows = [{"name": "0", "kind": "linear", "grad_norm": 0.5}, {"name": "1", "kind": "tanh", "saturated": 0.9},
            {"name": "2", "kind": "relu", "dead": 1.0}, {"name": "3", "kind": "linear", "grad_norm": 0.5}]
    at_init = {f.kind: f.message for f in check_layers(rows, lr=0.1, at_init=True)}
    training = {f.kind: f.message for f in check_layers(rows, lr=0.1)}
    assert set(at_init) == set(training) == {"saturation", "dead_units"}
    assert not any("learning rate" in m for m in at_init.values())
    assert at_init["saturation"].endswith("try standardized inputs, relu units, or Glorot init")
    assert at_init["dead_units"].endswith("check the init's biases and the inputs' scale, or use leakyrelu units")
    assert all("a lower learning rate than lr=0.1" in m for m in training.values())


def test_labels_that_are_not_class_indices_are_refused_in_one_line():
    data = cr.data.load_dataset("digits")
    net = cr.nn.Sequential(cr.nn.Linear(64, 10))
    with pytest.raises(ValueError, match=r"^layer_stats: y must hold class indices 0..K-1 \(integers\).*<U1$"):
        layer_stats(net, data.x_test[:3], ["a", "b", "c"])
    assert layer_stats(net, data.x_test[:3].tolist(), [0, 1, 2])[0]["grad_norm"] > 0  # lists are fine

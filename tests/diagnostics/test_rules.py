"""The verdicts: each threshold met from both sides, the worst layer named, the remedy said."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.diagnostics import layer_stats
from chainrule.diagnostics.rules import (DEAD_LIMIT, SATURATED_LIMIT, UPDATE_HIGH, UPDATE_LOW, VANISHING_RATIO,
                                         Finding, check_layers, check_updates)


def _kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def test_the_limits_are_the_lectures():
    assert (SATURATED_LIMIT, DEAD_LIMIT, VANISHING_RATIO, UPDATE_HIGH, UPDATE_LOW) == (0.5, 0.5, 0.01, 0.1, 1e-5)


# ------------------------------------------------------------------------ saturation


@pytest.mark.parametrize("fraction, found", [(0.49, False), (0.5, False), (0.51, True), (1.0, True)])
def test_saturation_above_half(fraction, found):
    rows = [{"name": "1", "kind": "tanh", "saturated": fraction}]
    assert _kinds(check_layers(rows)) == (["saturation"] if found else [])


def test_saturation_names_the_worst_layer_and_the_remedy():
    rows = [{"name": "1", "kind": "sigmoid", "saturated": 0.6}, {"name": "3", "kind": "tanh", "saturated": 0.9},
            {"name": "5", "kind": "tanh", "saturated": 0.7}, {"name": "6", "kind": "linear", "saturated": None}]
    (finding,) = check_layers(rows, lr=0.5)
    assert (finding.kind, finding.layer, finding.value) == ("saturation", "3", 0.9)
    assert finding.message.startswith("layer 3 (tanh): 90% of its activations are saturated")
    assert "lr=0.5" in finding.message and "relu" in finding.message and "Glorot init" in finding.message
    assert "--" not in finding.message  # the library names fields, not flags
    (no_lr,) = check_layers(rows)
    assert "a lower learning rate;" in no_lr.message or "a lower learning rate," in no_lr.message
    assert "lr=" not in no_lr.message


# ------------------------------------------------------------------------ dead units


@pytest.mark.parametrize("fraction, found", [(0.0, False), (0.5, False), (0.5001, True), (1.0, True)])
def test_dead_units_above_half(fraction, found):
    rows = [{"name": "0", "kind": "linear", "dead": None}, {"name": "1", "kind": "relu", "dead": fraction}]
    assert _kinds(check_layers(rows)) == (["dead_units"] if found else [])


def test_dead_units_names_the_worst_layer_and_the_remedy():
    rows = [{"name": "a.1", "kind": "relu", "dead": 1.0}, {"name": "a.3", "kind": "leakyrelu", "dead": 0.75}]
    (finding,) = check_layers(rows, lr=0.03)
    assert (finding.kind, finding.layer, finding.value) == ("dead_units", "a.1", 1.0)
    assert "100% of its units are never active" in finding.message
    assert "lr=0.03" in finding.message and "leakyrelu" in finding.message


# ---------------------------------------------------------------- vanishing gradients


def _linear(*norms):
    return [{"name": str(2 * i), "kind": "linear", "grad_norm": g} for i, g in enumerate(norms)]


@pytest.mark.parametrize("first, found", [(0.0099, True), (0.01, False), (0.02, False), (0.0, True)])
def test_vanishing_when_the_first_layers_delta_is_under_a_hundredth_of_the_last(first, found):
    # the middle layer does not count: only first against last
    findings = check_layers(_linear(first, 1e-9, 1.0))
    assert _kinds(findings) == (["vanishing_gradients"] if found else [])
    if found:
        assert findings[0].layer == "0" and findings[0].value == pytest.approx(first)
        assert "use relu units, fewer layers, or Glorot init" in findings[0].message


def test_vanishing_needs_two_linear_layers_and_a_last_delta():
    assert check_layers(_linear(1e-9)) == []
    assert check_layers(_linear(0.0, 0.0)) == []  # nothing to compare with (an all-dead network says so itself)
    # a layer whose δ is not finite (None) is skipped: the first measured one is judged
    assert [(f.kind, f.layer) for f in check_layers(_linear(None, 1e-9, 1.0))] == [("vanishing_gradients", "2")]
    rows = _linear(1e-9, 1.0) + [{"name": "9", "kind": "tanh", "grad_norm": 1e-12}]
    assert _kinds(check_layers(rows)) == ["vanishing_gradients"]  # non-Linear rows are not the first or last
    assert check_layers([{"name": "0", "kind": "linear"}, {"name": "1", "kind": "linear"}]) == []  # no labels


def test_the_verdicts_come_in_order_and_together():
    rows = [{"name": "0", "kind": "linear", "grad_norm": 1e-5}, {"name": "1", "kind": "sigmoid", "saturated": 0.8},
            {"name": "2", "kind": "linear", "grad_norm": 1e-3}, {"name": "3", "kind": "relu", "dead": 0.9},
            {"name": "4", "kind": "linear", "grad_norm": 0.5}]
    assert _kinds(check_layers(rows)) == ["saturation", "dead_units", "vanishing_gradients"]


def test_real_layer_stats_give_the_verdicts():
    data = cr.data.load_dataset("digits")
    x, y = data.x_train[:500], data.y_train[:500]
    cr.manual_seed(0)
    sigmoid = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(64, 64), nn.Sigmoid())], nn.Linear(64, 10))
    assert _kinds(check_layers(layer_stats(sigmoid, x, y))) == ["vanishing_gradients"]
    cr.manual_seed(0)
    healthy = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    assert check_layers(layer_stats(healthy, x, y)) == []
    healthy[0].weight.data *= 20  # too large an init: the tanh saturates
    assert "saturation" in _kinds(check_layers(layer_stats(healthy, x, y)))
    cr.manual_seed(0)
    relu = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    relu[0].bias.data[:] = -1000
    # no δ passes a dead layer: the first layer's is 0, which is also a vanishing gradient
    assert _kinds(check_layers(layer_stats(relu, x, y))) == ["dead_units", "vanishing_gradients"]


# ------------------------------------------------------------------------- updates


@pytest.mark.parametrize("ratio, kinds", [
    (0.11, ["exploding_updates"]), (0.1, []), (1e-3, []), (1e-5, []), (9e-6, ["stalled_updates"]),
    (0.0, ["stalled_updates"]),
])
def test_update_ratio_limits(ratio, kinds):
    assert _kinds(check_updates([{"name": "0", "kind": "linear", "update_ratio": ratio}])) == kinds


def test_the_epochs_mean_is_judged_before_the_last_step():
    row = {"name": "0", "kind": "linear", "update_ratio": 0.5, "update_ratio_mean": 1e-3}
    assert check_updates([row]) == []
    row = {"name": "0", "kind": "linear", "update_ratio": 1e-3, "update_ratio_mean": 0.5}
    assert _kinds(check_updates([row])) == ["exploding_updates"]


def test_rows_without_a_ratio_are_skipped():
    rows = [{"name": "1", "kind": "tanh"}, {"name": "0", "kind": "linear", "update_ratio": None}]
    assert check_updates(rows) == []


def test_updates_name_the_worst_layer_and_the_remedy():
    rows = [{"name": "0", "kind": "linear", "update_ratio": 0.2}, {"name": "2", "kind": "linear", "update_ratio": 0.9},
            {"name": "4", "kind": "linear", "update_ratio": 1e-7}, {"name": "6", "kind": "linear", "update_ratio": 1e-6}]
    high, low = check_updates(rows, lr=3.0)
    assert (high.kind, high.layer, high.value) == ("exploding_updates", "2", 0.9)
    assert "0.9 of their norm" in high.message and "lr=3" in high.message and "clip_grad=1.0" in high.message
    assert (low.kind, low.layer, low.value) == ("stalled_updates", "4", 1e-7)
    assert "a higher learning rate than lr=3" in low.message
    _, low = check_updates(rows)
    assert low.message.endswith("try a higher learning rate")


@pytest.mark.parametrize("lr_fraction, stalled", [(1.0, True), (0.5, True), (0.49, False), (0.0, False)])
def test_stalled_is_not_said_once_a_schedule_has_lowered_the_rate(lr_fraction, stalled):
    rows = [{"name": "0", "kind": "linear", "update_ratio": 1e-8}, {"name": "2", "kind": "linear", "update_ratio": 0.5}]
    kinds = _kinds(check_updates(rows, lr=0.1, lr_fraction=lr_fraction))
    assert kinds == (["exploding_updates", "stalled_updates"] if stalled else ["exploding_updates"])


def test_a_real_sgd_step_gives_a_healthy_ratio():
    # ‖Δθ‖/‖θ‖ of one SGD step at lr=0.1 on the digits, with Glorot init: measured 1e-3..1e-2
    data = cr.data.load_dataset("digits")
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    optimizer = cr.optim.SGD(net.parameters(), lr=0.1)
    before = net[0].weight.data.copy()
    loss = nn.CrossEntropyLoss()
    loss.fprop(net.fprop(data.x_train[:100]), data.y_train[:100])
    net.bprop(loss.bprop())
    optimizer.step()
    ratio = float(np.linalg.norm(net[0].weight.data - before) / np.linalg.norm(before))
    assert 1e-4 < ratio < 0.05
    assert check_updates([{"name": "0", "kind": "linear", "update_ratio": ratio}], lr=0.1) == []

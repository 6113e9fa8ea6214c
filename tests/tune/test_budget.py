"""tune()'s minutes budget includes the retrain: the search keeps back the retrain's expected time."""

from __future__ import annotations

import time

import pytest

from chainrule import tune as tune_module
from chainrule.tune import SearchSpace, tune

SMALL = SearchSpace(depths=(1,), widths=(8,), activations=("tanh",), dropouts=(0.0,), optimizers=("adam",))


def test_retrain_estimate_scales_the_trials_epochs():
    history = [{"seconds": 1.0}, {"seconds": 3.0}]
    assert tune_module._retrain_seconds(history, 3, 1.25) == 7.5
    assert tune_module._retrain_seconds([], 3, 1.0) == 0.0


def test_watch_stops_when_the_time_left_is_less_than_the_reserve():
    watch = tune_module._TrialWatch(time.monotonic() + 100, None, lambda trainer: 200.0)
    with pytest.raises(tune_module._DeadlinePassed):
        watch.on_epoch_end({})
    tune_module._TrialWatch(time.monotonic() + 100, None, lambda trainer: 1.0).on_epoch_end({})


def test_a_long_retrain_cuts_the_search_and_is_reported(monkeypatch):
    monkeypatch.setattr(tune_module, "_retrain_seconds", lambda history, epochs, scale: 1e6)
    result = tune("moons", minutes=10, trials=5, epochs=5, space=SMALL)
    assert len(result.trials) == 1  # no second trial starts: its retrain would not fit
    assert result.trials[0]["status"] == "cut by deadline" and result.trials[0]["epochs_run"] == 1
    final = result.record["final"]
    assert final["expected_seconds"] == 1e6 and 0 < final["seconds_left"] <= 600


def test_a_short_retrain_leaves_the_search_alone(monkeypatch):
    monkeypatch.setattr(tune_module, "_retrain_seconds", lambda history, epochs, scale: 0.0)
    result = tune("moons", minutes=10, trials=2, epochs=2, space=SMALL)
    assert [t["status"] for t in result.trials] == ["done", "done"]
    assert result.final["expected_seconds"] == 0.0


def test_the_estimate_is_recorded_per_trial():
    result = tune("moons", trials=1, epochs=2, space=SMALL)
    t = result.trials[0]
    assert t["retrain_seconds"] > 0 and result.final["expected_seconds"] == t["retrain_seconds"]
    assert result.final["seconds_left"] is None  # no minutes budget

"""examples/exercise_loop.py: the exercise's fprop/bprop loop and chainrule.fit agree."""

import numpy as np
import pytest



def test_the_exercise_loop_and_fit_reach_the_same_accuracy(run_example):
    result = run_example("exercise_loop")
    # measured: 95.8% both, weights equal to 2e-7 (same seed: same initial weights and batches)
    assert result["hand_accuracy"] >= 0.95
    assert result["fit_accuracy"] >= 0.95
    assert abs(result["hand_accuracy"] - result["fit_accuracy"]) <= 0.01
    assert result["weight_gap"] < 1e-4
    assert result["hand_dtypes"] == {np.dtype(np.float32)}


def test_the_times_are_per_step_of_the_same_number_of_steps(run_example):
    result = run_example("exercise_loop")
    assert result["steps"] == 50 * 15  # 1,437 training digits in batches of 100: 15 an epoch
    assert result["hand_seconds"] > 0 and result["fit_seconds"] > 0

"""examples/xor.py: the slide's hand-set XOR network, and a 2-2-1 network learning it."""

import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")  # the example draws its picture with it


def test_xor_example(run_example):
    result = run_example("xor", "--survey", "4")
    # slide 13: σ(-1), σ(1), σ(1), σ(-1)
    np.testing.assert_allclose(result["hand_set_outputs"], 1 / (1 + np.exp([1, -1, -1, 1])), rtol=1e-6)
    assert result["hand_set_predictions"].tolist() == [0, 1, 1, 0]
    # seed 0 (the default) learns XOR
    assert result["learned_predictions"].tolist() == [0, 1, 1, 0]
    assert result["learned_loss"] < 0.01
    # seeds 1 and 3 stop in the 2-2-1 net's local minimum: two corners left at p = 0.5
    assert result["survey_solved"] == [True, False, True, False]
    for seed in (1, 3):
        assert math.isclose(result["survey_losses"][seed], math.log(2) / 2, abs_tol=2e-3)
    assert result["picture"].stat().st_size > 10_000

"""examples/regression.py: a linear output unit fitted by MSE leaves only the noise."""

import pytest

pytest.importorskip("matplotlib")  # the example draws its picture with it


def test_regression_leaves_only_the_noise(run_example):
    result = run_example("regression")
    variance = result["noise_variance"]
    assert variance == pytest.approx(0.01)
    # measured: training MSE 0.01006, test MSE 0.01069, error against sin(x) 0.00039
    assert 0.8 * variance <= result["train_mse"] <= 1.2 * variance
    assert 0.8 * variance <= result["test_mse"] <= 1.2 * variance
    assert result["mean_error"] <= 0.1 * variance
    assert result["picture"].stat().st_size > 10_000

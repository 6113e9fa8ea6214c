"""examples/neuron_types.py: three single neurons separate a line's two sides but not XOR."""

import pytest

pytest.importorskip("matplotlib")  # the example draws its picture with it

NEURONS = ("linear neuron", "perceptron", "logistic neuron")


def test_single_neurons_separate_linearly_separable_data_but_not_xor(run_example):
    result = run_example("neuron_types")
    accuracy = result["accuracy"]
    for name in NEURONS:
        assert accuracy["separable"][name] == 1.0, name
        assert accuracy["XOR"][name] <= 0.75, name  # no line gets more than 3 of the 4 corners
    assert accuracy["separable"]["hidden layer (8 tanh)"] == 1.0
    assert accuracy["XOR"]["hidden layer (8 tanh)"] == 1.0
    assert result["picture"].stat().st_size > 10_000

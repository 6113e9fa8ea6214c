"""examples/init_scale.py: zero init never breaks symmetry, too large saturates, Glorot is healthy."""

import pytest

pytest.importorskip("matplotlib")  # the example draws its picture with it


def test_init_scale(run_example):
    result = run_example("init_scale")
    zero, large, glorot = result["zero"], result["too large"], result["glorot"]

    # zero: every hidden unit identical after 10 epochs (one distinct unit per tanh layer), no weight
    # moved at all (tanh(0) = 0 above, δ Wᵀ = 0 below); only the output bias learned something
    assert zero["distinct_units"] == [1, 1]
    assert zero["weights_moved"] == [0.0, 0.0, 0.0] and zero["biases_moved"][:2] == [0.0, 0.0]
    assert zero["biases_moved"][2] > 0.01  # measured 0.037
    assert zero["init"]["deltas"][0] == 0.0 and zero["init"]["verdicts"] == ["vanishing_gradients"]
    assert zero["accuracy"] < 0.15  # measured 10.3%: the most frequent class

    # too large (Glorot × 10): measured 0.69 and 0.83 of the activations saturated at init (0.69-0.74
    # and 0.82-0.84 over seeds 0-2), more after training; 73.1% test accuracy (70.0-73.1%)
    assert min(large["init"]["saturated"]) > 0.5
    assert min(large["trained"]["saturated"]) > 0.5
    assert large["init"]["verdicts"] == ["saturation"]
    assert large["distinct_units"] == [32, 32]

    # Glorot: measured 0.0 saturated at init, 0.02 at most after training; δ norms within 1.13x of each
    # other across the three Linear layers; 95.6% test accuracy (94.7-95.6% over seeds 0-2)
    assert max(glorot["init"]["saturated"]) < 0.2 and max(glorot["trained"]["saturated"]) < 0.2
    deltas = glorot["init"]["deltas"]
    assert max(deltas) / min(deltas) < 10
    assert glorot["init"]["verdicts"] == [] and glorot["distinct_units"] == [32, 32]
    assert glorot["accuracy"] > 0.9
    assert glorot["accuracy"] > large["accuracy"] + 0.1 > zero["accuracy"] + 0.2
    assert result["picture"].stat().st_size > 2_000

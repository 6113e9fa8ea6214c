"""Toy sets: xor, moons and spirals are float32, seeded, balanced, and strict about their arguments."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import DataError, make_moons, make_spirals, make_xor



def test_xor_points():
    x, y = make_xor()
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    xn, yn = make_xor(400, noise=0.1, seed=1)
    assert xn.shape == (400, 2) and xn.dtype == np.float32
    assert np.array_equal(yn, np.tile([0, 1, 1, 0], 100))
    assert 0.05 < np.std(xn - np.tile(x, (100, 1))) < 0.2


@pytest.mark.parametrize("make", [make_moons, make_spirals])
def test_toy_sets_are_float32_seeded_and_balanced(make):
    x, y = make(301, noise=0.1, seed=3)
    assert x.shape == (301, 2) and x.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    x2, y2 = make(301, noise=0.1, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, make(301, noise=0.1, seed=4)[0])
    assert not np.array_equal(y[:20], np.sort(y[:20])) or len(set(y[:20])) > 1  # shuffled
    assert np.abs(x).max() < 3


def test_spirals_classes_and_noise_free_radius():
    x, y = make_spirals(200, classes=2, noise=0.0)
    assert set(y.tolist()) == {0, 1}
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1 + 1e-6


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_xor(3),
        lambda: make_xor(4, noise=-1),
        lambda: make_moons(1),
        lambda: make_moons(10, noise=float("nan")),
        lambda: make_spirals(10, classes=1),
        lambda: make_spirals(2, classes=3),
        lambda: make_spirals(10.5),
    ],
)
def test_toy_argument_errors(call):
    with pytest.raises(DataError):
        call()

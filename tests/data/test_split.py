"""train_val_split: stratified, seeded, disjoint, and strict about its fraction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.data import DataError, train_val_split


@settings(max_examples=150, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    fraction=st.floats(0.05, 0.9),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_is_a_stratified_partition(counts, fraction, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(0).shuffle(y)
    x = np.arange(len(y), dtype=np.float32)[:, None]  # row i holds i: tells rows apart
    try:
        xt, yt, xv, yv = train_val_split(x, y, fraction, seed)
    except DataError as e:
        assert "no validation examples" in str(e)
        assert math.floor(len(y) * fraction + 0.5) == 0 or max(counts) == 1
        return
    rows_t, rows_v = xt[:, 0].astype(int), xv[:, 0].astype(int)
    assert len(np.intersect1d(rows_t, rows_v)) == 0
    assert sorted(np.concatenate([rows_t, rows_v]).tolist()) == list(range(len(y)))
    assert np.array_equal(y[rows_t], yt) and np.array_equal(y[rows_v], yv)
    held = np.bincount(yv, minlength=len(counts))
    for c, n_c in enumerate(counts):
        assert held[c] <= max(n_c - 1, 0)  # every class keeps a training example
        assert math.floor(n_c * fraction) - 1 <= held[c] <= math.floor(n_c * fraction) + 1
    # the total is round(n * fraction) unless the per-class limits forbid it
    cap = sum(min(math.ceil(n * fraction), n - 1) for n in counts)
    assert len(yv) == min(math.floor(len(y) * fraction + 0.5), cap)
    again = train_val_split(x, y, fraction, seed)
    assert np.array_equal(again[2], xv)


def test_seed_changes_the_split_and_val_fraction_zero():
    y = np.arange(200) % 4
    x = np.arange(200, dtype=np.float32).reshape(200, 1)
    a = train_val_split(x, y, 0.25, seed=0)[2]
    b = train_val_split(x, y, 0.25, seed=1)[2]
    assert a.shape == (50, 1) and not np.array_equal(a, b)
    xt, yt, xv, yv = train_val_split(x, y, 0.0)
    assert xt.shape == (200, 1) and xv.shape == (0, 1) and yv.shape == (0,) and xv.dtype == x.dtype


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, float("nan"), "0.1", True, None])
def test_fraction_must_be_in_zero_one(fraction):
    with pytest.raises(DataError, match="val_fraction"):
        train_val_split(np.zeros((10, 2)), np.zeros(10, int), fraction)


def test_split_argument_errors():
    with pytest.raises(DataError, match="no validation examples"):
        train_val_split(np.zeros((4, 2)), np.arange(4) % 2, 0.1)
    with pytest.raises(DataError, match="has 4 rows but y has 3"):
        train_val_split(np.zeros((4, 2)), np.zeros(3, int))
    with pytest.raises(DataError, match="1-D"):
        train_val_split(np.zeros((4, 2)), np.zeros((4, 1), int))
    with pytest.raises(DataError, match="no examples"):
        train_val_split(np.zeros((0, 2)), np.zeros(0, int))

"""scikit-learn's 8x8 digits: shapes, scaling, and a fixed stratified test split."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import load_digits



@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_shapes_ranges_dtypes(digits, assert_well_formed):
    assert_well_formed(digits)
    assert digits.x_train.shape == (1437, 64) and digits.x_test.shape == (360, 64)
    assert digits.image_shape == (8, 8) and digits.classes == [str(i) for i in range(10)]
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    # pixel counts 0..16 become multiples of 1/16 exactly
    assert np.array_equal(digits.x_train * 16, np.round(digits.x_train * 16))


def test_digits_split_is_stratified_and_fixed(digits):
    from sklearn.datasets import load_digits as sk_digits

    all_counts = np.bincount(sk_digits().target, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    # each class holds out its share of 360/1797, give or take one
    assert np.all(np.abs(test_counts - all_counts * 360 / 1797) <= 1)
    assert np.array_equal(np.bincount(digits.y_train, minlength=10) + test_counts, all_counts)
    again = load_digits()
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(digits, name), getattr(again, name))

"""The packaged 8x8 digits: shapes, scaling, the fixed stratified split, the file's SHA-256, and
that they are exactly what scikit-learn's load_digits and the split recipe give."""

from __future__ import annotations

import hashlib
import sys
from importlib import resources

import numpy as np
import pytest

import chainrule.data.digits as digits_module
from chainrule.data import DataError, load_digits

NAMES = ("x_train", "y_train", "x_test", "y_test")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_shapes_ranges_dtypes(digits, assert_well_formed):
    assert_well_formed(digits)
    assert digits.x_train.shape == (1437, 64) and digits.x_test.shape == (360, 64)
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int64
    assert digits.image_shape == (8, 8) and digits.classes == [str(i) for i in range(10)]
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    # pixel counts 0..16 become multiples of 1/16 exactly
    assert np.array_equal(digits.x_train * 16, np.round(digits.x_train * 16))


def test_digits_split_is_stratified_and_fixed(digits):
    all_counts = np.bincount(np.concatenate([digits.y_train, digits.y_test]), minlength=10)
    # the class sizes of the UCI optdigits test set (optdigits.names)
    assert all_counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    test_counts = np.bincount(digits.y_test, minlength=10)
    # each class holds out its share of 360/1797, give or take one
    assert np.all(np.abs(test_counts - all_counts * 360 / 1797) <= 1)
    again = load_digits()
    for name in NAMES:
        assert np.array_equal(getattr(digits, name), getattr(again, name))


def test_packaged_file_matches_its_sha256():
    data = resources.files("chainrule.data").joinpath(digits_module.DIGITS_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digits_module.DIGITS_SHA256
    notice = resources.files("chainrule.data").joinpath("DIGITS-NOTICE.txt").read_text()
    assert digits_module.DIGITS_SHA256 in notice and "CC BY 4.0" in notice


def test_packaged_digits_are_scikit_learns_with_the_old_split(digits):
    """The recipe the file was made with: scikit-learn's digits, scaled, then split (bitwise equal)."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = bunch.data.astype(np.float32)
    x /= np.float32(16)
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=360, stratify=y, random_state=0)
    for name, expected in zip(NAMES, (x_train, y_train, x_test, y_test)):
        got = getattr(digits, name)
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        assert got.tobytes() == np.ascontiguousarray(expected).tobytes(), name


def test_load_digits_needs_no_scikit_learn(monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` now raises ImportError
    d = load_digits()
    assert d.x_train.shape == (1437, 64) and "sklearn" not in [m.split(".")[0] for m in sys.modules
                                                             if sys.modules[m] is not None]


def test_a_damaged_file_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(digits_module, "DIGITS_SHA256", "0" * 64)
    with pytest.raises(DataError, match=r"^digits: the packaged .*digits\.npz is damaged \(SHA-256 1764bb7cc8cd"
                                        r"\.\.\., expected 000000000000\.\.\.\); reinstall chainrule$"):
        load_digits()

"""The data checks: class balance, constant and non-finite features, rows shared by the training
and test sets, and the features' scale (the first steps of Karpathy's "A Recipe for Training
Neural Networks", 2019: become one with the data).

>>> import numpy as np
>>> from chainrule.data import Data
>>> x = np.array([[0, 1], [0, 2], [0, 3], [0, 4]], np.float32)
>>> [c.status for c in check_data(Data(x, np.array([0, 1, 0, 1]), x[:1], np.array([0])))]
['pass', 'pass', 'pass', 'warn', 'pass']
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from ..data import Data
from .checks import FAIL, PASS, WARN, Check

__all__ = ["check_data", "check_balance", "check_constant", "check_finite", "check_duplicates", "check_scale",
           "count_duplicates", "BALANCE_LIMIT", "CONSTANT_LIMIT", "DUPLICATE_LIMIT", "SCALE_LIMIT", "STD_RANGE"]

BALANCE_LIMIT = 0.2  # the smallest class under a fifth of the largest: very unbalanced
CONSTANT_LIMIT = 0.5  # more than half the features constant: the data is mostly empty
DUPLICATE_LIMIT = 0.01  # more than 1% of the test rows also in the training set
SCALE_LIMIT = 100.0  # max |x| above this: raw, un-normalized values
STD_RANGE = (0.01, 10.0)  # the typical feature's standard deviation, for inputs near unit scale


def check_balance(data: Data) -> Check:
    """The smallest class's share of the training set against the largest's: a warning below
    BALANCE_LIMIT, or when a class has no training example.

    >>> import numpy as np
    >>> x = np.zeros((11, 1), np.float32)
    >>> check_balance(Data(x, np.array([0] * 10 + [1]), x, np.zeros(11, np.int64))).status
    'warn'
    """
    counts = np.bincount(data.y_train, minlength=max(data.num_classes, 1))
    n = max(int(counts.sum()), 1)
    small, large = int(counts.min()), int(counts.max())
    ratio = small / large if large else 0.0
    if small == large:
        figure = f"every class {small / n:.1%} of the training set"
    else:
        figure = (f"smallest class {data.classes[int(counts.argmin())]!r} {small / n:.1%} of the training set, "
                  f"largest {data.classes[int(counts.argmax())]!r} {large / n:.1%} (ratio {ratio:.2f})")
    if data.num_classes < 2:
        return Check("data: class balance", WARN, f"one class ({data.classes[0]!r}) only",
                     "with one class there is nothing to learn; check how the labels were read")
    if small == 0:
        return Check("data: class balance", WARN, figure,
                     f"class {data.classes[int(counts.argmin())]!r} has no training example: the model cannot "
                     f"learn it; add examples or drop the class")
    if ratio < BALANCE_LIMIT:
        return Check("data: class balance", WARN, figure,
                     "very unbalanced: judge the model by per-class accuracy (chainrule evaluate's confusion "
                     "matrix), not overall accuracy, or resample the rare classes")
    return Check("data: class balance", PASS, figure)


def check_constant(data: Data) -> Check:
    """Features with one value across the training set: harmless (they carry no information and
    get no weight updates that matter), but worth knowing about; a fail when all are constant.

    >>> import numpy as np
    >>> x = np.array([[1, 0, 5], [1, 2, 5]], np.float32)
    >>> check_constant(Data(x, np.array([0, 1]), x, np.array([0, 1]))).figure
    '2 of 3 features are constant in the training set'
    """
    x = data.x_train
    with warnings.catch_warnings():  # a feature that is all NaN is not constant here (check_finite's)
        warnings.simplefilter("ignore", RuntimeWarning)
        constant = int(np.sum(np.nanmax(x, axis=0) == np.nanmin(x, axis=0))) if len(x) else x.shape[1]
    total = x.shape[1]
    figure = f"{constant} of {total} features are constant in the training set"
    if constant == total:
        return Check("data: constant features", FAIL, figure,
                     "every feature is constant: nothing to learn from; check how the data was read")
    if constant > CONSTANT_LIMIT * total:
        return Check("data: constant features", WARN, figure,
                     "most features carry no information; check how the data was read, or drop them")
    if constant:
        figure += " (harmless: they carry no information)"
    return Check("data: constant features", PASS, figure)


def check_finite(data: Data) -> Check:
    """NaN or infinite values in the features: a fail (one NaN makes the loss NaN).

    >>> import numpy as np
    >>> x = np.array([[1, np.nan], [1, 2]], np.float32)
    >>> check_finite(Data(x, np.array([0, 1]), x, np.array([0, 1]))).figure
    '1 non-finite value in 1 feature of x_train, 1 in 1 feature of x_test'
    """
    parts = []
    for split in ("train", "test"):
        bad = ~np.isfinite(getattr(data, f"x_{split}"))
        n = int(bad.sum())
        if n:
            features = int(bad.any(axis=0).sum())
            word = "value" if n == 1 else "values"
            parts.append((f"{n} non-finite {word}" if not parts else f"{n}")
                         + f" in {features} feature{'s' if features != 1 else ''} of x_{split}")
    if parts:
        return Check("data: non-finite features", FAIL, ", ".join(parts),
                     "NaN or inf makes the loss NaN: remove those rows, or impute the values")
    return Check("data: non-finite features", PASS, "none")


def _row_hashes(x: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """A 64-bit hash of each row: its float32 bit patterns times random odd multipliers, summed modulo
    2^64 (-0.0 is counted as 0.0). Equal rows hash equal; unequal ones rarely, and matches are confirmed."""
    multipliers = np.random.default_rng(0x5EED).integers(1, 2**63, size=x.shape[1], dtype=np.uint64) | np.uint64(1)
    out = np.empty(len(x), np.uint64)
    for i in range(0, len(x), chunk):
        bits = (x[i:i + chunk] + np.float32(0)).view(np.uint32).astype(np.uint64)
        out[i:i + chunk] = (bits * multipliers).sum(axis=1, dtype=np.uint64)
    return out


def count_duplicates(x_train: np.ndarray, x_test: np.ndarray) -> int:
    """How many rows of ``x_test`` are exactly a row of ``x_train`` (rows hashed, matches compared).

    >>> import numpy as np
    >>> a = np.array([[0, 1], [2, 3]], np.float32)
    >>> count_duplicates(a, np.array([[2, 3], [2, 3], [1, 1], [-0.0, 1]], np.float32))
    3
    """
    if len(x_train) == 0 or len(x_test) == 0:
        return 0
    train = _row_hashes(np.ascontiguousarray(x_train, np.float32))
    order = np.argsort(train, kind="stable")
    ordered = train[order]
    test = _row_hashes(np.ascontiguousarray(x_test, np.float32))
    lo, hi = np.searchsorted(ordered, test, "left"), np.searchsorted(ordered, test, "right")
    count = 0
    for j in np.flatnonzero(hi > lo):  # a hash match is confirmed row by row
        row = x_test[j] + np.float32(0)
        count += any(np.array_equal(x_train[i] + np.float32(0), row) for i in order[lo[j]:hi[j]])
    return count


def check_duplicates(data: Data) -> Check:
    """Test rows that are exact copies of training rows: they make the test score look better
    than the model will do on new data.

    >>> import numpy as np
    >>> x = np.eye(3, dtype=np.float32)
    >>> check_duplicates(Data(x, np.arange(3), x[:2], np.arange(2))).figure
    '2 of 2 test rows (100.0%) are also in the training set'
    """
    n = len(data.x_test)
    dup = count_duplicates(data.x_train, data.x_test) if n else 0
    figure = f"{dup:,} of {n:,} test rows ({dup / max(n, 1):.1%}) are also in the training set"
    if dup > DUPLICATE_LIMIT * n:
        return Check("data: train/test duplicates", WARN, figure,
                     "the test score will overstate how the model does on new data: drop those rows from the "
                     "test set")
    return Check("data: train/test duplicates", PASS, figure)


def check_scale(data: Data) -> Check:
    """Features far from unit scale slow training and saturate tanh and sigmoid units: a warning
    when max |x| passes 100 or the typical feature's standard deviation is outside 0.01..10.

    >>> import numpy as np
    >>> x = np.array([[0, 255], [128, 0]], np.float32)
    >>> check_scale(Data(x, np.array([0, 1]), x, np.array([0, 1]))).status
    'warn'
    """
    x = data.x_train
    if not np.isfinite(x).all():  # non-finite features are another check's
        x = x[:, np.isfinite(x).all(axis=0)]
    if x.size == 0:
        return Check("data: feature scale", PASS, "no finite feature to measure")
    top = max(float(x.max()), -float(x.min()))
    # the standard deviations from at most 10,000 rows, spread over the set
    std = x[::max(1, len(x) // 10_000)].std(axis=0, dtype=np.float64)
    varying = std[std > 0]
    typical = float(np.median(varying)) if varying.size else 0.0
    figure = f"max |x| {top:.3g}, feature std {float(std.min()):.2g} to {float(std.max()):.2g} (median {typical:.2g})"
    remedy = ("standardize the features (subtract the mean, divide by the std), or divide pixels by 255, "
              "so that they are near unit scale")
    if top > SCALE_LIMIT:
        return Check("data: feature scale", WARN, figure, "values this large look un-normalized: " + remedy)
    if varying.size and not STD_RANGE[0] <= typical <= STD_RANGE[1]:
        return Check("data: feature scale", WARN, figure, "features far from unit scale: " + remedy)
    return Check("data: feature scale", PASS, figure)


def check_data(data: Data) -> list[Check]:
    """The data checks, in order: class balance, constant features, non-finite features,
    train/test duplicates, feature scale.

    >>> x = np.array([[0, 1], [1, 0]], np.float32)
    >>> [(c.name, c.status) for c in check_data(Data(x, np.array([0, 1]), x + 2, np.array([0, 1])))][:2]
    [('data: class balance', 'pass'), ('data: constant features', 'pass')]
    """
    return [check_balance(data), check_constant(data), check_finite(data), check_duplicates(data), check_scale(data)]

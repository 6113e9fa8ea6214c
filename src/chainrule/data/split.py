"""Stratified splits: a held-out share of each class, chosen by a seeded permutation.

`train_val_split` carves a validation set from a training set; the loaders use
`stratified_indices` to hold out a test set where a file has none.

>>> import numpy as np
>>> keep, held = stratified_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25, seed=0)
>>> len(keep), len(held)
(6, 2)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import DataError

__all__ = ["train_val_split", "stratified_indices", "check_fraction"]


def _split_counts(counts: np.ndarray, fraction: float) -> np.ndarray:
    """How many of each class go to the held-out part.

    Each class gives the floor or the ceiling of its exact share, never all its
    examples (one always stays for training); the largest remainders get the
    ceilings, so the total is round(n * fraction) whenever those limits allow.
    """
    exact = counts * fraction
    cap = np.minimum(np.ceil(exact).astype(np.int64), np.maximum(counts - 1, 0))
    take = np.minimum(np.floor(exact).astype(np.int64), cap)
    target = min(math.floor(counts.sum() * fraction + 0.5), int(cap.sum()))
    short = target - int(take.sum())
    # Stable sort: ties go to the lower class index, so the result is deterministic.
    for c in np.argsort(-(exact - take), kind="stable"):
        if short <= 0:
            break
        if take[c] < cap[c]:
            take[c] += 1
            short -= 1
    return take


def stratified_indices(y: np.ndarray, fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held_out) index arrays, each sorted: a seeded permutation within each class.

    Each class gives the floor or the ceiling of its exact share, never all its examples.

    >>> keep, held = stratified_indices(np.array([1, 0, 1, 0, 1]), 0.4, seed=0)
    >>> sorted(np.concatenate([keep, held]).tolist()), len(held)
    ([0, 1, 2, 3, 4], 2)
    """
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    take = _split_counts(counts, fraction)
    rng = np.random.default_rng(seed)
    by_class = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    held = [rng.permutation(members)[:k] for members, k in zip(by_class, take)]
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[held_out] = False
    return np.flatnonzero(mask), held_out


def check_fraction(fraction, what: str) -> float:
    """`fraction` as a float if 0 <= fraction < 1, else a DataError naming `what`.

    >>> check_fraction(0.2, "val_fraction")
    0.2
    """
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 <= fraction < 1:
        raise DataError(f"{what} must be a number with 0 <= {what} < 1, got {fraction!r}")
    return float(fraction)


def train_val_split(x, y, val_fraction: float = 0.1, seed: int = 0):
    """Split a TRAINING set into (x_train, y_train, x_val, y_val), stratified by class.

    Each class is permuted with np.random.default_rng(seed) and its share is held
    out; the same seed always gives the same split. val_fraction == 0 returns the
    inputs and empty validation arrays. Never split the test set for validation.

    >>> import numpy as np
    >>> x, y = np.zeros((10, 3), np.float32), np.array([0] * 5 + [1] * 5)
    >>> xt, yt, xv, yv = train_val_split(x, y, val_fraction=0.2, seed=0)
    >>> xt.shape, xv.shape, np.bincount(yv).tolist()
    ((8, 3), (2, 3), [1, 1])
    """
    f = check_fraction(val_fraction, "val_fraction")
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"train_val_split: y must be 1-D class labels, got shape {y.shape}")
    if len(x) != len(y):
        raise DataError(f"train_val_split: x has {len(x)} rows but y has {len(y)}")
    if len(y) == 0:
        raise DataError("train_val_split: no examples to split")
    if f == 0:
        return x, y, x[:0], y[:0]
    keep, val = stratified_indices(y, f, seed)
    if len(val) == 0:
        raise DataError(
            f"train_val_split: val_fraction={f} of {len(y)} examples leaves no validation examples"
        )
    return x[keep], y[keep], x[val], y[val]



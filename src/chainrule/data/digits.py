"""The 8x8 handwritten digits that scikit-learn ships (no download).

>>> d = load_digits()
>>> d.num_classes, d.pixel_max
(10, 16.0)
"""

from __future__ import annotations

import numpy as np

from .dataset import Data
from .errors import DataError

__all__ = ["load_digits"]


def load_digits() -> Data:
    """The 1,797 8x8 handwritten digits bundled with scikit-learn (no download).

    Pixels 0..16 are scaled to [0, 1]. The test split is fixed: 360 examples,
    stratified, sklearn's train_test_split with random_state=0.

    >>> d = load_digits()
    >>> d.x_train.shape, d.x_test.shape, d.image_shape
    ((1437, 64), (360, 64), (8, 8))
    """
    try:
        # Imported here: scikit-learn is optional and slow to import.
        from sklearn.datasets import load_digits as sk_load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise DataError(
            "digits: the digits data comes with scikit-learn: pip install scikit-learn "
            "(or chainrule[cli])"
        ) from e
    bunch = sk_load_digits()
    x = bunch.data.astype(np.float32)
    x /= np.float32(16)  # pixel values are counts 0..16 of a 4x4 block
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=360, stratify=y, random_state=0
    )
    return Data(
        np.ascontiguousarray(x_train),
        y_train,
        np.ascontiguousarray(x_test),
        y_test,
        name="digits",
        classes=[str(i) for i in range(10)],
        image_shape=(8, 8),
        pixel_max=16.0,
    )

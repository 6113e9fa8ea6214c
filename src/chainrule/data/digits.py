"""The 8x8 handwritten digits, shipped with chainrule as package data (no download).

The data is the test set of the UCI ML hand-written digits (optdigits) data set, by
E. Alpaydin and C. Kaynak (1998), as scikit-learn ships it in sklearn.datasets
(``load_digits``: 1,797 images of 8x8 pixels, each a count 0..16 of the "on" pixels
of a 4x4 block of a 32x32 bitmap). The UCI Machine Learning Repository publishes it
under CC BY 4.0 (doi:10.24432/C50P49); DIGITS-NOTICE.txt beside this file says so.

``digits.npz`` holds the split chainrule has always used, made once with
scikit-learn: ``train_test_split(x, y, test_size=360, stratify=y, random_state=0)``
on ``load_digits()``; the pixel counts are stored as uint8 and scaled here, so
the arrays are bitwise those of that recipe (tests/data/test_digits.py checks it
against scikit-learn where it is installed). The file is checked against
DIGITS_SHA256 before it is read.

>>> d = load_digits()
>>> d.num_classes, d.pixel_max
(10, 16.0)
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np

from .dataset import Data
from .errors import DataError
from .files import NpzReader

__all__ = ["load_digits", "DIGITS_FILE", "DIGITS_SHA256"]

DIGITS_FILE = "digits.npz"
DIGITS_SHA256 = "1764bb7cc8cdc769ab7c96b4f5ead2e838225b97b5bd6a42cb21091431f4835a"
_SHAPES = {"x_train": (1437, 64), "y_train": (1437,), "x_test": (360, 64), "y_test": (360,)}


def load_digits() -> Data:
    """The 1,797 8x8 handwritten digits shipped with chainrule (no download).

    Pixels 0..16 are scaled to [0, 1]. The test split is fixed: 360 examples,
    stratified (scikit-learn's train_test_split with random_state=0, made once).

    >>> d = load_digits()
    >>> d.x_train.shape, d.x_test.shape, d.image_shape
    ((1437, 64), (360, 64), (8, 8))
    """
    with resources.as_file(resources.files(__package__).joinpath(DIGITS_FILE)) as path:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as e:
            raise DataError(f"digits: cannot read the packaged {DIGITS_FILE} ({e.strerror or e}); "
                            f"reinstall chainrule") from None
        if digest != DIGITS_SHA256:
            raise DataError(f"digits: the packaged {path} is damaged (SHA-256 {digest[:12]}..., "
                            f"expected {DIGITS_SHA256[:12]}...); reinstall chainrule")
        with NpzReader(path) as npz:
            arrays = {name: npz.read(name) for name in _SHAPES}
    for name, shape in _SHAPES.items():
        if arrays[name].shape != shape or arrays[name].dtype != np.uint8:
            raise DataError(f"digits: {DIGITS_FILE} member {name!r} is {arrays[name].dtype} {arrays[name].shape}, "
                            f"expected uint8 {shape}")

    def pixels(counts: np.ndarray) -> np.ndarray:
        x = counts.astype(np.float32)
        x /= np.float32(16)  # pixel values are counts 0..16 of a 4x4 block
        return x

    return Data(
        pixels(arrays["x_train"]),
        arrays["y_train"].astype(np.int64),
        pixels(arrays["x_test"]),
        arrays["y_test"].astype(np.int64),
        name="digits",
        classes=[str(i) for i in range(10)],
        image_shape=(8, 8),
        pixel_max=16.0,
    )

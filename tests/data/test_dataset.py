"""The Data container: checks what it is given, labels become int64, a short repr."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import Data, DataError


def test_data_validates_and_reprs():
    x = np.zeros((3, 2), np.float32)
    data = Data(x, np.array([0, 1, 2], np.uint8), x, np.array([0, 0, 1]), name="t")
    assert data.y_train.dtype == np.int64 and data.classes == ["0", "1", "2"]
    assert repr(data) == "Data(name='t', train=(3, 2), test=(3, 2), classes=3, image_shape=None)"
    with pytest.raises(DataError, match="float32"):
        Data(x.astype(np.float64), np.zeros(3, int), x, np.zeros(3, int))
    with pytest.raises(DataError, match="rows"):
        Data(x, np.zeros(2, int), x, np.zeros(3, int))
    with pytest.raises(DataError, match="outside"):
        Data(x, np.array([0, 1, 5]), x, np.zeros(3, int), classes=["a", "b"])
    with pytest.raises(DataError, match="image_shape"):
        Data(x, np.zeros(3, int), x, np.zeros(3, int), image_shape=(3, 3))

"""The `Data` container every loader returns: training and test arrays, with what is needed to read them.

x_* are float32 of shape (examples, features); y_* are int64 class indices. Image
datasets are flattened for fully connected networks; `image_shape` says how to fold
a row back.

>>> import numpy as np
>>> x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 1, 0])
>>> Data(x, y, x, y, name="tiny", classes=["no", "yes"]).num_classes
2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError

__all__ = ["Data", "MAX_CLASSES", "describe", "scale_uint8"]

MAX_CLASSES = 100_000  # labels must be dense class indices below this



@dataclass(repr=False, eq=False)
class Data:
    """A dataset split into training and test arrays, with what is needed to read them.

    x_* are float32 of shape (n, features); y_* are int64 class indices of shape (n,).
    `classes` names each class index; `image_shape` is e.g. (28, 28) for images, else None.

    >>> import numpy as np
    >>> x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 1, 0])
    >>> Data(x, y, x, y, name="tiny", classes=["no", "yes"])
    Data(name='tiny', train=(4, 2), test=(4, 2), classes=2, image_shape=None)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "data"
    classes: list[str] = field(default_factory=list)
    image_shape: tuple[int, ...] | None = None
    # what load_dataset needs to read it again (a data set's name, a file's absolute path):
    # checkpoints record it, so that evaluating, plotting and resuming a run find the data
    source: str | None = None
    # integer pixels were divided by this (16 for digits, 255 for 8-bit images): predict
    # divides integer inputs by it too, so raw pixels meet the model on its own scale
    pixel_max: float | None = None

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2:
                raise DataError(f"{self.name}: x_{split} must be a 2-D float32 array, got {describe(x)}")
            if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
                raise DataError(f"{self.name}: y_{split} must be a 1-D integer array, got {describe(y)}")
            if len(x) != len(y):
                raise DataError(f"{self.name}: x_{split} has {len(x)} rows but y_{split} has {len(y)}")
            # Labels are always int64, so downstream code never meets uint8 arithmetic.
            setattr(self, f"y_{split}", y.astype(np.int64, copy=False))
        if self.x_train.shape[1] == 0:  # the loaders say which file; this catches arrays built by hand
            raise DataError(f"{self.name}: examples have no features (x_train has shape {self.x_train.shape})")
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise DataError(
                f"{self.name}: {self.x_train.shape[1]} training features but {self.x_test.shape[1]} test features"
            )
        self.classes = [str(c) for c in self.classes]
        if not self.classes:
            top = max((int(y.max()) for y in (self.y_train, self.y_test) if y.size), default=-1)
            if top >= MAX_CLASSES:
                raise DataError(f"{self.name}: label {top} is not a class index below {MAX_CLASSES}")
            self.classes = [str(i) for i in range(top + 1)]
        for split, y in (("train", self.y_train), ("test", self.y_test)):
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DataError(
                    f"{self.name}: y_{split} holds labels outside 0..{len(self.classes) - 1} "
                    f"({len(self.classes)} classes)"
                )
        if self.image_shape is not None:
            self.image_shape = tuple(int(d) for d in self.image_shape)
            if math.prod(self.image_shape) != self.x_train.shape[1]:
                raise DataError(
                    f"{self.name}: image_shape {self.image_shape} does not hold "
                    f"{self.x_train.shape[1]} features"
                )

    @property
    def num_classes(self) -> int:
        """The number of classes, len(classes)."""
        return len(self.classes)

    @property
    def num_features(self) -> int:
        """The number of input features per example (columns of x_train)."""
        return self.x_train.shape[1]

    def __repr__(self) -> str:
        return (
            f"Data(name={self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
            f"classes={len(self.classes)}, image_shape={self.image_shape})"
        )


def describe(a) -> str:
    """How to name a value in a message: an array's dtype and shape, else its type.

    >>> describe(np.zeros((2, 3), np.uint8)), describe([1, 2])
    ('uint8 array of shape (2, 3)', 'list')
    """
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__


def scale_uint8(images: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1]: a new array, divided by 255 exactly.

    >>> scale_uint8(np.array([0, 51, 255], np.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
    """
    # Cast first, then divide by a float32 255: uint8 arithmetic would wrap, a Python
    # float would not upcast (NEP 50) but np.float32 says what we mean; 255/255 is
    # exactly 1.0, which multiplying by a rounded 1/255 would not guarantee.
    out = images.astype(np.float32)
    out /= np.float32(255)
    return out

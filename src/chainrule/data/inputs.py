"""Inputs to classify: a PNG or JPEG image, an .npz file's array, or an IDX file, as one row per example.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
>>> np.savez(path, x=np.zeros((3, 4), np.float32))
>>> read_inputs(path, num_features=4).shape
(3, 4)
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from . import files
from .errors import DataError
from .files import NpzReader, open_regular
from .idx import read_idx

__all__ = ["IMAGE_FORMATS", "IMAGE_SUFFIXES", "read_inputs", "read_image"]

IMAGE_FORMATS = ["PNG", "JPEG"]  # what is read as an image, told apart by content
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_image(path: str, image_shape: Sequence[int] | None) -> np.ndarray:
    """A PNG or JPEG image as one example: gray, resized to ``image_shape`` (rows, columns), in [0, 1],
    light strokes on a dark background (a dark-on-light picture is inverted), shape (1, rows*columns)."""
    if not image_shape or len(image_shape) != 2:
        raise DataError(f"{path}: this model was not trained on images; give an .npz file instead")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise DataError("reading images needs Pillow: pip install pillow") from None
    with open_regular(path, limit=files.MAX_DATA_BYTES) as f, warnings.catch_warnings():
        # Pillow warns, then refuses, past its own pixel limit: one line, ours, either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Only these formats, recognised by their content: no other decoder (and no external
            # program, such as Ghostscript for PostScript) is ever reached through a file name.
            with Image.open(f, formats=IMAGE_FORMATS) as img:
                width, height = img.size  # from the header: nothing is decoded yet
                if width * height > files.MAX_IMAGE_PIXELS:
                    raise DataError(f"{path}: the image is {width}x{height} pixels, more than the "
                                    f"{files.MAX_IMAGE_PIXELS:,} predict reads")
                gray = img.convert("L").resize(tuple(image_shape)[::-1], Image.Resampling.LANCZOS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise DataError(f"{path}: the image is larger than the {files.MAX_IMAGE_PIXELS:,} pixels predict "
                            f"reads ({' '.join(str(e).split())})") from None
        except UnidentifiedImageError:
            raise DataError(f"{path}: not a {' or '.join(IMAGE_FORMATS)} image") from None
        except DataError:
            raise
        except (OSError, ValueError, SyntaxError) as e:  # Pillow's decoders raise these for damaged files
            raise DataError(f"{path}: cannot read the image ({' '.join(str(e).split())})") from None
    x = np.asarray(gray, dtype=np.float32) / np.float32(255)
    if x.mean() > 0.5:  # dark strokes on a light background: flip to the data's light-on-dark
        x = 1 - x
    return x.reshape(1, -1)


def _read_npz(path: str) -> np.ndarray:
    with NpzReader(path) as npz:
        key = "x" if "x" in npz.names else ("x_test" if "x_test" in npz.names else None)
        if key is None:
            raise DataError(f"{path}: expected an array named 'x' (found {', '.join(npz.names) or 'none'})")
        return npz.read(key)


def read_inputs(path: str, num_features: int, image_shape: Sequence[int] | None = None) -> np.ndarray:
    """The examples in ``path``, shape (n, num_features), for a model that takes ``num_features``
    inputs (``image_shape``: the images it was trained on, if any).

    Read by the file name's suffix: .png/.jpg/.jpeg an image (see ``read_image``), .npz its array
    ``x`` (or ``x_test``), anything else an IDX file. A single example may be given unbatched (one
    row, or one image of ``image_shape``). Integer arrays come back as they are (a Classifier scales
    raw pixels itself); floats must be finite. Raises DataError naming the file.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "one.npz")
    >>> np.savez(path, x=np.zeros((8, 8), np.uint8))
    >>> read_inputs(path, 64, image_shape=(8, 8)).shape
    (1, 64)
    """
    path = str(path)
    lower = path.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return read_image(path, image_shape)
    x = _read_npz(path) if lower.endswith(".npz") else read_idx(path)
    if x.ndim == 0:
        raise DataError(f"{path}: holds a single number; expected examples of {num_features} features")
    if x.ndim == 1 or (image_shape and x.shape == tuple(image_shape)):
        x = x.reshape(1, -1)
    if len(x) == 0:
        raise DataError(f"{path}: no examples in it")
    x = x.reshape(len(x), -1)
    # integers are always finite: only floats are checked (a full-size mask for uint8 pixels would
    # double the memory a large IDX file needs)
    if x.dtype.kind not in "fiu" or (x.dtype.kind == "f" and not np.isfinite(x).all()):
        raise DataError(f"{path}: inputs must be finite numbers")
    if x.shape[1] != num_features:
        raise DataError(f"{path}: {x.shape[1]} features per example, but the model takes {num_features}")
    return x

"""Inputs to classify: an image (PNG, JPEG, GIF, BMP, TIFF, WebP), an .npz file's array, or an IDX file,
as one row per example, the kind told by the file's content.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
>>> np.savez(path, x=np.zeros((3, 4), np.float32))
>>> read_inputs(path, num_features=4).shape
(3, 4)
"""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np

from . import files
from .errors import DataError
from .files import NpzReader, open_regular
from .idx import read_idx

__all__ = ["IMAGE_FORMATS", "IMAGE_SUFFIXES", "WHAT_PREDICT_READS", "input_kind", "input_files", "read_inputs",
           "read_image"]

IMAGE_FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]  # what is read as an image, told apart by content
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
WHAT_PREDICT_READS = "an image (PNG, JPEG, GIF, BMP, TIFF, WebP), an .npz file with an array 'x', or an IDX file"
_FORMAT_NAMES = "PNG, JPEG, GIF, BMP, TIFF or WebP"

# The first bytes of each kind of file (the formats' specifications: PNG's signature, JPEG's SOI
# marker, GIF87a/GIF89a, BMP's "BM", TIFF's byte-order mark, WebP's RIFF container; a zip's local
# or end-of-archive header; IDX's two zero bytes, or gzip's 1f 8b for a gzipped IDX file).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def _sniff(head: bytes) -> str | None:
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if head.startswith((b"\x00\x00", b"\x1f\x8b")):
        return "idx"
    return None


def input_kind(path: str | os.PathLike) -> str | None:
    """What ``path`` holds for predict: "image", "npz" or "idx", decided by its first bytes (an ``.npz``
    name is always read as .npz, and an image's name as an image, whose reader then says what is
    wrong); None for anything else. Raises DataError for a file that can't be opened.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> _ = open(path, "w").write("hello")
    >>> input_kind(path) is None
    True
    """
    name = os.fspath(path)
    if name.lower().endswith(".npz"):
        return "npz"
    with open_regular(name, limit=files.MAX_DATA_BYTES) as f:
        kind = _sniff(f.read(16))
    return kind or ("image" if name.lower().endswith(IMAGE_SUFFIXES) else None)


def input_files(folder: str | os.PathLike) -> list[str]:
    """The files in ``folder`` predict reads (images, .npz, IDX: see ``input_kind``), sorted by name;
    hidden files, sub-folders and other files are left out. Raises DataError when there are none.

    >>> import os, tempfile, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> np.savez(os.path.join(folder, "b.npz"), x=np.zeros((1, 4)))
    >>> _ = open(os.path.join(folder, "notes.txt"), "w").write("hello")
    >>> [os.path.basename(p) for p in input_files(folder)]
    ['b.npz']
    """
    name = os.fspath(folder)
    try:
        entries = sorted(os.listdir(name))
    except OSError as e:
        raise DataError(f"{name}: cannot list the folder ({e.strerror or e})") from None
    found = []
    for entry in entries:
        path = os.path.join(name, entry)
        if entry.startswith(".") or os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            if input_kind(path) is not None:
                found.append(path)
        except DataError:
            continue  # unreadable: not one of the inputs
    if not found:
        raise DataError(f"{name}: no inputs in this folder (expected {WHAT_PREDICT_READS})")
    return found


def _flatten_alpha(img) -> np.ndarray:
    """A partly transparent image as gray in [0, 1] with light strokes on a dark (0) background, the
    training images' own: the transparent part is the background, the opaque part the strokes,
    whatever their colour (black strokes on a transparent sheet are flattened onto white and then
    inverted, the same as the dark-on-light rule below does for an opaque picture)."""
    rgba = img.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / np.float32(255)
    # Pillow's ITU-R 601 luma of the colour, alpha left out
    luma = np.asarray(rgba.convert("L"), dtype=np.float32) / np.float32(255)
    dark_strokes = float((alpha * luma).sum()) < 0.5 * float(alpha.sum())
    return alpha * ((1 - luma) if dark_strokes else luma)


def _has_transparency(img) -> bool:
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        alpha = img.convert("RGBA").getchannel("A")
        return alpha.getextrema()[0] < 255
    return False


def read_image(path: str, image_shape: Sequence[int] | None) -> np.ndarray:
    """A PNG, JPEG, GIF, BMP, TIFF or WebP image (its first frame) as one example: gray, resized to
    ``image_shape`` (rows, columns), in [0, 1], light strokes on a dark background (a dark-on-light
    picture is inverted; a transparent background becomes the dark one), shape (1, rows*columns).

    >>> import os, tempfile
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "white.png")
    >>> Image.new("L", (16, 16), 255).save(path)
    >>> float(read_image(path, (8, 8)).max())   # white paper, nothing drawn: all background
    0.0
    """
    if not image_shape or len(image_shape) != 2:
        raise DataError(f"{path}: this model was not trained on images; give an .npz file instead")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # the core install (no extras) has no Pillow
        raise DataError(f"{path}: reading images needs Pillow, which is not installed "
                        f"(pip install 'chainrule[cli]')") from None
    size = tuple(image_shape)[::-1]
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
                if _has_transparency(img):
                    flat = Image.fromarray(_flatten_alpha(img))  # mode "F": float32
                    x = np.clip(np.asarray(flat.resize(size, Image.Resampling.LANCZOS), np.float32), 0, 1)
                    return x.reshape(1, -1)
                if img.mode.startswith("I;16") or img.mode == "I":  # 16-bit gray ("I" in older Pillow):
                    deep = np.asarray(img, dtype=np.float32)  # convert("L") clips at 255 instead of scaling
                    top = 65535 if img.mode != "I" or deep.max() > 255 else 255
                    deep = Image.fromarray(deep / np.float32(top))  # mode "F"
                    x = np.clip(np.asarray(deep.resize(size, Image.Resampling.LANCZOS), np.float32), 0, 1)
                else:
                    gray = img.convert("L").resize(size, Image.Resampling.LANCZOS)
                    x = np.asarray(gray, dtype=np.float32) / np.float32(255)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise DataError(f"{path}: the image is larger than the {files.MAX_IMAGE_PIXELS:,} pixels predict "
                            f"reads ({' '.join(str(e).split())})") from None
        except UnidentifiedImageError:
            raise DataError(f"{path}: not a {_FORMAT_NAMES} image") from None
        except DataError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError) as e:  # Pillow's decoders raise these for damaged files
            raise DataError(f"{path}: cannot read the image ({' '.join(str(e).split())})") from None
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

    Read as what ``input_kind`` finds: an image (see ``read_image``), an .npz's array ``x`` (or
    ``x_test``), or an IDX file; anything else is refused, saying what is read. A single example may be given unbatched (one
    row, or one image of ``image_shape``). Integer arrays come back as they are (a Classifier scales
    raw pixels itself); floats must be finite. Raises DataError naming the file.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "one.npz")
    >>> np.savez(path, x=np.zeros((8, 8), np.uint8))
    >>> read_inputs(path, 64, image_shape=(8, 8)).shape
    (1, 64)
    """
    path = os.fspath(path)
    kind = input_kind(path)
    if kind is None:
        raise DataError(f"{path}: not a file predict reads (expected {WHAT_PREDICT_READS})")
    if kind == "image":
        return read_image(path, image_shape)
    x = _read_npz(path) if kind == "npz" else read_idx(path)
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

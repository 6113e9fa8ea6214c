"""Your own data: a .npz of arrays or a .csv (or tab-separated) file of numbers, validated and split.

Scaling rule: uint8 inputs are taken to be pixels and divided by 255; every other
numeric type is cast to float32 unchanged (standardise them yourself if needed).
Without a test split in the file, a stratified seeded share is held out. Files are
opened through `files` (regular files only, size limits); nothing is unpickled.
Class indices run from 0; a class below the largest label with no training example
is a warning (labels that start at 1 make an empty class 0).

>>> import tempfile, os, numpy as np
>>> p = os.path.join(tempfile.mkdtemp(), "pts.npz")
>>> np.savez(p, x=np.eye(10, dtype=np.uint8), y=np.arange(10) % 2)
>>> load_npz(p).pixel_max
255.0
"""

from __future__ import annotations

import csv
import io
import numbers
import os
import warnings
from pathlib import Path

import numpy as np

from . import files
from .dataset import MAX_CLASSES, Data, describe, scale_uint8
from .errors import DataError
from .files import NpzReader, open_regular
from .split import check_fraction, stratified_indices

__all__ = ["load_npz", "load_csv"]


def _inputs(x: np.ndarray, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Validated float32 (n, features) inputs and the shape of one example if it had >1 axis."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: expected numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise DataError(f"{where}: expected shape (examples, features...), got {x.shape}")
    if len(x) == 0:
        raise DataError(f"{where}: no examples")
    if 0 in x.shape[1:]:
        raise DataError(f"{where}: examples have no features (shape {x.shape})")
    shape = x.shape[1:] if x.ndim > 2 else None
    flat = x.reshape(len(x), -1)
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below, as a DataError
        # copy=False: float32 arrays fresh from a file need no second copy
        out = scale_uint8(flat) if x.dtype == np.uint8 else flat.astype(np.float32, copy=False)
    # After the cast, so that float64 values beyond float32's range are caught too; the full
    # mask is built only when something is wrong.
    if not np.isfinite(out).all():
        bad = ~np.isfinite(out)
        raise DataError(
            f"{where}: {int(bad.sum())} values are NaN, infinite or too large for float32 "
            f"(first in row {int(np.argwhere(bad)[0][0])})"
        )
    return out, shape


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    """Validated int64 class labels: 1-D, integral, non-negative."""
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D class indices, got shape {y.shape}")
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError(f"{where}: labels contain NaN or infinity")
        if (y != np.round(y)).any():
            value = y[np.flatnonzero(y != np.round(y))[0]].item()
            raise DataError(f"{where}: labels must be whole numbers, found {value!r}")
    elif y.dtype.kind not in "iu":
        raise DataError(f"{where}: labels must be integers, got dtype {y.dtype}")
    # compared as Python numbers: MAX_CLASSES cast to a float16 label array overflows (with a warning)
    if y.size and (y.min().item() < 0 or y.max().item() >= MAX_CLASSES):
        # A huge label is almost always an id, not a class index; it would also
        # make a class list (and any one-hot matrix) of that length.
        bad = (y.min() if y.min() < 0 else y.max()).item()
        raise DataError(
            f"{where}: labels must be class indices 0, 1, ..., K-1 with K <= {MAX_CLASSES}, found {bad!r}"
        )
    return y.astype(np.int64)


def _user_data(
    name: str, where: str, x, y, x_test, y_test, classes, test_fraction, seed
) -> Data:
    pixel_max = 255.0 if getattr(x, "dtype", None) == np.uint8 else None  # _inputs divides uint8 by 255
    x, image_shape = _inputs(x, f"{where}: x")
    y = _labels(y, f"{where}: y")
    if len(x) != len(y):
        raise DataError(f"{where}: x has {len(x)} examples but y has {len(y)}")
    if x_test is not None:
        x_test, test_shape = _inputs(x_test, f"{where}: x_test")
        y_test = _labels(y_test, f"{where}: y_test")
        if x_test.shape[1] != x.shape[1] or test_shape != image_shape:
            raise DataError(
                f"{where}: x_test examples have shape {test_shape or x_test.shape[1:]}, "
                f"x examples {image_shape or x.shape[1:]}"
            )
        if len(x_test) != len(y_test):
            raise DataError(f"{where}: x_test has {len(x_test)} examples but y_test has {len(y_test)}")
    if y.size and (y == y[0]).all():  # one output unit's softmax is 1 whatever the input: nothing to learn
        raise DataError(f"{where}: every training label is {int(y[0])}; a classifier needs at least two classes")
    top = int(max(y.max(), y_test.max() if y_test is not None and y_test.size else 0))
    _warn_empty_classes(y, top, where)
    if classes is None:
        classes = [str(i) for i in range(top + 1)]
    elif len(classes) <= top:
        raise DataError(f"{where}: label {top} but only {len(classes)} class names")
    if x_test is None:
        f = check_fraction(test_fraction, "test_fraction")
        keep, test = stratified_indices(y, f, seed)
        if len(test) == 0:
            raise DataError(
                f"{where}: too few examples ({len(y)}) to hold out a test split of {f:g}; "
                "add x_test and y_test"
            )
        x, y, x_test, y_test = x[keep], y[keep], x[test], y[test]
    return Data(x, y, x_test, y_test, name=name, classes=list(classes), image_shape=image_shape,
                pixel_max=pixel_max)


def _warn_empty_classes(y: np.ndarray, top: int, where: str) -> None:
    """Warn, in one line, of class indices below the largest label that no training example has."""
    empty = np.flatnonzero(np.bincount(y, minlength=top + 1) == 0)
    if not empty.size:
        return
    shown = ", ".join(str(c) for c in empty[:10]) + (f" and {empty.size - 10} more" if empty.size > 10 else "")
    cause = ("labels start at 1? subtract 1 so they run 0..K-1" if empty[0] == 0 and empty.size == 1
             else "labels must be class indices 0..K-1; renumber them without gaps")
    what = f"class {shown} has" if empty.size == 1 else f"classes {shown} have"
    warnings.warn(f"{where}: {what} no training example among 0..{top} ({cause})", stacklevel=3)


_NPZ_KEYS = ("x", "y", "x_test", "y_test", "classes")


def load_npz(path: str | os.PathLike, *, test_fraction: float = 0.2, seed: int = 0) -> Data:
    """Load your own data from a .npz with arrays x, y and optionally x_test, y_test, classes.

    x: numbers of shape (n, features) or (n, *image_shape) (flattened, shape kept in
    image_shape); y: (n,) class indices 0, 1, ... (whole-number floats accepted; an
    index below the largest with no example in y is warned about).
    uint8 x is divided by 255, other types are cast to float32 unchanged. Without
    x_test, a stratified seeded test_fraction of x is held out. Never unpickles.

    >>> import tempfile, os, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "mine.npz")
    >>> np.savez(p, x=np.eye(10, dtype=np.float32), y=np.arange(10) % 2)
    >>> load_npz(p)
    Data(name='mine', train=(8, 10), test=(2, 10), classes=2, image_shape=None)
    """
    where = os.fspath(path)
    with NpzReader(where) as archive:
        keys = set(archive.names)
        unexpected = sorted(keys - set(_NPZ_KEYS))
        if unexpected:
            raise DataError(
                f"{where}: unexpected arrays {', '.join(unexpected)} "
                "(expected x, y and optionally x_test, y_test, classes)"
            )
        missing = [k for k in ("x", "y") if k not in keys]
        if missing:
            raise DataError(
                f"{where}: missing array {' and '.join(missing)} (found: {', '.join(sorted(keys)) or 'none'})"
            )
        if ("x_test" in keys) != ("y_test" in keys):
            raise DataError(f"{where}: x_test and y_test must come together")
        arrays = {k: archive.read(k) for k in _NPZ_KEYS if k in keys}
    classes = arrays.get("classes")
    if classes is not None:
        if classes.ndim != 1 or classes.dtype.kind not in "US":
            raise DataError(f"{where}: classes must be a 1-D array of strings, got {describe(classes)}")
        classes = [c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in classes.tolist()]
    # popped, not looked up: once converted to float32, the arrays as read can be freed
    return _user_data(
        Path(where).stem, where, arrays.pop("x"), arrays.pop("y"), arrays.pop("x_test", None),
        arrays.pop("y_test", None), classes, test_fraction, seed,
    )


def _is_number(cell: str) -> bool:
    try:
        np.float64(cell)
    except ValueError:
        return False
    return True


# Cells converted to numbers at a time: as Python strings a cell costs some 50 bytes, so the
# text in memory stays a few MB, and what grows with the file is the float32 numbers.
_CSV_BATCH_CELLS = 1 << 16


class _Records:
    """A text file's lines for csv.reader, none longer than MAX_CSV_RECORD_CHARS, and no record
    (the lines one quoted field spans) longer in all: a file without line ends, or a quote
    that is never closed, is refused at the line where the record began."""

    def __init__(self, f, where: str):
        self.f, self.where = f, where
        self.line = 0  # the last line handed to csv
        self.start = 1  # the line where the current record began
        self.chars = 0  # its length so far
        self.ended = False  # whether csv has asked past the last line

    def __iter__(self):
        return self

    def __next__(self) -> str:
        limit = files.MAX_CSV_RECORD_CHARS
        try:
            text = self.f.readline(limit + 1)
        except UnicodeDecodeError as e:
            # decoded a block at a time, so the bad byte may lie a little past this line
            raise DataError(f"{self.where}: not UTF-8 text (near line {self.line + 1}: {e.reason})") from None
        except OSError as e:
            raise DataError(f"{self.where}: cannot read ({e.strerror or e})") from None
        if not text:
            self.ended = True
            raise StopIteration
        self.line += 1
        self.chars += len(text)
        if self.chars > limit:
            if self.start == self.line:
                raise DataError(f"{self.where}: line {self.line} is longer than {limit:,} characters")
            raise DataError(f"{self.where}: line {self.start}: a quoted field opened here runs on for more than "
                            f"{limit:,} characters (a quote that is never closed?)")
        return text

    def next_record(self) -> None:
        self.start, self.chars = self.line + 1, 0


def _csv_rows(records: _Records, delimiter: str, where: str):
    """(stripped cells, line number) of each non-blank record, numbered by the line it began on."""
    reader = csv.reader(records, delimiter=delimiter)
    while True:
        start = records.start
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(f"{where}: line {start}: cannot read as CSV ({' '.join(str(e).split())})") from None
        if records.ended:
            # csv.reader (not strict) hands back what it holds when the file ends inside a quoted
            # field; a record that is complete never needs to look past its own last line.
            raise DataError(f"{where}: line {start}: a quote opened on this line is never closed")
        records.next_record()
        if row and any(cell.strip() for cell in row):  # skip blank lines
            yield [cell.strip() for cell in row], start


def _label_index(label_column, names, width: int, where: str) -> int:
    if isinstance(label_column, str):
        if names is None:
            raise DataError(f"{where}: label_column={label_column!r} names a column, but the file has no header")
        if label_column not in names:
            raise DataError(f"{where}: no column {label_column!r} (columns: {', '.join(names)})")
        return names.index(label_column)
    integral = isinstance(label_column, numbers.Integral) and not isinstance(label_column, bool)
    if integral and -width <= label_column < width:
        return int(label_column) % width
    raise DataError(f"{where}: label_column={label_column!r} is not a column of {width}")


def _cell(text: str, most: int = 40) -> str:
    """A cell for a message: repr, cut to `most` characters."""
    return repr(text) if len(text) <= most else repr(text[:most]) + f"... ({len(text):,} characters)"


def _append_numbers(batch, label: int, names, where: str, xs: list, ys: list) -> None:
    """Convert a batch of (cells, line) to float32 features and float64 labels, appended to xs and ys."""
    # dtype=object holds references to the cells: a dtype=str array would pad every cell to the
    # longest one in the batch (4 bytes a character), so one 100,000-character cell among 65,536
    # would ask for 26 GB. The conversion gives the same float32 bits (both go through float()).
    cells = np.array([row for row, _ in batch], dtype=object)
    try:
        # Features straight to float32; labels through float64 so large integers stay exact.
        # A value too large for float32 becomes inf, reported below as not finite: no warning.
        with np.errstate(over="ignore"):
            x = np.delete(cells, label, axis=1).astype(np.float32)
        y = cells[:, label].astype(np.float64)
    except ValueError:
        for row, line in batch:
            for c, cell in enumerate(row):
                if not _is_number(cell):
                    column = f"column {c + 1}" + (f" ({names[c]!r})" if names else "")
                    raise DataError(f"{where}: line {line}, {column}: {_cell(cell)} is not a number") from None
        raise
    for arr, offset in ((x, None), (y, label)):
        bad = np.argwhere(~np.isfinite(arr))
        if len(bad):
            r = int(bad[0][0])
            c = offset if offset is not None else int(bad[0][1]) + (int(bad[0][1]) >= label)
            row, line = batch[r]
            raise DataError(f"{where}: line {line}, column {c + 1}: {_cell(row[c])} is not a finite float32 number")
    xs.append(x)
    ys.append(y)


def load_csv(
    path: str | os.PathLike,
    label_column: int | str = -1,
    *,
    delimiter: str = ",",
    header: bool | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Data:
    """Load your own data from a CSV file: one example per line, one column of class labels.

    delimiter="\t" reads a tab-separated file (load_dataset does so for .tsv and .tab).
    label_column is an index (-1: the last) or a column name from the header. The
    header is detected (a first line with any non-number) unless `header` says.
    Features are cast to float32 unchanged; a stratified seeded test_fraction is
    held out. A cell that is not a number is a DataError naming its line and column.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "pts.csv")
    >>> _ = open(p, "w").write("a,b,label\\n" + "".join(f"{i},{i * i},{i % 2}\\n" for i in range(10)))
    >>> load_csv(p, label_column="label")
    Data(name='pts', train=(8, 2), test=(2, 2), classes=2, image_shape=None)
    """
    where = os.fspath(path)
    with open_regular(where, limit=files.MAX_CSV_BYTES) as raw:
        # -sig: Excel's byte-order mark is not data; newline="": csv handles line ends itself
        records = _Records(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), where)
        rows = _csv_rows(records, delimiter, where)
        first = next(rows, None)
        if first is None:
            raise DataError(f"{where}: empty file")
        if header is None:
            header = not all(_is_number(cell) for cell in first[0])
        names = first[0] if header else None
        width = len(first[0])
        if width < 2:
            raise DataError(f"{where}: needs at least one feature column and a label column, found {width} column")
        label = _label_index(label_column, names, width, where)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        batch = [] if header else [first]
        for row in rows:
            if len(row[0]) != width:
                raise DataError(f"{where}: line {row[1]} has {len(row[0])} fields, expected {width}")
            batch.append(row)
            if len(batch) * width >= _CSV_BATCH_CELLS:
                _append_numbers(batch, label, names, where, xs, ys)
                batch = []
        if batch:
            _append_numbers(batch, label, names, where, xs, ys)
    if not xs:
        raise DataError(f"{where}: no data lines after the header")
    x, y = np.concatenate(xs), np.concatenate(ys)
    del xs, ys
    y = _labels(y, f"{where}: label column {label + 1}")
    return _user_data(Path(where).stem, where, x, y, None, None, None, test_fraction, seed)


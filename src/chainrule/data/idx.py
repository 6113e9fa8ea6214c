"""The IDX format of MNIST and Fashion-MNIST: read it carefully, write it simply.

An IDX file is, all big-endian: two zero bytes, an element type code, the number
of dimensions, one uint32 per dimension, then the elements in C order. Files are
often gzipped; gzip is detected by its magic bytes (1f 8b), never by the name.

Every field of the header is checked before anything is allocated, and the data
must fill the file exactly: a gzipped file read as raw, a truncated download or
a file with trailing garbage each give a one-line DataError naming the file.

>>> import tempfile, os, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte.gz")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path)
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from ..atomic import atomic_write
from .errors import DataError
from .files import check_declared, open_regular, read_exactly

__all__ = ["read_idx", "write_idx"]

# Element type codes from the format's description (yann.lecun.com/exdb/mnist).
_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_MAX_NDIM = 4
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data by more than about 1032:1, so an n-byte gzip file holds
# at most this many times n bytes: the bound on a header's claims before allocating.
_DEFLATE_MAX_RATIO = 1032


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped or raw, into a NumPy array in native byte order.

    The array is a writable view on one buffer filled straight from the file (no
    further copy: multi-byte elements are byte-swapped in place). Raises DataError
    if the file is missing, its header is wrong, or it is truncated or too long.

    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    name = os.fspath(path)
    with open_regular(name) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            compressed = f.read(2) == _GZIP_MAGIC
            f.seek(0)
        except OSError as e:
            raise DataError(f"{name}: cannot read ({e.strerror or e})") from None
        if compressed:
            return _read_gzip(f, size, name)
        return _read_raw(f, size, name)


def _read_exact(stream, n: int) -> bytes:
    # read() on a gzip stream may return fewer bytes than asked before the end
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _parse_header(stream, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Check the magic number and dimensions; return (dtype, shape, header bytes)."""
    magic = _read_exact(stream, 4)
    if len(magic) < 4:
        raise DataError(f"{name}: {len(magic)} bytes, too short for an IDX header")
    if magic[0] != 0 or magic[1] != 0:
        value = int.from_bytes(magic, "big")
        hint = " (gzip file read as raw?)" if magic[:2] == _GZIP_MAGIC else " (not an IDX file?)"
        raise DataError(
            f"{name}: bad magic number 0x{value:08x}, expected 0x0000TTNN "
            f"(type code TT, NN dimensions){hint}"
        )
    code, ndim = magic[2], magic[3]
    if code not in _TYPES:
        known = ", ".join(f"0x{c:02x}" for c in _TYPES)
        raise DataError(f"{name}: unknown element type code 0x{code:02x} (known: {known})")
    if not 1 <= ndim <= _MAX_NDIM:
        raise DataError(f"{name}: header declares {ndim} dimensions, expected 1 to {_MAX_NDIM}")
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{name}: truncated header, expected {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", raw_dims)
    check_declared(name, shape, _TYPES[code], "the header")
    return _TYPES[code], shape, 4 + 4 * ndim


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"shape {shape} of {dtype.newbyteorder('=').name}"


def _to_array(buf: bytearray, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.frombuffer(buf, dtype=dtype, count=math.prod(shape)).reshape(shape)
    if not dtype.isnative:
        # Swap in place and relabel: the buffer is ours, so no second copy is needed.
        arr.byteswap(inplace=True)
        arr = arr.view(dtype.newbyteorder("="))
    return arr


def _read_raw(f, size: int, name: str) -> np.ndarray:
    try:
        dtype, shape, header = _parse_header(f, name)
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: cannot overflow
        have = size - header
        if have < nbytes:
            raise DataError(
                f"{name}: truncated, header declares {_describe(shape, dtype)} "
                f"({nbytes} data bytes) but the file holds {have}"
            )
        if have > nbytes:
            raise DataError(
                f"{name}: {have - nbytes} trailing bytes after the {nbytes} data bytes "
                f"of {_describe(shape, dtype)}"
            )
        buf = bytearray(nbytes)  # only now: nbytes is known to match the file
        got = f.readinto(buf) if nbytes else 0
    except OSError as e:
        raise DataError(f"{name}: cannot read ({e.strerror or e})") from None
    if got != nbytes:  # the file shrank while we read it
        raise DataError(f"{name}: truncated while reading ({got} of {nbytes} data bytes)")
    return _to_array(buf, dtype, shape)


def _read_gzip(f, size: int, name: str) -> np.ndarray:
    try:
        with gzip.GzipFile(fileobj=f, mode="rb") as gz:
            dtype, shape, _ = _parse_header(gz, name)
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > size * _DEFLATE_MAX_RATIO:
                raise DataError(
                    f"{name}: header declares {_describe(shape, dtype)} ({nbytes} bytes), "
                    f"more than a {size}-byte gzip file can hold (corrupt header?)"
                )
            # Grown as the data arrives, not allocated at the declared size first: a corrupt
            # header may claim a thousand times the file's size, and the data then runs out.
            buf = read_exactly(gz, nbytes, name, f"the gzip data of {_describe(shape, dtype)}")
    except (OSError, EOFError, zlib.error) as e:
        # gzip.BadGzipFile is an OSError; EOFError is a gzip stream cut short.
        raise DataError(f"{name}: corrupt gzip data ({e})") from None
    return _to_array(buf, dtype, shape)


def write_idx(path: str | os.PathLike, array) -> None:
    """Write an array as an IDX file, gzipped if the path ends with .gz.

    Supports uint8, int8, int16, int32, float32 and float64 arrays of 1 to 4
    dimensions. The file is written atomically (a temporary file, then renamed).

    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "w-idx1-double")
    >>> write_idx(path, np.array([0.5, -1.0]))
    >>> read_idx(path)
    array([ 0.5, -1. ])
    """
    name = os.fspath(path)
    a = np.asarray(array)
    code = _CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise DataError(
            f"{name}: cannot write dtype {a.dtype} as IDX "
            "(supported: uint8, int8, int16, int32, float32, float64)"
        )
    if not 1 <= a.ndim <= _MAX_NDIM:
        raise DataError(f"{name}: cannot write a {a.ndim}-dimensional array as IDX (1 to {_MAX_NDIM})")
    if any(d >= 2**32 for d in a.shape):
        raise DataError(f"{name}: dimension too large for IDX: {a.shape}")
    header = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    data = np.ascontiguousarray(a, dtype=_TYPES[code])
    # viewed as flat bytes so that file.write and gzip see one plain buffer
    payload = memoryview(data.reshape(-1).view(np.uint8))
    with atomic_write(name) as raw:
        if name.endswith(".gz"):
            # mtime=0 and no file name: the same array always gives the same bytes
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            raw.write(header)
            raw.write(payload)

"""Opening the user's files warily: regular files only, sizes checked before reading.

Every file chainrule reads (data sets, checkpoints, predict's inputs, plot's JSON)
is opened by `open_regular`, which refuses FIFOs, devices, sockets and folders
without blocking on them, and checks the file's size against a limit. Sizes a
file declares (an IDX header's dimensions, a .npy header's shape, a zip member's
length) are checked by `check_declared` before anything is allocated, and data
whose true length is only known once read (gzip, zip members) is read by
`read_exactly`, which grows its buffer as the bytes arrive rather than trusting
the declared length.

The limits are module attributes, read at each call, so a program that really
needs larger inputs can raise them (``chainrule.data.files.MAX_DATA_BYTES = ...``).

>>> import tempfile, os
>>> d = tempfile.mkdtemp(); os.mkfifo(os.path.join(d, "pipe.csv"))
>>> open_regular(os.path.join(d, "pipe.csv"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
chainrule.data.errors.DataError: .../pipe.csv: is a FIFO (named pipe), not a regular file
"""

from __future__ import annotations

import math
import os
import stat
import zipfile
from typing import BinaryIO

import numpy as np

from .errors import DataError

__all__ = [
    "MAX_DATA_BYTES", "MAX_CSV_BYTES", "MAX_CSV_RECORD_CHARS", "MAX_IMAGE_PIXELS", "MAX_TEXT_BYTES",
    "MAX_NPZ_DIRECTORY_BYTES",
    "byte_size", "open_regular", "check_declared", "read_exactly", "read_text", "NpzReader",
]

# The limits (each named in the README's "When things go wrong").
MAX_DATA_BYTES = 4 * 2**30  # 4 GiB: the arrays one data file or checkpoint may hold or declare
MAX_CSV_BYTES = 2**30  # 1 GiB: a .csv file (its numbers as float32 can take twice its size)
MAX_CSV_RECORD_CHARS = 2**20  # 1 Mi characters: one CSV line, or the lines one quoted field spans
MAX_IMAGE_PIXELS = 4096 * 4096  # an image given to predict, width x height, checked before decoding
MAX_TEXT_BYTES = 64 * 2**20  # 64 MiB: a JSON or JSON-lines file (a bench result, metrics.jsonl)
# 1 MiB: an .npz's zip directory (some 10,000 members; np.savez of five arrays writes about 500
# bytes). zipfile reads it whole and keeps an object of some 400 bytes per member: 44 MB of empty
# members took 350 MB.
MAX_NPZ_DIRECTORY_BYTES = 2**20

_CHUNK = 1 << 20
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def byte_size(n: int) -> str:
    """2147483648 -> '2.0 GiB (2,147,483,648 bytes)'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def _not_regular(name: str, mode: int, what: str, error: type[Exception]) -> Exception:
    kind = _kind(mode)
    if kind == "a folder":
        return error(f"{name}: is a folder, not a {what}")
    link = f" (a link to {os.path.realpath(name)})" if os.path.islink(name) else ""
    return error(f"{name}: is {kind}{link}, not a regular file")


def open_regular(path: str | os.PathLike, *, limit: int | None = None, what: str = "file",
                 error: type[Exception] = DataError) -> BinaryIO:
    """Open a regular file for reading in binary, refusing anything else in one line.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer
    (open(2)); fstat then says what was opened, and only a regular file is kept (on
    a regular file O_NONBLOCK changes nothing). `limit` bounds the file's size in
    bytes; `what` names the file in messages ("no such checkpoint file"); `error`
    is the exception raised.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = open(p, "w").write("hi")
    >>> with open_regular(p, limit=10) as f:
    ...     f.read()
    b'hi'
    >>> open_regular("/dev/zero")
    Traceback (most recent call last):
    chainrule.data.errors.DataError: /dev/zero: is a character device, not a regular file
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise error(f"{name}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{name}: is a folder, not a {what}") from None
    except PermissionError:
        raise error(f"{name}: permission denied") from None
    except OSError as e:  # a socket (ENXIO), a name too long, a file where a folder should be, ...
        try:
            mode = os.stat(name).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise _not_regular(name, mode, what, error) from None
        raise error(f"{name}: cannot read ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(name, st.st_mode, what, error)
        if limit is not None and st.st_size > limit:
            raise error(f"{name}: the file is {byte_size(st.st_size)}, more than the {byte_size(limit)} chainrule reads")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_declared(name: str, shape, dtype: np.dtype, what: str, *, limit: int | None = None,
                   error: type[Exception] = DataError) -> int:
    """The bytes an array of `shape` and `dtype` needs, refused if over `limit` (MAX_DATA_BYTES).

    Called with the sizes a header declares, before anything is allocated.
    `what` names the array in the message ("member 'x'", "the header").

    >>> check_declared("f.npz", (10, 3), np.dtype("f4"), "member 'x'")
    120
    >>> check_declared("f.npz", (10**15, 8), np.dtype("f8"), "member 'x'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.data.errors.DataError: f.npz: member 'x' declares shape (1000000000000000, 8) of float64 ... chainrule reads
    """
    limit = MAX_DATA_BYTES if limit is None else limit
    shape = tuple(int(d) for d in shape)
    # NumPy refuses shapes whose non-zero dimensions multiply past its limit even when the
    # array is empty, so those count too.
    nonzero = math.prod(d for d in shape if d) * dtype.itemsize
    nbytes = math.prod(shape) * dtype.itemsize
    if max(nonzero, nbytes) > limit:
        big = max(nonzero, nbytes)
        shown = f"{big:.3g} bytes" if big >= 2**50 else byte_size(big)
        raise error(f"{name}: {what} declares shape {shape} of {dtype.newbyteorder('=').name} ({shown}), "
                    f"more than the {byte_size(limit)} chainrule reads")
    return nbytes


def read_exactly(stream, nbytes: int, name: str, what: str, error: type[Exception] = DataError) -> bytearray:
    """Read exactly `nbytes` from a stream whose true length is unknown (gzip, a zip member).

    The buffer grows as the bytes arrive, so a header that overstates its data costs
    only the bytes really there; too few or too many bytes is an error naming `what`.

    >>> import io
    >>> read_exactly(io.BytesIO(b"abc"), 3, "f", "the data")
    bytearray(b'abc')
    >>> read_exactly(io.BytesIO(b"ab"), 3, "f", "the data")
    Traceback (most recent call last):
    chainrule.data.errors.DataError: f: truncated, the data should hold 3 bytes but holds 2
    """
    buf = bytearray()
    while len(buf) < nbytes:
        chunk = stream.read(min(_CHUNK, nbytes - len(buf)))
        if not chunk:
            raise error(f"{name}: truncated, {what} should hold {nbytes} bytes but holds {len(buf)}")
        buf += chunk
    extra = 0
    while chunk := stream.read(_CHUNK):
        extra += len(chunk)
    if extra:
        raise error(f"{name}: {extra} trailing bytes after the {nbytes} bytes {what} should hold")
    return buf


def read_text(path: str | os.PathLike, *, limit: int | None = None, error: type[Exception] = DataError) -> str:
    """A regular UTF-8 text file of at most `limit` bytes (MAX_TEXT_BYTES), as a string.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "r.json")
    >>> _ = open(p, "w").write('{"a": 1}')
    >>> read_text(p)
    '{"a": 1}'
    """
    name = os.fspath(path)
    with open_regular(name, limit=MAX_TEXT_BYTES if limit is None else limit, error=error) as f:
        try:
            return f.read().decode("utf-8")
        except UnicodeDecodeError as e:
            raise error(f"{name}: not UTF-8 text (byte {e.start})") from None
        except OSError as e:
            raise error(f"{name}: cannot read ({e.strerror or e})") from None


class NpzReader:
    """The arrays of an .npz archive, each header checked before its data is read.

    Opening checks the file (regular, at most MAX_DATA_BYTES) and that the members
    together declare at most MAX_DATA_BYTES; `read` parses one member's .npy header
    with numpy.lib.format, checks that its shape fits the limit and the member's
    length, refuses object arrays (they would need pickle), then reads the data.
    Every problem is a DataError naming the file and the member. Never unpickles.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> np.savez(p, x=np.eye(2, dtype=np.float32))
    >>> with NpzReader(p) as npz:
    ...     npz.names, npz.read("x")
    (['x'], array([[1., 0.],
           [0., 1.]], dtype=float32))
    """

    def __init__(self, path: str | os.PathLike):
        self.name = os.fspath(path)
        self._file = open_regular(self.name, limit=MAX_DATA_BYTES)
        try:
            magic = self._file.read(6)
            # np.load takes anything that is neither zip nor .npy for a pickle; say what it is instead.
            if magic[:2] != b"PK":
                kind = "a single .npy array" if magic == b"\x93NUMPY" else "not a zip file"
                raise DataError(f"{self.name}: not a .npz archive ({kind})")
            # The directory's size, from its end record, before zipfile reads the directory. (zipfile's
            # own reader of that record; it answers None where there is none, and ZipFile says so.)
            end = zipfile._EndRecData(self._file)
            if end and end[zipfile._ECD_SIZE] > MAX_NPZ_DIRECTORY_BYTES:
                raise DataError(f"{self.name}: its zip directory of {end[zipfile._ECD_ENTRIES_TOTAL]:,} members is "
                                f"{byte_size(end[zipfile._ECD_SIZE])}, more than the {byte_size(MAX_NPZ_DIRECTORY_BYTES)} "
                                f"chainrule reads")
            self._file.seek(0)
            self._zip = zipfile.ZipFile(self._file)
            self._members = {(i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i
                             for i in self._zip.infolist()}
        except DataError:
            self._file.close()
            raise
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as e:
            self._file.close()
            raise DataError(f"{self.name}: cannot read as .npz ({' '.join(str(e).split())})") from None
        except BaseException:
            self._file.close()
            raise
        declared = sum(i.file_size for i in self._members.values())
        if declared > MAX_DATA_BYTES:
            self.close()
            raise DataError(f"{self.name}: its members declare {byte_size(declared)} in all, more than the "
                            f"{byte_size(MAX_DATA_BYTES)} chainrule reads")

    @property
    def names(self) -> list[str]:
        """The arrays' names, as np.load would give them (without .npy)."""
        return list(self._members)

    def read(self, key: str) -> np.ndarray:
        """The array `key`, after its header's checks."""
        info = self._members[key]
        where = f"member {key!r}"
        try:
            with self._zip.open(info) as member:
                try:
                    version = np.lib.format.read_magic(member)
                    readers = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}
                    if version not in readers:
                        raise ValueError(f".npy format version {version[0]}.{version[1]} is not read")
                    shape, fortran, dtype = readers[version](member)
                except ValueError as e:
                    raise DataError(f"{self.name}: {where} is not a NumPy array "
                                    f"({_first_sentence(str(e))})") from None
                if dtype.hasobject:
                    raise DataError(f"{self.name}: {where} holds Python objects (dtype {dtype}), which chainrule "
                                    f"never reads; save numbers or strings")
                nbytes = check_declared(self.name, shape, dtype, where)
                held = info.file_size - member.tell()
                if held != nbytes:
                    raise DataError(f"{self.name}: {where} declares shape {shape} of {dtype} ({nbytes:,} bytes) "
                                    f"but holds {held:,} data bytes")
                buf = read_exactly(member, nbytes, self.name, where)
        except (OSError, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as e:
            # a bad CRC, a cut stream, an unsupported compression method or an encrypted member
            raise DataError(f"{self.name}: cannot read {where} ({' '.join(str(e).split())})") from None
        if dtype.itemsize == 0:  # e.g. strings of length 0: no bytes to view
            return np.zeros(shape, dtype)
        flat = np.frombuffer(buf, dtype=dtype, count=nbytes // dtype.itemsize)
        # read_array's layout (numpy/lib/format.py): Fortran order is the reversed shape, transposed
        return flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)

    def close(self) -> None:
        """Close the archive and its file."""
        self._zip.close()
        self._file.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _first_sentence(text: str) -> str:
    """NumPy's message up to its first full stop: its advice (e.g. about allow_pickle) is not ours to give."""
    text = " ".join(text.split())
    return text.split(". ")[0].rstrip(".") if text else "unreadable header"

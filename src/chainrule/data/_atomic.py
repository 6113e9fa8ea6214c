"""Atomic file writes: readers see the old file or the whole new one, never half."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; rename it onto `path` only if the block succeeds.

    The temporary file lives in the same folder so that os.replace is a rename on
    one file system (atomic), and it is removed if the block raises. It is created
    with mode 0o666 less the umask, like open() would (mkstemp's 0o600 would leave
    a shared data folder unreadable to others).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "f.bin")
    >>> with atomic_write(p) as f:
    ...     _ = f.write(b"abc")
    >>> open(p, "rb").read()
    b'abc'
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_folder(target.parent)  # make the rename itself survive a power cut
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

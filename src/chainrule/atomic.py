"""Atomic file writes: readers see the old file or the whole new one, never half."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "TEMP_PREFIX", "temporary_name", "stale_temporaries"]

# Temporary files are named ``.chainrule-<name>.<pid>.<hex>.tmp``: a prefix no other program
# uses, so that cleaning up after a crash can never delete a file that isn't chainrule's own.
TEMP_PREFIX, TEMP_SUFFIX = ".chainrule-", ".tmp"


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


def temporary_name(target: Path) -> Path:
    """The temporary file atomic_write writes before renaming it onto ``target``.

    >>> temporary_name(Path("run/last.safetensors")).name.startswith(".chainrule-last.safetensors.")
    True
    """
    return target.with_name(f"{TEMP_PREFIX}{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _running(pid: int) -> bool:
    if os.name == "nt":  # os.kill there would end the process: keep the file, to be safe
        return True
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, ValueError):  # not a pid at all
        return False
    return True


def stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """atomic_write's temporary files in ``folder`` whose writer is no longer running (a crash
    cut their write off); any other file, and a write still in progress, is left alone.

    >>> import tempfile
    >>> stale_temporaries(tempfile.mkdtemp())
    []
    """
    stale = []
    for entry in os.scandir(folder):
        name = entry.name
        ours = name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)
        if not ours or not entry.is_file(follow_symlinks=False):
            continue
        parts = name[len(TEMP_PREFIX):-len(TEMP_SUFFIX)].rsplit(".", 2)  # target name, pid, token
        named_by_us = (len(parts) == 3 and parts[1].isdigit() and len(parts[2]) == 8
                       and all(c in "0123456789abcdef" for c in parts[2]))
        if named_by_us and not _running(int(parts[1])):
            stale.append(Path(entry.path))
    return stale


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; rename it onto `path` only if the block succeeds.

    The temporary file lives in the same folder so that os.replace is a rename on
    one file system (atomic), and it is removed if the block raises. It is created
    with mode 0o666 less the umask, like open() would (mkstemp's 0o600 would leave
    a shared data folder unreadable to others). Renaming replaces a symbolic link at
    ``path`` rather than writing through it into the file it points to.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "f.bin")
    >>> with atomic_write(p) as f:
    ...     _ = f.write(b"abc")
    >>> open(p, "rb").read()
    b'abc'
    """
    target = Path(path)
    tmp = temporary_name(target)
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

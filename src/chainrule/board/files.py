"""Reading a run's files robustly: only regular files inside RUNS, with size bounds; JSONL lines
that are not an epoch's skipped; a safetensors file's JSON header, never its tensors.

>>> inside("/srv/runs", "/srv/runs/a/metrics.jsonl")
True
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from typing import Any

from ..io import MAX_HEADER_BYTES

__all__ = ["MAX_JSON_BYTES", "MAX_JSONL_BYTES", "inside", "open_inside", "read_json", "JsonlFile", "read_header_info",
           "lock_pid"]

MAX_JSON_BYTES = 16 * 1024 * 1024  # summary.json, status.json: a few kB as chainrule writes them
# metrics.jsonl, diagnostics.jsonl: some 250 B a metrics epoch (130,000 epochs), some 10 kB a diagnostics
# epoch (3,000 epochs). Parsed, a file takes some 5 times its size in memory and holds the scan while it
# is read (200 MB: 1 GB and 4 s, measured), so a larger file is left unread: its run lists no epochs.
MAX_JSONL_BYTES = 32 * 1024 * 1024


def inside(root_real: str, real: str) -> bool:
    """Whether the real path ``real`` is ``root_real`` or below it.

    >>> inside("/srv/runs", "/srv/runs/a/metrics.jsonl"), inside("/srv/runs", "/srv/runs2/x")
    (True, False)
    """
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def open_inside(root_real: str, path: str, limit: int, resolved: bool = False) -> tuple[int, os.stat_result] | None:
    """An open file descriptor (and its stat) for ``path`` if its real path (links resolved) is inside
    ``root_real`` and is a regular file of at most ``limit`` bytes; None otherwise. The caller closes it.
    ``resolved``: ``path`` is known to be a real path (its last part is still not followed if a link).

    >>> open_inside("/usr", "/etc/passwd", 10**6) is None
    True
    """
    real = path if resolved else os.path.realpath(path)
    if not inside(root_real, real):
        return None
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        return None
    return fd, st


def _read(fd: int, start: int, size: int) -> bytes:
    chunks, done = [], 0
    while done < size:
        chunk = os.pread(fd, min(size - done, 1 << 20), start + done)
        if not chunk:
            break
        chunks.append(chunk)
        done += len(chunk)
    return b"".join(chunks)


def read_json(root_real: str, path: str) -> Any:
    """The JSON in the file at the real path ``path`` inside ``root_real``; None if it is not one.

    >>> read_json("/", "/nonexistent.json") is None
    True
    """
    opened = open_inside(root_real, path, MAX_JSON_BYTES, resolved=True)
    if opened is None:
        return None
    fd, st = opened
    try:
        return json.loads(_read(fd, 0, st.st_size))
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)


def _epoch_line(raw: bytes) -> dict | None:
    """A JSONL line as chainrule writes them: an object with a positive integer epoch."""
    try:
        line = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return line if isinstance(line, dict) and _epoch_ok(line) else None


def _epoch_lines(data: bytes) -> list[dict]:
    """The valid lines of complete JSONL ``data``: parsed as one JSON array when every line is valid
    JSON (one call to the parser instead of one a line), else line by line, skipping the others."""
    try:
        lines = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]") if data.strip() else []
    except (ValueError, RecursionError):
        lines = None
    if lines is not None and all(isinstance(line, dict) for line in lines):
        return [line for line in lines if _epoch_ok(line)]
    return [line for raw in data.splitlines() if (line := _epoch_line(raw)) is not None]


def _epoch_ok(line: dict) -> bool:
    epoch = line.get("epoch")
    return isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 1


class JsonlFile:
    """The valid lines of one append-only JSONL file, read again only where it changed.

    >>> JsonlFile().valid()
    []
    """

    def __init__(self):
        self.key: tuple | None = None
        self.offset = 0  # bytes of complete lines parsed
        self.last_line = b""  # the last complete line's bytes, to know the file was appended to
        self.lines: list[dict] = []
        self.pending: dict | None = None  # a last line without its newline that parses (kept apart)
        self.too_large: int | None = None  # the file's size when it is over MAX_JSONL_BYTES (left unread)

    def valid(self) -> list[dict]:
        return self.lines + ([self.pending] if self.pending is not None else [])

    def update(self, root_real: str, entry: tuple | None) -> None:
        """Read what changed; ``entry``: (path, key) as Run.files holds it, None for no file."""
        if entry is None:
            self.__init__()
            return
        path, key = entry
        if key == self.key:
            return
        if key[1] > MAX_JSONL_BYTES:  # key: (inode, size, mtime)
            self.__init__()
            self.key, self.too_large = key, key[1]
            return
        opened = open_inside(root_real, path, MAX_JSONL_BYTES, resolved=True)
        if opened is None:
            self.__init__()
            return
        fd, st = opened
        try:
            start = self.offset - len(self.last_line)
            if self.offset and st.st_size >= self.offset and _read(fd, start, len(self.last_line)) == self.last_line:
                data = _read(fd, self.offset, st.st_size - self.offset)  # appended to
            else:
                self.__init__()
                data = _read(fd, 0, st.st_size)
            self.key = key
        except OSError:
            self.__init__()
            return
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        self.lines += _epoch_lines(data[:end])
        if end:
            self.offset += end
            self.last_line = data[data.rfind(b"\n", 0, end - 1) + 1:end]
        self.pending = _epoch_line(data[end:]) if data[end:].strip() else None


def read_header_info(root_real: str, path: str) -> dict | None:
    """The chainrule metadata in the safetensors file at the real path ``path`` (its JSON header only,
    at most MAX_HEADER_BYTES), with ``parameters`` added: the elements of its ``model.*`` tensors;
    None when it is not one.

    >>> read_header_info("/", "/nonexistent.safetensors") is None
    True
    """
    opened = open_inside(root_real, path, 1 << 62, resolved=True)
    if opened is None:
        return None
    fd, st = opened
    try:
        head = os.pread(fd, 8, 0)
        if len(head) < 8:
            return None
        (length,) = struct.unpack("<Q", head)
        if not 2 <= length <= min(MAX_HEADER_BYTES, st.st_size - 8):
            return None
        header = json.loads(_read(fd, 8, length))
        info = json.loads(header["__metadata__"]["chainrule"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    finally:
        os.close(fd)
    if not isinstance(info, dict):
        return None
    try:
        info["parameters"] = sum(math.prod(e["shape"]) for k, e in header.items() if k.startswith("model."))
    except (TypeError, KeyError, AttributeError):
        info["parameters"] = None
    return info


def lock_pid(root_real: str, path: str) -> int | None:
    """The pid written in a run's lock file at the real path ``path``, or None (the file is never locked here).

    >>> lock_pid("/", "/nonexistent/.chainrule.lock") is None
    True
    """
    opened = open_inside(root_real, path, 4096, resolved=True)
    if opened is None:
        return None
    fd, _ = opened
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)
    return int(text) if text.isdigit() else None

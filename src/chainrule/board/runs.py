"""The run folders under RUNS, as the board shows them: found by a recursive scan, read robustly,
cached by each file's (inode, size, mtime) so that a scan of unchanged runs stats files and
parses nothing.

A run folder is one that holds ``metrics.jsonl``. What is read, and how:

- ``metrics.jsonl`` and ``diagnostics.jsonl``: one JSON object per line; a line that is not one
  with an integer ``epoch`` (garbage, or the half-written last line of a run killed mid-write) is
  skipped. Lines appended since the last read are parsed alone (the file is read from where the
  last complete line ended, once the bytes of that line are found unchanged); a rewritten file is
  read again.
- ``summary.json``, ``status.json``: JSON objects, or nothing.
- ``last.safetensors`` (else ``model.safetensors``): its JSON header only, with a size bound,
  never the tensors: the model's spec, data set, train_config, resume state, and the parameter count
  from the tensors' shapes.
- ``.chainrule.lock``: the pid of the run that holds it (never locked here: a starting run must
  get its lock).

Only regular files whose real path is inside RUNS are read; symlinked folders are followed only
when they resolve inside RUNS.

>>> import tempfile, os
>>> root = tempfile.mkdtemp()
>>> os.mkdir(os.path.join(root, "a"))
>>> _ = open(os.path.join(root, "a", "metrics.jsonl"), "w").write('{"epoch": 1, "val_accuracy": 0.5}\\n{"epo')
>>> [(r["id"], r["epochs"], r["best_val_accuracy"], r["status"]) for r in RunScanner(root).scan()]
[('a', 1, 0.5, 'interrupted')]
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import threading
import time
from datetime import datetime, timezone
from typing import Any

from ..io import MAX_HEADER_BYTES
from ..rundir import BEST, DIAGNOSTICS, LAST, LOCK, METRICS, PICTURES, SUMMARY

__all__ = ["STATUS", "STATUSES", "RunScanner", "pid_alive", "clean_json", "inside", "open_inside", "iso_utc"]

STATUS = "status.json"  # {"status", "pid", "started", "updated", "message"}, written at a run's start and end
STATUSES = ("running", "finished", "diverged", "interrupted")
MAX_JSON_BYTES = 16 * 1024 * 1024  # summary.json, status.json: a few kB as chainrule writes them
MAX_JSONL_BYTES = 512 * 1024 * 1024  # metrics.jsonl, diagnostics.jsonl (some 10 kB a diagnostics epoch)
MAX_DEPTH = 32  # folders below RUNS; a deeper tree is not searched further
_WATCHED = (METRICS, SUMMARY, DIAGNOSTICS, STATUS, LAST, BEST, LOCK, *PICTURES)


def pid_alive(pid: Any) -> bool:
    """Whether a process with this pid exists (``os.kill(pid, 0)``: no signal is sent).

    >>> pid_alive(os.getpid()), pid_alive(None), pid_alive(0)
    (True, False, False)
    """
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:  # someone else's process: it exists
        return True
    except (OSError, OverflowError):
        return False
    return True


def clean_json(value: Any) -> Any:
    """``value`` with NaN and ±inf as None, which JSON (and a browser's JSON.parse) can hold.

    >>> clean_json({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def iso_utc(seconds: float) -> str:
    """Seconds since the epoch as ISO 8601 in UTC.

    >>> iso_utc(0)
    '1970-01-01T00:00:00Z'
    """
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def inside(root_real: str, real: str) -> bool:
    """Whether the real path ``real`` is ``root_real`` or below it.

    >>> inside("/srv/runs", "/srv/runs/a/metrics.jsonl"), inside("/srv/runs", "/srv/runs2/x")
    (True, False)
    """
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def open_inside(root_real: str, path: str, limit: int) -> tuple[int, os.stat_result] | None:
    """An open file descriptor (and its stat) for ``path`` if its real path (links resolved) is inside
    ``root_real`` and is a regular file of at most ``limit`` bytes; None otherwise. The caller closes it.

    >>> open_inside("/usr", "/etc/passwd", 10**6) is None
    True
    """
    real = os.path.realpath(path)
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


def _read_json(root_real: str, path: str) -> Any:
    opened = open_inside(root_real, path, MAX_JSON_BYTES)
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
    if not isinstance(line, dict):
        return None
    epoch = line.get("epoch")
    return line if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 1 else None


class JsonlFile:
    """The valid lines of one append-only JSONL file, read again only where it changed."""

    def __init__(self):
        self.key: tuple | None = None
        self.offset = 0  # bytes of complete lines parsed
        self.last_line = b""  # the last complete line's bytes, to know the file was appended to
        self.lines: list[dict] = []
        self.pending: dict | None = None  # a last line without its newline that parses (kept apart)

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
        opened = open_inside(root_real, path, MAX_JSONL_BYTES)
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
        for raw in data[:end].splitlines():
            line = _epoch_line(raw)
            if line is not None:
                self.lines.append(line)
        if end:
            self.offset += end
            self.last_line = data[data.rfind(b"\n", 0, end - 1) + 1:end]
        self.pending = _epoch_line(data[end:]) if data[end:].strip() else None


def _header(root_real: str, path: str) -> dict | None:
    """A safetensors file's chainrule metadata (its JSON header only, at most MAX_HEADER_BYTES), with
    ``parameters`` added: the elements of its ``model.*`` tensors."""
    opened = open_inside(root_real, path, 1 << 62)
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


def _lock_pid(root_real: str, path: str) -> int | None:
    opened = open_inside(root_real, path, 4096)
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


class Run:
    """One run folder's files, parsed when they change (see the module's notes)."""

    def __init__(self, run_id: str, folder: str):
        self.id, self.folder = run_id, folder
        self.files: dict[str, tuple] = {}  # name -> (path to open, key), regular files inside RUNS
        self.metrics, self.diagnostics = JsonlFile(), JsonlFile()
        self._parsed: dict[str, tuple[tuple, Any]] = {}  # name -> (key, parsed)

    def path(self, name: str) -> str | None:
        entry = self.files.get(name)
        return entry[0] if entry else None

    def _cached(self, name: str, parse) -> Any:
        entry = self.files.get(name)
        if entry is None:
            self._parsed.pop(name, None)
            return None
        old = self._parsed.get(name)
        if old is not None and old[0] == entry[1]:
            return old[1]
        value = parse(entry[0])
        self._parsed[name] = (entry[1], value)
        return value

    def refresh(self, root_real: str, entries: dict[str, os.DirEntry]) -> None:
        """Take the folder's current files (``entries``: its listing) and re-read what changed."""
        files = {}
        for name in _WATCHED:
            entry = entries.get(name)
            if entry is None:
                continue
            try:
                if entry.is_symlink():
                    if not inside(root_real, os.path.realpath(entry.path)):
                        continue  # a link out of RUNS: not read, not served
                    st = entry.stat(follow_symlinks=True)
                else:
                    st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                files[name] = (entry.path, (st.st_ino, st.st_size, st.st_mtime_ns))
        self.files = files
        self.metrics.update(root_real, self.files.get(METRICS))

    def summary(self, root_real: str) -> dict | None:
        value = self._cached(SUMMARY, lambda p: _read_json(root_real, p))
        return value if isinstance(value, dict) else None

    def status_file(self, root_real: str) -> dict | None:
        value = self._cached(STATUS, lambda p: _read_json(root_real, p))
        return value if isinstance(value, dict) else None

    def header(self, root_real: str) -> dict | None:
        for name in (LAST, BEST):
            value = self._cached(name, lambda p: _header(root_real, p))
            if value is not None:
                return value
        return None

    def diagnostic_lines(self, root_real: str) -> list[dict]:
        self.diagnostics.update(root_real, self.files.get(DIAGNOSTICS))
        return self.diagnostics.valid()

    def status(self, root_real: str) -> tuple[str, str | None]:
        """(running / finished / diverged / interrupted, the status file's message or None)."""
        record = self.status_file(root_real)
        if record is not None and record.get("status") in STATUSES:
            message = record.get("message") if isinstance(record.get("message"), str) else None
            if record["status"] == "running" and not pid_alive(record.get("pid")):
                return "interrupted", message or f"its process (pid {record.get('pid')}) ended without a word (killed?)"
            return record["status"], message
        if self.summary(root_real) is not None:
            return "finished", None
        if pid_alive(self._cached(LOCK, lambda p: _lock_pid(root_real, p))):
            return "running", None
        return "interrupted", None

    def updated(self) -> float:
        return max((key[2] for _, key in self.files.values()), default=0) / 1e9

    def row(self, root_real: str) -> dict:
        """The run as /api/runs lists it."""
        summary = self.summary(root_real) or {}
        header = self.header(root_real) if not summary else None
        header = header or {}
        config = summary.get("config") if isinstance(summary.get("config"), dict) else header.get("train_config")
        config = config if isinstance(config, dict) else {}
        lines = self.metrics.valid()
        accuracies = [v for m in lines if isinstance(v := m.get("val_accuracy"), (int, float))
                      and not isinstance(v, bool) and math.isfinite(v)]
        status, _ = self.status(root_real)
        record = self.status_file(root_real) or {}
        started = record.get("started") if isinstance(record.get("started"), str) else None
        if started is None and LOCK in self.files:  # the lock file is written as a run starts
            started = iso_utc(self.files[LOCK][1][2] / 1e9)
        return clean_json({
            "id": self.id, "dataset": summary.get("dataset", header.get("dataset")),
            "model": summary.get("model", header.get("spec")),
            "parameters": summary.get("parameters", header.get("parameters")),
            "epochs": len(lines), "epochs_planned": config.get("epochs"),
            "best_val_accuracy": max(accuracies) if accuracies else None,
            "test_accuracy": summary.get("test_accuracy"), "status": status, "started": started,
            "updated": self.updated(), "diagnostics": DIAGNOSTICS in self.files,
            "warnings": len(self.warnings(root_real)),
        })

    def warnings(self, root_real: str) -> list:
        summary = self.summary(root_real)
        if summary is not None and isinstance(summary.get("warnings"), list):
            return summary["warnings"]
        resume = (self.header(root_real) or {}).get("resume")
        found = resume.get("diagnostics", {}).get("warnings") if isinstance(resume, dict) and isinstance(
            resume.get("diagnostics"), dict) else None
        return found if isinstance(found, list) else []

    def config(self, root_real: str) -> dict | None:
        summary = self.summary(root_real) or {}
        if isinstance(summary.get("config"), dict):
            return summary["config"]
        config = (self.header(root_real) or {}).get("train_config")
        return config if isinstance(config, dict) else None


def _sort_key(row: dict) -> tuple:
    started = row["started"]
    try:
        when = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() if started else row["updated"]
    except ValueError:
        when = row["updated"]
    return -when, row["id"]


class RunScanner:
    """The runs under ``root`` (a path, which need not exist yet), scanned on demand and cached.
    Thread-safe: one scan or refresh at a time.

    >>> import tempfile
    >>> RunScanner(os.path.join(tempfile.mkdtemp(), "not-yet")).scan()
    []
    """

    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)
        self.runs: dict[str, Run] = {}
        self.lock = threading.RLock()
        self.scanned_seconds = 0.0

    def root_real(self) -> str:
        return os.path.realpath(self.root)

    def _folders(self, root_real: str):
        """(id, folder path, its listing) for each run folder below root, without leaving root."""
        seen: set[tuple[int, int]] = set()
        stack = [("", self.root, 0)]
        while stack:
            rel, folder, depth = stack.pop()
            try:
                st = os.stat(folder)
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                with os.scandir(folder) as it:
                    entries = {e.name: e for e in it}
            except OSError:  # unreadable, gone, or not a folder: skipped
                continue
            if METRICS in entries:
                yield (rel or os.path.basename(root_real) or "run"), folder, entries
            if depth >= MAX_DEPTH:
                continue
            for name in sorted(entries, reverse=True):
                entry = entries[name]
                if name.startswith(".") or name in _WATCHED:
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=True):
                        continue
                    if entry.is_symlink() and not inside(root_real, os.path.realpath(entry.path)):
                        continue  # a link to a folder outside RUNS
                except OSError:
                    continue
                stack.append((f"{rel}/{name}" if rel else name, entry.path, depth + 1))

    def scan(self) -> list[dict]:
        """Every run's row (see Run.row), newest first; runs gone since the last scan are dropped."""
        with self.lock:
            begin = time.perf_counter()
            root_real = self.root_real()
            runs = {}
            for run_id, folder, entries in self._folders(root_real):
                if run_id in runs:
                    continue
                run = self.runs.get(run_id)
                if run is None or run.folder != folder:
                    run = Run(run_id, folder)
                run.refresh(root_real, entries)
                runs[run_id] = run
            self.runs = runs
            rows = sorted((run.row(root_real) for run in runs.values()), key=_sort_key)
            self.scanned_seconds = time.perf_counter() - begin
            return rows

    def get(self, run_id: str) -> Run | None:
        """The run with this id, its files re-listed now; None for an id the scan does not find (after
        a new scan, so that a run created since the last one is found)."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is None:
                self.scan()
                run = self.runs.get(run_id)
                if run is None:
                    return None
            try:
                with os.scandir(run.folder) as it:
                    entries = {e.name: e for e in it}
            except OSError:
                self.runs.pop(run_id, None)
                return None
            if METRICS not in entries:
                self.runs.pop(run_id, None)
                return None
            run.refresh(self.root_real(), entries)
            return run

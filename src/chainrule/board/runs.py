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

import math
import os
import stat
import threading
import time
from datetime import datetime, timezone
from typing import Any

from ..rundir import BEST, DIAGNOSTICS, LAST, LOCK, METRICS, PICTURES, STATUS, SUMMARY
from ..train.status import STATUSES
from . import files
from .files import inside

__all__ = ["STATUS", "STATUSES", "Run", "RunScanner", "pid_alive", "clean_json", "iso_utc"]

MAX_DEPTH = 32  # folders below RUNS; a deeper tree is not searched further
_WATCHED = (METRICS, SUMMARY, DIAGNOSTICS, STATUS, LAST, BEST, LOCK, *PICTURES)


def pid_alive(pid: Any) -> bool:
    """Whether a process with this pid exists (``os.kill(pid, 0)``: no signal is sent).

    >>> pid_alive(os.getpid()), pid_alive(None), pid_alive(0)
    (True, False, False)
    """
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - there os.kill(pid, 0) would end the process (TerminateProcess)
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except PermissionError:  # someone else's process: it exists
        return True
    except (OSError, OverflowError):
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists, someone else's
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


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


class Run:
    """One run folder's files, parsed when they change (see the module's notes)."""

    def __init__(self, run_id: str, folder: str, real: str):
        self.id, self.folder, self.real = run_id, folder, real  # real: the folder's real path
        self.files: dict[str, tuple] = {}  # name -> (its real path, key), regular files inside RUNS
        self.metrics, self.diagnostics = files.JsonlFile(), files.JsonlFile()
        self._parsed: dict[str, tuple[tuple, Any]] = {}  # name -> (key, parsed)
        self._row: tuple[tuple, dict] | None = None  # (the files' keys, the row but its status)

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
                    real = os.path.realpath(entry.path)
                    if not inside(root_real, real):
                        continue  # a link out of RUNS: not read, not served
                    st = os.stat(real, follow_symlinks=False)
                else:
                    real = os.path.join(self.real, name)
                    st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                files[name] = (real, (st.st_ino, st.st_size, st.st_mtime_ns))
        self.files = files
        self.metrics.update(root_real, self.files.get(METRICS))

    def summary(self, root_real: str) -> dict | None:
        value = self._cached(SUMMARY, lambda p: files.read_json(root_real, p))
        return value if isinstance(value, dict) else None

    def status_file(self, root_real: str) -> dict | None:
        value = self._cached(STATUS, lambda p: files.read_json(root_real, p))
        return value if isinstance(value, dict) else None

    def header(self, root_real: str) -> dict | None:
        for name in (LAST, BEST):
            value = self._cached(name, lambda p: files.read_header_info(root_real, p))
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
        if pid_alive(self._cached(LOCK, lambda p: files.lock_pid(root_real, p))):
            return "running", None
        return "interrupted", None

    def updated(self) -> float:
        return max((key[2] for _, key in self.files.values()), default=0) / 1e9

    def row(self, root_real: str) -> dict:
        """The run as /api/runs lists it: what its files say, made again when one of them changed,
        and its status (a process that ended changes no file)."""
        key = tuple((name, entry[1]) for name, entry in self.files.items())
        if self._row is None or self._row[0] != key:
            self._row = key, self._describe(root_real)
        status, _ = self.status(root_real)
        return {**self._row[1], "status": status}

    def _describe(self, root_real: str) -> dict:
        summary = self.summary(root_real) or {}
        header = self.header(root_real) if not summary else None
        header = header or {}
        config = summary.get("config") if isinstance(summary.get("config"), dict) else header.get("train_config")
        config = config if isinstance(config, dict) else {}
        lines = self.metrics.valid()
        accuracies = [v for m in lines if isinstance(v := m.get("val_accuracy"), (int, float))
                      and not isinstance(v, bool) and math.isfinite(v)]
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
            "test_accuracy": summary.get("test_accuracy"), "status": None, "started": started,
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
        """(id, folder path, its real path, its listing) for each run folder below root, without
        leaving root."""
        seen: set[tuple[int, int]] = set()
        stack = [("", self.root, root_real, 0)]
        while stack:
            rel, folder, real, depth = stack.pop()
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
                yield (rel or os.path.basename(root_real) or "run"), folder, real, entries
            if depth >= MAX_DEPTH:
                continue
            for name in sorted(entries, reverse=True):
                entry = entries[name]
                if name.startswith(".") or name in _WATCHED:
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=True):
                        continue
                    target = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real, name)
                    if not inside(root_real, target):
                        continue  # a link to a folder outside RUNS
                except OSError:
                    continue
                stack.append((f"{rel}/{name}" if rel else name, entry.path, target, depth + 1))

    def scan(self) -> list[dict]:
        """Every run's row (see Run.row), newest first; runs gone since the last scan are dropped."""
        with self.lock:
            begin = time.perf_counter()
            root_real = self.root_real()
            runs = {}
            for run_id, folder, real, entries in self._folders(root_real):
                if run_id in runs:
                    continue
                run = self.runs.get(run_id)
                if run is None or run.folder != folder or run.real != real:
                    run = Run(run_id, folder, real)
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
                if os.path.realpath(run.folder) != run.real:  # moved, or replaced by a link: scanned again
                    self.runs.pop(run_id, None)
                    return self.get(run_id)
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

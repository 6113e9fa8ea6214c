"""``OUT/status.json``: whether a run is running, finished, diverged or interrupted.

A run folder's other files say what a run did; this one says what it is doing, for a viewer
(``chainrule board``) that cannot tell a run that is still training from one that was killed
or diverged. Written atomically when the run starts (or resumes) and when it ends:

    {"status": "running" | "finished" | "diverged" | "interrupted", "pid": 1234,
     "started": "2026-11-29T14:20:00Z", "updated": "2026-11-29T14:21:05Z", "message": null}

A run killed outright (SIGKILL, a power cut) leaves "running" with a pid that is no longer
alive: a reader takes that for interrupted. Any other way out of the run (Ctrl-C, SIGTERM, an
error) writes "interrupted" with the error's first line as ``message``; divergence, "diverged".

>>> import json, tempfile
>>> from pathlib import Path
>>> out = Path(tempfile.mkdtemp())
>>> with run_status(out, diverged=ArithmeticError):
...     json.loads((out / STATUS).read_text())["status"]
'running'
>>> json.loads((out / STATUS).read_text())["status"]
'finished'
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Iterator

from ..atomic import atomic_write
from ..rundir import STATUS

__all__ = ["run_status", "write_status", "STATUSES"]

STATUSES = ("running", "finished", "diverged", "interrupted")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_status(out_dir: Path, status: str, started: str, message: str | None = None) -> None:
    """Write ``out_dir/status.json`` atomically (this process's pid, the time now as ``updated``)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    record = {"status": status, "pid": os.getpid(), "started": started, "updated": _now(), "message": message}
    with atomic_write(out_dir / STATUS) as f:
        f.write((json.dumps(record) + "\n").encode())


def _started(out_dir: Path) -> str:
    """When the run first started: a resumed run keeps its first start."""
    try:
        started = json.loads((out_dir / STATUS).read_text())["started"]
        return started if isinstance(started, str) else _now()
    except (OSError, ValueError, KeyError, TypeError):
        return _now()


@contextlib.contextmanager
def run_status(out_dir: Path | None, diverged: type[BaseException], resumed: bool = False) -> Iterator[None]:
    """"running" for the block, then "finished", "diverged" (``diverged`` raised) or "interrupted"
    (anything else raised). Nothing without an ``out_dir``. Failing to write the final status never
    hides the run's own error."""
    if out_dir is None:
        yield
        return
    started = _started(out_dir) if resumed else _now()
    write_status(out_dir, "running", started)
    try:
        yield
    except BaseException as e:
        status = "diverged" if isinstance(e, diverged) else "interrupted"
        text = str(e).strip()
        with contextlib.suppress(OSError):
            write_status(out_dir, status, started, text.splitlines()[0] if text else type(e).__name__)
        raise
    write_status(out_dir, "finished", started)

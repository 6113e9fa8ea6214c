"""``chainrule board``: a local, read-only web page over the run folders under RUNS, live while runs train.

    runs.py     RunScanner: the run folders under RUNS, what each is (status included), cached by file
    files.py    reading a run's files robustly: inside RUNS only, size-bounded, bad JSONL lines skipped
    server.py   BoardServer (the standard library's ThreadingHTTPServer): the page, the JSON API, the pictures
    static/     the page: index.html, app.js, style.css and the vendored uPlot

>>> with make_server("runs", port=0).start() as server:
...     server.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

from .runs import STATUS, STATUSES, RunScanner, pid_alive
from .server import STATIC, BoardServer, make_server, run_detail, run_metrics

__all__ = ["STATUS", "STATUSES", "RunScanner", "pid_alive", "STATIC", "BoardServer", "make_server", "run_detail",
           "run_metrics"]

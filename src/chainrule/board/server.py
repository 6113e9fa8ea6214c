"""The board's HTTP server: the standard library's ThreadingHTTPServer, read-only, GET and HEAD only.

Routes (JSON unless said otherwise; errors are ``{"error": "one line"}`` with 400, 403, 404, 405):

    GET /                        the page (static/index.html)
    GET /static/PATH             the page's files, from this package's static/ folder only
    GET /api/runs                {"root", "scanned_seconds", "runs": [row, ...]}, newest first
    GET /api/run?id=ID           one run: summary, config, command, pictures, metrics, diagnostics, warnings
    GET /api/metrics?id=ID&after=N   the metrics and diagnostics lines of epochs after N (for live updates)
    GET /files/ID/NAME           a run's picture (NAME among curves.png, confusion.png, weights.png,
                                 diagnostics.png), image/png

Safety: an ID is only a key of the runs the scan found (never a path); a file is served only when
its real path (links resolved) is inside RUNS (static/ for the page) and it is a regular file; a
path with ``..``, encoded slashes or backslashes, NUL, or an absolute ID is refused. Bound to
127.0.0.1, the server also refuses a request whose Host header is not a loopback name (a web page
elsewhere that resolves its own name to 127.0.0.1, DNS rebinding, can't read the runs). No
request writes a file; no request is logged.

>>> server = make_server("runs", port=0)
>>> server.url.startswith("http://127.0.0.1:")
True
>>> server.server_close()
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..rundir import DIAGNOSTICS, METRICS, PICTURES
from ..train.signals import as_command
from ..tune import train_command
from .files import inside, open_inside
from .runs import RunScanner, clean_json

__all__ = ["STATIC", "LOOPBACK", "BoardServer", "make_server", "run_detail", "run_metrics"]

STATIC = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_FILE_BYTES = 256 * 1024 * 1024
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
                 ".json": "application/json", ".txt": "text/plain; charset=utf-8", ".ico": "image/x-icon"}


class BadRequest(Exception):
    """A request refused: ``status`` and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _without_histograms(line: dict) -> dict:
    layers = line.get("layers")
    if not isinstance(layers, list):
        return line
    return {**line, "layers": [{k: v for k, v in layer.items() if k != "histogram"} if isinstance(layer, dict)
                               else layer for layer in layers]}


def _command(run, root_real: str, config: dict | None) -> str | None:
    summary = run.summary(root_real) or {}
    header = run.header(root_real) or {}
    dataset = header.get("dataset") or summary.get("dataset")  # the header's: a data file's path as given
    model = summary.get("model") or header.get("spec")
    if not isinstance(dataset, str) or not isinstance(model, str) or config is None:
        return None
    try:
        return train_command(dataset, model, config)
    except (TypeError, ValueError):
        return None


def run_detail(scanner: RunScanner, run_id: str) -> dict | None:
    """What /api/run returns for ``run_id``, or None for an id the scan does not find."""
    with scanner.lock:
        run = scanner.get(run_id)
        if run is None:
            return None
        root_real = scanner.root_real()
        status, message = run.status(root_real)
        message = as_command(message) if message else message  # "continue with: chainrule train --resume ..."
        diagnostics = run.diagnostic_lines(root_real)
        for name, jsonl in ((METRICS, run.metrics), (DIAGNOSTICS, run.diagnostics)):
            if jsonl.too_large is not None:  # said on the page, else the run looks empty for no reason
                message = (f"{name} is {jsonl.too_large:,} bytes, more than the board reads (MAX_JSONL_BYTES): its "
                           f"epochs are not shown" + (f"; {message}" if message else ""))
        config = run.config(root_real)
        return clean_json({
            "id": run.id, "status": status, "message": message, "summary": run.summary(root_real),
            "config": config, "command": _command(run, root_real, config),
            "pictures": [name for name in PICTURES if name in run.files],
            "metrics": run.metrics.valid(),
            "diagnostics": [_without_histograms(line) for line in diagnostics],
            "warnings": run.warnings(root_real), "run": run.row(root_real),
        })


def run_metrics(scanner: RunScanner, run_id: str, after: int) -> dict | None:
    """What /api/metrics returns: the lines of epochs after ``after``; None for an unknown id."""
    with scanner.lock:
        run = scanner.get(run_id)
        if run is None:
            return None
        root_real = scanner.root_real()
        return clean_json({
            "id": run.id, "status": run.status(root_real)[0],
            "metrics": [m for m in run.metrics.valid() if m["epoch"] > after],
            "diagnostics": [_without_histograms(d) for d in run.diagnostic_lines(root_real) if d["epoch"] > after],
            "updated": run.updated(),
        })


def _segments(path: str) -> list[str]:
    """The decoded segments of a URL path, refusing what could name a file elsewhere."""
    lowered = path.lower()
    if "\\" in path or "\x00" in path or any(code in lowered for code in ("%2f", "%5c", "%00")):
        raise BadRequest(400, "the path holds an encoded slash, a backslash or a NUL")
    segments = [unquote(s, errors="strict") for s in path.split("/")[1:]]
    if any(s in (".", "..") or "\x00" in s for s in segments):
        raise BadRequest(400, "the path holds '.' or '..'")
    return segments


class Handler(BaseHTTPRequestHandler):
    """One request: GET routes as the module says, HEAD as GET without the body (RFC 9110 9.3.2),
    any other method 405."""

    server: "BoardServer"
    server_version = "chainrule-board"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a kept-alive connection may stay idle

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # no line per request on stderr
        pass

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # POST, PUT, DELETE, ...: BaseHTTPRequestHandler looks them up by name
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True  # the request's body, if any, is not read
        self._send_json(405, {"error": f"{self.command} is not allowed: the board is read-only (GET and HEAD only)"},
                        {"Allow": "GET, HEAD"})

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None,
              cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)  # no-store: the runs change; no-cache: a file, checked each time
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, value: Any, extra: dict | None = None) -> None:
        body = json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
        self._send(status, body, "application/json", extra)

    def do_GET(self) -> None:
        try:
            self._check_host()
            self._route()
        except BadRequest as e:
            self._send_json(e.status, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except UnicodeDecodeError:
            self._send_json(400, {"error": "the path is not UTF-8"})
        except Exception as e:  # a bug: the page gets one line, the server keeps serving
            if os.environ.get("CHAINRULE_DEBUG"):
                raise
            self.close_connection = True
            self._send_json(500, {"error": f"the board failed on this request ({type(e).__name__}: {e})"[:1000]})

    do_HEAD = do_GET  # _send leaves the body out

    def version_string(self) -> str:  # the Server header, without the Python version's empty place
        return self.server_version

    def _check_host(self) -> None:
        if not self.server.loopback_only:
            return
        host = (self.headers.get("Host") or "").strip().lower()
        name = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
        if host and name not in LOOPBACK:
            raise BadRequest(403, f"Host {host[:100]!r} is not this machine's loopback address")

    def _route(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/"):
            raise BadRequest(400, "the path must start with /")
        segments = _segments(parts.path)
        query = parse_qs(parts.query, errors="strict")
        scanner = self.server.scanner
        head = segments[0]
        if parts.path == "/":
            self._send_file(STATIC / "index.html", STATIC)
        elif head == "static" and len(segments) > 1:
            self._send_file(STATIC.joinpath(*segments[1:]), STATIC)
        elif parts.path == "/api/runs":
            rows = scanner.scan()
            self._send_json(200, {"root": scanner.root, "scanned_seconds": round(scanner.scanned_seconds, 6),
                                  "runs": rows})
        elif parts.path == "/api/run":
            found = run_detail(scanner, self._id(query))
            self._found(found, query)
        elif parts.path == "/api/metrics":
            after = query.get("after", ["0"])[-1]
            try:
                after = int(after)
            except ValueError:
                raise BadRequest(400, f"after must be an integer (an epoch), got {after[:40]!r}") from None
            self._found(run_metrics(scanner, self._id(query), after), query)
        elif head == "files" and len(segments) >= 3:
            self._send_picture("/".join(segments[1:-1]), segments[-1])
        else:
            raise BadRequest(404, f"no such page: {parts.path[:200]}")

    def _id(self, query: dict) -> str:
        ids = query.get("id")
        if not ids or not ids[-1]:
            raise BadRequest(400, "id is missing (a run's id, as /api/runs lists it)")
        run_id = ids[-1]
        if run_id.startswith("/") or "\\" in run_id or "\x00" in run_id or ".." in run_id.split("/"):
            raise BadRequest(400, "id must be a run's id as /api/runs lists it, not a path")
        return run_id

    def _found(self, value: dict | None, query: dict) -> None:
        if value is None:
            raise BadRequest(404, f"no run {query['id'][-1][:200]!r} under {self.server.scanner.root}")
        self._send_json(200, value)

    def _send_picture(self, run_id: str, name: str) -> None:
        if name not in PICTURES:
            raise BadRequest(404, f"{name[:100]!r} is not one of a run's pictures ({', '.join(PICTURES)})")
        if run_id.startswith("/"):
            raise BadRequest(400, "the run's id must not be an absolute path")
        scanner = self.server.scanner
        with scanner.lock:
            run = scanner.get(run_id)
            path = run.path(name) if run is not None else None
        if path is None:
            raise BadRequest(404, f"no picture {name} for run {run_id[:200]!r}")
        self._send_file(Path(path), scanner.root_real())

    def _send_file(self, path: Path, root: Path | str) -> None:
        root_real = os.path.realpath(root)
        if not inside(root_real, os.path.realpath(path)):
            raise BadRequest(403, "that file is outside the folders the board serves")
        opened = open_inside(root_real, str(path), MAX_FILE_BYTES)
        if opened is None:
            raise BadRequest(404, f"no such file: {path.name[:100]}")
        fd, st = opened
        with os.fdopen(fd, "rb") as f:
            body = f.read(st.st_size)
        self._send(200, body, CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"), cache="no-cache")


class BoardServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer over a RunScanner; ``url`` is its address (the real port after port 0)."""

    daemon_threads = False  # server_close joins the request threads (stop ends their connections first)
    allow_reuse_port = False  # another server on the same port is an error, not a sharer

    def __init__(self, runs: str | os.PathLike, host: str, port: int):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.scanner = RunScanner(runs)
        self.loopback_only = host in LOOPBACK
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((host, port), Handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def start(self) -> "BoardServer":
        """Serve in a background thread; ``stop`` ends it."""
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="chainrule-board", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket (the port is free again), wait for the serving thread."""
        if self.thread is not None:
            self.shutdown()
            self.thread.join()
            self.thread = None
        with self.connections_lock:  # a browser's kept-alive connections: their threads wait on them
            for connection in list(self.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.server_close()  # joins the request threads

    def handle_error(self, request, client_address) -> None:
        """A client that went away is not worth a traceback; anything else is (socketserver's default)."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def __enter__(self) -> "BoardServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def make_server(runs: str | os.PathLike = "runs", host: str = "127.0.0.1", port: int = 8008) -> BoardServer:
    """A board server for the run folders under ``runs``, bound to ``host``:``port`` (0: a free port),
    not yet serving (``start()`` serves in a thread; ``serve_forever()`` in this one). Raises OSError
    when the address can't be bound (a port in use: errno EADDRINUSE).

    >>> with make_server("runs", port=0).start() as server:
    ...     server.server_address[0]
    '127.0.0.1'
    """
    return BoardServer(runs, host, port)

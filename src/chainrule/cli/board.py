"""``chainrule board [RUNS]``: serve a live, read-only page over the run folders under RUNS.

The first line of output is the address (``serving runs/ at http://127.0.0.1:8008/``). The board
serves until stopped: Ctrl-C (SIGINT), SIGTERM or SIGHUP stop it as they stop any command (see
errors.py): the server stops, its connections close, the port is free again, and the exit status
is 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import TextIO

from ..train import Interrupted
from .errors import UserError, complain

__all__ = ["HELP", "DEFAULT_PORT", "add_arguments", "run"]

HELP = "a live page in the browser over the run folders under RUNS"
DEFAULT_PORT = 8008


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule board``."""
    parser.description = (
        "Serve a page that lists the runs under RUNS (every folder holding metrics.jsonl, searched recursively), "
        "draws their curves side by side and follows running ones live. Read-only; Ctrl-C stops it.")
    parser.add_argument("runs", nargs="?", default="runs", metavar="RUNS",
                        help="the folder of run folders (default: runs, where chainrule train writes them)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to serve on (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to serve on (default: 127.0.0.1, this machine only; any other makes the "
                             "board reachable from other machines)")
    return parser


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """``chainrule board``: print the address, then serve until a stop signal (see the module's notes)."""
    from ..board.server import LOOPBACK, make_server  # the HTTP server only for this command

    stream = stream or sys.stdout
    runs = os.fspath(args.runs)
    if os.path.exists(runs) and not os.path.isdir(runs):
        raise UserError(f"{runs}: is a file, not a folder of runs (give the folder chainrule train writes into)")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0 to 65535, got {args.port}")
    try:
        server = make_server(runs, args.host, args.port)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UserError(f"port {args.port} is in use on {args.host}: choose another with --port, or --port 0 "
                            f"for a free one") from None
        raise UserError(f"cannot serve on {args.host} port {args.port} ({e.strerror or e})") from None
    shown = runs if runs.endswith(("/", os.sep)) else runs + "/"
    try:
        print(f"serving {shown} at {server.url}", file=stream, flush=True)
        if not os.path.exists(runs):
            print(f"{shown} does not exist yet; its runs are listed as soon as one is written there", file=stream,
                  flush=True)
        if args.host not in LOOPBACK:
            complain(f"chainrule: warning: --host {args.host}: the board is reachable from other machines; it is "
                     f"read-only but unauthenticated (anyone who can reach {server.url} sees the runs)")
        server.start()
        server.thread.join()  # until a stop signal raises Interrupted here
    except Interrupted as e:
        raise Interrupted(f"stopped serving {shown}", e.signum) from None
    finally:
        server.stop()
    return 0

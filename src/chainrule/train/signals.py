"""Stop signals: Ctrl-C, SIGTERM and SIGHUP ask a run to stop at a point of its choosing.

``catch_signals`` installs the handlers for a block; ``Interrupted`` is what a stop raises
(a KeyboardInterrupt, so code that handles Ctrl-C handles it), ``TrainingInterrupted`` the
training loop's, which says where the state was saved.

>>> with catch_signals() as stop:
...     pass
>>> stop.signum is None
True
"""

from __future__ import annotations

import re
import shlex
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["STOP_SIGNALS", "Interrupted", "TrainingInterrupted", "catch_signals", "as_command"]

# The signals that ask a run to stop: Ctrl-C, and what batch schedulers, `docker stop`, `timeout`
# (SIGTERM) and a closed terminal (SIGHUP) send. Windows has no SIGHUP.
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                     if s is not None)


class Interrupted(KeyboardInterrupt):
    """Stopped by a signal; ``signum`` says which (a shell reports 128 + signum as the status).

    >>> Interrupted("interrupted", signal.SIGTERM).signum
    15
    """

    # Whether every process of a data-parallel run stops with this one (training's agreed stop
    # sets it); otherwise the signal came to this process alone, and the others are not stopping.
    every_process = False

    def __init__(self, message: str = "interrupted", signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)


class TrainingInterrupted(Interrupted):
    """A stop signal during training: the current step finished and ``last`` was written
    (or, after a second signal, the last state written before it is the one to resume)."""

    def __init__(self, message: str, out_dir: Path | None, signum: int = signal.SIGINT):
        super().__init__(message, signum)
        self.out_dir = out_dir


class catch_signals:
    """Within the block, SIGINT, SIGTERM and SIGHUP ask the work to stop (main thread only;
    elsewhere the block changes nothing). A signal already ignored stays ignored (``nohup``
    ignores SIGHUP, a shell's background job SIGINT). With ``defer``, the first signal only records
    itself in ``signum`` (and calls ``on_first``) for the work to stop at a point of its
    choosing, and a second one raises Interrupted at once; without, the first raises at
    once, as Python does for Ctrl-C.

    >>> with catch_signals() as stop:
    ...     print(stop.signum)
    None
    """

    def __init__(self, defer: bool = True, on_first: Callable[[int], None] | None = None):
        self.defer, self.on_first = defer, on_first
        self.signum: int | None = None
        self.previous: dict[int, Any] = {}

    def _handler(self, signum, frame):
        first = self.signum is None
        if first:
            self.signum = signum
        if first and self.defer:
            if self.on_first is not None:
                self.on_first(signum)
            return
        raise Interrupted("interrupted" if signum == signal.SIGINT else f"interrupted ({signal.Signals(signum).name})",
                          signum)

    def __enter__(self) -> "catch_signals":
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                if signal.getsignal(s) is not signal.SIG_IGN:
                    self.previous[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
        return False


# The library's hint for continuing a run, and the same as a command (repr quotes with ' unless the path has one)
_RESUME_CALL = re.compile(r"""chainrule\.train\.resume\((?:'([^']*)'|"([^"]*)")\)""")


def as_command(message: str) -> str:
    """A library message with its Python hints as the command line's commands.

    >>> as_command("saved; continue with: chainrule.train.resume('runs/a')")
    'saved; continue with: chainrule train --resume runs/a'
    """
    return _RESUME_CALL.sub(lambda m: f"chainrule train --resume {shlex.quote(m.group(1) or m.group(2))}", message)

"""The command line's one error -> exit-status mapping, used by every command.

A mistake a user can make (unknown data set, missing file, bad SPEC, a checkpoint that
doesn't fit) prints one line and exits with status 2, without a traceback; set
CHAINRULE_DEBUG=1 to see the traceback anyway. A diverged training exits with 3. A stop
signal (Ctrl-C's SIGINT, SIGTERM, SIGHUP) exits with 128 + its number (130, 143, 129).

The library's messages name arguments (``lr must be a positive number``); here the
argument becomes the command's option (``--lr must be a positive number``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from typing import Callable, Mapping

from ..data import DataError
from ..distributed import started
from ..io import CheckpointError
from ..rundir import RunFolderError
from ..spec import SpecError
from ..train import Interrupted, MetricsError, TrainingDiverged, catch_signals
from ..train.signals import as_command

__all__ = ["EXIT_USAGE", "EXIT_DIVERGED", "EXIT_SIGNAL", "MAX_MESSAGE_CHARS", "UserError", "one_line",
           "complain", "warn_in_one_line", "with_option", "settings_as_options", "run_command"]

EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_SIGNAL = 128  # + the signal's number, as a shell reports a process a signal ended: 130 for Ctrl-C
# An error line longer than this is shortened in the middle. The longest messages meant in full
# (the data set that was not found: where it was looked for, why each download failed) reach
# some 800 characters; what goes past is a file's contents or a list of its names, echoed.
MAX_MESSAGE_CHARS = 1000


class UserError(Exception):
    """A mistake on the command line: one line, exit status 2."""


# The optional libraries (extras) whose absence is the user's install, not a bug: a missing one is one line.
OPTIONAL_EXTRAS = frozenset({"threadpoolctl", "matplotlib", "tqdm", "PIL", "sklearn", "torch", "graphviz", "onnx",
                             "onnxruntime", "mpi4py"})


def _error_types():
    return (UserError, DataError, SpecError, CheckpointError, MetricsError, ValueError, OSError)


def one_line(e: BaseException) -> str:
    """The error's first line, at most MAX_MESSAGE_CHARS: its start (the file) and end kept, the middle cut.

    >>> line = one_line(ValueError("f.csv: " + "x" * 5000 + " is not a number"))
    >>> line[:9], len(line), line[-16:], line[600:657]
    ('f.csv: xx', 951, ' is not a number', ' [... message shortened from 5,023 characters ...] xxxxxx')
    """
    text = str(e).strip()
    message = text.splitlines()[0] if text else type(e).__name__
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    head, tail = MAX_MESSAGE_CHARS * 3 // 5, MAX_MESSAGE_CHARS * 3 // 10  # and some 50 characters between
    return f"{message[:head]} [... message shortened from {len(message):,} characters ...] {message[-tail:]}"


def with_option(message: str, parser: argparse.ArgumentParser | None, e: BaseException | None = None) -> str:
    """A library message that starts with an argument's name, with the command's option for it instead.

    >>> p = argparse.ArgumentParser(); _ = p.add_argument("--batch-size", type=int)
    >>> with_option("batch_size must be a positive integer, got 0", p)
    '--batch-size must be a positive integer, got 0'
    >>> with_option("unknown dataset 'x'", p)
    "unknown dataset 'x'"
    >>> with_option("try a smaller batch (batch_size=16)", p)
    'try a smaller batch (--batch-size 16)'
    >>> with_option("runs/batch_size=16/model.safetensors: no such file", p)
    'runs/batch_size=16/model.safetensors: no such file'
    """
    match = re.match(r"(\w+) ", message) if e is None or type(e) is ValueError or isinstance(e, (DataError, RunFolderError)) else None
    options = {} if parser is None else {a.dest: a.option_strings[-1] for a in parser._actions
                                         if a.option_strings and a.option_strings[-1].startswith("--")}
    if match and match.group(1) in options:
        message = options[match.group(1)] + message[match.end(1):]
    message = settings_as_options(message, options)
    if isinstance(e, RunFolderError) and e.remedies and parser is not None:
        flags = {"resume": f"chainrule train --resume {e.folder} continues it",
                 "overwrite": "--overwrite replaces it"}
        shown = [flags[r] for r in e.remedies if r in flags and (r != "overwrite" or "overwrite" in options)]
        if shown:
            message += f" ({'; '.join(shown)})"
    return as_command(message)


def settings_as_options(message: str, options: Mapping[str, str]) -> str:
    """A hint that spells a setting as a keyword argument (``clip_grad=1.0``) with the command's option
    for it (``--clip-grad 1.0``); ``options`` maps names to options. Not inside a path such as
    runs/lr=0.1/model.safetensors.

    >>> settings_as_options("try a lower learning rate than lr=1e+06, or clip_grad=1.0 (runs/lr=1/a)",
    ...                     {"lr": "--lr", "clip_grad": "--clip-grad"})
    'try a lower learning rate than --lr 1e+06, or --clip-grad 1.0 (runs/lr=1/a)'
    """
    return re.sub(r"(?<![\w/.=-])(\w+)=([^\s,;)/=]+)(?=[\s,;)]|$)",
                  lambda m: f"{options[m.group(1)]} {m.group(2)}" if m.group(1) in options else m.group(0), message)


def warn_in_one_line(message, category, filename, lineno, file=None, line=None):
    """A warning as one line on stderr (for ``warnings.showwarning``)."""
    print(f"chainrule: warning: {message}", file=sys.stderr)


def complain(line: str) -> None:
    """One line on stderr, if there is still a stderr (a closed terminal after SIGHUP has none)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _reporting_rank() -> bool:
    """Whether this process reports what every process of a data-parallel run reaches alike
    (a divergence, a stop): rank 0 does; any process reports an error of its own."""
    comm = started()
    return comm is None or comm.rank == 0


def run_command(run: Callable[[argparse.Namespace], int], args: argparse.Namespace,
                parser: argparse.ArgumentParser | None = None) -> int:
    """Run one command's ``run(args)`` and turn what it raises into a line on stderr and an exit status.

    >>> def run(args): raise ValueError("epochs must be a positive integer, got 0")
    >>> p = argparse.ArgumentParser(); _ = p.add_argument("--epochs")
    >>> run_command(run, p.parse_args([]), p)    # prints: chainrule: error: --epochs must be ...
    2

    Under mpirun, a process that fails on its own exits at once (``MPICommunicator.fail``): a
    normal exit would wait in MPI_Finalize for processes that wait for it. What every process
    reaches together (a divergence, an agreed stop) ends them all normally.
    """
    code, every_process = _outcome(run, args, parser)
    comm = started()
    if code and not every_process and comm is not None and comm.size > 1:
        comm.fail("", code)
    return code


def _outcome(run, args, parser) -> tuple[int, bool]:
    """run(args)'s exit status, and whether every process of a data-parallel run ends with it."""
    try:
        with catch_signals(defer=False):  # SIGTERM and SIGHUP stop a command as Ctrl-C does
            code = run(args)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code, True
    except BrokenPipeError:  # chainrule predict ... | head: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0, True
    except Interrupted as e:  # training's "saved ...; continue with ...", the pictures' "complete and saved"
        # A signal to this process alone (outside training's agreed stop) ends it at once: the others,
        # waiting for it, are then stopped by mpirun.
        if _reporting_rank() or not e.every_process:
            complain(f"chainrule: {as_command(str(e))}")
        return EXIT_SIGNAL + e.signum, e.every_process
    except KeyboardInterrupt:
        complain("chainrule: interrupted")
        return EXIT_SIGNAL + signal.SIGINT, False
    except TrainingDiverged as e:
        if _reporting_rank():
            complain(f"chainrule: error: {with_option(one_line(e), parser, e)}")
        return EXIT_DIVERGED, True  # decided on the loss every process shares
    except MemoryError as e:  # data within the size limits can still need more than this machine has
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        complain(f"chainrule: error: out of memory ({one_line(e) if str(e).strip() else 'no more could be allocated'})")
        return EXIT_USAGE, False
    except ModuleNotFoundError as e:  # an optional extra this command needs is not installed: one line
        if e.name not in OPTIONAL_EXTRAS or os.environ.get("CHAINRULE_DEBUG"):
            raise
        complain(f"chainrule: error: {one_line(e)}")
        return EXIT_USAGE, False
    except _error_types() as e:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        shared = getattr(e, "every_process", False)  # raised alike on every process (a resume rank 0 read)
        if _reporting_rank() or not shared:
            complain(f"chainrule: error: {with_option(one_line(e), parser, e)}")
        return EXIT_USAGE, shared

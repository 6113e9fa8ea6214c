"""Progress reporting for training: a tqdm bar on a terminal, plain lines otherwise.

The Trainer calls a Callback's hooks; these reporters turn them into output. Output
that can't be written (a pipe whose reader left, as in ``chainrule train | head -2``,
or a closed terminal) silences the reporter and nothing else: the run goes on and
writes every file.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .extras import installed

__all__ = ["Callback", "TqdmReporter", "LineReporter", "default_reporter", "format_epoch", "count"]


class Callback:
    """Hooks the Trainer calls (all optional)."""

    def on_train_begin(self, trainer) -> None: ...
    def on_epoch_begin(self, epoch: int, batches: int) -> None: ...
    def on_batch_end(self, loss: float, size: int) -> None: ...
    def on_epoch_end(self, metrics: dict[str, Any]) -> None: ...
    def on_train_end(self, summary: dict[str, Any]) -> None: ...


def count(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless n is 1 (the words used here take an "s").

    >>> count(1, "error"), count(3, "epoch"), count(0, "error")
    ('1 error', '3 epochs', '0 errors')
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_epoch(m: dict[str, Any], epochs: int | None = None) -> str:
    """One line per epoch: loss, accuracies and error counts."""
    of = f"/{epochs}" if epochs else ""
    line = (f"epoch {m['epoch']}{of}: loss {m['train_loss']:.4f}, train acc {m['train_accuracy']:.2%} "
            f"({count(m['train_errors'], 'error')})")
    if m.get("val_loss") == m.get("val_loss"):  # not NaN: there is a validation split
        line += (f", val loss {m['val_loss']:.4f}, val acc {m['val_accuracy']:.2%} "
                 f"({count(m['val_errors'], 'error')})")
    return line + f", {m['seconds']:.1f}s"


class LineReporter(Callback):
    """One plain line per epoch (for logs and pipes).

    >>> import io
    >>> r = LineReporter(io.StringIO()); r.stream.close(); r.say("lost")   # a closed stream: quiet from now on
    >>> r.stream is None
    True
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.epochs = None

    def _quietly(self, write, *args) -> None:
        """Call ``write``; if the stream is gone (BrokenPipeError, EIO, a closed file), stop reporting."""
        if self.stream is None:
            return
        try:
            write(*args)
        except (OSError, ValueError):  # ValueError: I/O operation on closed file
            self.stream = None

    def say(self, line: str) -> None:
        self._quietly(lambda: print(line, file=self.stream, flush=True))

    def on_train_begin(self, trainer) -> None:
        self.epochs = trainer.config.epochs

    def on_epoch_end(self, metrics):
        self.say(format_epoch(metrics, self.epochs))


class TqdmReporter(LineReporter):
    """A progress bar per epoch with the running loss and throughput (examples/s)."""

    bar = None

    def on_epoch_begin(self, epoch, batches):
        from tqdm.auto import tqdm

        self.bar = None
        self.seen, self.loss_sum = 0, 0.0

        def start():
            self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{self.epochs}", unit="batch", leave=False,
                            file=self.stream, dynamic_ncols=True)
        self._quietly(start)

    def on_batch_end(self, loss, size):
        self.seen += size
        self.loss_sum += loss * size
        if self.bar is not None:
            self._quietly(self._update)

    def _update(self):
        self.bar.update(1)
        if self.bar.n % 10 == 0 or self.bar.n == self.bar.total:
            rate = self.seen / max(self.bar.format_dict["elapsed"], 1e-9)
            self.bar.set_postfix_str(f"loss {self.loss_sum / self.seen:.4f}, {rate:,.0f} ex/s",
                                     refresh=self.bar.n == self.bar.total)

    def on_epoch_end(self, metrics):
        if self.bar is not None:
            self._quietly(self.bar.close)
        super().on_epoch_end(metrics)


def default_reporter(stream: TextIO | None = None) -> Callback:
    """A tqdm bar on a terminal, one line per epoch when output is a file or a pipe, or when tqdm
    is not installed.

    >>> import io
    >>> type(default_reporter(io.StringIO())).__name__
    'LineReporter'
    """
    stream = stream or sys.stdout
    return TqdmReporter(stream) if stream.isatty() and installed("tqdm") else LineReporter(stream)

"""Progress reporting for training: a tqdm bar on a terminal, plain lines otherwise.

The Trainer calls a Callback's hooks; these reporters turn them into output.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["Callback", "TqdmReporter", "LineReporter", "default_reporter", "format_epoch"]


class Callback:
    """Hooks the Trainer calls (all optional)."""

    def on_train_begin(self, trainer) -> None: ...
    def on_epoch_begin(self, epoch: int, batches: int) -> None: ...
    def on_batch_end(self, loss: float, size: int) -> None: ...
    def on_epoch_end(self, metrics: dict[str, Any]) -> None: ...
    def on_train_end(self, summary: dict[str, Any]) -> None: ...


def format_epoch(m: dict[str, Any], epochs: int | None = None) -> str:
    """One line per epoch: loss, accuracies and error counts."""
    of = f"/{epochs}" if epochs else ""
    line = (f"epoch {m['epoch']}{of}: loss {m['train_loss']:.4f}, train acc {m['train_accuracy']:.2%} "
            f"({m['train_errors']} errors)")
    if m.get("val_loss") == m.get("val_loss"):  # not NaN: there is a validation split
        line += f", val loss {m['val_loss']:.4f}, val acc {m['val_accuracy']:.2%} ({m['val_errors']} errors)"
    return line + f", {m['seconds']:.1f}s"


class LineReporter(Callback):
    """One plain line per epoch (for logs and pipes)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.epochs = None

    def on_train_begin(self, trainer) -> None:
        self.epochs = trainer.config.epochs

    def on_epoch_end(self, metrics):
        print(format_epoch(metrics, self.epochs), file=self.stream, flush=True)


class TqdmReporter(LineReporter):
    """A progress bar per epoch with the running loss and throughput (examples/s)."""

    def on_epoch_begin(self, epoch, batches):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{self.epochs}", unit="batch", leave=False,
                        file=self.stream, dynamic_ncols=True)
        self.seen, self.loss_sum = 0, 0.0

    def on_batch_end(self, loss, size):
        self.seen += size
        self.loss_sum += loss * size
        self.bar.update(1)
        if self.bar.n % 10 == 0 or self.bar.n == self.bar.total:
            rate = self.seen / max(self.bar.format_dict["elapsed"], 1e-9)
            self.bar.set_postfix_str(f"loss {self.loss_sum / self.seen:.4f}, {rate:,.0f} ex/s",
                                     refresh=self.bar.n == self.bar.total)

    def on_epoch_end(self, metrics):
        self.bar.close()
        super().on_epoch_end(metrics)


def default_reporter(stream: TextIO | None = None) -> Callback:
    """A tqdm bar on a terminal, one line per epoch when output is a file or a pipe."""
    stream = stream or sys.stdout
    return TqdmReporter(stream) if stream.isatty() else LineReporter(stream)

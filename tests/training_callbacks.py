"""Callbacks the training tests share (on the path through pytest's ``pythonpath``; not a test module)."""

from __future__ import annotations

import chainrule as cr


class InterruptAt(cr.progress.Callback):
    """Sets the Ctrl-C flag after a given step of a given epoch, as the SIGINT handler does
    (``step`` None: the epoch's last step), once."""

    def __init__(self, epoch: int, step: int | None):
        self.epoch, self.step, self.trainer, self.fired = epoch, step, None, False

    def on_train_begin(self, trainer):
        self.trainer = trainer

    def on_epoch_begin(self, epoch, steps):
        self.current, self.steps, self.done = epoch, steps, 0

    def on_batch_end(self, loss, size):
        self.done += 1
        if not self.fired and self.current == self.epoch and self.done == (self.step or self.steps):
            self.trainer._interrupted = self.fired = True

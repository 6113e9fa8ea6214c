"""Diagnostics while a network trains: what ``TrainConfig.diagnostics`` records every epoch.

A Recorder picks a fixed probe set once (PROBE_SIZE training examples, drawn by its own
generator seeded from the run's seed: the loader's, the augmentation's and the global streams
are not touched), measures the real update of every Linear weight around optimizer steps
(θ after minus θ before: right for Adam and momentum too, where lr·g is not the step taken),
and at each epoch's end runs ``layer_stats`` on the probe set, adds the update ratios
‖Δθ‖/‖θ‖ (θ before the step, as CS231n's notes compute it) to the Linear rows, judges the
rows (``check_layers``, ``check_updates``) and warns of each kind of finding once per run.

Which steps are measured: an evenly spaced sample of STEPS_MEASURED steps per epoch, ending
with the last (every step of an epoch shorter than that). Measuring every step
costs a copy, a subtraction and two norms of every weight matrix per step: on Fashion-MNIST
with 784-200tanh-10 at batch 32 that is about 80 µs on steps of about 800 µs, some 10% of
the epoch on its own, the whole budget (``benchmarks/diagnostics_overhead.py`` measures both).
A sample of 32 steps costs a few milliseconds an epoch, and its mean came within 5% of every
step's in the first two epochs of that run (the first step, Adam's largest relative update, is
left out of long epochs' samples: it weighs 1/1688 in the epoch's mean, 1/32 in a sample's);
``update_steps`` says how many steps the mean is over.

>>> import numpy as np, chainrule as cr
>>> net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
>>> x, y = np.ones((10, 4), np.float32), np.arange(10) % 3
>>> rec = Recorder(net, x, y, seed=0, steps_per_epoch=1)
>>> opt = cr.optim.SGD(net.parameters(), lr=0.1)
>>> loss = cr.nn.CrossEntropyLoss(); _ = loss.fprop(net.fprop(x), y); _ = net.bprop(loss.bprop())
>>> rec.before_step(1)
True
>>> opt.step(); rec.after_step()
>>> line = rec.end_epoch(1, lr=0.1, initial_lr=0.1)
>>> line["probe_size"], line["layers"][0]["update_steps"], line["layers"][0]["update_ratio"] > 0
(10, 1, True)
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from typing import Any

import numpy as np

from ..data.files import read_text
from ..nn import Linear
from .rules import check_layers, check_updates
from .stats import _number, layer_stats, sequential_layers

__all__ = ["Recorder", "DiagnosticsWarning", "PROBE_SIZE", "STEPS_MEASURED", "HISTOGRAM_BINS"]

PROBE_SIZE = 1000  # training examples in the probe set (all of them when there are fewer)
STEPS_MEASURED = 32  # optimizer steps per epoch whose update is measured (see the module's notes)
HISTOGRAM_BINS = 30


class DiagnosticsWarning(UserWarning):
    """A diagnostics finding while training (saturation, dead units, vanishing gradients, exploding or
    stalled updates), with what to do; each kind is warned once per run."""


def _warn(message: str) -> None:
    """A DiagnosticsWarning attributed to the Recorder's caller, shown in every run: the Recorder already
    says each kind once per run, and Python's "default" filter would hide a second run's same line
    (its registry of places that warned is per module, not per run); "ignore" and "error" still apply."""
    caller = sys._getframe(2)
    warnings.warn_explicit(message, DiagnosticsWarning, caller.f_code.co_filename, caller.f_lineno,
                           registry={}, module_globals=caller.f_globals)


class Recorder:
    """Per-epoch diagnostics of ``model`` (a Classifier or a Sequential) trained on (x, y).

    Around a step: ``before_step(step)`` (1-based within the epoch; True when this step is
    measured), then, after ``optimizer.step()``, ``after_step()`` if it was. At the epoch's end,
    ``end_epoch(epoch, lr, initial_lr)`` returns the epoch's line (also kept in ``lines``) and warns
    of new findings (DiagnosticsWarning; kept in ``warnings`` as summary.json holds them).
    """

    def __init__(self, model: Any, x: np.ndarray, y: np.ndarray, seed: int, steps_per_epoch: int, *,
                 probe_size: int = PROBE_SIZE, steps_measured: int | None = None):
        self.model = model
        rng = np.random.default_rng([seed, 2])  # its own stream: the run's draws stay as they are
        n = len(y)
        chosen = np.sort(rng.choice(n, size=min(probe_size, n), replace=False))
        self.probe_x, self.probe_y = x[chosen], y[chosen]
        net = getattr(model, "net", model)
        self.names = [name for name, layer in sequential_layers(net) if isinstance(layer, Linear)]
        layers = dict(net.named_modules(remove_duplicate=False))  # a layer used twice is at both its names
        self.params = [layers[name].weight for name in self.names]
        self.before = [np.empty_like(p.data) for p in self.params]  # θ before the step, made once
        k = STEPS_MEASURED if steps_measured is None else steps_measured
        count = min(max(k, 1), steps_per_epoch)  # steps ⌈i·S/count⌉ for i = 1..count: distinct, the last is S
        self.measured = frozenset((-(-np.arange(1, count + 1) * steps_per_epoch // count)).tolist())
        self.lines: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self._reset()

    def _reset(self) -> None:
        self.sums = [0.0] * len(self.params)
        self.last: list[float] = [math.nan] * len(self.params)
        self.steps = 0

    def before_step(self, step: int) -> bool:
        """Whether step ``step`` of the epoch (from 1) is measured; if so, θ of every Linear weight is kept."""
        if step not in self.measured:
            return False
        for p, buffer in zip(self.params, self.before):
            np.copyto(buffer, p.data)
        return True

    def after_step(self) -> None:
        """After a measured step: ‖θ after − θ before‖ / ‖θ before‖ of every Linear weight."""
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (p, buffer) in enumerate(zip(self.params, self.before)):
                scale = float(np.linalg.norm(buffer))
                np.subtract(p.data, buffer, out=buffer)
                change = float(np.linalg.norm(buffer))
                ratio = change / scale if scale else (math.inf if change else math.nan)
                self.sums[i] += ratio
                self.last[i] = ratio
        self.steps += 1

    def end_epoch(self, epoch: int, lr: float, initial_lr: float) -> dict[str, Any]:
        """The epoch's line of diagnostics.jsonl; warns of each kind of finding the run has not warned of."""
        rows = layer_stats(self.model, self.probe_x, self.probe_y, histogram_bins=HISTOGRAM_BINS)
        index = {name: i for i, name in enumerate(self.names)}
        for row in rows:
            i = index.get(row["name"])
            if i is not None:
                row["update_ratio"] = _number(self.last[i])
                row["update_ratio_mean"] = _number(self.sums[i] / self.steps) if self.steps else None
                row["update_steps"] = self.steps
        line = {"epoch": epoch, "lr": lr, "probe_size": len(self.probe_y), "layers": rows}
        self.lines.append(line)
        self._reset()
        findings = check_layers(rows, lr=initial_lr) + check_updates(rows, lr=initial_lr,
                                                                     lr_fraction=lr / initial_lr)
        warned = {w["kind"] for w in self.warnings}
        for f in findings:
            if f.kind not in warned:
                self.warnings.append({"kind": f.kind, "epoch": epoch, "layer": f.layer, "value": _number(f.value),
                                      "message": f.message})
                _warn(f.message)
        return line

    # ------------------------------------------------------------- resume
    def state_dict(self) -> dict[str, Any]:
        """What an interrupted run needs to continue its diagnostics: the warnings given and the
        unfinished epoch's sums (non-finite figures as None)."""
        return {"warnings": list(self.warnings), "sums": [_number(s) for s in self.sums], "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """The state ``state_dict`` gave (None: a fresh one). ValueError when it does not fit this model."""
        if state is None:
            return
        if len(state["sums"]) != len(self.params):
            raise ValueError(f"field 'resume.diagnostics.sums' has {len(state['sums'])} figures, the model has "
                             f"{len(self.params)} Linear layers")
        self.warnings = [dict(w) for w in state["warnings"]]
        self.sums = [math.nan if s is None else float(s) for s in state["sums"]]
        self.steps = state["steps"]

    def load_lines(self, path: str | os.PathLike, epochs: int) -> None:
        """The lines of a run's diagnostics file for its first ``epochs`` epochs (a resumed run drops
        what was written after its saved state); a missing file, or a line that is not one of
        them, ends what is kept."""
        self.lines = []
        try:
            text = read_text(path, error=OSError)
        except OSError:
            return
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except (json.JSONDecodeError, RecursionError):
                return
            if len(self.lines) >= epochs or not isinstance(line, dict) or line.get("epoch") != len(self.lines) + 1:
                return
            self.lines.append(line)

"""Training: minibatch SGD on per-epoch permutations, validation, early stopping.

The loop is the exercise's, on the fast path (``fprop``/``bprop``, no tape):

    for each epoch:                       (a fresh permutation of the training split)
        for each mini-batch:
            z = net.fprop(x);  loss = criterion.fprop(z, y)
            net.bprop(criterion.bprop());  optimizer.step()
        evaluate the validation split;  keep the best weights;  stop when patience runs out
    restore the best weights;  evaluate the test set once

``fit`` is the one-call API that mirrors ``chainrule train``.

>>> import chainrule as cr
>>> result = cr.fit("moons", model="16tanh", epochs=3, quiet=True)
>>> sorted(result.summary)[:3]
['best_epoch', 'config', 'dataset']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, optim
from .autograd.ops import NonFiniteError, log_softmax
from .data import Data, DataError, DataLoader, load_dataset, train_val_split
from .atomic import atomic_write
from .data.files import read_text
from .data.augment import random_shift
from .io import CheckpointError, load_weights, save_weights
from .model import METADATA, Classifier, check_metadata, load, save
from .nn import CrossEntropyLoss
from .nn.utils import clip_grad_norm_
from .progress import Callback, default_reporter
from .random import default_generator, manual_seed
from .rundir import BEST, LAST, METRICS, SUMMARY, RunFileError, claim
from .rundir import PICTURES, RUN_FILES, prepare_out  # noqa: F401  (also reachable as chainrule.train.*)
from .threads import blas_threads, limit_threads
from .schema import Bool, Field, Int, List, Nullable, Num, Record, SchemaError, Str, check

__all__ = ["DEFAULTS", "DEFAULT_MODEL", "TrainConfig", "Trainer", "FitResult", "fit", "resume", "TrainingDiverged",
           "Interrupted", "TrainingInterrupted", "catch_signals", "ResumeWarning", "MetricsError", "evaluate_arrays",
           "read_metrics", "saved_config", "fingerprint", "data_sha256"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine")


class TrainingDiverged(RuntimeError):
    """The loss or the gradients stopped being finite."""


class ResumeWarning(UserWarning):
    """A run resumed where it was not saved (another chainrule or NumPy, another BLAS thread count):
    it continues, but its weights will not be bitwise those of an uninterrupted run."""


class MetricsError(ValueError):
    """A metrics.jsonl that is not what chainrule writes (one line names the file and the line)."""


@dataclass
class TrainConfig:
    """Every knob of a training run (the command line's options)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 0.1
    optimizer: str = "momentum"
    momentum: float = 0.9
    weight_decay: float = 0.0
    patience: int | None = 5
    val_split: float = 0.1
    seed: int = 0
    schedule: str = "none"
    clip_grad: float | None = None
    shift: int = 0  # augmentation: move training images by up to this many pixels

    def validate(self) -> "TrainConfig":
        """Check every field against CONFIG_SCHEMA (raising ValueError naming the option); a
        patience of 0 becomes None (never stop early), as on the command line.

        >>> TrainConfig(patience=0).validate().patience is None
        True
        """
        try:
            check(asdict(self), CONFIG_SCHEMA)
        except SchemaError as e:
            raise ValueError(f"--{e.where.replace('_', '-')} {e.problem}") from None
        if self.patience == 0:
            self.patience = None
        for name in ("lr", "momentum", "weight_decay", "val_split", "clip_grad"):  # an int given for a float
            if getattr(self, name) is not None:
                setattr(self, name, float(getattr(self, name)))
        return self


def _needing(field: Field, need: str) -> Field:
    field.need = need
    return field


# What each TrainConfig field may be: the one check of the command line's options, fit()'s
# arguments and a checkpoint's train_config.
CONFIG_SCHEMA = Record(
    epochs=Int(1), batch_size=Int(1), lr=Num(0, lo_open=True), optimizer=Str(OPTIMIZERS),
    momentum=Num(0, 1, hi_open=True), weight_decay=Num(0),
    patience=_needing(Nullable(Int(0)), "a non-negative integer (0: never stop early)"),
    val_split=Num(0, 1, hi_open=True), seed=Int(0), schedule=Str(SCHEDULES),
    clip_grad=_needing(Nullable(Num(0, lo_open=True)), "a positive number"), shift=Int(0, 8))


def make_optimizer(params, config: TrainConfig) -> optim.Optimizer:
    kind, lr, wd = config.optimizer, config.lr, config.weight_decay
    if kind == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=wd)
    if kind in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=kind == "nesterov", weight_decay=wd)
    if kind == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    return optim.AdamW(params, lr=lr, weight_decay=wd)


def make_schedule(optimizer: optim.Optimizer, config: TrainConfig) -> optim.lr_scheduler.LRScheduler:
    if config.schedule == "step":  # full rate for the first third, a tenth for the second, a hundredth for the last
        # ceiling division in integers: epochs beyond float range (a checkpoint may say so) stay exact
        return optim.StepLR(optimizer, step_size=max(1, -(-config.epochs // 3)), gamma=0.1)
    if config.schedule == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return optim.ConstantLR(optimizer, factor=1.0)  # no schedule


def evaluate_arrays(model: Classifier, x: np.ndarray, y: np.ndarray) -> dict[str, float | int]:
    """Loss, accuracy and error count of a model on (x, y), in eval mode.

    Weights too large for float32 give a non-finite loss, not NumPy's overflow warnings: callers
    check the loss (training's validation keeps such an epoch from being the best).
    """
    if len(x) == 0:
        return {"loss": float("nan"), "accuracy": float("nan"), "errors": 0, "size": 0,
                "predictions": np.zeros(0, np.int64)}
    with np.errstate(over="ignore", invalid="ignore"):
        logits = model.logits(x)
        logp = log_softmax(logits, axis=1)
    predicted = logits.argmax(axis=1)
    errors = int((predicted != y).sum())
    return {"loss": float(-logp[np.arange(len(y)), y].mean()), "accuracy": 1 - errors / len(y),
            "errors": errors, "size": int(len(y)), "predictions": predicted}


@dataclass
class FitResult:
    model: Classifier
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    out_dir: Path | None = None
    test_labels: np.ndarray | None = field(default=None, repr=False)
    test_predictions: np.ndarray | None = field(default=None, repr=False)


# The signals that ask a run to stop: Ctrl-C, and what batch schedulers, `docker stop`, `timeout`
# (SIGTERM) and a closed terminal (SIGHUP) send. Windows has no SIGHUP.
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                     if s is not None)


class Interrupted(KeyboardInterrupt):
    """Stopped by a signal; ``signum`` says which (a shell reports 128 + signum as the status).

    >>> Interrupted("interrupted", signal.SIGTERM).signum
    15
    """

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


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON for the files a user reads (metrics.jsonl, summary.json, tune.json): a NaN
    (no validation split, a diverged loss) is written as null, since NaN is not JSON.

    >>> to_json({"val_loss": float("nan"), "epoch": 1})
    '{"val_loss": null, "epoch": 1}'
    """
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else v  # ±inf stays (Python reads it back; rare enough)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(value), indent=indent)




class Trainer:
    """Trains a Classifier on a Data set with a TrainConfig; writes into out_dir if given.

    With an out_dir, ``last.safetensors`` holds everything needed to continue
    (weights, optimizer buffers, best weights, RNG states, loader position,
    history) and is rewritten atomically at the end of every epoch and on
    a stop signal (Ctrl-C, SIGTERM, SIGHUP); ``Trainer.resume(out_dir)`` continues
    from it and ends with the same weights, bit for bit, as a run that was never
    stopped. The run holds out_dir (``rundir.claim``) from its start to its end.
    """

    def __init__(self, model: Classifier, data: Data, config: TrainConfig, out_dir: str | os.PathLike | None = None,
                 callback: Callback | None = None):
        self.model, self.data, self.config = model, data, config.validate()
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.callback = callback or Callback()
        try:
            self.x_train, self.y_train, self.x_val, self.y_val = train_val_split(
                data.x_train, data.y_train, config.val_split, seed=config.seed)
        except DataError:  # the fraction is valid (validate() checked it): it rounds to no example at all
            raise DataError(f"--val-split {config.val_split} of {data.name}'s {len(data.y_train)} training examples "
                            f"leaves none for validation; use a larger split, or train without one (chainrule train --val-split 0)"
                            ) from None
        # The hot loop's loader: shuffled every epoch, batches gathered into reused buffers.
        self.loader = DataLoader(self.x_train, self.y_train, config.batch_size, shuffle=True, seed=config.seed,
                                 reuse_buffers=True)
        self.criterion = CrossEntropyLoss()
        if config.shift and (not data.image_shape or len(data.image_shape) != 2):
            raise ValueError(f"--shift needs image data; {data.name} has no 2-D image shape")
        self.augment_rng = np.random.default_rng([config.seed, 1])  # its own stream: shifts don't move the batches
        self.optimizer = make_optimizer(model.net.parameters(), config)
        self.schedule = make_schedule(self.optimizer, config)
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None  # metrics and a copy of the weights of the best epoch
        self.bad_epochs = 0
        self.stopped_early = False
        self.partial: dict[str, Any] | None = None  # running sums of an unfinished epoch
        self.resumed = False  # set by resume(): last.safetensors is this run's own
        self.threads: int | None = None  # set by resume(): the BLAS thread count the run was saved with
        self._fingerprint: dict[str, Any] | None = None  # what bitwise resume depends on (see save_last)
        self._interrupted = False  # a stop signal came: stop after the current step
        self._signum = signal.SIGINT  # which one
        self._saved: str | None = None  # what last.safetensors holds, once this run wrote or read it

    # ---------------------------------------------------------------- one epoch
    def train_epoch(self, epoch: int) -> dict[str, Any]:
        net, criterion, optimizer, cfg = self.model.net, self.criterion, self.optimizer, self.config
        net.train()
        sums = self.partial or {"loss": 0.0, "correct": 0, "seen": 0, "steps": 0, "seconds": 0.0}
        self.partial = None
        started = time.perf_counter() - sums["seconds"]
        self.callback.on_epoch_begin(epoch, len(self.loader))
        for xb, yb in self.loader:
            step = sums["steps"] + 1
            optimizer.zero_grad()
            if cfg.shift:
                xb = random_shift(xb, self.data.image_shape, cfg.shift, self.augment_rng)
            z = net.fprop(xb)
            try:
                loss = criterion.fprop(z, yb)
            except NonFiniteError:
                loss = float("nan")
            if not math.isfinite(loss):
                self._diverged(epoch, step, f"the loss is {loss}")
            net.bprop(criterion.bprop(), input_grad=False)
            if cfg.clip_grad is not None:
                norm = float(clip_grad_norm_(net.parameters(), cfg.clip_grad))
                if not math.isfinite(norm):
                    self._diverged(epoch, step, f"the gradient norm is {norm}")
            optimizer.step()
            n = len(yb)
            sums["loss"] += loss * n
            sums["correct"] += int((z.argmax(axis=1) == yb).sum())
            sums["seen"] += n
            sums["steps"] = step
            self.callback.on_batch_end(loss, n)
            # Ctrl-C: this step is done; save and stop. On the epoch's last step the loader has
            # already moved to the next epoch, so the epoch is finished and fit() stops after it.
            if self._interrupted and step < len(self.loader):
                sums["seconds"] = time.perf_counter() - started
                self.partial = sums
                self._stop_interrupted(epoch, step)
        val = evaluate_arrays(self.model, self.x_val, self.y_val)
        seen, correct = sums["seen"], sums["correct"]
        return {
            "epoch": epoch, "lr": optimizer.lr,
            "train_loss": sums["loss"] / seen, "train_accuracy": correct / seen, "train_errors": seen - correct,
            "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_errors": val["errors"],
            "seconds": time.perf_counter() - started,
        }

    def _diverged(self, epoch: int, step: int, what: str):
        where = f"; {self._last_good()}" if self._saved is not None else ""  # (only a run with out_dir saves)
        raise TrainingDiverged(
            f"training diverged at epoch {epoch}, step {step}: {what}{where}; "
            f"try a lower --lr (now {self.config.lr:g}) or --clip-grad 1.0")

    def _ask_to_stop(self, signum: int) -> None:
        self._interrupted, self._signum = True, signum

    def _stop_interrupted(self, epoch: int, step: int):
        how = "interrupted" if self._signum == signal.SIGINT else f"interrupted ({signal.Signals(self._signum).name})"
        if self.out_dir is None:
            raise TrainingInterrupted(f"{how} at epoch {epoch}, step {step}", None, self._signum)
        self._save_last()
        raise TrainingInterrupted(
            f"{how} at epoch {epoch}, step {step}; saved {self.out_dir / LAST}; "
            f"continue with: chainrule train --resume {self.out_dir}", self.out_dir, self._signum)

    def _progress(self) -> str:
        """How far the run is, as last.safetensors would record it now."""
        if self.partial:
            return f"epoch {len(self.history) + 1}, step {self.partial['steps']}"
        return f"epoch {len(self.history)}" if self.history else "the initial weights"

    def _last_good(self) -> str:
        if self._saved is None:
            return "nothing of this run is saved yet"
        return f"the last good state ({self._saved}) is intact in {self.out_dir / LAST}"

    @contextlib.contextmanager
    def _writing(self, path: Path) -> Iterator[None]:
        """An OSError (a full disk, say) while writing a run file names the file and the state that
        is intact: atomic writes leave the previous version of every file as it was."""
        try:
            yield
        except RunFileError:
            raise
        except OSError as e:
            raise RunFileError(f"cannot write {path} ({e.strerror or e}); {self._last_good()}") from None

    def _save_last(self) -> None:
        with self._writing(self.out_dir / LAST):
            self.save_last()
        self._saved = self._progress()

    # ------------------------------------------------------------------ the run
    def fit(self) -> FitResult:
        """Train for the configured epochs or until early stopping, then test once. With an
        out_dir, hold the folder for the whole run (another run there is refused) and keep its
        files current. A stop signal (SIGINT, SIGTERM, SIGHUP) finishes the step, saves ``last``
        and raises TrainingInterrupted; a second one raises it at once."""
        holding = claim(self.out_dir, resume=self.resumed) if self.out_dir is not None else contextlib.nullcontext()
        with holding, catch_signals(on_first=self._ask_to_stop):
            try:
                return self._fit()
            except TrainingInterrupted:
                raise
            except Interrupted as e:  # a second signal: stopped at once, wherever the run was
                hint = f"; continue with: chainrule train --resume {self.out_dir}" if self._saved is not None else ""
                where = f"; {self._last_good()}{hint}" if self.out_dir is not None else ""
                raise TrainingInterrupted(f"stopped at once by a second signal{where}", self.out_dir,
                                          e.signum) from None

    def _fit(self) -> FitResult:
        cfg = self.config
        if self.out_dir is not None:
            self._saved = self._progress() if self.resumed else None
            self._rewrite_metrics()
            if not self.resumed:
                self._save_last()  # so that even a crash in epoch 1 leaves a state to resume from
        self.callback.on_train_begin(self)
        # Overflow is detected explicitly (a non-finite loss stops the run), not warned about.
        with np.errstate(over="ignore", invalid="ignore"):
            while len(self.history) < cfg.epochs and not self.stopped_early:
                epoch = len(self.history) + 1
                metrics = self.train_epoch(epoch)
                self.schedule.step()
                self.history.append(metrics)
                improved = self._track_best(metrics)
                if (cfg.patience is not None and len(self.x_val) and self.bad_epochs >= cfg.patience
                        and len(self.history) < cfg.epochs):
                    self.stopped_early = True
                if self.out_dir is not None:
                    self._rewrite_metrics()  # whole and atomic, as every run file: never through a link
                    if improved:
                        with self._writing(self.out_dir / BEST):
                            save(self.model, self.out_dir / BEST)
                    self._save_last()
                self.callback.on_epoch_end(metrics)
                if self._interrupted:  # a signal during the epoch's last step or its validation
                    self._stop_interrupted(epoch, len(self.loader))
            result = self._finish()
        if self._interrupted:  # during the test or summary.json: the run is complete, but was asked to stop
            where = (f"; the run is complete and saved in {self.out_dir} (chainrule plot {self.out_dir} draws its "
                     f"pictures)") if self.out_dir is not None else ""
            raise TrainingInterrupted(f"interrupted after the last epoch{where}", self.out_dir, self._signum)
        return result

    def _finish(self) -> FitResult:
        if self.best is None:  # no epoch had a finite validation loss: keep the last weights
            self.best = {"score": math.nan, "metrics": self.history[-1], "weights": self.model.net.state_dict()}
        self.model.net.load_state_dict(self.best["weights"])
        test = evaluate_arrays(self.model, self.data.x_test, self.data.y_test)  # once, at the end
        best = self.best["metrics"]
        summary = {
            "dataset": self.data.name, "model": self.model.spec, "parameters": self.model.net.num_parameters(),
            "epochs": len(self.history), "best_epoch": best["epoch"], "stopped_early": self.stopped_early,
            "seconds": round(sum(m["seconds"] for m in self.history), 3),
            "train_accuracy": best["train_accuracy"], "val_accuracy": best["val_accuracy"],
            "test_accuracy": test["accuracy"], "test_errors": test["errors"], "test_size": test["size"],
            "test_loss": test["loss"], "train_size": len(self.x_train), "val_size": len(self.x_val),
            "config": asdict(self.config),
        }
        if self.out_dir is not None:
            with self._writing(self.out_dir / SUMMARY), atomic_write(self.out_dir / SUMMARY) as f:
                f.write((to_json(summary, indent=2) + "\n").encode())
        self.callback.on_train_end(summary)
        return FitResult(self.model, self.history, summary, self.out_dir, self.data.y_test, test["predictions"])

    def _track_best(self, metrics: dict[str, Any]) -> bool:
        """Keep a copy of the weights with the lowest validation loss (the last ones without a split)."""
        score = metrics["val_loss"] if len(self.x_val) else -metrics["epoch"]
        if math.isfinite(score) and (self.best is None or score < self.best["score"]):  # NaN is never best
            weights = {k: v.copy() for k, v in self.model.net.state_dict().items()}
            self.best = {"score": score, "metrics": metrics, "weights": weights}
            self.bad_epochs = 0
            return True
        self.bad_epochs += 1
        return False

    def _rewrite_metrics(self) -> None:
        """metrics.jsonl = the history so far (a resumed run drops lines written after ``last``)."""
        with self._writing(self.out_dir / METRICS), atomic_write(self.out_dir / METRICS) as f:
            f.write("".join(to_json(m) + "\n" for m in self.history).encode())

    # ------------------------------------------------------------ save / resume
    def save_last(self) -> None:
        """Write the whole training state to out_dir/last.safetensors, atomically.

        Besides the state, it records what bitwise resume depends on (``fingerprint``):
        the BLAS thread count in effect, the data's SHA-256, chainrule's and NumPy's versions.
        """
        arrays = {f"model.{k}": v for k, v in self.model.net.state_dict().items()}
        opt_state = self.optimizer.state_dict()
        arrays.update({f"optim.{i}.{k}": v for i, buffers in opt_state["state"].items() for k, v in buffers.items()})
        if self.best is not None:
            arrays.update({f"best.{k}": v for k, v in self.best["weights"].items()})
        if self._fingerprint is None:  # once per run: hashing the data takes a moment
            self._fingerprint = fingerprint(self.data)
        meta = self.model.metadata()
        meta["resume"] = {
            "history": self.history,
            "best": None if self.best is None else {"score": self.best["score"], "metrics": self.best["metrics"]},
            "bad_epochs": self.bad_epochs, "stopped_early": self.stopped_early, "partial": self.partial,
            "optimizer": {"lr": self.optimizer.lr},  # its other options are the config's
            "schedule_epoch": self.schedule.last_epoch, "loader": self.loader.state_dict(),
            "augment_rng": self.augment_rng.bit_generator.state, "global_rng": default_generator().bit_generator.state,
            "fingerprint": self._fingerprint,
        }
        save_weights(arrays, self.out_dir / LAST, meta)

    @classmethod
    def resume(cls, out_dir: str | os.PathLike, data_dir: str | None = None,
               callback: Callback | None = None, threads: int | None = None) -> "Trainer":
        """A Trainer that continues the run saved in out_dir/last.safetensors.

        Nothing in the file is used before it is checked: every metadata field against
        STATE_SCHEMA, the fields against each other (epochs, steps, positions), every tensor
        against the model and the optimizer. Any problem is one CheckpointError naming the
        file and the field. Then the fingerprint (what bitwise resume depends on):

        - data whose SHA-256 differs from the recorded one is refused ("the data changed");
        - BLAS threads: ``threads`` (``--threads``) is None, the recorded count is used
          (``trainer.threads``; ``resume()`` applies it); a different count is refused, naming
          both; a count that cannot be applied here (fewer cores) gives a ResumeWarning;
        - another chainrule or NumPy version continues with a ResumeWarning that the result
          will not be bitwise the same, as does a file from before fingerprints were written.
        """
        out_dir = Path(out_dir)
        path = out_dir / LAST
        if not path.is_file():
            raise CheckpointError(f"{out_dir}: nothing to resume (no {LAST}; is this a chainrule train --out folder?)")
        name = os.fspath(path)
        arrays, info = load_weights(path)
        _upgrade_state(info, arrays)
        check_metadata(info, name, STATE_SCHEMA)
        state = info["resume"]
        cfg = TrainConfig(**info["train_config"]).validate()  # checked above: this cannot fail
        saved = state.get("fingerprint")
        threads = _resume_threads(name, saved, threads)
        model = load(path, prefix="model.")
        try:
            data = load_dataset(info["dataset"], data_dir=data_dir, seed=cfg.seed)
        except DataError as e:
            raise CheckpointError(f"{name}: field 'dataset' is {info['dataset']!r}, which cannot be loaded: {e}") from None
        if saved is None:
            warnings.warn(f"{name} does not record the data, BLAS threads and versions it was trained with (an "
                          f"older chainrule wrote it): resuming unchecked; the result may not be bitwise the same "
                          f"as an uninterrupted run", ResumeWarning, stacklevel=2)
        else:
            if data_sha256(data) != saved["data_sha256"]:
                raise CheckpointError(f"{name}: the data changed since this run was saved ({data.name}'s arrays "
                                      f"no longer have the SHA-256 recorded); resume needs the same data: "
                                      f"restore it, or start a new run")
            now = {"chainrule": __version__, "numpy": np.__version__}
            if any(saved[k] != v for k, v in now.items()):
                warnings.warn(f"{name} was saved by chainrule {saved['chainrule']} with NumPy {saved['numpy']}; "
                              f"this is chainrule {now['chainrule']} with NumPy {now['numpy']}: the result will "
                              f"not be bitwise the same as an uninterrupted run", ResumeWarning, stacklevel=2)
        if data.num_features != model.num_features or data.num_classes != model.num_classes:
            raise CheckpointError(f"{name}: the data changed since this run was saved: the model takes "
                                  f"{model.num_features} features and {model.num_classes} classes, {data.name} now "
                                  f"has {data.num_features} and {data.num_classes}")
        try:
            trainer = cls(model, data, cfg, out_dir=out_dir, callback=callback)
        except ValueError as e:  # DataError too: the saved settings do not suit this data
            raise CheckpointError(f"{name}: {e}") from None
        trainer._restore(name, state, arrays)
        trainer.resumed, trainer.threads, trainer._fingerprint = True, threads, saved
        return trainer

    def _restore(self, name: str, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Check the saved state against this trainer (checked field by field already), then load it."""
        def bad(problem: str):
            raise CheckpointError(f"{name}: training state {problem}")

        history, partial, loader = state["history"], state["partial"], state["loader"]
        done, steps = len(history), len(self.loader)
        for i, metrics in enumerate(history):
            if metrics["epoch"] != i + 1:
                bad(f"field 'resume.history[{i}].epoch' is {metrics['epoch']}, expected {i + 1}")
        if loader["num_examples"] != len(self.x_train):
            raise CheckpointError(f"{name}: the data changed since this run was saved: it trained on "
                                  f"{loader['num_examples']} examples, {self.data.name} now gives {len(self.x_train)}")
        position = 0 if partial is None else partial["steps"]
        expected = {
            "resume.schedule_epoch": (state["schedule_epoch"], done),
            "resume.loader.epoch": (loader["epoch"], done),
            "resume.loader.position": (loader["position"], position),
            "resume.loader.batch_size": (loader["batch_size"], self.config.batch_size),
            "resume.loader.shuffle": (loader["shuffle"], True),
            "resume.optimizer.lr": (state["optimizer"]["lr"],
                                    self.schedule.lrs_at(done)[0] if done else self.optimizer.lr),
        }
        for field_name, (value, want) in expected.items():
            if value != want:
                bad(f"field {field_name!r} is {value!r}, expected {want!r} for {done} epochs and {position} steps")
        if state["bad_epochs"] > done:
            bad(f"field 'resume.bad_epochs' is {state['bad_epochs']}, more than the {done} epochs done")
        if partial is not None and (partial["steps"] >= steps or partial["correct"] > partial["seen"]
                                    or partial["seen"] > partial["steps"] * self.config.batch_size):
            bad(f"field 'resume.partial' is not an unfinished epoch of {steps} steps: {partial}")
        best = state["best"]
        if best is not None:
            if best["metrics"]["epoch"] > done:
                bad(f"field 'resume.best.metrics.epoch' is {best['metrics']['epoch']}, after the {done} epochs done")
            score = best["metrics"]["val_loss"] if len(self.x_val) else -best["metrics"]["epoch"]
            if best["score"] != score:  # as _track_best scores an epoch
                bad(f"field 'resume.best.score' is {best['score']!r}, but its epoch scored {score!r}")
        self._check_tensors(bad, arrays, state)
        self.history = list(history)
        self.bad_epochs, self.stopped_early, self.partial = state["bad_epochs"], state["stopped_early"], partial
        if state["best"] is not None:
            weights = {k[len("best."):]: v for k, v in arrays.items() if k.startswith("best.")}
            self.best = {**state["best"], "weights": weights}
        buffers: dict[str, dict[str, np.ndarray]] = {}
        for key, value in arrays.items():
            if key.startswith("optim."):
                i, buffer = key[len("optim."):].split(".", 1)
                buffers.setdefault(i, {})[buffer] = value
        self.optimizer.load_state_dict({"state": buffers, "param_groups": self.optimizer.state_dict()["param_groups"]})
        self.optimizer.lr = state["optimizer"]["lr"]
        self.schedule.last_epoch = state["schedule_epoch"]
        self.loader.load_state_dict(loader)
        self.augment_rng.bit_generator.state = state["augment_rng"]
        default_generator().bit_generator.state = state["global_rng"]

    def _check_tensors(self, bad, arrays: dict[str, np.ndarray], state: dict[str, Any]) -> None:
        """The tensors are exactly the model's, the optimizer's buffers and (once there is one) the best
        epoch's weights: float32 (int64 step counts), shaped as the model's, finite."""
        own = {k: v.shape for k, v in self.model.net.state_dict().items()}
        expected = {f"model.{k}": shape for k, shape in own.items()}
        if state["best"] is not None:
            expected.update({f"best.{k}": shape for k, shape in own.items()})
        done = len(state["history"]) * len(self.loader) + (state["partial"] or {"steps": 0})["steps"]
        if done:  # steps taken: every parameter has its optimizer's buffers
            for i, p in enumerate(self.optimizer.params):
                for buffer in _BUFFERS[self.config.optimizer]:
                    expected[f"optim.{i}.{buffer}"] = () if buffer == "step" else p.shape
        for key in sorted(set(arrays) | set(expected)):
            if key not in expected:
                bad(f"holds tensor {key!r}, which is no part of this run's state")
            if key not in arrays:
                bad(f"lacks tensor {key!r}")
            array, counter = arrays[key], key.endswith(".step")
            if array.shape != expected[key] or array.dtype != (np.int64 if counter else np.float32):
                bad(f"tensor {key!r} is {array.dtype} {array.shape}, expected "
                    f"{'int64' if counter else 'float32'} {expected[key]}")
            if counter and array != done:
                bad(f"tensor {key!r} counts {array} steps, expected {done}")
            if not counter and not np.isfinite(array).all():
                bad(f"tensor {key!r} holds non-finite values")


# What ``chainrule train`` and ``chainrule.fit()`` use when not told otherwise: tuned on digits
# (>= 97% test accuracy in about a second); other data sets usually want their own settings.
DEFAULT_MODEL = "256relu-dropout0.2"
DEFAULTS = TrainConfig(epochs=60, batch_size=32, lr=0.1, optimizer="momentum", weight_decay=5e-4, patience=20,
                       val_split=0.1, seed=0, schedule="cosine")


def fit(dataset: str | Data = "digits", model: str = DEFAULT_MODEL, *, data_dir: str | None = None,
        out: str | os.PathLike | None = None, overwrite: bool = False, quiet: bool = False,
        callback: Callback | None = None, **config: Any) -> FitResult:
    """Train an MLP given by a SPEC on a data set; the Python face of ``chainrule train``.

    Keyword arguments are TrainConfig fields (epochs, batch_size, lr, optimizer,
    weight_decay, patience, val_split, seed, schedule, clip_grad, shift); those not
    given take the command line's defaults (``DEFAULTS``), so ``fit()`` trains what
    ``chainrule train`` trains. ``out`` must be absent, empty, or (with ``overwrite``)
    an old run; the run holds it until it ends, and another run there is refused.
    """
    unknown = sorted(set(config) - set(asdict(DEFAULTS)))
    if unknown:
        raise TypeError(f"fit() got unknown options: {', '.join(unknown)}")
    cfg = TrainConfig(**{**asdict(DEFAULTS), **config}).validate()  # patience 0: never stop early
    with claim(out, overwrite=overwrite) if out is not None else contextlib.nullcontext():
        data = dataset if isinstance(dataset, Data) else load_dataset(dataset, data_dir=data_dir, seed=cfg.seed)
        manual_seed(cfg.seed)  # the initial weights and dropout masks follow the seed
        info = {"dataset": data.source or data.name, "pixel_max": data.pixel_max, "train_config": asdict(cfg)}
        clf = Classifier.from_spec(model, data.num_features, data.classes, data.image_shape, info)
        if callback is None and not quiet:
            callback = default_reporter()
        return Trainer(clf, data, cfg, out_dir=out, callback=callback).fit()


def resume(out: str | os.PathLike, *, data_dir: str | None = None, quiet: bool = False,
           callback: Callback | None = None, threads: int | None = None) -> FitResult:
    """Continue the run saved in ``out`` (``chainrule train --resume OUT``), holding the folder from
    reading its state to the run's end, with the BLAS thread count it was saved with (``threads``
    must be None or that count: see ``Trainer.resume``).

    >>> import tempfile, chainrule as cr
    >>> out = tempfile.mkdtemp()
    >>> _ = cr.fit("xor", model="4tanh", epochs=2, val_split=0, out=out, quiet=True)
    >>> resume(out, quiet=True).summary["epochs"]
    2
    """
    if callback is None and not quiet:
        callback = default_reporter()
    with claim(out, resume=True):
        trainer = Trainer.resume(out, data_dir=data_dir, callback=callback, threads=threads)
        with limit_threads(trainer.threads):
            return trainer.fit()


# ------------------------------------------------------------- the fingerprint
def data_sha256(data: Data) -> str:
    """SHA-256 of a data set's arrays as loaded (dtype, shape and bytes of x/y train and test): a
    changed data set is refused on resume. About 0.15 s for Fashion-MNIST's 220 MB.

    >>> from chainrule.data import load_dataset
    >>> len(data_sha256(load_dataset("xor")))
    64
    """
    h = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(memoryview(array).cast("B"))
    return h.hexdigest()


def fingerprint(data: Data) -> dict[str, Any]:
    """What bitwise resume depends on besides the saved state: BLAS threads, the data, the versions."""
    return {"threads": blas_threads(), "data_sha256": data_sha256(data), "chainrule": __version__,
            "numpy": np.__version__}


def _resume_threads(name: str, saved: dict[str, Any] | None, threads: int | None) -> int | None:
    """The BLAS thread count to resume with: the recorded one; a different ``threads`` is refused."""
    recorded = None if saved is None else saved["threads"]
    if threads is not None and recorded is not None and threads != recorded:
        raise CheckpointError(f"{name}: this run was trained with {recorded} BLAS threads; resuming with {threads} "
                              f"would not give bitwise the same weights: resume without a thread count "
                              f"(it uses {recorded})")
    if recorded is not None:
        with limit_threads(recorded):
            now = blas_threads()
        if now != recorded:
            warnings.warn(f"{name} was trained with {recorded} BLAS threads, and only {now} can be used here: the "
                          f"result will not be bitwise the same as an uninterrupted run", ResumeWarning, stacklevel=3)
    return recorded if recorded is not None else threads


# ----------------------------------------------------------- the saved state
def _upgrade_state(info: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """A training state written by chainrule 0.1.0 before its optimizers took PyTorch's state_dict
    layout, in today's layout (in place): one global ``step_count`` beside the learning rate, and
    SGD's buffer named ``momentum`` (now ``momentum_buffer``; Adam's per-parameter ``step`` is the
    step count where it is missing). Anything else is left for the schema to judge.
    """
    state = info.get("resume")
    optimizer = state.get("optimizer") if isinstance(state, dict) else None
    if not isinstance(optimizer, dict) or "step_count" not in optimizer:
        return
    steps = optimizer.pop("step_count")
    for key in [k for k in arrays if k.startswith("optim.") and k.endswith(".momentum")]:
        arrays[key + "_buffer"] = arrays.pop(key)
    if isinstance(steps, int) and steps >= 0:
        for key in [k for k in arrays if k.startswith("optim.") and k.endswith(".exp_avg")]:
            arrays.setdefault(key[: -len("exp_avg")] + "step", np.array(steps, np.int64))


# The optimizer buffers a training state holds per parameter once a step is taken (their names
# in the optimizer's state_dict, as PyTorch's).
_BUFFERS = {"sgd": (), "momentum": ("momentum_buffer",), "nesterov": ("momentum_buffer",),
            "adam": ("exp_avg", "exp_avg_sq", "step"), "adamw": ("exp_avg", "exp_avg_sq", "step")}

# One line of metrics.jsonl, one entry of the saved history (val_* are NaN without a validation split).
METRICS_SCHEMA = Record(
    epoch=Int(1), lr=Num(0), train_loss=Num(0), train_accuracy=Num(0, 1), train_errors=Int(0),
    val_loss=Num(0, nan=True, inf=True), val_accuracy=Num(0, 1, nan=True), val_errors=Int(0), seconds=Num(0))

# A NumPy bit generator's state as default_rng's PCG64 gives it (bit_generator.state).
_PCG64_STATE = Record(bit_generator=Str(("PCG64",)), state=Record(state=Int(0, 2**128 - 1), inc=Int(0, 2**128 - 1)),
                      has_uint32=Int(0, 1), uinteger=Int(0, 2**32 - 1))

# last.safetensors: a Classifier's metadata, the run's settings and everything else needed to continue.
STATE_SCHEMA = Record(
    {**METADATA.fields, "dataset": Str(),
     "train_config": CONFIG_SCHEMA,
     "resume": Record(
         history=List(METRICS_SCHEMA), best=Nullable(Record(score=Num(), metrics=METRICS_SCHEMA)),
         bad_epochs=Int(0), stopped_early=Bool(),
         partial=Nullable(Record(loss=Num(0), correct=Int(0), seen=Int(1), steps=Int(1), seconds=Num(0))),
         optimizer=Record(lr=Num(0)), schedule_epoch=Int(0),
         loader=Record(bit_generator=_PCG64_STATE, epoch=Int(0), position=Int(0), batch_size=Int(1),
                       num_examples=Int(1), shuffle=Bool()),
         augment_rng=_PCG64_STATE, global_rng=_PCG64_STATE,
         fingerprint=Record(threads=Nullable(Int(1, 4096)), data_sha256=Str(pattern="[0-9a-f]{64}", need="64 hex digits"),
                            chainrule=Str(max_len=100), numpy=Str(max_len=100)),
         optional=("fingerprint",))},
    optional=("format", "image_shape", "pixel_max"), extra=True)


def saved_config(info: dict[str, Any], path: str | os.PathLike) -> TrainConfig | None:
    """The TrainConfig a checkpoint's metadata records (None if it records none), checked field by
    field: CheckpointError names the file and the field. Fields it lacks take their defaults (a
    model file needs only what evaluating it uses, the seed of the split); a training state needs all.

    >>> saved_config({"train_config": {"seed": 3}}, "m.safetensors").seed
    3
    """
    if "train_config" not in info:
        return None
    check_metadata(info, path, Record(train_config=Record(CONFIG_SCHEMA.fields, optional=tuple(CONFIG_SCHEMA.fields)),
                                      extra=True))
    return TrainConfig(**info["train_config"]).validate()


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The history in a run's metrics.jsonl, each line checked: MetricsError names the file and the line.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "metrics.jsonl")
    >>> _ = open(path, "w").write("{}\\n")
    >>> read_metrics(path)
    Traceback (most recent call last):
    ...
    chainrule.train.MetricsError: ...metrics.jsonl line 1: field 'epoch' is missing
    """
    name = os.fspath(path)
    text = read_text(name, error=MetricsError)  # a regular file, its size bounded, UTF-8
    history = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            metrics = json.loads(line)
            if not isinstance(metrics, dict):
                raise MetricsError(f"{name} line {number}: not a JSON object ({line.strip()[:40]})")
            metrics = {k: math.nan if v is None else v for k, v in metrics.items()}  # null: NaN, as to_json wrote it
            check(metrics, METRICS_SCHEMA)
        except (json.JSONDecodeError, RecursionError):
            raise MetricsError(f"{name} line {number}: not valid JSON") from None
        except SchemaError as e:
            raise MetricsError(f"{name} line {number}: {e}") from None
        if metrics["epoch"] != len(history) + 1:
            raise MetricsError(f"{name} line {number}: epoch {metrics['epoch']}, expected {len(history) + 1}")
        history.append(metrics)
    return history

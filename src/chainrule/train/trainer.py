"""The training loop: Trainer runs it, saves its state and resumes it bitwise.

The loop is the exercise's, on the fast path (``fprop``/``bprop``, no tape):

    for each epoch:                       (a fresh permutation of the training split)
        for each mini-batch:
            z = net.fprop(x);  loss = criterion.fprop(z, y)
            net.bprop(criterion.bprop());  optimizer.step()
        evaluate the validation split;  keep the best weights;  stop when patience runs out
    restore the best weights;  evaluate the training split and the test set once

>>> import chainrule as cr
>>> data = cr.data.load_dataset("xor")
>>> clf = cr.Classifier.from_spec("4tanh", data.num_features, data.classes)
>>> result = Trainer(clf, data, TrainConfig(epochs=2, val_split=0)).fit()
>>> len(result.history), result.summary["val_accuracy"]
(2, nan)
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..version import __version__
from ..atomic import atomic_write
from ..data import Data, DataError, DataLoader, load_dataset, train_val_split
from ..data.augment import random_shift
from ..diagnostics import Recorder
from ..distributed import Communicator, SingleProcess
from ..io import CheckpointError, load_weights, save_weights
from ..model import Classifier, check_metadata, from_weights, save
from ..nn import CrossEntropyLoss
from ..nn.utils import clip_grad_norm_
from ..progress import Callback
from ..random import default_generator
from ..rundir import BEST, DIAGNOSTICS, LAST, METRICS, SUMMARY, RunFileError, claim
from .config import TrainConfig, make_optimizer, make_schedule
from .parallel import DataParallel, local_gradients, read_on_rank_zero, warned_by_rank_zero
from .signals import Interrupted, TrainingInterrupted, catch_signals
from .status import run_status
from .state import (STATE_SCHEMA, ResumeWarning, _resume_threads, _upgrade_state, data_sha256,
                    fingerprint, restore, to_json)

__all__ = ["Trainer", "FitResult", "TrainingDiverged"]


FOLD_MAX_BATCH = 256  # benchmarks/README.md: the fold at batch 32 and 100 was faster, at 1000 slower


class TrainingDiverged(RuntimeError):
    """The loss or the gradients stopped being finite."""


def _agreed(stop: TrainingInterrupted) -> TrainingInterrupted:
    """A stop every process of the run reached after the same step (what they agreed on)."""
    stop.every_process = True
    return stop


def _resume_hint(out_dir: Path) -> str:
    """How to continue the run in out_dir (the command line shows its own command instead)."""
    return f"chainrule.train.resume({os.fspath(out_dir)!r})"


@dataclass
class FitResult:
    """What a finished run gives back: the model (with the best weights), the per-epoch history,
    the summary (as summary.json holds it), and the test set's labels and predictions."""

    model: Classifier
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    out_dir: Path | None = None
    test_labels: np.ndarray | None = field(default=None, repr=False)
    test_predictions: np.ndarray | None = field(default=None, repr=False)


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
                 callback: Callback | None = None, comm: Communicator | None = None):
        self.model, self.data, self.config = model, data, config.validate()
        # Data-parallel across comm's processes (train/parallel.py); only rank 0 writes out_dir.
        self.comm = comm or SingleProcess()
        self.parallel = DataParallel(self.comm, model.net)
        self.out_dir = Path(out_dir) if out_dir is not None and self.comm.rank == 0 else None
        self.callback = callback or Callback()
        try:
            self.x_train, self.y_train, self.x_val, self.y_val = train_val_split(
                data.x_train, data.y_train, config.val_split, seed=config.seed)
        except DataError:  # the fraction is valid (validate() checked it): it rounds to no example at all
            raise DataError(f"val_split {config.val_split} of {data.name}'s {len(data.y_train)} training examples "
                            f"leaves none for validation; use a larger split, or train without one (val_split=0)"
                            ) from None
        # The hot loop's loader: shuffled every epoch, batches gathered into reused buffers.
        self.loader = DataLoader(self.x_train, self.y_train, config.batch_size, shuffle=True, seed=config.seed,
                                 reuse_buffers=True)
        self.criterion = CrossEntropyLoss()
        if config.shift and (not data.image_shape or len(data.image_shape) != 2):
            raise ValueError(f"shift needs image data; {data.name} has no 2-D image shape")
        self.augment_rng = np.random.default_rng([config.seed, 1])  # its own stream: shifts don't move the batches
        self.optimizer = make_optimizer(model.net.parameters(), config)
        # SGD's update folded into the weight gradient's GEMM (optim/fold.py) where nothing reads the
        # gradients; at batches up to FOLD_MAX_BATCH, where it measured faster (larger: slower here).
        self.fold = (not config.diagnostics and config.clip_grad is None and self.comm.size == 1
                     and config.batch_size <= FOLD_MAX_BATCH)
        self.schedule = make_schedule(self.optimizer, config)
        # With diagnostics: a probe set, update ratios around some steps, layer statistics every epoch.
        self.recorder = Recorder(model, self.x_train, self.y_train, config.seed, len(self.loader)) \
            if config.diagnostics else None
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
        recorder = self.recorder
        net.train()
        sums = self.partial or {"loss": 0.0, "correct": 0, "seen": 0, "steps": 0, "seconds": 0.0}
        self.partial = None
        started = time.perf_counter() - sums["seconds"]
        self.callback.on_epoch_begin(epoch, len(self.loader))
        for xb, yb in self.loader:
            step = sums["steps"] + 1
            optimizer.zero_grad(fold=self.fold)
            if cfg.shift:  # the whole batch's shifts, on every process alike
                xb = random_shift(xb, self.data.image_shape, cfg.shift, self.augment_rng)
            if self.comm.size == 1:
                loss, z = local_gradients(net, criterion, xb, yb)
                loss_sum, correct = loss * len(yb), int((z.argmax(axis=1) == yb).sum())
            else:  # this process's rows, then one allreduce: every process has the batch's gradient
                loss_sum, correct, agreed = self.parallel.step_gradients(criterion, xb, yb, self._own_signal())
                loss = loss_sum / len(yb)
            if not math.isfinite(loss):
                self._diverged(epoch, step, f"the loss is {loss}")
            if cfg.clip_grad is not None:
                norm = float(clip_grad_norm_(net.parameters(), cfg.clip_grad))
                if not math.isfinite(norm):
                    self._diverged(epoch, step, f"the gradient norm is {norm}")
            measured = recorder is not None and recorder.before_step(step)
            optimizer.step()
            if measured:
                recorder.after_step()
            n = len(yb)
            sums["loss"] += loss_sum
            sums["correct"] += correct
            sums["seen"] += n
            sums["steps"] = step
            self.callback.on_batch_end(loss, n)
            # Ctrl-C: this step is done; save and stop. On the epoch's last step the loader has
            # already moved to the next epoch, so the epoch is finished and fit() stops after it.
            # (Across processes, what every process agreed on in this step's allreduce.)
            stop = self._interrupted if self.comm.size == 1 else self._agree(agreed)
            if stop and step < len(self.loader):
                sums["seconds"] = time.perf_counter() - started
                self.partial = sums
                self._stop_interrupted(epoch, step)
        val = self.parallel.evaluate(self.model, self.x_val, self.y_val)
        seen, correct = sums["seen"], sums["correct"]
        return {
            "epoch": epoch, "lr": optimizer.lr,
            "train_loss": sums["loss"] / seen, "train_accuracy": correct / seen, "train_errors": seen - correct,
            "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_errors": val["errors"] if val["size"] else None,
            "seconds": time.perf_counter() - started,
        }

    def _diverged(self, epoch: int, step: int, what: str):
        where = f"; {self._last_good()}" if self._saved is not None else ""  # (only a run with out_dir saves)
        raise TrainingDiverged(
            f"training diverged at epoch {epoch}, step {step}: {what}{where}; "
            f"try a lower learning rate than lr={self.config.lr:g}, or clip_grad=1.0")

    def _ask_to_stop(self, signum: int) -> None:
        self._interrupted, self._signum = True, signum

    def _stop_requested(self) -> bool:
        """Whether a stop signal came (to any of the processes: they all decide alike)."""
        if self.comm.size == 1:
            return self._interrupted
        return self._agree(self.parallel.stop_signal(self._own_signal()))

    def _own_signal(self) -> int | None:
        return self._signum if self._interrupted else None

    def _agree(self, agreed: int | None) -> bool:
        """Across processes: stop for the signal a process received, as all of them do. A signal that
        comes to this one meanwhile stays recorded, for the next agreement."""
        if agreed is not None:
            self._interrupted, self._signum = True, agreed
        return agreed is not None

    def _stop_interrupted(self, epoch: int, step: int):
        how = "interrupted" if self._signum == signal.SIGINT else f"interrupted ({signal.Signals(self._signum).name})"
        if self.out_dir is None:
            raise _agreed(TrainingInterrupted(f"{how} at epoch {epoch}, step {step}", None, self._signum))
        self._save_last()
        raise _agreed(TrainingInterrupted(
            f"{how} at epoch {epoch}, step {step}; saved {self.out_dir / LAST}; "
            f"continue with: {_resume_hint(self.out_dir)}", self.out_dir, self._signum))

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
        status = run_status(self.out_dir, diverged=TrainingDiverged, resumed=self.resumed)  # status.json, for viewers
        with holding, status, catch_signals(on_first=self._ask_to_stop):
            try:
                return self._fit()
            except TrainingInterrupted:
                raise
            except Interrupted as e:  # a second signal: stopped at once, wherever the run was
                hint = f"; continue with: {_resume_hint(self.out_dir)}" if self._saved is not None else ""
                where = f"; {self._last_good()}{hint}" if self.out_dir is not None else ""
                # (every_process stays False: the other processes of a data-parallel run did not stop here)
                raise TrainingInterrupted(f"stopped at once by a second signal{where}", self.out_dir,
                                          e.signum) from None

    def _fit(self) -> FitResult:
        cfg = self.config
        self.parallel.broadcast(self.optimizer)  # every process starts from rank 0's weights and state
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
                # Replicas stay equal as long as every process gets the same allreduce result, which MPI
                # does not promise: rank 0's weights and optimizer state are sent out again every epoch.
                self.parallel.broadcast(self.optimizer)
                self.schedule.step()
                self.history.append(metrics)
                improved = self._track_best(metrics)
                if self.recorder is not None:  # the epoch's layer statistics, a warning for each new finding
                    with warned_by_rank_zero(self.comm):
                        self.recorder.end_epoch(epoch, metrics["lr"], cfg.lr)
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
                if self._stop_requested():  # a signal during the epoch's last step or its validation
                    self._stop_interrupted(epoch, len(self.loader))
            result = self._finish()
        if self._stop_requested():  # during the test or summary.json: the run is complete, but was asked to stop
            where = (f"; the run is complete and saved in {self.out_dir} (chainrule plot {self.out_dir} draws its "
                     f"pictures)") if self.out_dir is not None else ""
            raise _agreed(TrainingInterrupted(f"interrupted after the last epoch{where}", self.out_dir, self._signum))
        return result

    def _finish(self) -> FitResult:
        if self.best is None:  # no epoch had a finite validation loss: keep the last weights
            self.best = {"score": math.nan, "metrics": self.history[-1], "weights": self.model.net.state_dict()}
        self.model.net.load_state_dict(self.best["weights"])
        # The saved weights on the training split as they are used: eval mode, no shifts (the
        # epochs' train_accuracy is a running figure, with dropout and shifts on).
        train = self.parallel.evaluate(self.model, self.x_train, self.y_train)
        test = self.parallel.evaluate(self.model, self.data.x_test, self.data.y_test, predictions=True)  # once
        best = self.best["metrics"]
        summary = {
            "dataset": self.data.name, "model": self.model.spec, "parameters": self.model.net.num_parameters(),
            "epochs": len(self.history), "best_epoch": best["epoch"], "stopped_early": self.stopped_early,
            "seconds": round(sum(m["seconds"] for m in self.history), 3),
            "train_accuracy": train["accuracy"], "train_accuracy_running": best["train_accuracy"],
            "val_accuracy": best["val_accuracy"],
            "test_accuracy": test["accuracy"], "test_errors": test["errors"], "test_size": test["size"],
            "test_loss": test["loss"], "train_size": len(self.x_train), "val_size": len(self.x_val),
            "processes": self.comm.size,
            "config": asdict(self.config), "warnings": self.recorder.warnings if self.recorder is not None else [],
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
        """metrics.jsonl = the history so far (a resumed run drops lines written after ``last``); the
        same for diagnostics.jsonl with diagnostics on."""
        files = {METRICS: self.history, **({DIAGNOSTICS: self.recorder.lines} if self.recorder is not None else {})}
        for name, lines in files.items():
            with self._writing(self.out_dir / name), atomic_write(self.out_dir / name) as f:
                f.write("".join(to_json(m) + "\n" for m in lines).encode())

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
            **({"diagnostics": self.recorder.state_dict()} if self.recorder is not None else {}),
        }
        save_weights(arrays, self.out_dir / LAST, meta)

    @classmethod
    def resume(cls, out_dir: str | os.PathLike, data_dir: str | None = None,
               callback: Callback | None = None, threads: int | None = None,
               comm: Communicator | None = None) -> "Trainer":
        """A Trainer that continues the run saved in out_dir/last.safetensors.

        Nothing in the file is used before it is checked: every metadata field against
        STATE_SCHEMA, the fields against each other (epochs, steps, positions), every tensor
        against the model and the optimizer. Any problem is one CheckpointError naming the
        file and the field. Then the fingerprint (what bitwise resume depends on):

        - data whose SHA-256 differs from the recorded one is refused ("the data changed");
        - BLAS threads: ``threads`` is None, the recorded count is used
          (``trainer.threads``; ``resume()`` applies it); a different count is refused, naming
          both; a count that cannot be applied here (fewer cores) gives a ResumeWarning;
        - another chainrule or NumPy version continues with a ResumeWarning that the result
          will not be bitwise the same, as does a file from before fingerprints were written.

        With a ``comm`` of several processes, rank 0 reads the file and every process continues
        from what it read: the state is the same whatever the number of processes.
        """
        comm = comm or SingleProcess()
        out_dir = Path(out_dir)
        path = out_dir / LAST
        name = os.fspath(path)

        def read():
            if not path.is_file():
                raise CheckpointError(f"{out_dir}: nothing to resume (no {LAST}; is this the folder of a training "
                                      f"run?)")
            return load_weights(path)

        arrays, info = read_on_rank_zero(comm, read)
        _upgrade_state(info, arrays)
        check_metadata(info, name, STATE_SCHEMA)
        state = info["resume"]
        cfg = TrainConfig(**info["train_config"]).validate()  # checked above: this cannot fail
        saved = state.get("fingerprint")
        threads = _resume_threads(name, saved, threads)
        model = from_weights(arrays, info, path, prefix="model.")
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
            trainer = cls(model, data, cfg, out_dir=out_dir, callback=callback, comm=comm)
        except ValueError as e:  # DataError too: the saved settings do not suit this data
            raise CheckpointError(f"{name}: {e}") from None
        restore(trainer, name, state, arrays)
        if trainer.recorder is not None:
            try:
                trainer.recorder.load_state_dict(state.get("diagnostics"))
            except ValueError as e:
                raise CheckpointError(f"{name}: training state {e}") from None
            if trainer.out_dir is not None:  # the lines rank 0 rewrites; the other processes never read the folder
                trainer.recorder.load_lines(out_dir / DIAGNOSTICS, len(trainer.history))
        trainer.resumed, trainer.threads, trainer._fingerprint = True, threads, saved
        return trainer

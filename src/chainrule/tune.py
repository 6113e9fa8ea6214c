"""Architecture tuning: seeded random search on the validation split, then one test.

The recipe of the "Architecture Tuning" section of Shan-Hung Wu's lecture "Neural
Networks: Design" (NTHU, Machine Learning): pick depth, width,
activation, learning rate, weight decay and dropout by their score on a
**validation** split carved out of the training set; only the winner ever sees
the test set, once, after it has been retrained on train+val::

    for each trial (a budget of N trials or M minutes):
        draw a configuration from the search space (a seeded generator)
        train it on the training part, score it on the validation part
    rank the trials by validation accuracy (then validation loss)
    retrain the best on train+val for its best epoch count; evaluate the test set once

Every trial uses the same seed, so the same validation split and comparable
initial weights; the search's own generator is seeded separately, so the same
``seed`` draws the same trials. Sampled numbers are rounded to two
significant digits so that the ``chainrule train`` command recorded in
``tune.json`` reproduces the final model exactly.

>>> result = tune("moons", trials=2, epochs=2, seed=0, space=SearchSpace(widths=(8,), depths=(1,)))
>>> len(result.trials), result.best["rank"], 0.5 < result.final["test_accuracy"] <= 1
(2, 1, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .atomic import atomic_write
from .data import Data, DataError, load_dataset, train_val_split
from .model import save
from .progress import Callback
from .rundir import claim
from .spec import ACTIVATIONS
from .train import DEFAULT_DATASET, OPTIMIZERS, TrainConfig, TrainingDiverged, fit, to_json

__all__ = ["SearchSpace", "TuneResult", "tune", "sample_trials", "rank_trials", "format_table", "format_number",
           "train_command", "DEFAULT_LR", "SEARCHED", "DEFAULT_TRIALS"]

DEFAULT_TRIALS = 20  # the search's length when neither trials nor minutes is given

# Learning rates are log-uniform in a range that suits the optimizer, unless given.
DEFAULT_LR = {"sgd": (0.01, 0.5), "momentum": (0.005, 0.2), "nesterov": (0.005, 0.2),
              "adam": (1e-4, 3e-3), "adamw": (1e-4, 3e-3)}
# The TrainConfig fields each trial draws; the others are the same for every trial (tune's **config).
SEARCHED = ("optimizer", "lr", "weight_decay")


def _round2(x: float) -> float:
    """Two significant digits, so a sampled value prints exactly (0.0123456 -> 0.012)."""
    return float(f"{x:.2g}")


@dataclass(frozen=True)
class SearchSpace:
    """Where random search looks. Hidden layers of one configuration share width, activation and dropout.

    depths, widths, activations, dropouts and optimizers are drawn uniformly from
    their lists; the learning rate and weight decay log-uniformly from their
    ranges (``lr=None``: a range per optimizer, DEFAULT_LR). A weight-decay range
    of (0, 0) turns weight decay off.
    """

    depths: tuple[int, ...] = (1, 2, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    activations: tuple[str, ...] = ("relu", "tanh", "leakyrelu")
    dropouts: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5)
    optimizers: tuple[str, ...] = ("momentum", "adam")
    lr: tuple[float, float] | None = None
    weight_decay: tuple[float, float] = (1e-6, 1e-3)

    def validate(self) -> "SearchSpace":
        def need(ok: bool, name: str, message: str):
            if not ok:
                raise ValueError(f"{name} {message}")

        for name in ("depths", "widths", "activations", "dropouts", "optimizers"):
            need(len(getattr(self, name)) > 0, name, "needs at least one value")
        need(all(isinstance(d, int) and 0 <= d <= 16 for d in self.depths), "depths",
             f"must be integers from 0 to 16 (0 = linear), got {list(self.depths)}")
        need(all(isinstance(w, int) and 1 <= w <= 65536 for w in self.widths), "widths",
             f"must be integers from 1 to 65536, got {list(self.widths)}")
        bad = [a for a in self.activations if a not in ACTIVATIONS]
        need(not bad, "activations", f"must be among {', '.join(ACTIVATIONS)}, got {', '.join(map(str, bad))}")
        need(all(0 <= p < 1 for p in self.dropouts), "dropouts", f"must be in [0, 1), got {list(self.dropouts)}")
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        need(not bad, "optimizers", f"must be among {', '.join(OPTIMIZERS)}, got {', '.join(map(str, bad))}")
        if self.lr is not None:
            lo, hi = self.lr
            need(0 < lo <= hi and math.isfinite(hi), "lr", f"needs 0 < LO <= HI, got {lo}:{hi}")
        lo, hi = self.weight_decay
        need((lo == hi == 0) or (0 < lo <= hi and math.isfinite(hi)), "weight_decay",
             f"needs 0 < LO <= HI (or 0 for none), got {lo}:{hi}")
        return self


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return _round2(math.exp(rng.uniform(math.log(lo), math.log(hi)))) if lo < hi else float(lo)


def sample_trials(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """The first n configurations random search draws with this seed (the same seed, the same list).

    >>> [t["model"] for t in sample_trials(SearchSpace(depths=(1,), widths=(32,), activations=("tanh",),
    ...                                               dropouts=(0.0,)), 2)]
    ['32tanh', '32tanh']
    """
    rng = np.random.default_rng([seed, 0x7475])  # its own stream, apart from the training seed
    trials = []
    for _ in range(n):
        depth = int(rng.choice(space.depths))
        width = int(rng.choice(space.widths))
        activation = str(rng.choice(space.activations))
        dropout = _round2(float(rng.choice(space.dropouts)))
        optimizer = str(rng.choice(space.optimizers))
        lr = _log_uniform(rng, *(space.lr or DEFAULT_LR[optimizer]))
        weight_decay = _log_uniform(rng, *space.weight_decay) if space.weight_decay[1] > 0 else 0.0
        layer = [f"{width}{activation}"] + ([f"dropout{dropout:g}"] if dropout else [])
        model = "-".join(layer * depth) if depth else "linear"
        trials.append({"model": model, "depth": depth, "width": width if depth else None,
                       "activation": activation if depth else None, "dropout": dropout if depth else 0.0,
                       "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay})
    return trials


def rank_trials(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished trials best first: highest validation accuracy, then lowest validation loss, then earliest."""
    done = [t for t in trials if t.get("val_accuracy") is not None]
    return sorted(done, key=lambda t: (-t["val_accuracy"], t["val_loss"], t["trial"]))


def format_number(x: float) -> str:
    """A sampled lr or weight decay as the table, the progress lines and the command print it.

    >>> format_number(0.0123), format_number(0.0)
    ('0.012', '0')
    """
    return "0" if x == 0 else f"{x:.2g}"


def _architecture(t: dict[str, Any]) -> str:
    """A trial's network in short: '2x256relu' (its dropout has a column of its own)."""
    if not t.get("depth"):
        return "linear"
    return f"{t['depth']}x{t['width']}{t['activation']}" if t["depth"] > 1 else f"{t['width']}{t['activation']}"


def format_table(trials: list[dict[str, Any]], top: int | None = None) -> list[str]:
    """The ranked trials as aligned text lines (a header first); diverged trials last.

    >>> trial = dict(trial=1, model="64relu", depth=1, width=64, activation="relu", dropout=0.0, optimizer="adam",
    ...              lr=0.001, weight_decay=0.0, val_accuracy=0.9, val_errors=10, val_loss=0.3, best_epoch=4,
    ...              epochs_run=5, seconds=1.5, status="done")
    >>> print("\\n".join(format_table([trial])))
    rank  trial  model   dropout  optimizer     lr  wd  val acc  val err  val loss  epoch  time
       1      1  64relu        0  adam       0.001   0   90.00%       10    0.3000    4/5  1.5s
    """
    ranked = rank_trials(trials)
    failed = [t for t in trials if t.get("val_accuracy") is None and t.get("status") != "running"]
    rows = ranked + failed
    shown = rows if top is None else rows[:top]
    header = ["rank", "trial", "model", "dropout", "optimizer", "lr", "wd", "val acc", "val err", "val loss", "epoch",
              "time"]
    body = []
    for t in shown:
        ok = t.get("val_accuracy") is not None
        body.append([
            str(ranked.index(t) + 1) if ok else "-", str(t["trial"]), _architecture(t), f"{t['dropout']:g}",
            t["optimizer"], format_number(t["lr"]),
            format_number(t["weight_decay"]),
            f"{t['val_accuracy']:.2%}" if ok else t["status"],
            str(t["val_errors"]) if ok else "-",
            f"{t['val_loss']:.4f}" if ok else "-",
            f"{t['best_epoch']}/{t['epochs_run']}" if ok else "-",
            f"{t['seconds']:.1f}s",
        ])
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    left = {2, 4}
    fmt = lambda r: "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    lines = [fmt(header)] + [fmt(r) for r in body]
    hidden = len(rows) - len(shown)
    if hidden:
        lines.append(f"... {hidden} more in tune.json")
    return [line.rstrip() for line in lines]


# ---------------------------------------------------------------- the search
@dataclass
class TuneResult:
    """What tune() did: every trial, the best one, the retrained model and its one test."""

    trials: list[dict[str, Any]]
    best: dict[str, Any]
    final: dict[str, Any]
    model: Any  # the retrained Classifier
    record: dict[str, Any] = field(repr=False, default_factory=dict)  # the contents of tune.json
    out_dir: Path | None = None
    retrain: Any = field(repr=False, default=None)  # the retrain's FitResult: its history and test predictions


class _DeadlinePassed(Exception):
    """Raised from a trial's callback when the minutes budget is spent."""


def _retrain_seconds(history: list[dict[str, Any]], best_epoch: int, scale: float) -> float:
    """The retrain's expected time: the trial's mean seconds per epoch (its validation pass included,
    which the retrain does not have) times ``best_epoch``, times ``scale`` = retrain examples / trial
    examples (an epoch's time grows with the examples it sees).

    >>> _retrain_seconds([{"seconds": 1.0}, {"seconds": 3.0}], 3, 1.25)
    7.5
    """
    if not history:
        return 0.0
    return sum(m["seconds"] for m in history) / len(history) * best_epoch * scale


class _TrialWatch(Callback):
    """Forwards epoch ends to the caller and stops a trial at the end of the epoch after which the
    time left is less than the retrain needs: ``reserve(trainer)`` seconds, the larger of the best
    finished trial's retrain and this trial's own."""

    def __init__(self, deadline: float | None, on_epoch: Callable[[dict], None] | None,
                 reserve: Callable[[Any], float] | None = None):
        self.deadline, self.on_epoch, self.trainer = deadline, on_epoch, None
        self.reserve = reserve or (lambda trainer: 0.0)

    def on_train_begin(self, trainer) -> None:
        self.trainer = trainer

    def on_epoch_end(self, metrics) -> None:
        if self.on_epoch is not None:
            self.on_epoch(metrics)
        if self.deadline is not None and time.monotonic() + self.reserve(self.trainer) >= self.deadline:
            raise _DeadlinePassed


def _without_test(data: Data) -> Data:
    """The same data set with an empty test split: trials cannot look at the test set even by accident."""
    return Data(data.x_train, data.y_train, data.x_train[:0], data.y_train[:0], name=data.name,
                classes=list(data.classes), image_shape=data.image_shape)


def train_command(dataset: str, model: str, config: dict[str, Any], data_dir: str | None = None) -> str:
    """The ``chainrule train`` command line that trains `model` with this TrainConfig (as a dict): every
    field it sets, one option each (``--batch-size`` for batch_size), so that the command does not
    depend on the defaults of the day.

    >>> train_command("moons", "linear", {"epochs": 3, "optimizer": "sgd", "momentum": 0.9, "patience": None})
    'chainrule train --dataset moons --model linear --epochs 3 --optimizer sgd --patience 0'
    """
    args = ["chainrule", "train", "--dataset", dataset, "--model", model]
    for key in (f.name for f in dataclasses.fields(TrainConfig)):
        if key not in config:
            continue
        value = config[key]
        if key == "momentum" and config.get("optimizer") not in ("momentum", "nesterov"):
            continue  # unused by the other optimizers
        if key == "clip_grad" and value is None:
            continue  # no clipping: the option's absence
        if key == "shift" and not value:
            continue
        if isinstance(value, bool):  # a switch: its option alone when on
            args += [f"--{key}"] if value else []
            continue
        if key == "patience" and value is None:
            value = 0  # TrainConfig's spelling of "never stop early" on the command line
        args += [f"--{key.replace('_', '-')}", format_number(value) if isinstance(value, float) else str(value)]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return shlex.join(args)


def tune(dataset: str | Data = DEFAULT_DATASET, *, trials: int | None = None, minutes: float | None = None,
         space: SearchSpace | None = None, seed: int = 0, data_dir: str | None = None,
         out: str | os.PathLike | None = None, overwrite: bool = False,
         on_trial_begin: Callable[[dict], None] | None = None, on_trial_end: Callable[[dict], None] | None = None,
         on_epoch: Callable[[dict, dict], None] | None = None,
         on_final_begin: Callable[[dict], None] | None = None, **config: Any) -> TuneResult:
    """Random search on the validation split, retrain the best on train+val, test it once.

    ``config`` sets the TrainConfig fields every trial shares (``epochs=10, batch_size=64``); the
    ones not given are TrainConfig's defaults, and ``seed`` is also the split's and the weights'.
    The fields in SEARCHED (optimizer, lr, weight_decay) are drawn from ``space`` instead.

    `trials` and `minutes` bound the search (whichever runs out first; DEFAULT_TRIALS, 20, if
    neither is given). `minutes` includes the retrain: the search keeps back the
    retrain's expected time (the best trial's seconds per epoch times its best
    epoch, scaled to train+val's size), so no trial after the first starts once the
    time left is less than that, and a running one stops at the end of the epoch
    after which it is, keeping what it measured (status "cut by deadline"). The
    estimate is in ``on_final_begin``'s dict (``expected_seconds``, and
    ``seconds_left`` of the budget) and in ``tune.json``; a first trial slower than
    the whole budget makes a retrain past it, which that dict shows. If `out` is given, writes
    ``model.safetensors`` and ``tune.json`` there (``tune.json`` after every trial,
    so an interrupted search keeps its results) and the retrain's ``metrics.jsonl``; like ``fit``'s, it must be absent,
    empty, or (with `overwrite`) an old run, and the search holds it until it ends.
    The callbacks receive trial records (dicts) as they start and finish.
    """
    space = (space or SearchSpace()).validate()
    if trials is None and minutes is None:
        trials = DEFAULT_TRIALS
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if minutes is not None and not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"minutes must be a positive number, got {minutes!r}")
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = sorted(set(config) - set(names))
    if unknown:
        raise ValueError(f"tune() got unknown training settings {', '.join(unknown)}; the shared ones are "
                         f"{', '.join(n for n in names if n not in SEARCHED and n != 'seed')}")
    searched = sorted(set(config) & set(SEARCHED))
    if searched:
        raise ValueError(f"{searched[0]} is drawn for each trial: give its values in space instead")
    base = TrainConfig(**{**config, "seed": seed})  # TrainConfig's defaults for what is not given
    if not (isinstance(base.val_split, (int, float)) and 0 < base.val_split < 1):
        raise ValueError(f"val_split must be in (0, 1): tuning scores trials on the validation split, "
                         f"got {base.val_split!r}")
    base.validate()  # bad settings fail before any data is read
    out_dir = Path(out) if out is not None else None
    # one run per folder, from before the data is read to the last file: a folder of other files
    # is refused, an old run only replaced with overwrite (chainrule.rundir.claim)
    with claim(out_dir, overwrite=overwrite) if out_dir is not None else contextlib.nullcontext():
        data = dataset if isinstance(dataset, Data) else load_dataset(dataset, data_dir=data_dir, seed=seed)
        dataset_name = dataset if isinstance(dataset, str) else data.name
        search_data = _without_test(data)
        try:  # the trials are scored on the validation split: one that rounds to no example is refused now
            train_val_split(data.x_train, data.y_train, base.val_split, seed=seed)
        except DataError:
            raise DataError(f"val_split {base.val_split} of {data.name}'s {len(data.y_train)} training examples "
                            f"leaves none for validation, and tuning scores its trials there; use a larger split"
                            ) from None

        started = time.monotonic()
        deadline = started + 60 * minutes if minutes is not None else None
        record: dict[str, Any] = {
            "format": 1, "dataset": data.name, "seed": seed,
            "budget": {"trials": trials, "minutes": minutes},
            "space": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(space).items()},
            "trial_config": {k: v for k, v in asdict(base).items() if k not in ("lr", "optimizer", "weight_decay")},
            "sizes": {"train": len(data.x_train), "test": len(data.x_test)},
            "status": "searching", "trials": [],
        }

        def write_record() -> None:
            if out_dir is not None:
                with atomic_write(out_dir / "tune.json") as f:
                    f.write((to_json(record, indent=2) + "\n").encode())

        results: list[dict[str, Any]] = record["trials"]
        retrain_size = len(data.x_train)

        def best_retrain() -> float:
            """The retrain time of the best finished trial so far (0 before any)."""
            ranked = rank_trials(results)
            return ranked[0]["retrain_seconds"] if ranked else 0.0

        def reserve(trainer) -> float:
            """What to keep back for the retrain while a trial runs: the best finished trial's, or this
            one's if it is the larger (it may be the winner)."""
            own = 0.0
            if trainer is not None and trainer.history:
                epoch = trainer.best["metrics"]["epoch"] if trainer.best is not None else len(trainer.history)
                own = _retrain_seconds(trainer.history, epoch, retrain_size / max(len(trainer.x_train), 1))
            return max(best_retrain(), own)

        # Draw lazily in blocks so a minutes budget never runs out of configurations; the list is
        # the same prefix whatever the budget, so `trials=5` runs the first 5 of `trials=20`.
        drawn: list[dict[str, Any]] = []
        index = 0
        while trials is None or index < trials:
            if deadline is not None and index > 0 and time.monotonic() + best_retrain() >= deadline:
                break  # (the first trial always runs, at least one epoch, so there is something to retrain)
            if index >= len(drawn):
                drawn = sample_trials(space, len(drawn) + 64, seed)
            trial = {"trial": index + 1, **drawn[index], "status": "running"}
            index += 1
            results.append(trial)
            if on_trial_begin:
                on_trial_begin(trial)
            config = {**asdict(base), "optimizer": trial["optimizer"], "lr": trial["lr"],
                      "weight_decay": trial["weight_decay"]}
            watch = _TrialWatch(deadline, (lambda m, t=trial: on_epoch(t, m)) if on_epoch else None, reserve)
            t0 = time.perf_counter()
            summary = None
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # a diverging trial is reported, not warned about
                    summary = fit(search_data, trial["model"], callback=watch, **config).summary
                trial["status"] = "stopped early" if summary["stopped_early"] else "done"
            except _DeadlinePassed:
                trial["status"] = "cut by deadline"
            except TrainingDiverged:
                trial["status"] = "diverged"
            trainer = watch.trainer
            trial["seconds"] = round(time.perf_counter() - t0, 3)
            trial["epochs_run"] = len(trainer.history) if trainer is not None else 0
            best = trainer.best["metrics"] if trainer is not None and trainer.best is not None else None
            if best is not None and not math.isfinite(best["val_loss"]):
                trial["status"] = "diverged"
            if best is not None and trial["status"] != "diverged":
                trial.update(best_epoch=best["epoch"], val_accuracy=best["val_accuracy"], val_errors=best["val_errors"],
                             val_loss=best["val_loss"],
                             # the saved weights' eval-mode accuracy; a trial the deadline cut has none
                             train_accuracy=summary["train_accuracy"] if summary is not None else None,
                             val_size=len(trainer.x_val), train_size=len(trainer.x_train),
                             retrain_seconds=round(_retrain_seconds(trainer.history, best["epoch"],
                                                                    retrain_size / max(len(trainer.x_train), 1)), 3))
            else:
                trial.update(best_epoch=None, val_accuracy=None, val_errors=None, val_loss=None, train_accuracy=None)
            trial["command"] = train_command(dataset_name, trial["model"], config, data_dir)
            for rank, t in enumerate(rank_trials(results), 1):
                t["rank"] = rank
            write_record()
            if on_trial_end:
                on_trial_end(trial)

        ranked = rank_trials(results)
        if not ranked:
            why = "every trial diverged; try a space with smaller lr values" if results else "no trial ran"
            raise ValueError(f"tuning found nothing to retrain: {why}" + (
                "; give more minutes" if minutes is not None else ""))
        best = ranked[0]
        record["status"] = "retraining"
        record["best"] = {k: best[k] for k in ("trial", "model", "optimizer", "lr", "weight_decay", "best_epoch",
                                               "val_accuracy", "val_errors", "val_loss")}
        record["search_seconds"] = round(time.monotonic() - started, 3)

        # Retrain on train+val (val_split=0: the Trainer keeps the last epoch) for the epochs that were best.
        final_config = {**asdict(base), "optimizer": best["optimizer"], "lr": best["lr"],
                        "weight_decay": best["weight_decay"], "epochs": best["best_epoch"], "val_split": 0.0,
                        "patience": None}
        command = train_command(dataset_name, best["model"], final_config, data_dir)
        final_info = {"trial": best["trial"], "model": best["model"], "epochs": best["best_epoch"],
                      "train_size": len(data.x_train), "command": command,
                      "expected_seconds": best["retrain_seconds"],
                      "seconds_left": round(deadline - time.monotonic(), 3) if deadline is not None else None}
        if on_final_begin:
            on_final_begin(final_info)
        watch = _TrialWatch(None, (lambda m: on_epoch(final_info, m)) if on_epoch else None)
        fitted = fit(data, best["model"], callback=watch, **final_config)  # the one look at the test set
        s = fitted.summary
        final = {**final_info, "seconds": s["seconds"], "train_accuracy": s["train_accuracy"],
                 "test_accuracy": s["test_accuracy"], "test_errors": s["test_errors"], "test_size": s["test_size"],
                 "test_loss": s["test_loss"], "parameters": s["parameters"], "config": final_config,
                 "checkpoint": "model.safetensors" if out_dir is not None else None}
        record.update(status="done", final=final, seconds=round(time.monotonic() - started, 3))
        if out_dir is not None:
            save(fitted.model, out_dir / "model.safetensors")
            with atomic_write(out_dir / "metrics.jsonl") as f:  # the retrain's epochs, as chainrule train writes them
                f.write("".join(to_json(m) + "\n" for m in fitted.history).encode())
        write_record()
        return TuneResult(results, best, final, fitted.model, record, out_dir, fitted)

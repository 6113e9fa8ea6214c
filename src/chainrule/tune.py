"""Architecture tuning: seeded random search on the validation split, then one test.

The lectures' recipe (000_*, "architecture tuning"): pick depth, width,
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
``--seed`` draws the same trials. Sampled numbers are rounded to two
significant digits so that the ``chainrule train`` command recorded in
``tune.json`` reproduces the final model exactly.

>>> result = tune("moons", trials=2, epochs=2, seed=0, space=SearchSpace(widths=(8,), depths=(1,)))
>>> len(result.trials), result.best["rank"], 0.5 < result.final["test_accuracy"] <= 1
(2, 1, True)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import numpy as np

from ._parser import ArgumentParser
from .data import DATASETS, Data, DataError, load_dataset
from .atomic import atomic_write
from .io import CheckpointError
from .model import save
from .progress import Callback, format_epoch
from .spec import ACTIVATIONS, SpecError
from .rundir import claim
from .train import OPTIMIZERS, SCHEDULES, TrainConfig, TrainingDiverged, fit, to_json

__all__ = ["SearchSpace", "TuneResult", "tune", "sample_trials", "rank_trials", "format_table",
           "add_arguments", "run", "main"]

# Learning rates are log-uniform in a range that suits the optimizer, unless given.
DEFAULT_LR = {"sgd": (0.01, 0.5), "momentum": (0.005, 0.2), "nesterov": (0.005, 0.2),
              "adam": (1e-4, 3e-3), "adamw": (1e-4, 3e-3)}


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
        def need(ok: bool, option: str, message: str):
            if not ok:
                raise ValueError(f"--{option} {message}")

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
        need((lo == hi == 0) or (0 < lo <= hi and math.isfinite(hi)), "weight-decay",
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


def _number(x: float) -> str:
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
            t["optimizer"], _number(t["lr"]),
            _number(t["weight_decay"]),
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


class _DeadlinePassed(Exception):
    """Raised from a trial's callback when the minutes budget is spent."""


class _TrialWatch(Callback):
    """Forwards epoch ends to the caller and stops a trial at the end of the epoch that passes the deadline."""

    def __init__(self, deadline: float | None, on_epoch: Callable[[dict], None] | None):
        self.deadline, self.on_epoch, self.trainer = deadline, on_epoch, None

    def on_train_begin(self, trainer) -> None:
        self.trainer = trainer

    def on_epoch_end(self, metrics) -> None:
        if self.on_epoch is not None:
            self.on_epoch(metrics)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _DeadlinePassed


def _without_test(data: Data) -> Data:
    """The same data set with an empty test split: trials cannot look at the test set even by accident."""
    return Data(data.x_train, data.y_train, data.x_train[:0], data.y_train[:0], name=data.name,
                classes=list(data.classes), image_shape=data.image_shape)


def train_command(dataset: str, model: str, config: dict[str, Any], data_dir: str | None = None) -> str:
    """The ``chainrule train`` command line that trains `model` with this TrainConfig (as a dict)."""
    args = ["chainrule", "train", "--dataset", dataset, "--model", model]
    for key in ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "schedule", "val_split",
                "patience", "seed", "shift", "clip_grad"):
        value = config.get(key)
        if key == "momentum" and config.get("optimizer") not in ("momentum", "nesterov"):
            continue
        if key == "momentum" and value == TrainConfig.momentum:
            continue  # the command line has no --momentum; 0.9 is what it uses
        if key == "clip_grad" and value is None:
            continue
        if key == "shift" and not value:
            continue
        if key == "patience":
            value = 0 if value is None else value
        args += [f"--{key.replace('_', '-')}", _number(value) if isinstance(value, float) else str(value)]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return shlex.join(args)


def tune(dataset: str | Data = "digits", *, trials: int | None = None, minutes: float | None = None,
         space: SearchSpace | None = None, seed: int = 0, epochs: int = 20, patience: int | None = 5,
         batch_size: int = 64, schedule: str = "cosine", val_split: float = 0.1, shift: int = 0,
         data_dir: str | None = None, out: str | os.PathLike | None = None, overwrite: bool = False,
         on_trial_begin: Callable[[dict], None] | None = None, on_trial_end: Callable[[dict], None] | None = None,
         on_epoch: Callable[[dict, dict], None] | None = None,
         on_final_begin: Callable[[dict], None] | None = None) -> TuneResult:
    """Random search on the validation split, retrain the best on train+val, test it once.

    `trials` and `minutes` bound the search (whichever runs out first; 20 trials if
    neither is given). With `minutes`, no trial after the first starts after the
    deadline, and a running one stops at the end of the epoch that passes it,
    keeping what it measured (status "cut by deadline"). If `out` is given, writes
    ``model.safetensors`` and ``tune.json`` there (``tune.json`` after every trial,
    so an interrupted search keeps its results); like ``fit``'s, it must be absent,
    empty, or (with `overwrite`) an old run, and the search holds it until it ends.
    The callbacks receive trial records (dicts) as they start and finish.
    """
    space = (space or SearchSpace()).validate()
    if trials is None and minutes is None:
        trials = 20
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise ValueError(f"--trials must be a positive integer, got {trials!r}")
    if minutes is not None and not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"--minutes must be a positive number, got {minutes!r}")
    if not (isinstance(val_split, (int, float)) and 0 < val_split < 1):
        raise ValueError(f"--val-split must be in (0, 1): tuning scores trials on the validation split, "
                         f"got {val_split!r}")
    base = TrainConfig(epochs=epochs, batch_size=batch_size, patience=patience, val_split=val_split, seed=seed,
                       schedule=schedule, shift=shift).validate()  # bad options fail before any data is read
    out_dir = Path(out) if out is not None else None
    # one run per folder, from before the data is read to the last file: a folder of other files
    # is refused, an old run only replaced with overwrite (chainrule.rundir.claim)
    with claim(out_dir, overwrite=overwrite) if out_dir is not None else contextlib.nullcontext():
        data = dataset if isinstance(dataset, Data) else load_dataset(dataset, data_dir=data_dir, seed=seed)
        dataset_name = dataset if isinstance(dataset, str) else data.name
        search_data = _without_test(data)

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
        # Draw lazily in blocks so a minutes budget never runs out of configurations; the list is
        # the same prefix whatever the budget, so `--trials 5` runs the first 5 of `--trials 20`.
        drawn: list[dict[str, Any]] = []
        index = 0
        while trials is None or index < trials:
            if deadline is not None and index > 0 and time.monotonic() >= deadline:
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
            watch = _TrialWatch(deadline, (lambda m, t=trial: on_epoch(t, m)) if on_epoch else None)
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
                             val_loss=best["val_loss"], train_accuracy=best["train_accuracy"],
                             val_size=len(trainer.x_val), train_size=len(trainer.x_train))
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
            why = "every trial diverged; try --lr with smaller values" if results else "no trial ran"
            raise ValueError(f"tuning found nothing to retrain: {why}" + (
                "; give more --minutes" if minutes is not None else ""))
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
                      "train_size": len(data.x_train), "command": command}
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
        write_record()
        return TuneResult(results, best, final, fitted.model, record, out_dir)


# ------------------------------------------------------------- command line
def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _word_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip().lower() for v in text.split(",") if v.strip())


def _csv(values) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _range(text: str) -> tuple[float, float]:
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected LO:HI or one number, got {text!r}")
    return (values[0], values[-1])


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule tune`` (the lead's cli.py adds them to its subcommand)."""
    d = SearchSpace()
    parser.description = ("Random search over depth, width, activation, learning rate, weight decay, dropout and "
                          "optimizer, scored on the validation split; the best is retrained on train+val and "
                          "tested once.")
    parser.add_argument("--dataset", default="digits",
                        help=f"one of {', '.join(DATASETS)}, or a .npz / .csv file (default: digits)")
    parser.add_argument("--data-dir", default=None, help="folder with the data set's files")
    budget = parser.add_argument_group("budget (whichever runs out first; 20 trials if neither is given)")
    budget.add_argument("--trials", type=int, default=None, help="number of configurations to try")
    budget.add_argument("--minutes", type=float, default=None,
                        help="stop searching after this many minutes (a running trial ends with its epoch)")
    s = parser.add_argument_group("search space")
    s.add_argument("--depths", type=_int_list, default=d.depths, metavar="LIST",
                   help=f"hidden layers per network, 0 = linear (default: {_csv(d.depths)})")
    s.add_argument("--widths", type=_int_list, default=d.widths, metavar="LIST",
                   help=f"units per hidden layer (default: {_csv(d.widths)})")
    s.add_argument("--activations", type=_word_list, default=d.activations, metavar="LIST",
                   help=f"among {', '.join(ACTIVATIONS)} (default: {_csv(d.activations)})")
    s.add_argument("--dropouts", type=_float_list, default=d.dropouts, metavar="LIST",
                   help=f"dropout after each hidden layer (default: {_csv(d.dropouts)})")
    s.add_argument("--optimizers", type=_word_list, default=d.optimizers, metavar="LIST",
                   help=f"among {', '.join(OPTIMIZERS)} (default: {_csv(d.optimizers)})")
    s.add_argument("--lr", type=_range, default=None, metavar="LO:HI",
                   help="learning-rate range, log-uniform (default: per optimizer, e.g. momentum "
                        f"{DEFAULT_LR['momentum'][0]}:{DEFAULT_LR['momentum'][1]}, adam "
                        f"{DEFAULT_LR['adam'][0]}:{DEFAULT_LR['adam'][1]})")
    s.add_argument("--weight-decay", type=_range, default=d.weight_decay, metavar="LO:HI",
                   help="L2 range, log-uniform; 0 for none (default: 1e-06:0.001)")
    t = parser.add_argument_group("each trial")
    t.add_argument("--epochs", type=int, default=20, help="epochs per trial at most (default: %(default)s)")
    t.add_argument("--patience", type=int, default=5,
                   help="stop a trial after this many epochs without a better val loss; 0 = never "
                        "(default: %(default)s)")
    t.add_argument("--batch-size", type=int, default=64, help="(default: %(default)s)")
    t.add_argument("--schedule", choices=SCHEDULES, default="cosine", help="(default: %(default)s)")
    t.add_argument("--shift", type=int, default=0, help="augment images by random shifts of up to N pixels")
    t.add_argument("--val-split", type=float, default=0.1,
                   help="fraction of the training set the trials are scored on (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="draws the trials, the validation split and the weights (default: %(default)s)")
    parser.add_argument("--out", default=None, help="output folder (default: runs/tune-<dataset>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    parser.add_argument("--top", type=int, default=10, help="rows of the ranked table to show (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print only the final line")
    return parser


class _Reporter:
    """Prints the search: a tqdm bar and a table redrawn in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO, top: int, total: int | None, minutes: float | None, quiet: bool):
        self.stream, self.top, self.total, self.quiet = stream, top, total, quiet
        self.tty = stream.isatty() and not quiet
        self.trials: list[dict] = []
        self.drawn_lines = 0
        self.retraining = False
        self.bar = None
        if self.tty:
            from tqdm.auto import tqdm

            budget = f" / {minutes:g} min" if minutes is not None else ""
            self.bar = tqdm(total=total, desc=f"tuning{budget}", unit="trial", file=stream, dynamic_ncols=True,
                            leave=False)

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def trial_begin(self, trial: dict) -> None:
        self.trials.append(trial)
        if self.bar is not None:
            self.bar.set_postfix_str(f"trial {trial['trial']}: {trial['model']}, {trial['optimizer']}", refresh=True)

    def epoch(self, trial: dict, metrics: dict) -> None:
        if self.retraining:
            if self.bar is not None:
                self.bar.set_postfix_str(f"loss {metrics['train_loss']:.4f}", refresh=False)
                self.bar.update(1)
            else:
                self._print("  " + format_epoch(metrics, trial["epochs"]))
            return
        if self.bar is not None:
            val = metrics.get("val_accuracy")
            shown = f", val {val:.2%}" if val == val and val is not None else ""
            self.bar.set_postfix_str(f"trial {trial.get('trial')}: {trial['model']}, epoch {metrics['epoch']}"
                                     f"{shown}", refresh=True)

    def trial_end(self, trial: dict) -> None:
        if self.quiet:
            return
        if self.tty:
            self.bar.clear()
            if self.drawn_lines:  # move up over the last table and clear it
                self.stream.write(f"\x1b[{self.drawn_lines}A\x1b[J")
            columns = shutil.get_terminal_size().columns  # a wrapped line would break the redraw
            lines = [line[:columns - 1] for line in format_table(self.trials, self.top)]
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
            self.drawn_lines = len(lines)
            self.bar.update(1)
            return
        of = f"/{self.total}" if self.total else ""
        if trial.get("val_accuracy") is None:
            result = trial["status"]
        else:
            result = (f"val acc {trial['val_accuracy']:.2%} ({trial['val_errors']} errors), val loss "
                      f"{trial['val_loss']:.4f}, best epoch {trial['best_epoch']}/{trial['epochs_run']}, "
                      f"rank {trial['rank']} of {len(rank_trials(self.trials))}")
            if trial["status"] not in ("done",):
                result += f" ({trial['status']})"
        self._print(f"trial {trial['trial']}{of}: {trial['model']}, {trial['optimizer']} lr {_number(trial['lr'])}, "
                    f"wd {_number(trial['weight_decay'])}: {result}, {trial['seconds']:.1f}s")

    def final_begin(self, info: dict) -> None:
        self.retraining = True
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if not self.tty and not self.quiet:
            self._print("")
            for line in format_table(self.trials, self.top):
                self._print(line)
        self._print(f"\nretraining trial {info['trial']} ({info['model']}) on train+val ({info['train_size']:,} "
                    f"examples) for {info['epochs']} epochs:\n  {info['command']}")
        if self.tty:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=info["epochs"], desc="retraining", unit="epoch", file=self.stream,
                            dynamic_ncols=True, leave=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """``chainrule tune``: search, retrain, test once, save; returns the exit status."""
    stream = stream or sys.stdout
    space = SearchSpace(depths=tuple(args.depths), widths=tuple(args.widths), activations=tuple(args.activations),
                        dropouts=tuple(args.dropouts), optimizers=tuple(args.optimizers),
                        lr=tuple(args.lr) if args.lr else None, weight_decay=tuple(args.weight_decay)).validate()
    if args.top < 1:
        raise ValueError(f"--top must be a positive integer, got {args.top}")
    dataset = os.fspath(args.dataset)
    name = Path(dataset).stem if dataset.lower().endswith((".npz", ".csv")) else dataset
    out = Path(args.out) if args.out else Path("runs") / f"tune-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    holding = claim(out, overwrite=args.overwrite)  # one run per folder, for the whole search
    trials = args.trials if args.trials is not None or args.minutes is not None else 20
    reporter = _Reporter(stream, args.top, trials, args.minutes, args.quiet)
    try:
        with holding:
            result = tune(dataset, trials=trials, minutes=args.minutes, space=space, seed=args.seed,
                          epochs=args.epochs, patience=None if args.patience == 0 else args.patience,
                          batch_size=args.batch_size, schedule=args.schedule, val_split=args.val_split,
                          shift=args.shift, data_dir=args.data_dir, out=out, on_trial_begin=reporter.trial_begin,
                          on_trial_end=reporter.trial_end, on_epoch=reporter.epoch,
                          on_final_begin=reporter.final_begin)
    finally:
        reporter.close()
    f = result.final
    if not args.quiet:
        print(f"{result.record['dataset']}, {f['model']} ({f['parameters']:,} parameters): {f['epochs']} epochs in "
              f"{f['seconds']:.1f}s, val accuracy in the search {result.best['val_accuracy']:.2%}, "
              f"test accuracy {f['test_accuracy']:.2%}", file=stream)
        print(f"wrote {out}/: model.safetensors, tune.json", file=stream)
    errors, size = f["test_errors"], f["test_size"]
    print(f"test errors: {errors} / {size} ({errors / max(size, 1):.1%})", file=stream, flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(ArgumentParser(prog="chainrule tune"))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m chainrule.tune``: the same as ``chainrule tune``, with the same error handling."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except (ValueError, DataError, SpecError, CheckpointError, FileNotFoundError) as e:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"chainrule: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

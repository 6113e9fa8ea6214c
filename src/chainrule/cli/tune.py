"""``chainrule tune``: random search on the validation split (chainrule.tune), with its options and
its report: a tqdm bar and the ranked table redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TextIO

from ..data import DATASETS
from ..extras import installed
from ..progress import LineReporter, count, format_epoch
from ..rundir import claim, default_run_folder
from ..spec import ACTIVATIONS
from ..train import DEFAULT_DATASET, OPTIMIZERS
from ..tune import (DEFAULT_LR, DEFAULT_TRIALS, SEARCHED, SearchSpace, format_number, format_table, rank_trials,
                    tune)
from .evaluate import final_line
from .options import add_config_options, config_from_args
from .plot import pictures_skipped
from .train import draw_pictures

__all__ = ["HELP", "add_arguments", "run", "TuneReporter"]

HELP = "random search of architectures and settings on the validation split"
# TrainConfig fields that are not options of the trials: drawn per trial, or the search's own --seed
# diagnostics: a per-run picture and warnings, for one run (chainrule train --diagnostics), not for every trial
_NOT_TRIAL_OPTIONS = (*SEARCHED, "seed", "diagnostics")


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
    """The options of ``chainrule tune``: the data, the budget, the search space, the trials' training."""
    d = SearchSpace()
    parser.description = ("Random search over depth, width, activation, learning rate, weight decay, dropout and "
                          "optimizer, scored on the validation split; the best is retrained on train+val and "
                          "tested once.")
    parser.add_argument("--dataset", default=DEFAULT_DATASET,
                        help=f"one of {', '.join(DATASETS)}, or a .npz, .csv or .tsv file (default: {DEFAULT_DATASET})")
    parser.add_argument("--data-dir", default=None, help="folder with the data set's files")
    budget = parser.add_argument_group(
        f"budget (whichever runs out first; {DEFAULT_TRIALS} trials if neither is given)")
    budget.add_argument("--trials", type=int, default=None, help="number of configurations to try")
    budget.add_argument("--minutes", type=float, default=None,
                        help="the whole budget, the retrain included: the search stops early enough to leave the "
                             "retrain the time it is expected to take (the best trial's seconds per epoch times its "
                             "best epoch, scaled to train+val), and says so before retraining; a running trial ends "
                             "with its epoch")
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
                   help=f"L2 range, log-uniform; 0 for none (default: {_csv(d.weight_decay).replace(',', ':')})")
    add_config_options(parser.add_argument_group("each trial (TrainConfig's fields)"), skip=_NOT_TRIAL_OPTIONS,
                       help={"epochs": "epochs per trial at most",
                             "patience": "stop a trial after this many epochs without a better val loss; 0 = never",
                             "val_split": "fraction of the training set the trials are scored on"})
    parser.add_argument("--seed", type=int, default=0,
                        help="draws the trials, the validation split and the weights (default: %(default)s)")
    parser.add_argument("--out", default=None, help="output folder (default: runs/tune-<dataset>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    parser.add_argument("--no-plots", action="store_true", help="skip the winner's pictures")
    parser.add_argument("--top", type=int, default=10, help="rows of the ranked table to show (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print only the final line")
    return parser


class TuneReporter(LineReporter):
    """Prints the search: a tqdm bar and a table redrawn in place on a terminal, plain lines otherwise.
    Built on progress.LineReporter: a stream that goes away silences it, and the search goes on."""

    def __init__(self, stream: TextIO, top: int, total: int | None, minutes: float | None, quiet: bool):
        super().__init__(stream)
        self.top, self.total, self.quiet = top, total, quiet
        self.tty = stream.isatty() and not quiet and installed("tqdm")  # without tqdm: plain lines
        self.trials: list[dict] = []
        self.drawn_lines = 0
        self.retraining = False
        self.bar = None
        if self.tty:
            budget = f" / {minutes:g} min" if minutes is not None else ""
            self._bar(total=total, desc=f"tuning{budget}", unit="trial")

    def _bar(self, **kwargs) -> None:
        from tqdm.auto import tqdm

        def start():
            self.bar = tqdm(file=self.stream, dynamic_ncols=True, leave=False, **kwargs)
        self._quietly(start)

    def _print(self, text: str) -> None:
        if not self.quiet:
            self.say(text)

    def trial_begin(self, trial: dict) -> None:
        self.trials.append(trial)
        if self.bar is not None:
            self._quietly(self.bar.set_postfix_str, f"trial {trial['trial']}: {trial['model']}, {trial['optimizer']}")

    def epoch(self, trial: dict, metrics: dict) -> None:
        if self.retraining:
            if self.bar is not None:
                self._quietly(lambda: (self.bar.set_postfix_str(f"loss {metrics['train_loss']:.4f}", refresh=False),
                                       self.bar.update(1)))
            else:
                self._print("  " + format_epoch(metrics, trial["epochs"]))
            return
        if self.bar is not None:
            val = metrics.get("val_accuracy")
            shown = f", val {val:.2%}" if val == val and val is not None else ""
            self._quietly(self.bar.set_postfix_str, f"trial {trial.get('trial')}: {trial['model']}, epoch "
                                                    f"{metrics['epoch']}{shown}")

    def trial_end(self, trial: dict) -> None:
        if self.quiet:
            return
        if self.tty:
            self._quietly(self._redraw)
            return
        of = f"/{self.total}" if self.total else ""
        if trial.get("val_accuracy") is None:
            result = trial["status"]
        else:
            result = (f"val acc {trial['val_accuracy']:.2%} ({count(trial['val_errors'], 'error')}), val loss "
                      f"{trial['val_loss']:.4f}, best epoch {trial['best_epoch']}/{trial['epochs_run']}, "
                      f"rank {trial['rank']} of {len(rank_trials(self.trials))}")
            if trial["status"] != "done":
                result += f" ({trial['status']})"
        self._print(f"trial {trial['trial']}{of}: {trial['model']}, {trial['optimizer']} "
                    f"lr {format_number(trial['lr'])}, "
                    f"wd {format_number(trial['weight_decay'])}: {result}, {trial['seconds']:.1f}s")

    def _redraw(self) -> None:
        if self.bar is not None:
            self.bar.clear()
        if self.drawn_lines:  # move up over the last table and clear it
            self.stream.write(f"\x1b[{self.drawn_lines}A\x1b[J")
        columns = shutil.get_terminal_size().columns  # a wrapped line would break the redraw
        lines = [line[:columns - 1] for line in format_table(self.trials, self.top)]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self.drawn_lines = len(lines)
        if self.bar is not None:
            self.bar.update(1)

    def final_begin(self, info: dict) -> None:
        self.retraining = True
        self.close()
        if not self.tty and not self.quiet:
            self._print("")
            for line in format_table(self.trials, self.top):
                self._print(line)
        self._print(f"\nretraining trial {info['trial']} ({info['model']}) on train+val ({info['train_size']:,} "
                    f"examples) for {count(info['epochs'], 'epoch')}, {_expected(info)}:\n  {info['command']}")
        if self.tty:
            self._bar(total=info["epochs"], desc="retraining", unit="epoch")

    def close(self) -> None:
        if self.bar is not None:
            self._quietly(self.bar.close)
            self.bar = None


def _expected(info: dict) -> str:
    """The retrain's expected time, and how it stands against the --minutes budget.

    >>> _expected({"expected_seconds": 61.2, "seconds_left": 5.0})
    'expected to take about 61s, past the --minutes budget by about 56s'
    """
    expected, left = info.get("expected_seconds"), info.get("seconds_left")
    if expected is None:
        return "expected time unknown"
    line = f"expected to take about {expected:.0f}s"
    if left is None:
        return line
    if expected <= left:
        return line + f", within the --minutes budget ({max(left, 0):.0f}s left)"
    return line + f", past the --minutes budget by about {expected - max(left, 0):.0f}s"


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """``chainrule tune``: search, retrain, test once, save; returns the exit status."""
    stream = stream or sys.stdout
    space = SearchSpace(depths=tuple(args.depths), widths=tuple(args.widths), activations=tuple(args.activations),
                        dropouts=tuple(args.dropouts), optimizers=tuple(args.optimizers),
                        lr=tuple(args.lr) if args.lr else None, weight_decay=tuple(args.weight_decay)).validate()
    if args.top < 1:
        raise ValueError(f"--top must be a positive integer, got {args.top}")
    dataset = os.fspath(args.dataset)
    out = Path(args.out) if args.out else default_run_folder(dataset, kind="tune")
    holding = claim(out, overwrite=args.overwrite)  # one run per folder, for the whole search
    trials = args.trials if args.trials is not None or args.minutes is not None else DEFAULT_TRIALS
    draw = not getattr(args, "no_plots", False) and installed("matplotlib")  # decided before any work
    if not getattr(args, "no_plots", False) and not draw:
        print(pictures_skipped(out), file=sys.stderr, flush=True)
    reporter = TuneReporter(stream, args.top, trials, args.minutes, args.quiet)
    with holding:  # the winner's pictures too, as chainrule train draws them
        try:
            result = tune(dataset, trials=trials, minutes=args.minutes, space=space, seed=args.seed,
                          data_dir=args.data_dir, out=out, on_trial_begin=reporter.trial_begin,
                          on_trial_end=reporter.trial_end, on_epoch=reporter.epoch,
                          on_final_begin=reporter.final_begin, **config_from_args(args, skip=_NOT_TRIAL_OPTIONS))
        finally:
            reporter.close()
        written = draw_pictures(out, result.retrain) if draw else []
    f = result.final
    if not args.quiet:
        print(f"{result.record['dataset']}, {f['model']} ({f['parameters']:,} parameters): "
              f"{count(f['epochs'], 'epoch')} in {f['seconds']:.1f}s, val accuracy in the search "
              f"{result.best['val_accuracy']:.2%}, test accuracy {f['test_accuracy']:.2%}", file=stream)
        print(f"wrote {out}/: {', '.join(['model.safetensors', 'tune.json', 'metrics.jsonl', *written])}",
              file=stream)
    print(final_line(f), file=stream, flush=True)
    return 0

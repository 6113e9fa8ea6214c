"""Command-line options generated from TrainConfig's fields: one ``--kebab-case`` option per field,
its type and default the field's (Hugging Face's HfArgumentParser does the same for dataclasses).

>>> import argparse
>>> p = argparse.ArgumentParser(); add_config_options(p, only=("batch_size",))
>>> p.parse_args(["--batch-size", "16"]).batch_size, given_options(p.parse_args(["--batch-size", "16"]))
(16, ['--batch-size'])
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Iterable

from ..train import OPTIMIZERS, SCHEDULES, TrainConfig

__all__ = ["CONFIG_HELP", "CONFIG_CHOICES", "add_config_options", "config_from_args", "given_options",
           "option_name", "config_defaults"]

# What each option means; the default is added from the field.
CONFIG_HELP = {
    "epochs": "passes over the training set",
    "batch_size": "examples per minibatch",
    "lr": "learning rate",
    "optimizer": "momentum = SGD with momentum (--momentum), nesterov = with Nesterov's momentum",
    "momentum": "the momentum of the momentum and nesterov optimizers",
    "weight_decay": "L2 (decoupled with adamw)",
    "patience": "stop after this many epochs without a better validation loss; 0 = never",
    "val_split": "fraction of the training set held out for validation",
    "seed": "seeds the validation split, the weights and the minibatch order",
    "schedule": "learning-rate schedule: step (full rate for the first third of the epochs, a tenth for the "
                "second, a hundredth for the last), cosine (half a cosine from the full rate toward 0 over "
                "the epochs), none",
    "clip_grad": "clip the global gradient norm to this value",
    "shift": "augment: move training images by up to N pixels (image data only)",
    "diagnostics": "record per-layer statistics on up to 1,000 training examples every epoch "
                   "(OUT/diagnostics.jsonl, drawn in OUT/diagnostics.png) and warn of saturated or dead units, "
                   "vanishing gradients, exploding or stalled updates",
}
CONFIG_CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES}
_GIVEN = "_given_options"  # the namespace attribute that lists the options given on the command line


def option_name(field: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + field.replace("_", "-")


def config_defaults() -> dict[str, Any]:
    """TrainConfig's field defaults, by field name."""
    return dataclasses.asdict(TrainConfig())


def _scalar(annotation) -> type:
    """The type an option parses to: ``int | None`` -> int."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    if annotation in (int, float, str, bool):
        return annotation
    raise TypeError(f"TrainConfig field type {annotation} has no command-line option type")


class _Store(argparse.Action):
    """Store the value and note that the option was given (a default is not)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        vars(namespace).setdefault(_GIVEN, []).append(self.option_strings[-1])


class _StoreBool(argparse.BooleanOptionalAction):
    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        vars(namespace).setdefault(_GIVEN, []).append(self.option_strings[0])


def _show(value) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def add_config_options(parser, only: Iterable[str] | None = None, skip: Iterable[str] = (),
                       help: dict[str, str] | None = None) -> None:
    """Add an option for each TrainConfig field (those in ``only``, less those in ``skip``) to ``parser``
    (a parser or an argument group); ``help`` replaces some of CONFIG_HELP's texts."""
    hints = typing.get_type_hints(TrainConfig)
    defaults = config_defaults()
    texts = {**CONFIG_HELP, **(help or {})}
    only = None if only is None else set(only)
    for f in dataclasses.fields(TrainConfig):
        if (only is not None and f.name not in only) or f.name in skip:
            continue
        kind, default = _scalar(hints[f.name]), defaults[f.name]
        text = f"{texts.get(f.name, '')} (default: {_show(default)})".strip()
        if kind is bool:
            parser.add_argument(option_name(f.name), dest=f.name, action=_StoreBool, default=default, help=text)
        else:
            parser.add_argument(option_name(f.name), dest=f.name, type=kind, default=default, action=_Store,
                                choices=CONFIG_CHOICES.get(f.name), help=text,
                                metavar=None if f.name in CONFIG_CHOICES else f.name.upper())


def given_options(args: argparse.Namespace) -> list[str]:
    """The options of add_config_options given on the command line, as typed (``--batch-size``)."""
    return list(dict.fromkeys(getattr(args, _GIVEN, [])))


def config_from_args(args: argparse.Namespace, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The TrainConfig fields' values in ``args`` (a default where an option was not given)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if f.name not in skip}

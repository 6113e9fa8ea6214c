"""``chainrule diagnose``: the training recipe as checks, run before a long training.

Each check is a :class:`Check` (name, status pass / warn / fail, the measured figure, what to do),
in this order: the data (class balance, constant and non-finite features, train/test duplicates,
feature scale), the loss at init against ln(classes), a float64 gradient check of the whole
network, overfitting one batch of 32 examples, an input-independent baseline (zeroed inputs must
train worse than real ones) and the initial per-layer statistics. The steps are those of
Karpathy's "A Recipe for Training Neural Networks" (2019) and of the lectures (saturation, dead
units, vanishing δ). Everything follows the config's seed, so a second run prints the same.

>>> checks = diagnose("xor", "4tanh", lr=0.05)  # xor is tested on its own 4 points: a warning
>>> [c.name for c in checks if c.status != "pass"], verdict(checks)
(['data: train/test duplicates'], '1 warning')
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..data import Data, load_dataset
from ..model import Classifier
from ..nn import Linear, Module, Sequential
from ..random import default_generator, manual_seed
from ..train import DEFAULT_DATASET, DEFAULT_MODEL, TrainConfig
from .checks import FAIL, PASS, STATUSES, WARN, Check, failed, verdict
from .datachecks import check_data
from .gradients import check_gradients
from .training import check_baseline, check_init_loss, check_layer_stats, check_overfit

__all__ = ["diagnose", "prepare", "Subject", "Check", "PASS", "WARN", "FAIL", "STATUSES", "verdict", "failed",
           "check_data", "check_init_loss", "check_gradients", "check_overfit", "check_baseline",
           "check_layer_stats", "INIT_EXAMPLES", "GRADCHECK_EXAMPLES", "OVERFIT_EXAMPLES", "BASELINE_EXAMPLES",
           "PROBE_EXAMPLES", "MODEL_CHECKS"]

# the checks after the data's, in order (left out when the training data is not finite)
MODEL_CHECKS = ("loss at init", "gradient check", "overfit one batch", "input-independent baseline",
                "layer statistics at init")
INIT_EXAMPLES = 5000  # training examples the loss at init is measured on (at most)
GRADCHECK_EXAMPLES = 4
OVERFIT_EXAMPLES = 32
BASELINE_EXAMPLES = 4000  # the baseline trains on three quarters of these and scores on the rest
PROBE_EXAMPLES = 1000  # layer statistics' probe set


@dataclass
class Subject:
    """What is diagnosed: the data, the network (``net``, a Sequential ending in logits), its
    description for the header, and the validated config."""

    data: Data
    net: Sequential
    model: str
    config: TrainConfig

    @property
    def parameters(self) -> int:
        return sum(p.size for p in self.net.parameters())

    def header(self) -> str:
        """One line: the data set, the model, its parameters and the optimizer.

        >>> prepare("xor", "4tanh").header()
        'diagnose xor (4 training examples, 2 features, 2 classes), model 4tanh (22 parameters), adam lr 0.001, seed 0'
        """
        d, c = self.data, self.config
        return (f"diagnose {d.name} ({len(d.x_train):,} training examples, {d.num_features:,} features, "
                f"{d.num_classes} classes), model {self.model} ({self.parameters:,} parameters), "
                f"{c.optimizer} lr {c.lr:g}, seed {c.seed}")


def prepare(dataset: str | Data = DEFAULT_DATASET, model: str | Classifier | Module = DEFAULT_MODEL, *,
            data_dir: str | None = None, **config: Any) -> Subject:
    """Validate the config, load the data set (a name, a path or a Data) and build the model (a SPEC,
    seeded by the config's seed; or a Classifier or a Sequential, used as they are).

    >>> subject = prepare("xor", "4tanh", lr=0.1)
    >>> subject.config.lr, subject.parameters
    (0.1, 22)
    """
    unknown = sorted(set(config) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise TypeError(f"diagnose() got unknown options: {', '.join(unknown)}")
    cfg = TrainConfig(**config).validate()
    if not isinstance(model, (str, Classifier, Module)):
        raise TypeError(f"diagnose: model must be a SPEC, a Classifier or a Sequential, got {type(model).__name__}")
    data = dataset if isinstance(dataset, Data) else load_dataset(dataset, data_dir=data_dir, seed=cfg.seed)
    if isinstance(model, str):
        manual_seed(cfg.seed)  # the initial weights, as chainrule train draws them
        return Subject(data, Classifier.from_spec(model, data.num_features, data.classes).net, model, cfg)
    net = model.net if isinstance(model, Classifier) else model
    if not isinstance(net, Sequential):
        raise TypeError(f"diagnose: the network must be a Sequential, got {type(net).__name__}")
    first = next((m for m in net.modules() if isinstance(m, Linear)), None)
    if first is not None and first.in_features != data.num_features:
        raise ValueError(f"diagnose: the network takes {first.in_features} features, {data.name} has "
                         f"{data.num_features}")
    label = model.spec if isinstance(model, Classifier) else f"a {type(net).__name__} of {len(net)} layers"
    return Subject(data, net, label, cfg)


def _subset(n: int, size: int, seed: int, stream: int) -> np.ndarray:
    """``size`` indices of n (all when n is smaller), drawn from the seed."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, stream]).choice(n, size, replace=False))


def diagnose(dataset: str | Data | Subject = DEFAULT_DATASET, model: str | Classifier | Module = DEFAULT_MODEL, *,
             data_dir: str | None = None, on_check: Callable[[Check], None] | None = None,
             **config: Any) -> list[Check]:
    """Run every check on the model (a SPEC, a Classifier or a Sequential) and the data set (a name, a
    path or a Data; or a Subject from ``prepare``, which carries its model and config), with the
    config's optimizer, lr and seed (TrainConfig's fields as keyword arguments); ``on_check`` is
    called with each result as soon as it is known. The network given is never changed; with
    non-finite training data the model checks (MODEL_CHECKS) are left out."""
    if isinstance(dataset, Subject):
        if config:
            raise TypeError(f"diagnose: a Subject carries its own config; got options {', '.join(sorted(config))}")
        subject = dataset
    else:
        subject = prepare(dataset, model, data_dir=data_dir, **config)
    data, net, cfg = subject.data, subject.net, subject.config
    x = data.x_train
    results: list[Check] = []

    def done(check: Check) -> None:
        results.append(check)
        if on_check is not None:
            on_check(check)

    for check in check_data(data):
        done(check)
    if not np.isfinite(x).all() or len(x) == 0:  # nothing below can be measured: MODEL_CHECKS are left out
        return results
    net = copy.deepcopy(net)  # the caller's parameters, gradients and mode stay as they are
    # Dropout masks in the checks follow the seed; the caller's stream of chainrule's generator is put back.
    generator = default_generator()
    saved = generator.bit_generator.state
    generator.bit_generator.state = np.random.default_rng(cfg.seed).bit_generator.state
    try:
        _model_checks(net, data, cfg, done)
    finally:
        generator.bit_generator.state = saved
    return results


def _model_checks(net: Sequential, data: Data, cfg: TrainConfig, done: Callable[[Check], None]) -> None:
    x, y, seed = data.x_train, data.y_train, cfg.seed
    pick = _subset(len(x), INIT_EXAMPLES, seed, 10)
    done(check_init_loss(net, x[pick], y[pick], data.num_classes))
    pick = _subset(len(x), GRADCHECK_EXAMPLES, seed, 11)
    done(check_gradients(net, x[pick], y[pick], seed))
    pick = _subset(len(x), OVERFIT_EXAMPLES, seed, 12)
    done(check_overfit(net, x[pick], y[pick], cfg))
    pick = _subset(len(x), BASELINE_EXAMPLES, seed, 13)
    done(check_baseline(net, x[pick], y[pick], cfg))
    pick = _subset(len(x), PROBE_EXAMPLES, seed, 14)
    done(check_layer_stats(net, x[pick], y[pick]))

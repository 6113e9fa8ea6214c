"""The settings of a training run: TrainConfig (the one place the defaults live), their check
(CONFIG_SCHEMA), and the optimizer and learning-rate schedule they name.

>>> import chainrule as cr
>>> config = TrainConfig(lr=0.01).validate()
>>> make_optimizer(cr.nn.Linear(2, 2).parameters(), config).lr
0.01
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields

from .. import optim
from ..schema import Bool, Field, Int, Nullable, Num, Record, SchemaError, Str, check

__all__ = ["TrainConfig", "DEFAULT_MODEL", "DEFAULT_DATASET", "CONFIG_SCHEMA", "OPTIMIZERS", "SCHEDULES",
           "make_optimizer", "make_schedule"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov")  # the ones that read TrainConfig.momentum
SCHEDULES = ("none", "step", "cosine")

# The model SPEC that ``chainrule train`` and ``chainrule.fit()`` build when not told otherwise.
DEFAULT_MODEL = "256relu-dropout0.2"
# The data set that ``chainrule train`` and ``tune``, ``chainrule.fit()`` and ``tune()`` load when not told.
DEFAULT_DATASET = "digits"


@dataclass
class TrainConfig:
    """Every knob of a training run. Its field defaults are the defaults of ``chainrule.fit()``,
    ``chainrule train``, ``chainrule tune`` and every other caller, chosen by measurement across
    digits, Fashion-MNIST, moons, spirals and unscaled tabular .npz files (docs/results.md,
    "Defaults"; ``benchmarks/defaults.py``): Adam at Kingma and Ba's lr 0.001, batches of 32,
    L2 5e-4, a cosine schedule over up to 200 epochs that early stopping usually ends sooner.

    >>> TrainConfig(epochs=5).epochs
    5
    """

    epochs: int = 200
    batch_size: int = 32
    lr: float = 0.001
    optimizer: str = "adam"
    momentum: float = 0.9  # used by the momentum and nesterov optimizers only
    weight_decay: float = 5e-4
    patience: int | None = 20
    val_split: float = 0.1
    seed: int = 0
    schedule: str = "cosine"
    clip_grad: float | None = None
    shift: int = 0  # augmentation: move training images by up to this many pixels
    diagnostics: bool = False  # per-epoch layer statistics and warnings (chainrule.diagnostics.Recorder)

    def validate(self) -> "TrainConfig":
        """Check every field against CONFIG_SCHEMA (ValueError naming the field); a patience of 0
        becomes None: never stop early.

        >>> TrainConfig(patience=0).validate().patience is None
        True
        >>> TrainConfig(lr=-1).validate()
        Traceback (most recent call last):
        ...
        ValueError: lr must be a positive number, got -1
        """
        try:
            check(asdict(self), CONFIG_SCHEMA)
        except SchemaError as e:
            raise ValueError(f"{e.where} {e.problem}") from None
        if self.patience == 0:
            self.patience = None
        for name in ("lr", "momentum", "weight_decay", "val_split", "clip_grad"):  # an int given for a float
            if getattr(self, name) is not None:
                setattr(self, name, float(getattr(self, name)))
        if self.optimizer not in MOMENTUM_OPTIMIZERS and self.momentum != _MOMENTUM_DEFAULT:
            warnings.warn(f"momentum {self.momentum:g} has no effect with optimizer {self.optimizer!r}: only "
                          f"{' and '.join(MOMENTUM_OPTIMIZERS)} use it", UserWarning)  # stacklevel 1: once, however many callers validate
        return self


_MOMENTUM_DEFAULT = next(f.default for f in fields(TrainConfig) if f.name == "momentum")


def _needing(field: Field, need: str) -> Field:
    field.need = need
    return field


# What each TrainConfig field may be: the one check of fit()'s arguments, the command line's
# options and a checkpoint's train_config (one written before diagnostics existed lacks that field).
CONFIG_SCHEMA = Record(
    epochs=Int(1), batch_size=Int(1), lr=Num(0, lo_open=True), optimizer=Str(OPTIMIZERS),
    momentum=Num(0, 1, hi_open=True), weight_decay=Num(0),
    patience=_needing(Nullable(Int(0)), "a non-negative integer (0: never stop early)"),
    val_split=Num(0, 1, hi_open=True), seed=Int(0), schedule=Str(SCHEDULES),
    clip_grad=_needing(Nullable(Num(0, lo_open=True)), "a positive number"), shift=Int(0, 8),
    diagnostics=Bool(), optional=("diagnostics",))


def make_optimizer(params, config: TrainConfig) -> optim.Optimizer:
    """The optimizer ``config.optimizer`` names, over ``params``, with the config's lr, momentum and
    weight decay ("momentum" is SGD with momentum; "adamw" decouples the weight decay).

    >>> import chainrule as cr
    >>> make_optimizer(cr.nn.Linear(2, 2).parameters(), TrainConfig(optimizer="adam")).__class__.__name__
    'Adam'
    """
    kind, lr, wd = config.optimizer, config.lr, config.weight_decay
    if kind == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=wd)
    if kind in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=kind == "nesterov", weight_decay=wd)
    if kind == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    return optim.AdamW(params, lr=lr, weight_decay=wd)


def make_schedule(optimizer: optim.Optimizer, config: TrainConfig) -> optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule ``config.schedule`` names, stepped once per epoch.

    >>> import chainrule as cr
    >>> opt = make_optimizer(cr.nn.Linear(2, 2).parameters(), TrainConfig(epochs=3))
    >>> make_schedule(opt, TrainConfig(epochs=3, schedule="step")).__class__.__name__
    'StepLR'
    """
    if config.schedule == "step":  # full rate for the first third, a tenth for the second, a hundredth for the last
        # ceiling division in integers: epochs beyond float range (a checkpoint may say so) stay exact
        return optim.StepLR(optimizer, step_size=max(1, -(-config.epochs // 3)), gamma=0.1)
    if config.schedule == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return optim.ConstantLR(optimizer, factor=1.0)  # no schedule

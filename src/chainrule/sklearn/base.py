"""What MLPClassifier and MLPRegressor share: the parameters, the training configuration, the seed,
the checks of a saved estimator's metadata.

>>> plain(np.int64(3)), plain(np.float64(0.5))
(3, 0.5)
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np

try:  # absolute imports: this is scikit-learn, not chainrule.sklearn itself
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ModuleNotFoundError as e:  # one line naming the extra (cli/errors.py prints it as it is)
    if e.name is None or e.name.split(".")[0] != "sklearn":
        raise
    raise ModuleNotFoundError("chainrule.sklearn needs scikit-learn: pip install 'chainrule[sklearn]'",
                              name="sklearn") from None

from ..io import CheckpointError
from ..random import manual_seed
from ..schema import Int, List, Nullable, Num, Record, SchemaError, Str, check
from ..train import DEFAULT_MODEL, TrainConfig

# scikit-learn's names are imported here once, so that its absence is the one line above
__all__ = ["MLPBase", "DEFAULTS", "SAVED", "plain", "check_saved", "BaseEstimator", "ClassifierMixin", "RegressorMixin",
           "check_random_state", "check_classification_targets", "check_is_fitted", "validate_data"]

DEFAULTS = TrainConfig()  # the defaults live in TrainConfig; val_split is the one these estimators change


class MLPBase(BaseEstimator):
    """What both estimators share: the parameters, the training configuration, the seed, what is saved."""

    # epochs: TrainConfig's 200 with its cosine schedule; measured: the digits pipeline scores 0.942 to
    # 0.963 in 3-fold cross-validation (tests/test_sklearn_estimators.py), and scikit-learn's whole
    # check_estimator runs in 10 s. val_split 0: nothing is held out of the user's data unless asked.
    def __init__(self, model: str = DEFAULT_MODEL, epochs: int = DEFAULTS.epochs, batch_size: int = DEFAULTS.batch_size,
                 lr: float = DEFAULTS.lr, optimizer: str = DEFAULTS.optimizer,
                 weight_decay: float = DEFAULTS.weight_decay, patience: int | None = DEFAULTS.patience,
                 val_split: float = 0.0, random_state=None, verbose: bool = False):
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_split = val_split
        self.random_state = random_state
        self.verbose = verbose

    def _config(self, seed: int, epochs: int | None = None, schedule: str = DEFAULTS.schedule) -> TrainConfig:
        """The TrainConfig these parameters describe (ValueError naming a bad one); NumPy numbers, as a
        grid built with NumPy gives them, count as Python's."""
        fields = {"epochs": self.epochs if epochs is None else epochs, "batch_size": self.batch_size, "lr": self.lr,
                  "optimizer": self.optimizer, "weight_decay": self.weight_decay, "patience": self.patience,
                  "val_split": self.val_split}
        return TrainConfig(**{k: plain(v) for k, v in fields.items()}, seed=seed, schedule=schedule).validate()

    def _seed(self) -> int:
        """random_state as chainrule's seed: a non-negative int is used as it is (random_state=0 trains
        as ``chainrule.fit(seed=0)``); None or a RandomState draws one, as scikit-learn's estimators do."""
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool) \
                and self.random_state >= 0:
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _start(self, seed: int) -> None:
        """Seed chainrule's generator (initial weights, dropout masks) and forget the last fit."""
        manual_seed(seed)
        self._optimizer = None
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0

    def _x(self, X, reset: bool):
        """X checked by scikit-learn (2-D, finite, numeric, not sparse) and made float32, once."""
        return validate_data(self, X, reset=reset, dtype=np.float32)

    def _fitted_params(self) -> dict[str, Any]:
        """What save() records beside the weights: the parameters and the fitted attributes."""
        params = {k: plain(v) for k, v in self.get_params().items()}
        if not isinstance(params["random_state"], (int, type(None))):  # a RandomState: not JSON, not needed to predict
            params["random_state"] = None
        names = getattr(self, "feature_names_in_", None)
        return {"params": params, "n_features_in": int(self.n_features_in_), "loss_curve": list(self.loss_curve_),
                "n_iter": int(self.n_iter_), "feature_names_in": None if names is None else [str(n) for n in names]}

    def _restore_fitted(self, saved: dict[str, Any]) -> None:
        self.n_features_in_, self.loss_curve_, self.n_iter_ = saved["n_features_in"], saved["loss_curve"], saved["n_iter"]
        if saved["feature_names_in"] is not None:
            self.feature_names_in_ = np.asarray(saved["feature_names_in"], dtype=object)
        self._optimizer = None  # the optimizer's buffers are not saved: partial_fit starts a fresh one

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None or not isinstance(self.random_state, numbers.Integral)
        return tags


def plain(value):
    """A parameter as JSON holds it: NumPy's numbers (a grid from np.logspace) as Python's."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value) if isinstance(value, numbers.Real) else value


SAVED = Record(params=Record(model=Str(), extra=True), n_features_in=Int(1), loss_curve=List(Num(nan=True, inf=True)),
               n_iter=Int(0), feature_names_in=Nullable(List(Str())), extra=True)


def check_saved(path, saved, **more) -> dict[str, Any]:
    """The metadata's 'sklearn' record, checked (CheckpointError naming the file and the field).

    >>> check_saved("m.safetensors", None)
    Traceback (most recent call last):
    chainrule.io.CheckpointError: m.safetensors: a chainrule checkpoint, but not a saved scikit-learn estimator (no 'sklearn' metadata): chainrule.load reads it
    """
    if not isinstance(saved, dict):
        raise CheckpointError(f"{os.fspath(path)}: a chainrule checkpoint, but not a saved scikit-learn estimator "
                              f"(no 'sklearn' metadata): chainrule.load reads it")
    try:
        check(saved, SAVED, "sklearn")
        for name, field in more.items():
            check(saved.get(name), field, f"sklearn.{name}")
    except SchemaError as e:
        raise CheckpointError(f"{os.fspath(path)}: metadata {e}") from None
    unknown = set(saved["params"]) - set(MLPBase().get_params())
    if unknown:
        raise CheckpointError(f"{os.fspath(path)}: metadata field 'sklearn.params' holds unknown parameters: "
                              f"{', '.join(sorted(unknown))}")
    return saved

"""scikit-learn estimators around chainrule's MLPs: MLPClassifier and MLPRegressor.

They follow scikit-learn's estimator API (its developer guide, "Developing scikit-learn
estimators"): every constructor argument is stored as given and checked in ``fit``; inputs
are checked by scikit-learn's own ``validate_data``; fitted attributes end in ``_``. So they
drop into a Pipeline, GridSearchCV, ``clone`` and ``cross_val_score``, and pass
``sklearn.utils.estimator_checks.check_estimator``. Training is chainrule's: the classifier
runs ``chainrule.train.Trainer`` on a ``Data`` built from the arrays (quietly, no run folder);
the regressor runs the same loop with a mean-squared-error loss. Needs the ``sklearn`` extra.

>>> import numpy as np
>>> from chainrule.sklearn import MLPClassifier
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 8, np.float32)
>>> clf = MLPClassifier(model="16tanh", epochs=50, lr=0.05, random_state=0).fit(X, ["no", "yes", "yes", "no"] * 8)
>>> clf.predict(X[:4]).tolist()
['no', 'yes', 'yes', 'no']
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict
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

from .autograd.ops import NonFiniteError
from .data import Data, DataLoader
from .io import CheckpointError, load_weights, save_weights
from .model import Classifier
from .model import load as load_classifier
from .model import save as save_classifier
from .nn import MSELoss
from .progress import Callback, LineReporter
from .random import manual_seed
from .schema import Anything, Int, List, Nullable, Num, Record, SchemaError, Str, check
from .spec import build_mlp
from .train import DEFAULT_MODEL, TrainConfig, Trainer, TrainingDiverged, make_optimizer, make_schedule

__all__ = ["MLPClassifier", "MLPRegressor"]

_DEFAULTS = TrainConfig()  # the defaults live in TrainConfig; val_split is the one these estimators change
REGRESSOR = "sklearn.MLPRegressor"  # the metadata's "kind" of a saved regressor


class _MLP(BaseEstimator):
    """What both estimators share: the parameters, the training configuration, the seed, saving."""

    # epochs: TrainConfig's 200 with its cosine schedule; measured: the digits pipeline scores 0.942 to
    # 0.963 in 3-fold cross-validation (tests/test_sklearn_estimators.py), and scikit-learn's whole
    # check_estimator runs in 10 s. val_split 0: nothing is held out of the user's data unless asked.
    def __init__(self, model: str = DEFAULT_MODEL, epochs: int = _DEFAULTS.epochs, batch_size: int = _DEFAULTS.batch_size,
                 lr: float = _DEFAULTS.lr, optimizer: str = _DEFAULTS.optimizer,
                 weight_decay: float = _DEFAULTS.weight_decay, patience: int | None = _DEFAULTS.patience,
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

    def _config(self, seed: int, epochs: int | None = None, schedule: str = _DEFAULTS.schedule) -> TrainConfig:
        """The TrainConfig these parameters describe (ValueError naming a bad one); NumPy numbers, as a
        grid built with NumPy gives them, count as Python's."""
        fields = {"epochs": self.epochs if epochs is None else epochs, "batch_size": self.batch_size, "lr": self.lr,
                  "optimizer": self.optimizer, "weight_decay": self.weight_decay, "patience": self.patience,
                  "val_split": self.val_split}
        return TrainConfig(**{k: _plain(v) for k, v in fields.items()}, seed=seed, schedule=schedule).validate()

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
        params = {k: _plain(v) for k, v in self.get_params().items()}
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


class MLPClassifier(ClassifierMixin, _MLP):
    """A chainrule MLP classifier with scikit-learn's estimator API.

    Parameters mirror ``chainrule.fit``: ``model`` (a SPEC such as "256relu-dropout0.2"),
    ``epochs``, ``batch_size``, ``lr``, ``optimizer``, ``weight_decay``, ``patience``,
    ``val_split`` (0: train on everything; patience applies only with a split), ``random_state``
    and ``verbose`` (one line per epoch). Labels may be strings or integers; ``classes_`` holds
    them sorted. Fitted: ``model_`` (a ``chainrule.Classifier``), ``classes_``,
    ``n_features_in_``, ``feature_names_in_`` (pandas input), ``loss_curve_`` (training loss per
    epoch), ``n_iter_`` (epochs run). Like ``chainrule.fit``, fit seeds chainrule's generator
    (``chainrule.manual_seed``), which draws the initial weights and the dropout masks.

    >>> MLPClassifier(model="32relu", epochs=10)
    MLPClassifier(epochs=10, model='32relu')
    """

    def fit(self, X, y) -> "MLPClassifier":
        """Train a new network on (X, y) for up to ``epochs`` epochs."""
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        seed = self._seed()
        config = self._config(seed)  # the parameters are checked before anything else is done
        self.classes_, labels = np.unique(y, return_inverse=True)
        self._start(seed)
        self.model_ = Classifier.from_spec(self.model, X.shape[1], [str(c) for c in self.classes_],
                                           info={"train_config": asdict(config)})
        return self._train(X, labels, config)

    def partial_fit(self, X, y, classes=None) -> "MLPClassifier":
        """One more epoch on (X, y), the optimizer's state kept between calls. The first call
        needs ``classes`` (every label there will be), as scikit-learn's partial_fit does."""
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, dtype=np.float32, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be given to the first partial_fit (every label there will be)")
            seed = self._seed()
            self.classes_ = np.unique(np.asarray(classes))
            self._start(seed)
            self.model_ = Classifier.from_spec(self.model, X.shape[1], [str(c) for c in self.classes_])
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes {np.unique(np.asarray(classes)).tolist()} differ from the classes of the "
                             f"first partial_fit, {self.classes_.tolist()}")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"y holds labels not in classes: {unknown[:10].tolist()}")
        labels = np.searchsorted(self.classes_, y)
        config = self._config(self._seed() + self.n_iter_, epochs=1, schedule="none")  # a new shuffle each epoch
        return self._train(X, labels, config)

    def _train(self, X: np.ndarray, labels: np.ndarray, config: TrainConfig) -> "MLPClassifier":
        data = Data(X, labels, X[:0], labels[:0], name="the training data", classes=self.model_.classes)
        trainer = Trainer(self.model_, data, config, callback=LineReporter() if self.verbose else Callback())
        if self._optimizer is not None:  # partial_fit: Adam's moments carry on, at the rate asked for
            trainer.optimizer = self._optimizer
            trainer.optimizer.lr = config.lr
            trainer.schedule = make_schedule(trainer.optimizer, config)
        result = trainer.fit()
        self._optimizer = trainer.optimizer
        self.loss_curve_ += [m["train_loss"] for m in result.history]
        self.n_iter_ += len(result.history)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, classes), columns in the order of ``classes_`` (float32)."""
        check_is_fitted(self)
        return self.model_.predict_proba(self._x(X, reset=False))

    def predict(self, X) -> np.ndarray:
        """The most likely label of each row, as given to fit (a string or an integer)."""
        check_is_fitted(self)
        return self.classes_[self.model_.predict(self._x(X, reset=False))]

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted estimator to a chainrule checkpoint (safetensors, never pickle): the
        network as ``chainrule.save`` writes a Classifier, with this estimator's parameters, labels
        and fitted attributes in its metadata. ``chainrule.load(path)`` reads it as a Classifier."""
        check_is_fitted(self)
        self.model_.info["sklearn"] = {**self._fitted_params(), "classes": self.classes_.tolist()}
        save_classifier(self.model_, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MLPClassifier":
        """The estimator ``save`` wrote, ready to predict (and to partial_fit, with a fresh optimizer)."""
        model = load_classifier(path)
        saved = model.info.get("sklearn") if isinstance(model, Classifier) else None
        saved = _check_saved(path, saved, classes=List(Anything(), 1))
        est = cls(**saved["params"])
        est.model_, est.classes_ = model, np.asarray(saved["classes"])
        if len(est.classes_) != model.num_classes:
            raise CheckpointError(f"{os.fspath(path)}: metadata field 'sklearn.classes' lists {len(est.classes_)} "
                                  f"labels for a model of {model.num_classes} classes")
        est._restore_fitted(saved)
        return est


class MLPRegressor(RegressorMixin, _MLP):
    """A chainrule MLP regressor with scikit-learn's estimator API: the network ends in a Linear
    layer of one unit per target and trains on the mean squared error.

    Parameters as MLPClassifier's. Targets are standardized for training (each column to mean 0,
    variance 1, so that ``lr`` means the same whatever their units) and predictions mapped back;
    ``loss_curve_`` is the training loss on that scale. Predictions are float64, as scikit-learn's
    regressors give them; the network itself computes in float32.

    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    >>> reg = MLPRegressor(model="16tanh", epochs=100, lr=0.01, random_state=0).fit(X, 3 * X[:, 0] + 1)
    >>> bool(reg.score(X, 3 * X[:, 0] + 1) > 0.99)
    True
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output unit per column of y
        return tags

    def fit(self, X, y) -> "MLPRegressor":
        """Train a new network on (X, y), y of shape (n,) or (n, targets)."""
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
        seed = self._seed()
        config = self._config(seed)
        targets = self._targets(y)
        mean, scale = targets.mean(axis=0), targets.std(axis=0)
        self.y_mean_, self.y_scale_ = mean, np.where(scale > 0, scale, np.float32(1))
        self._start(seed)
        self.model_ = build_mlp(self.model, X.shape[1], targets.shape[1])
        return self._train(X, targets, config)

    def partial_fit(self, X, y) -> "MLPRegressor":
        """One more epoch on (X, y); the first call sets the targets' scale from its y."""
        first = not hasattr(self, "model_")
        if first:
            X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
            targets = self._targets(y)
            self.y_mean_, scale = targets.mean(axis=0), targets.std(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, np.float32(1))
            self._start(self._seed())
            self.model_ = build_mlp(self.model, X.shape[1], targets.shape[1])
        else:
            X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True, reset=False)
            targets = self._targets(y)
            if targets.shape[1] != len(self.y_mean_):
                raise ValueError(f"y has {targets.shape[1]} targets, the first fit had {len(self.y_mean_)}")
        return self._train(X, targets, self._config(self._seed() + self.n_iter_, epochs=1, schedule="none"))

    def _targets(self, y) -> np.ndarray:
        """y as a float32 (n, targets) array; remembers whether predictions are 1-D."""
        y = np.asarray(y)
        self._one_target = y.ndim == 1
        return (y[:, None] if y.ndim == 1 else y).astype(np.float32)

    def _train(self, X: np.ndarray, targets: np.ndarray, config: TrainConfig) -> "MLPRegressor":
        """The Trainer's loop (chainrule.train.trainer) with MSELoss: shuffled batches, the configured
        optimizer and schedule, early stopping on a held-out share when val_split > 0, best weights kept."""
        net, reporter = self.model_, LineReporter() if self.verbose else None
        scaled = (targets - self.y_mean_) / self.y_scale_
        n_val = round(config.val_split * len(X))
        order = np.random.default_rng(config.seed).permutation(len(X)) if n_val else np.arange(len(X))
        val, train = order[:n_val], order[n_val:]
        if len(train) == 0:
            raise ValueError(f"val_split {config.val_split} leaves no example of {len(X)} to train on")
        loader = DataLoader(X[train], scaled[train], config.batch_size, shuffle=True, seed=config.seed,
                            reuse_buffers=True)
        optimizer = self._optimizer or make_optimizer(net.parameters(), config)
        optimizer.lr = config.lr
        schedule, criterion = make_schedule(optimizer, config), MSELoss()
        best, bad_epochs = None, 0
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(1, config.epochs + 1):
                net.train()
                total = 0.0
                for xb, yb in loader:
                    optimizer.zero_grad()
                    try:
                        loss = criterion.fprop(net.fprop(xb), yb)
                    except NonFiniteError:
                        loss = math.nan
                    if not math.isfinite(loss):
                        raise TrainingDiverged(f"training diverged at epoch {epoch}: the loss is {loss}; "
                                               f"try a lower learning rate than lr={config.lr:g}")
                    net.bprop(criterion.bprop(), input_grad=False)
                    optimizer.step()
                    total += loss * len(xb)
                schedule.step()
                self.loss_curve_.append(total / len(train))
                self.n_iter_ += 1
                score = self._val_loss(X[val], scaled[val]) if n_val else -epoch
                if reporter is not None:
                    reporter.say(f"epoch {epoch}/{config.epochs}: loss {self.loss_curve_[-1]:.4f}"
                                 + (f", val loss {score:.4f}" if n_val else ""))
                if math.isfinite(score) and (best is None or score < best[0]):
                    best, bad_epochs = (score, {k: v.copy() for k, v in net.state_dict().items()}), 0
                else:
                    bad_epochs += 1
                if n_val and config.patience is not None and bad_epochs >= config.patience:
                    break
        if best is not None:
            net.load_state_dict(best[1])
        self._optimizer = optimizer
        return self

    def _val_loss(self, X: np.ndarray, scaled: np.ndarray) -> float:
        net = self.model_
        net.eval()
        try:
            return float(np.mean((net.fprop(X) - scaled) ** 2))
        finally:
            net.train()

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape (n,) for a 1-D y at fit, else (n, targets); float64."""
        check_is_fitted(self)
        X = self._x(X, reset=False)
        net = self.model_
        was_training = net.training
        net.eval()
        try:
            out = np.concatenate([net.fprop(X[i:i + 1000]) for i in range(0, len(X), 1000)]) if len(X) else \
                np.zeros((0, len(self.y_mean_)), np.float32)
        finally:
            net.train(was_training)
        out = (out * self.y_scale_ + self.y_mean_).astype(np.float64)
        return out[:, 0] if self._one_target else out

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted estimator to a safetensors file (never pickle): the network's state_dict,
        the targets' mean and scale, and the parameters and fitted attributes in its metadata."""
        check_is_fitted(self)
        arrays = {**self.model_.state_dict(), "target.mean": self.y_mean_, "target.scale": self.y_scale_}
        save_weights(arrays, path, {"format": 1, "kind": REGRESSOR, "spec": self.model, "one_target": self._one_target,
                                    "sklearn": self._fitted_params()})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MLPRegressor":
        """The estimator ``save`` wrote, ready to predict."""
        arrays, info = load_weights(path)
        if info.get("kind") != REGRESSOR:
            raise CheckpointError(f"{os.fspath(path)}: not a saved MLPRegressor (its metadata 'kind' is "
                                  f"{info.get('kind')!r}); an MLPClassifier loads with MLPClassifier.load")
        saved = _check_saved(path, info.get("sklearn"))
        mean, scale = arrays.pop("target.mean", None), arrays.pop("target.scale", None)
        if mean is None or scale is None or mean.shape != scale.shape or mean.ndim != 1:
            raise CheckpointError(f"{os.fspath(path)}: tensors 'target.mean' and 'target.scale' are missing or misshapen")
        est = cls(**saved["params"])
        try:
            est.model_ = build_mlp(saved["params"]["model"], saved["n_features_in"], len(mean))
            est.model_.load_state_dict(arrays)
        except ValueError as e:
            raise CheckpointError(f"{os.fspath(path)}: weights do not fit model {saved['params']['model']!r}: {e}") from None
        est.y_mean_, est.y_scale_, est._one_target = mean, scale, bool(info.get("one_target", True))
        est._restore_fitted(saved)
        return est


def _plain(value):
    """A parameter as JSON holds it: NumPy's numbers (a grid from np.logspace) as Python's."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value) if isinstance(value, numbers.Real) else value


_SAVED = Record(params=Record(model=Str(), extra=True), n_features_in=Int(1), loss_curve=List(Num(nan=True, inf=True)),
                n_iter=Int(0), feature_names_in=Nullable(List(Str())), extra=True)


def _check_saved(path, saved, **more) -> dict[str, Any]:
    """The metadata's 'sklearn' record, checked (CheckpointError naming the file and the field)."""
    if not isinstance(saved, dict):
        raise CheckpointError(f"{os.fspath(path)}: a chainrule checkpoint, but not a saved scikit-learn estimator "
                              f"(no 'sklearn' metadata): chainrule.load reads it")
    try:
        check(saved, _SAVED, "sklearn")
        for name, field in more.items():
            check(saved.get(name), field, f"sklearn.{name}")
    except SchemaError as e:
        raise CheckpointError(f"{os.fspath(path)}: metadata {e}") from None
    unknown = set(saved["params"]) - set(_MLP().get_params())
    if unknown:
        raise CheckpointError(f"{os.fspath(path)}: metadata field 'sklearn.params' holds unknown parameters: "
                              f"{', '.join(sorted(unknown))}")
    return saved

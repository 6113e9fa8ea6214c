"""MLPRegressor: a chainrule MLP ending in one linear unit per target, trained on the mean squared
error with the Trainer's optimizer, schedule, batching and early stopping."""

from __future__ import annotations

import math
import os

import numpy as np

from ..autograd.ops import NonFiniteError
from ..data import DataLoader
from ..io import CheckpointError, load_weights, save_weights
from ..nn import MSELoss
from ..progress import LineReporter
from ..spec import build_mlp
from ..train import TrainConfig, TrainingDiverged, make_optimizer, make_schedule
from .base import MLPBase, RegressorMixin, check_is_fitted, check_saved, validate_data

__all__ = ["MLPRegressor"]

REGRESSOR = "sklearn.MLPRegressor"  # the metadata's "kind" of a saved regressor


class MLPRegressor(RegressorMixin, MLPBase):
    """A chainrule MLP regressor with scikit-learn's estimator API: the network ends in a Linear
    layer of one unit per target and trains on the mean squared error.

    Parameters as MLPClassifier's. Targets are standardized for training (each column to mean 0,
    variance 1, so that ``lr`` means the same whatever their units) and predictions mapped back;
    ``loss_curve_`` is the training loss on that scale. The network computes in float32;
    predictions are float32 for float32 X and float64 otherwise, as scikit-learn's own
    MLPRegressor gives them (its ``check_estimator`` expects float64 for float64 X). fit seeds
    chainrule's generator, as MLPClassifier's does.

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
        self._begin(X, targets, seed)
        return self._train(X, targets, config)

    def _begin(self, X: np.ndarray, targets: np.ndarray, seed: int) -> None:
        """A new network, and the targets' scale from these (a constant column keeps scale 1)."""
        scale = targets.std(axis=0)
        self.y_mean_, self.y_scale_ = targets.mean(axis=0), np.where(scale > 0, scale, np.float32(1))
        self._start(seed)
        self.model_ = build_mlp(self.model, X.shape[1], targets.shape[1])

    def partial_fit(self, X, y) -> "MLPRegressor":
        """One more epoch on (X, y); the first call sets the targets' scale from its y."""
        first = not hasattr(self, "model_")
        if first:
            X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
            targets, seed = self._targets(y), self._seed()
            self._config(seed, epochs=1)  # the parameters are checked before the network is built
            self._begin(X, targets, seed)
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
        """Predicted targets, shape (n,) for a 1-D y at fit, else (n, targets); float32 for float32 X,
        else float64 (the values are float32's either way)."""
        check_is_fitted(self)
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = self._x(X, reset=False)
        net = self.model_
        was_training = net.training
        net.eval()
        try:
            out = np.concatenate([net.fprop(X[i:i + 1000]) for i in range(0, len(X), 1000)]) if len(X) else \
                np.zeros((0, len(self.y_mean_)), np.float32)
        finally:
            net.train(was_training)
        out = (out * self.y_scale_ + self.y_mean_).astype(dtype, copy=False)
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
        saved = check_saved(path, info.get("sklearn"))
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

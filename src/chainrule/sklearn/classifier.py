"""MLPClassifier: a chainrule MLP classifier, trained by chainrule's Trainer, with scikit-learn's API."""

from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np

from ..data import Data
from ..io import CheckpointError
from ..model import Classifier
from ..model import load as load_classifier
from ..model import save as save_classifier
from ..progress import Callback, LineReporter
from ..schema import Anything, List
from ..train import TrainConfig, Trainer, make_schedule
from .base import ClassifierMixin, MLPBase, check_classification_targets, check_is_fitted, check_saved, validate_data

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, MLPBase):
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
            self._config(seed, epochs=1)  # the parameters are checked before the network is built
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
        saved = check_saved(path, saved, classes=List(Anything(), 1))
        est = cls(**saved["params"])
        est.model_, est.classes_ = model, np.asarray(saved["classes"])
        if len(est.classes_) != model.num_classes:
            raise CheckpointError(f"{os.fspath(path)}: metadata field 'sklearn.classes' lists {len(est.classes_)} "
                                  f"labels for a model of {model.num_classes} classes")
        est._restore_fitted(saved)
        return est

"""How well a model does on arrays: the loss training minimizes, accuracy, errors, predictions."""

from __future__ import annotations

import numpy as np

from ..autograd.ops import NonFiniteError
from ..model import Classifier
from ..nn import CrossEntropyLoss

__all__ = ["evaluate_arrays"]


def evaluate_arrays(model: Classifier, x: np.ndarray, y: np.ndarray) -> dict[str, float | int]:
    """Loss (the training's criterion, CrossEntropyLoss), accuracy and error count of a model on
    (x, y), in eval mode (no dropout), with its predictions.

    Weights too large for float32 give a NaN loss, not NumPy's overflow warnings: callers
    check the loss (training's validation keeps such an epoch from being the best).

    >>> import numpy as np, chainrule as cr
    >>> clf = cr.Classifier.from_spec("linear", num_features=2, classes=["a", "b"])
    >>> evaluate_arrays(clf, np.zeros((4, 2), np.float32), np.array([0, 0, 1, 1]))["errors"]
    2
    """
    if len(x) == 0:
        return {"loss": float("nan"), "accuracy": float("nan"), "errors": 0, "size": 0,
                "predictions": np.zeros(0, np.int64)}
    with np.errstate(over="ignore", invalid="ignore"):
        logits = model.logits(x)
        try:
            loss = float(CrossEntropyLoss().fprop(logits, y))
        except NonFiniteError:  # logits overflowed
            loss = float("nan")
    predicted = logits.argmax(axis=1)
    errors = int((predicted != y).sum())
    return {"loss": loss, "accuracy": 1 - errors / len(y), "errors": errors, "size": int(len(y)),
            "predictions": predicted}

"""The TypeError for a model the converters cannot take, saying what to pass instead.

A scikit-learn estimator from ``chainrule.sklearn`` is the likeliest wrong model: its fitted
network is ``est.model_``. A regressor's network predicts the targets standardized (each column
to mean 0, variance 1), so its message says how to map them back.

>>> str(wrong_model("to_onnx", 3, "a chainrule.Classifier"))
'to_onnx: model must be a chainrule.Classifier, got int'
"""

from __future__ import annotations

from typing import Any

from ..model import Classifier
from ..nn import Module

__all__ = ["wrong_model"]


def wrong_model(what: str, model: Any, accepted: str) -> TypeError:
    """The error for ``what`` given ``model``, which is none of ``accepted``."""
    message = f"{what}: model must be {accepted}, got {type(model).__name__}"
    if not hasattr(model, "get_params"):  # not a scikit-learn estimator
        return TypeError(message)
    net = getattr(model, "model_", None)
    if isinstance(net, Classifier):
        return TypeError(f"{message}; pass its fitted network, {what}(est.model_, ...) (a chainrule.Classifier "
                         f"whose probabilities are est.predict_proba's)")
    if isinstance(net, Module):
        return TypeError(f"{message}; pass its fitted network, {what}(est.model_, ...), whose outputs are the "
                         f"targets standardized: est.predict multiplies them by est.y_scale_ and adds est.y_mean_")
    return TypeError(f"{message}; a fitted scikit-learn estimator's network is est.model_ (fit it first)")

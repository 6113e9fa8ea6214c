"""Criteria: output units matched to their costs by maximum likelihood.

Each is a Module: ``loss = criterion(z, target)`` on tensors (autodiff), or
``criterion.fprop(z, target) -> float`` then ``criterion.bprop() -> dL/dz``.

===================  ==================  ==============================
output unit          distribution        criterion
===================  ==================  ==============================
softmax              categorical         CrossEntropyLoss (logits)
log-softmax          categorical         NLLLoss (log-probabilities)
sigmoid              Bernoulli           BCEWithLogitsLoss (logits)
(after a sigmoid)    Bernoulli           BCELoss (probabilities)
linear               Gaussian mean       MSELoss
linear               Laplace median      L1Loss
linear               (robust)            HuberLoss
===================  ==================  ==============================

>>> import numpy as np, chainrule as cr
>>> ce = cr.nn.CrossEntropyLoss()
>>> round(ce.fprop(np.zeros((2, 3), np.float32), np.array([0, 2])), 4)
1.0986
"""

from __future__ import annotations

import numpy as np

from ..autograd import ops
from ..autograd.function import Context
from ..autograd.tensor import Tensor, as_operand
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "MSELoss", "L1Loss", "HuberLoss"]


class _Criterion(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        ops.check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def options(self):
        return {"reduction": self.reduction}

    def forward(self, z: Tensor, target) -> Tensor:
        return self.function.apply(z, target.data if isinstance(target, Tensor) and not target.requires_grad else target,
                                   **self.options())

    def __call__(self, z, target) -> Tensor:
        return self.forward(z if isinstance(z, Tensor) else Tensor(z), target)

    def fprop(self, z: np.ndarray, target: np.ndarray):
        """The loss for logits/outputs z and targets (a float; with reduction='none', the
        array of losses); caches what bprop needs."""
        ctx = Context((True, False))
        z = np.asarray(z)
        # float targets take z's dtype (no silent float64), integer labels stay integers
        out = self.function.forward(ctx, z, as_operand(target, z.dtype, keep_integers=True), **self.options())
        # plain attributes, set in one call (Module.__setattr__ would check each against the registries)
        self.__dict__.update(_ctx=ctx, _dtype=out.dtype, _batch=len(z), _out_shape=out.shape)
        return out if self.reduction == "none" else float(out)

    def bprop(self, grad_output=1.0, input_grad: bool = True) -> np.ndarray:
        """dL/dz for the last fprop, times grad_output.

        grad_output is a scalar (usually 1), or one weight per example, shape (N,):
        then the result is d(Σ_i w_i ℓ_i)/dz for the per-example losses ℓ_i, which
        is how the exercise writes it: ``l.bprop([1/N_B, ..., 1/N_B])``. With
        reduction='none' it may also have the losses' shape (PyTorch's ``backward(g)``).
        """
        ctx = self._ctx
        if ctx is None:
            raise RuntimeError(f"{type(self).__name__}.bprop called before fprop")
        g = np.asarray(grad_output, dtype=self._dtype)
        if g.ndim == 0 or (self.reduction == "none" and g.shape == self._out_shape):
            return self.function.backward(ctx, g)[0]
        if g.shape != (self._batch,):
            raise ValueError(f"{type(self).__name__}.bprop: grad_output must be a scalar or per-example weights of "
                             f"shape ({self._batch},), got shape {g.shape}")
        # d(Σ_i ℓ_i)/dz, row i depending on example i only, then weighted row by row
        per_example = self.function.backward(ctx, np.asarray(ctx.count, dtype=self._dtype))[0]
        return per_example * g.reshape((-1,) + (1,) * (per_example.ndim - 1))

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedCriterion(_Criterion):
    """A criterion with an optional ``weight`` buffer (per class, or per element for BCELoss)."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        if weight is not None:
            w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
            if w.dtype.kind not in "fiu" or not np.isfinite(w).all():
                raise ValueError(f"{type(self).__name__}: weight must hold finite numbers, got {w!r}")
            weight = w.astype(w.dtype if w.dtype.kind == "f" else np.float32)
        self.register_buffer("weight", weight)

    def options(self):
        return {"reduction": self.reduction, "weight": None if self.weight is None else self.weight.data}


class CrossEntropyLoss(_WeightedCriterion):
    """Softmax output + categorical cross-entropy, fused: logits (N, C) and labels (N,) or
    class probabilities (N, C). As ``torch.nn.CrossEntropyLoss``: class ``weight`` (C,),
    ``ignore_index`` (examples with that label count for nothing, nor in the mean),
    ``label_smoothing`` ε (the target becomes (1 − ε)·onehot + ε/C).

    >>> import numpy as np, chainrule as cr
    >>> z, t = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32), np.array([0, 1])
    >>> round(cr.nn.CrossEntropyLoss(label_smoothing=0.1).fprop(z, t), 4)
    0.4955
    >>> [round(float(v), 4) for v in cr.nn.CrossEntropyLoss(reduction="none", ignore_index=1).fprop(z, t)]
    [0.2395, 0.0]
    """

    function = ops.CrossEntropy

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)

    def options(self):
        # the plain case passes no more than it did: the trainer's hot path
        options = super().options()
        if self.ignore_index != -100:
            options["ignore_index"] = self.ignore_index
        if self.label_smoothing:
            options["label_smoothing"] = self.label_smoothing
        return options


class NLLLoss(_WeightedCriterion):
    """Negative log-likelihood of log-probabilities (N, C) (after LogSoftmax), labels (N,);
    class ``weight`` and ``ignore_index`` as in PyTorch."""

    function = ops.NLL

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = int(ignore_index)

    def options(self):
        return {**super().options(), "ignore_index": self.ignore_index}


class BCEWithLogitsLoss(_WeightedCriterion):
    """Sigmoid output + Bernoulli likelihood: softplus((1 − 2y) z) for targets 0/1 of z's shape;
    targets in [0, 1], ``weight`` (broadcast) and ``pos_weight`` (per class) as in PyTorch.

    >>> import numpy as np, chainrule as cr
    >>> round(cr.nn.BCEWithLogitsLoss(pos_weight=np.array([3.0])).fprop(np.zeros((2, 1), np.float32),
    ...                                                                  np.array([[1.0], [0.5]])), 4)
    1.7329
    """

    function = ops.BCEWithLogits

    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        if pos_weight is not None:
            pos_weight = pos_weight.data if isinstance(pos_weight, Tensor) else np.asarray(pos_weight, np.float32)
        self.register_buffer("pos_weight", pos_weight)

    def options(self):
        options = super().options()
        if self.pos_weight is not None:
            options["pos_weight"] = self.pos_weight.data
        return options


class BCELoss(_WeightedCriterion):
    """Binary cross-entropy of probabilities (after a Sigmoid), targets in [0, 1], same shape;
    each log clamped at −100 as PyTorch does. ``weight`` multiplies each element's loss
    (broadcast against the input). BCEWithLogitsLoss on logits is more accurate.

    >>> import numpy as np, chainrule as cr
    >>> round(cr.nn.BCELoss().fprop(np.array([0.8, 0.0], np.float32), np.array([1.0, 0.0])), 4)
    0.1116
    """

    function = ops.BCE


class MSELoss(_Criterion):
    """Linear output + Gaussian likelihood: mean of (z − y)²."""

    function = ops.MSE


class L1Loss(_Criterion):
    """Mean absolute error: mean of |z − y| (the Laplace likelihood's cost)."""

    function = ops.L1


class HuberLoss(_Criterion):
    """½(z − y)² within ``delta`` of the target, linear beyond it (robust to outliers).

    >>> import numpy as np, chainrule as cr
    >>> cr.nn.HuberLoss(reduction="none", delta=1.0).fprop(np.array([0.5, 3.0], np.float32), np.zeros(2)).astype(float).tolist()
    [0.125, 2.5]
    """

    function = ops.Huber

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = float(delta)

    def options(self):
        return {"reduction": self.reduction, "delta": self.delta}

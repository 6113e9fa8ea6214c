"""Criteria: output units matched to their costs by maximum likelihood.

Each is a Module: ``loss = criterion(z, target)`` on tensors (autodiff), or
``criterion.fprop(z, target) -> float`` then ``criterion.bprop() -> dL/dz``.

===================  ==================  ==============================
output unit          distribution        criterion
===================  ==================  ==============================
softmax              categorical         CrossEntropyLoss (logits)
log-softmax          categorical         NLLLoss (log-probabilities)
sigmoid              Bernoulli           BCEWithLogitsLoss (logits)
linear               Gaussian mean       MSELoss
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

__all__ = ["CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "MSELoss"]


class _Criterion(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        ops._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def options(self):
        return {"reduction": self.reduction}

    def forward(self, z: Tensor, target) -> Tensor:
        return self.function.apply(z, target.data if isinstance(target, Tensor) and not target.requires_grad else target,
                                   **self.options())

    def __call__(self, z, target) -> Tensor:
        return self.forward(z if isinstance(z, Tensor) else Tensor(z), target)

    def fprop(self, z: np.ndarray, target: np.ndarray) -> float:
        """The loss for logits/outputs z and targets; caches what bprop needs."""
        ctx = Context((True, False))
        z = np.asarray(z)
        # float targets take z's dtype (no silent float64), integer labels stay integers
        out = self.function.forward(ctx, z, as_operand(target, z.dtype, keep_integers=True), **self.options())
        self._ctx, self._dtype, self._batch = ctx, out.dtype, len(z)
        return float(out)

    def bprop(self, grad_output=1.0, input_grad: bool = True) -> np.ndarray:
        """dL/dz for the last fprop, times grad_output.

        grad_output is a scalar (usually 1), or one weight per example, shape (N,):
        then the result is d(Σ_i w_i ℓ_i)/dz for the per-example losses ℓ_i, which
        is how the exercise writes it: ``l.bprop([1/N_B, ..., 1/N_B])``.
        """
        ctx = self._ctx
        if ctx is None:
            raise RuntimeError(f"{type(self).__name__}.bprop called before fprop")
        g = np.asarray(grad_output, dtype=self._dtype)
        if g.ndim == 0:
            return self.function.backward(ctx, g)[0]
        if g.shape != (self._batch,):
            raise ValueError(f"{type(self).__name__}.bprop: grad_output must be a scalar or per-example weights of "
                             f"shape ({self._batch},), got shape {g.shape}")
        # d(Σ_i ℓ_i)/dz, row i depending on example i only, then weighted row by row
        per_example = self.function.backward(ctx, np.asarray(ctx.count, dtype=self._dtype))[0]
        return per_example * g.reshape((-1,) + (1,) * (per_example.ndim - 1))

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Criterion):
    """Softmax output + categorical cross-entropy, fused: logits (N, C), labels (N,)."""

    function = ops.CrossEntropy


class NLLLoss(_Criterion):
    """Negative log-likelihood of log-probabilities (N, C) (after LogSoftmax), labels (N,)."""

    function = ops.NLL


class BCEWithLogitsLoss(_Criterion):
    """Sigmoid output + Bernoulli likelihood: softplus((1 − 2y) z), targets 0/1, same shape as z."""

    function = ops.BCEWithLogits


class MSELoss(_Criterion):
    """Linear output + Gaussian likelihood: mean of (z − y)²."""

    function = ops.MSE

"""Functional forms of the ops, for tensors: ``cr.cat``, ``cr.stack``, ``cr.softmax`` ...

>>> import chainrule as cr
>>> cr.cat([cr.ones(2), cr.zeros(1)]).numpy().tolist()
[1.0, 1.0, 0.0]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..random import default_generator
from . import ops
from .tensor import Tensor, tensor

__all__ = [
    "cat", "stack", "softmax", "log_softmax", "exp", "log", "tanh", "sigmoid", "relu",
    "leaky_relu", "softplus", "abs", "sqrt", "linear", "dropout",
    "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "mse_loss",
    "matmul", "where", "mean", "prod", "amax", "amin", "argmax", "argmin",
    "maximum", "minimum", "clamp", "clip", "var", "std", "norm", "transpose", "flatten",
]
# pow, sum, max and min are here too (chainrule.max is this max), but left out of __all__:
# a star import (nn/functional.py makes one) would hide Python's own functions of those names.


# Each takes NumPy's axis= or PyTorch's dim=.
def cat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Concatenate along an existing axis (``torch.cat``)."""
    return ops.Cat.apply(*tensors, axis=axis if dim is None else dim)


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Stack along a new axis (``torch.stack``)."""
    return ops.Stack.apply(*tensors, axis=axis if dim is None else dim)


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return ops.Softmax.apply(x, axis=axis if dim is None else dim)


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return ops.LogSoftmax.apply(x, axis=axis if dim is None else dim)


def exp(x):
    return ops.Exp.apply(x)


def log(x):
    return ops.Log.apply(x)


def tanh(x):
    return ops.Tanh.apply(x)


def sigmoid(x):
    return ops.Sigmoid.apply(x)


def relu(x):
    return ops.ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01):
    return ops.LeakyReLU.apply(x, negative_slope=negative_slope)


def softplus(x):
    return ops.Softplus.apply(x)


def abs(x):  # noqa: A001 - mirrors torch.abs
    return ops.Abs.apply(x)


def sqrt(x):
    return ops.Sqrt.apply(x)


def linear(x, weight, bias=None):
    """x @ weight + bias with weight of shape (in, out)."""
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, generator=None):
    return ops.Dropout.apply(x, p=p, training=training, generator=generator or default_generator())


def cross_entropy(logits, target, reduction: str = "mean"):
    return ops.CrossEntropy.apply(logits, target, reduction=reduction)


def nll_loss(log_probs, target, reduction: str = "mean"):
    return ops.NLL.apply(log_probs, target, reduction=reduction)


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean"):
    return ops.BCEWithLogits.apply(logits, target, reduction=reduction)


def mse_loss(input, target, reduction: str = "mean"):
    return ops.MSE.apply(input, target, reduction=reduction)


# The Tensor methods as functions, ``cr.sum(x, dim=1)`` for ``x.sum(dim=1)``: each calls the method
# (one definition), after turning an array or number into a tensor.
def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else tensor(x)


def matmul(a, b):
    """``a @ b`` (NumPy's matmul rules: 1-D, 2-D and batched)."""
    return ops.MatMul.apply(a, b)


def pow(x, exponent):  # noqa: A001 - mirrors torch.pow
    """``x ** exponent``."""
    return ops.Pow.apply(x, exponent)


def where(condition, input=None, other=None):  # noqa: A002 - PyTorch's argument names
    """input where condition holds, else other (gradients to both); numbers become float32.
    With only a condition, the indices where it holds, one tensor per dim (``torch.where(c)``).

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0]
    """
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    if input is None and other is None:
        return tuple(Tensor._wrap(i, False) for i in np.nonzero(condition))
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = tensor(input)
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be boolean, got dtype {condition.dtype}")
    return ops.Where.apply(input, other, condition=condition)


def sum(x, dim=None, keepdim: bool = False, **kwargs):  # noqa: A001
    return _as_tensor(x).sum(dim, keepdim, **kwargs)


def mean(x, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).mean(dim, keepdim, **kwargs)


def prod(x, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).prod(dim, keepdim, **kwargs)


def max(x, dim=None, keepdim: bool = False, **kwargs):  # noqa: A001
    """As ``Tensor.max``: ``cr.max(x)``, ``cr.max(x, 1)`` → (values, indices), ``cr.max(a, b)`` elementwise."""
    return _as_tensor(x).max(dim, keepdim, **kwargs)


def min(x, dim=None, keepdim: bool = False, **kwargs):  # noqa: A001
    """As ``Tensor.min``: ``cr.min(x)``, ``cr.min(x, 1)`` → (values, indices), ``cr.min(a, b)`` elementwise."""
    return _as_tensor(x).min(dim, keepdim, **kwargs)


def amax(x, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).amax(dim, keepdim, **kwargs)


def amin(x, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).amin(dim, keepdim, **kwargs)


def argmax(x, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).argmax(dim, keepdim, **kwargs)


def argmin(x, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).argmin(dim, keepdim, **kwargs)


def maximum(a, b):
    return _as_tensor(a).maximum(b)


def minimum(a, b):
    return _as_tensor(a).minimum(b)


def clamp(x, min=None, max=None):  # noqa: A002
    return _as_tensor(x).clamp(min, max)


clip = clamp


def var(x, dim=None, *args, **kwargs):
    return _as_tensor(x).var(dim, *args, **kwargs)


def std(x, dim=None, *args, **kwargs):
    return _as_tensor(x).std(dim, *args, **kwargs)


def norm(x, p=2, dim=None, keepdim: bool = False, **kwargs):
    return _as_tensor(x).norm(p, dim, keepdim, **kwargs)


def transpose(x, dim0: int, dim1: int):
    return _as_tensor(x).transpose(dim0, dim1)


def flatten(x, start_dim: int = 0):
    return _as_tensor(x).flatten(start_dim)

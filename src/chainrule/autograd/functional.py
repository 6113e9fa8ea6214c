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
from .factories import tensor
from .tensor import Tensor

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


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    return ops.Softplus.apply(x, beta=beta, threshold=threshold)


def abs(x):  # noqa: A001 - mirrors torch.abs
    return ops.Abs.apply(x)


def sqrt(x):
    return ops.Sqrt.apply(x)


def linear(x, weight, bias=None):
    """x @ weight + bias with weight of shape (in, out)."""
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, generator=None):
    return ops.Dropout.apply(x, p=p, training=training, generator=generator or default_generator())


# nn layers and criteria as functions, PyTorch's signatures (torch.nn.functional)
__all__ += ["gelu", "elu", "layer_norm", "batch_norm", "embedding", "binary_cross_entropy", "l1_loss", "huber_loss"]


def gelu(x, approximate: str = "none"):
    return ops.GELU.apply(x, approximate=approximate)


def elu(x, alpha: float = 1.0):
    return ops.ELU.apply(x, alpha=alpha)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    params = [p for p in (weight, bias) if p is not None]
    if bias is not None and weight is None:
        raise ValueError("layer_norm: a bias needs a weight (pass ones)")
    return ops.LayerNorm.apply(x, *params, normalized_shape=shape, eps=eps)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """``torch.nn.functional.batch_norm``: running statistics (arrays or tensors, updated in
    place when training) may be None only when training."""
    if bias is not None and weight is None:
        raise ValueError("batch_norm: a bias needs a weight (pass ones)")
    if not training and running_mean is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    stats = [s.data if isinstance(s, Tensor) else s for s in (running_mean, running_var)]
    return ops.BatchNorm.apply(x, *[p for p in (weight, bias) if p is not None], running_mean=stats[0],
                               running_var=stats[1], training=training, momentum=momentum, eps=eps)


def embedding(indices, weight, padding_idx: int | None = None):
    return ops.Embedding.apply(indices, weight, padding_idx=padding_idx)


def cross_entropy(logits, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """``torch.nn.functional.cross_entropy``: labels (N,) or probabilities (N, C)."""
    options = {"weight": weight.data if isinstance(weight, Tensor) else weight}
    if ignore_index != -100:
        options["ignore_index"] = ignore_index
    if label_smoothing:
        options["label_smoothing"] = label_smoothing
    return ops.CrossEntropy.apply(logits, target, reduction=reduction, **options)


def nll_loss(log_probs, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
    return ops.NLL.apply(log_probs, target, reduction=reduction,
                         weight=weight.data if isinstance(weight, Tensor) else weight, ignore_index=ignore_index)


def binary_cross_entropy_with_logits(logits, target, weight=None, *, reduction: str = "mean", pos_weight=None):
    return ops.BCEWithLogits.apply(logits, target, reduction=reduction,
                                   weight=weight.data if isinstance(weight, Tensor) else weight,
                                   pos_weight=pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight)


def binary_cross_entropy(probs, target, weight=None, reduction: str = "mean"):
    return ops.BCE.apply(probs, target, reduction=reduction, weight=weight.data if isinstance(weight, Tensor) else weight)


def l1_loss(input, target, reduction: str = "mean"):
    return ops.L1.apply(input, target, reduction=reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    return ops.Huber.apply(input, target, reduction=reduction, delta=delta)


def mse_loss(input, target, reduction: str = "mean"):
    return ops.MSE.apply(input, target, reduction=reduction)


def one_hot(labels, num_classes: int = -1):
    """Class indices as one-hot rows (int64, no gradient), as ``torch.nn.functional.one_hot``:
    ``num_classes=-1`` takes the largest label + 1.

    >>> import chainrule as cr
    >>> one_hot(cr.tensor([0, 2])).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers (int64), got {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: labels must be >= 0, got {labels.min()}")
    n = int(labels.max()) + 1 if num_classes == -1 else int(num_classes)
    if labels.size and labels.max() >= n:
        raise ValueError(f"one_hot: label {labels.max()} is out of range for num_classes={n}")
    return Tensor._wrap((labels[..., None] == np.arange(n)).astype(np.int64), False)


__all__ += ["one_hot"]


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


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    return _as_tensor(x).flatten(start_dim, end_dim)

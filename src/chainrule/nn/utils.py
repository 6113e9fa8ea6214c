"""Helpers over a model's gradients."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ..autograd.tensor import Tensor
from .module import Parameter

__all__ = ["clip_grad_norm_", "clip_grad_value_", "grad_norm"]


def _as_list(parameters) -> list[Parameter]:
    # one Parameter or an iterable of them, as torch.nn.utils takes
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def grad_norm(parameters: Iterable[Parameter] | Parameter) -> float:
    """The global L2 norm of all gradients (inf or nan if any is non-finite)."""
    total = 0.0
    for p in _as_list(parameters):
        grad = p.current_grad()  # none since zero_grad(): not part of this step, as in PyTorch
        if grad is not None:
            flat = grad.reshape(-1)
            total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_grad_norm_(parameters: Iterable[Parameter], max_norm: float) -> Tensor:
    """Scale gradients in place so their global L2 norm is at most max_norm; returns the norm
    before, as PyTorch's: a 0-d tensor in the gradients' dtype (``.item()`` or ``float()`` for
    the number).

    >>> import numpy as np, chainrule as cr
    >>> p = cr.nn.Parameter(np.zeros(2, np.float32)); p.grad = np.array([3.0, 4.0], np.float32)
    >>> clip_grad_norm_([p], 1.0).item(), [round(float(v), 4) for v in p.grad]
    (5.0, [0.6, 0.8])
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be > 0, got {max_norm}")
    params = _as_list(parameters)
    norm = grad_norm(params)
    grads = [g for g in (p.current_grad() for p in params) if g is not None]
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for grad in grads:
            grad *= grad.dtype.type(scale)  # in the gradient's own precision
    dtype = grads[0].dtype if grads else np.float32
    return Tensor(norm, dtype=dtype)


def clip_grad_value_(parameters: Iterable[Parameter], clip_value: float) -> None:
    """Clamp every gradient element to [−clip_value, clip_value], in place (PyTorch's)."""
    for p in _as_list(parameters):
        grad = p.current_grad()
        if grad is not None:
            np.clip(grad, -clip_value, clip_value, out=grad)

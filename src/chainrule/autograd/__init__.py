"""Reverse-mode automatic differentiation on NumPy arrays."""

from . import functional, ops
from .function import Context, Function, enable_grad, is_grad_enabled, no_grad, unbroadcast
from .tensor import Tensor, grad, ones, randn, tensor, zeros

__all__ = [
    "Context", "Function", "Tensor", "enable_grad", "functional", "grad", "is_grad_enabled",
    "no_grad", "ones", "ops", "randn", "tensor", "unbroadcast", "zeros",
]

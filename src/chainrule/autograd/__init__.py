"""Reverse-mode automatic differentiation on NumPy arrays.

The package, file by file:

* ``function.py``: :class:`Function` (one op's forward and backward on arrays), its
  :class:`Context`, the recorded :class:`~chainrule.autograd.function.Node`, grad mode
  (``no_grad``, ``enable_grad``), ``unbroadcast``, ``as_operand``;
* ``ops.py``: the op catalogue, one Function per op (arithmetic, activations, reductions,
  shapes, losses, layers), each forward beside its backward;
* ``tensor.py``: :class:`Tensor`'s state, its gradient-buffer protocol (``current_grad``,
  ``grad_buffer``, ``accumulate_grad``), hooks and ``backward``; ``grad``;
* ``engine.py``: the reverse walk ``backward`` runs and the lending of gradient buffers;
* ``math_methods.py``: Tensor's operators, elementwise functions and reductions;
* ``array_methods.py``: Tensor's shape changes, comparisons, in-place updates, dtypes;
* ``factories.py``: ``tensor``, ``zeros``, ``arange``, ``rand``, ... (PyTorch's factories);
* ``functional.py``: the ops as functions (``chainrule.tanh(x)``, ``cross_entropy``);
* ``errors.py``: ``add_context``, which prefixes a child's error with where it happened.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward(); x.grad.tolist()
[2.0, 4.0]
"""

from . import functional, ops
from .factories import ones, randn, tensor, zeros
from .function import Context, Function, enable_grad, is_grad_enabled, no_grad, unbroadcast
from .tensor import Tensor, grad

__all__ = [
    "Context", "Function", "Tensor", "enable_grad", "functional", "grad", "is_grad_enabled",
    "no_grad", "ones", "ops", "randn", "tensor", "unbroadcast", "zeros",
]

"""The Tensor methods that compute: operators, elementwise functions, reductions.

Each is one op of the catalogue (ops.py) applied on the tape, under NumPy's and
PyTorch's names. :class:`~chainrule.autograd.tensor.Tensor` inherits them from
:class:`MathMethods`.

>>> import chainrule as cr
>>> (cr.tensor([1.0, 2.0]) * 3).sum().item()
9.0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from . import ops
from .array_methods import _data, _dim_options
from .function import _tensor_class

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["MathMethods", "ValuesIndices"]


class MathMethods:
    """Operators, elementwise functions and reductions: a base class of Tensor (no state of its own)."""

    __slots__ = ()

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, other):
        return ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return ops.Pow.apply(other, self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __getitem__(self, index):
        if isinstance(index, _tensor_class()):
            index = index.data
        return ops.GetItem.apply(self, index=index)

    # ------------------------------------------------------------ elementwise
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def softplus(self):
        return ops.Softplus.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def pow(self, exponent):
        """``t ** exponent``."""
        return ops.Pow.apply(self, exponent)

    # PyTorch's method names for the operators (the same ops underneath)
    def add(self, other, *, alpha=1):
        """``t + alpha * other``."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """``t - alpha * other``."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def matmul(self, other):
        return self @ other

    def square(self):
        return self * self

    # ------------------------------------------------------------- reductions
    # NumPy's axis/keepdims, or PyTorch's dim/keepdim: the same thing under two names.
    def sum(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
        return ops.Sum.apply(self, **_reduce_options(axis, keepdims, dim, keepdim))

    def mean(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
        return ops.Mean.apply(self, **_reduce_options(axis, keepdims, dim, keepdim))

    def prod(self, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool | None = None):
        """Product over one dim (or all): ``t.prod(1)``. Its gradient is exact where inputs are 0."""
        options = _dim_options(dim, keepdim, axis, keepdims)
        if options["axis"] is not None and not isinstance(options["axis"], (int, np.integer)):
            raise TypeError(f"prod: dim must be an int or None, got {options['axis']!r}")
        return ops.Prod.apply(self, **options)

    def max(self, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool | None = None):
        """PyTorch's max, or NumPy's when called with ``axis=``.

        * ``t.max()``: the largest value, a 0-d tensor (ties share the gradient);
        * ``t.max(dim)``, ``t.max(dim=d, keepdim=True)``: a named tuple ``(values, indices)``,
          as ``torch.max``, so ``_, pred = logits.max(1)`` gives the predicted classes (the
          gradient goes to the index returned, the first largest);
        * ``t.max(other)`` with a tensor: the elementwise maximum (``maximum``);
        * ``t.max(axis=1, keepdims=False)``: NumPy's meaning, the values only (``amax``).

        >>> import chainrule as cr
        >>> values, indices = cr.tensor([[1.0, 5.0], [7.0, 2.0]]).max(1)
        >>> values.tolist(), indices.tolist()
        ([5.0, 7.0], [1, 0])
        """
        return _extreme(self, dim, keepdim, axis, keepdims, largest=True)

    def min(self, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool | None = None):
        """PyTorch's min: as ``max`` (``(values, indices)`` over a dim; NumPy's values only with ``axis=``).

        >>> import chainrule as cr
        >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).min(dim=0).indices.tolist()
        [0, 1]
        """
        return _extreme(self, dim, keepdim, axis, keepdims, largest=False)

    def amax(self, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool | None = None):
        """The largest values over one dim, several (a tuple) or all; values only, ties share the gradient."""
        return ops.Max.apply(self, **_dim_options(dim, keepdim, axis, keepdims))

    def amin(self, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool | None = None):
        """The smallest values over one dim, several or all (the max of −t, negated: exact)."""
        return -(-self).amax(dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """Indices of the largest values (int64, no gradient): ``logits.argmax(1)``."""
        return _arg_extreme(self, np.argmax, dim if dim is not None else axis, keepdim)

    def argmin(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """Indices of the smallest values (int64, no gradient)."""
        return _arg_extreme(self, np.argmin, dim if dim is not None else axis, keepdim)

    def maximum(self, other):
        """The elementwise maximum (``torch.maximum``); where the two are equal each gets half the gradient."""
        return _elementwise_extreme(self, other, largest=True)

    def minimum(self, other):
        """The elementwise minimum (``torch.minimum``); where the two are equal each gets half the gradient."""
        return _elementwise_extreme(self, other, largest=False)

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        """Values limited to [min, max] (either may be None, a number or a tensor). As in PyTorch,
        the gradient passes where min ≤ t ≤ max, and where min > max every value is max.

        >>> import chainrule as cr
        >>> cr.tensor([-2.0, 0.5, 3.0]).clamp(0, 1).tolist()
        [0.0, 0.5, 1.0]
        """
        if min is None and max is None:
            raise ValueError("clamp: give min or max (or both)")
        out = self
        if min is not None:
            out = ops.Where.apply(min, out, condition=out.data < _data(min))
        if max is not None:
            out = ops.Where.apply(max, out, condition=out.data > _data(max))
        return out

    clip = clamp

    def masked_fill(self, mask, value):
        """value where mask holds, this tensor elsewhere (the gradient flows where mask is False)."""
        return ops.Where.apply(value, self, condition=np.asarray(_data(mask), dtype=bool))

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None,
            axis=None, keepdims: bool | None = None):
        """Variance over a dim (or several, or all), PyTorch's: unbiased (divides by N − 1) unless
        ``correction=0`` or ``unbiased=False``. ``axis=`` names the dim too, still unbiased: NumPy's
        ``var`` divides by N (ddof=0), so pass ``correction=0`` for NumPy's number.

        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0, 3.0, 4.0]).var().item(), cr.tensor([1.0, 2.0, 3.0, 4.0]).var(correction=0).item()
        (1.6666666269302368, 1.25)
        """
        if isinstance(dim, bool):  # PyTorch's older var(unbiased)
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        correction = (1 if unbiased is None or unbiased else 0) if correction is None else correction
        options = _dim_options(dim, keepdim, axis, keepdims)
        axes = options["axis"]
        reduced = self.data.shape if axes is None else [self.data.shape[a] for a in
                                                       ((axes,) if isinstance(axes, (int, np.integer)) else axes)]
        centred = self - self.mean(axis=axes, keepdims=True)
        return (centred * centred).sum(**options) / max(math.prod(reduced) - correction, 0)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None,
            axis=None, keepdims: bool | None = None):
        """Standard deviation: the square root of ``var`` (unbiased by default, as PyTorch's)."""
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims).sqrt()

    def norm(self, p=2, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool | None = None):
        """The p-norm over a dim (or several, or all): p = 2 (default, also 'fro'), 1, inf, −inf, 0
        or any other positive number. The 2-norm's gradient at 0 is 0, as PyTorch's.

        >>> import chainrule as cr
        >>> cr.tensor([3.0, -4.0]).norm().item()
        5.0
        """
        options = _dim_options(dim, keepdim, axis, keepdims)
        if p in (2, "fro"):
            return ops.Norm.apply(self, **options)
        if isinstance(p, str) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
        if p == 1:
            return self.abs().sum(**options)
        if p == math.inf:
            return self.abs().amax(options["axis"], options["keepdims"])
        if p == -math.inf:
            return self.abs().amin(options["axis"], options["keepdims"])
        if p == 0:  # how many entries are nonzero (no gradient)
            return _tensor_class()._wrap(np.asarray((self.data != 0).sum(**options), self.data.dtype), False)
        return (self.abs() ** p).sum(**options) ** (1 / p)

    def softmax(self, axis: int = -1, *, dim: int | None = None):
        return ops.Softmax.apply(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None):
        return ops.LogSoftmax.apply(self, axis=axis if dim is None else dim)


def _reduce_options(axis, keepdims, dim, keepdim) -> dict[str, Any]:
    return {"axis": dim if dim is not None else axis, "keepdims": keepdim if keepdim is not None else keepdims}


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, as ``torch.return_types.max``: ``values, indices = t.max(1)``."""

    values: "Tensor"
    indices: "Tensor"


def _extreme(x: "Tensor", dim, keepdim: bool, axis, keepdims, largest: bool):
    """max / min: PyTorch's forms, and NumPy's values-only form under ``axis=``."""
    name = "max" if largest else "min"
    Tensor = _tensor_class()
    if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
        return _elementwise_extreme(x, dim, largest)
    if axis is not None or keepdims is not None:  # NumPy's max(axis=, keepdims=): the values only
        if dim is not None:
            raise TypeError(f"{name}: give dim (PyTorch: values and indices) or axis (NumPy: values only), not both")
        return x.amax(axis=axis, keepdims=keepdims) if largest else x.amin(axis=axis, keepdims=keepdims)
    if dim is None:
        return x.amax(None, keepdim) if largest else x.amin(None, keepdim)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r} (several dims: a{name}(dim=(...)))")
    if x.ndim == 0:
        raise ValueError(f"{name}: a 0-d tensor has no dim {dim}")
    d = int(dim) % x.ndim
    indices = (np.argmax if largest else np.argmin)(x.data, axis=d)
    # the winners picked by index (the gradient goes to them only, as PyTorch's)
    others = np.ix_(*[np.arange(n) for n in indices.shape])
    values = ops.GetItem.apply(x, index=others[:d] + (indices,) + others[d:])
    if keepdim:
        values, indices = values.unsqueeze(d), np.expand_dims(indices, d)
    return ValuesIndices(values, Tensor._wrap(np.asarray(indices, np.int64), False))


def _arg_extreme(x: "Tensor", arg: Callable, axis, keepdim: bool) -> "Tensor":
    indices = arg(x.data, axis=axis, keepdims=bool(keepdim))
    return _tensor_class()._wrap(np.asarray(indices, np.int64), False)


def _elementwise_extreme(a, b, largest: bool) -> "Tensor":
    """maximum / minimum; where a == b each side gets half the gradient (PyTorch's rule)."""
    a_data, b_data = np.asarray(_data(a)), np.asarray(_data(b))
    if a_data.dtype.kind != "f" and b_data.dtype.kind != "f":  # integers: no gradient to split
        return _tensor_class()._wrap((np.maximum if largest else np.minimum)(a_data, b_data), False)
    a_wins = a_data > b_data if largest else a_data < b_data
    b_wins = a_data < b_data if largest else a_data > b_data
    tie = (a + b) * 0.5  # a itself where they are equal (and NaN where either is)
    return ops.Where.apply(a, ops.Where.apply(b, tie, condition=b_wins), condition=a_wins)

"""The Tensor methods NumPy arrays also have: shapes, comparisons, in-place updates, dtypes.

Shape changes are ops on the tape (Reshape, Transpose, Flatten); comparisons give
bool tensors off the tape; in-place updates change the tensor's own array, off the
tape; dtype conversions follow PyTorch's ``to``. :class:`~chainrule.autograd.tensor.Tensor`
inherits them from :class:`ArrayMethods`.

>>> import chainrule as cr
>>> t = cr.zeros(2, 3)
>>> t.view(3, 2).shape, (t == 0).all().item()
((3, 2), True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops
from .function import _tensor_class, as_operand, is_grad_enabled

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["ArrayMethods"]


class ArrayMethods:
    """Shape changes, comparisons, in-place updates and dtype conversions: a base class of
    Tensor (no state of its own)."""

    __slots__ = ()

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *dims):
        """PyTorch's ``x.transpose(0, 1)``: swap two dims. With no argument, reverse them all
        (as ``.T``); with every dim in a new order (NumPy's transpose), the same as ``permute``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            return self.permute(*dims[0])
        if not dims:
            return ops.Transpose.apply(self, axes=None)
        if len(dims) != 2:
            if len(dims) == self.ndim:
                return self.permute(*dims)
            raise ValueError(f"transpose swaps two dims or takes all {self.ndim} in a new order, got {dims}")
        order = list(range(self.ndim))
        a, b = (d % self.ndim for d in dims)
        order[a], order[b] = order[b], order[a]
        return ops.Transpose.apply(self, axes=tuple(order))

    # PyTorch's names for reshapes (one op, Reshape, underneath each)
    def view(self, *shape):
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Dims start_dim..end_dim merged into one: ``x.flatten(1)`` gives (batch, features)."""
        return ops.Flatten.apply(self, start_dim=start_dim, end_dim=end_dim)

    def unsqueeze(self, dim: int):
        """A new dim of size 1 at dim."""
        shape = list(self.shape)
        shape.insert(dim if dim >= 0 else len(shape) + 1 + dim, 1)
        return self.reshape(tuple(shape))

    def squeeze(self, dim: int | None = None):
        """Dims of size 1 removed (all of them, or the one named)."""
        if dim is None:
            return self.reshape(tuple(d for d in self.shape if d != 1))
        dim %= self.ndim
        return self.reshape(self.shape[:dim] + self.shape[dim + 1:]) if self.shape[dim] == 1 else self

    def view_as(self, other):
        """This tensor in other's shape."""
        return self.reshape(other.shape)

    reshape_as = view_as

    def permute(self, *dims):
        """The dims in a new order, every one named once: ``x.permute(2, 0, 1)``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return ops.Transpose.apply(self, axes=tuple(dims))

    @property
    def T(self):
        return ops.Transpose.apply(self, axes=None)

    def t(self):
        """PyTorch's ``t()``: a matrix transposed (tensors of 0 or 1 dims come back as they are)."""
        if self.ndim > 2:
            raise ValueError(f"t() transposes tensors of at most 2 dims, got {self.ndim}; use transpose(d0, d1)")
        return self if self.ndim < 2 else ops.Transpose.apply(self, axes=None)

    # ---------------------------------------------- comparisons (no gradient)
    # Elementwise, as in NumPy and PyTorch, giving bool tensors: (pred == y).sum().
    # Tensors stay hashable by identity (the graph keeps them in lists and dicts).
    __hash__ = object.__hash__

    def _compare(self, other, op) -> "Tensor":
        return _tensor_class()._wrap(op(self.data, _data(other)), False)

    def __eq__(self, other):  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other):  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    # PyTorch's method names for the comparisons
    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def all(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """True where every element (over a dim, or all) is nonzero: ``(x >= 0).all()``."""
        return _tensor_class()._wrap(np.asarray(np.all(self.data, **_dim_options(dim, keepdim, axis, False))), False)

    def any(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """True where some element (over a dim, or all) is nonzero."""
        return _tensor_class()._wrap(np.asarray(np.any(self.data, **_dim_options(dim, keepdim, axis, False))), False)

    # ------------------------------------------------ in place (off the tape)
    # PyTorch's hand-written update ``with no_grad(): p -= lr * p.grad`` changes p's
    # own array. On a tensor that requires grad it is refused while the tape records,
    # since backward would then use changed values.
    def _check_in_place(self) -> None:
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("a tensor that requires grad is being changed in place; do it under "
                               "chainrule.no_grad() (or change .data)")

    def _in_place(self, other, op) -> "Tensor":
        self._check_in_place()
        op(self.data, as_operand(_data(other), self.data.dtype), out=self.data, casting="same_kind")
        return self

    # PyTorch's in-place methods (the trailing underscore): each returns the tensor itself.
    def add_(self, other, *, alpha=1) -> "Tensor":
        """``t += alpha * other``, in place: ``p.add_(g, alpha=-lr)``."""
        return self._in_place(other if alpha == 1 else _data(other) * alpha, np.add)

    def sub_(self, other, *, alpha=1) -> "Tensor":
        return self._in_place(other if alpha == 1 else _data(other) * alpha, np.subtract)

    def mul_(self, other) -> "Tensor":
        return self._in_place(other, np.multiply)

    def div_(self, other) -> "Tensor":
        return self._in_place(other, np.true_divide)

    def zero_(self) -> "Tensor":
        """Every element set to 0, in place."""
        self._check_in_place()
        self.data.fill(0)
        return self

    def fill_(self, value) -> "Tensor":
        """Every element set to value, in place."""
        self._check_in_place()
        self.data.fill(_data(value))
        return self

    def clamp_(self, min=None, max=None) -> "Tensor":  # noqa: A002 - PyTorch's argument names
        """Values limited to [min, max] in place (where min > max every value is max, as ``clamp``)."""
        if min is None and max is None:
            raise ValueError("clamp_: give min or max (or both)")
        self._check_in_place()
        if min is not None:
            np.maximum(self.data, as_operand(_data(min), self.data.dtype), out=self.data, casting="same_kind")
        if max is not None:
            np.minimum(self.data, as_operand(_data(max), self.data.dtype), out=self.data, casting="same_kind")
        return self

    clip_ = clamp_

    def masked_fill_(self, mask, value) -> "Tensor":
        """value written where mask holds, in place."""
        self._check_in_place()
        np.copyto(self.data, as_operand(_data(value), self.data.dtype), where=np.asarray(_data(mask), dtype=bool),
                  casting="same_kind")
        return self

    def copy_(self, src) -> "Tensor":
        """src's values (broadcast, cast to this tensor's dtype) copied into this tensor, in place."""
        self._check_in_place()
        np.copyto(self.data, _data(src), casting="unsafe")
        return self

    def __iadd__(self, other):
        return self._in_place(other, np.add)

    def __isub__(self, other):
        return self._in_place(other, np.subtract)

    def __imul__(self, other):
        return self._in_place(other, np.multiply)

    def __itruediv__(self, other):
        return self._in_place(other, np.true_divide)

    # ---------------------------------------------------------- conversions
    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` is t's data (NumPy functions and Classifier.predict accept tensors)."""
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __float__(self) -> float:  # a one-element tensor of any shape, as PyTorch (NumPy 2 wants 0-d)
        return float(self.data.item())

    def __int__(self) -> int:
        return int(self.data.item())

    def tolist(self):
        return self.data.tolist()

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    # The dtype conversions last: below them, in this class body, ``float`` and ``int`` name methods.
    def to(self, *args, dtype=None, copy: bool = False) -> "Tensor":
        """This tensor in another dtype: ``t.to(cr.float64)``, ``t.to(other)`` (other's dtype),
        ``t.to("cpu")`` (the only device: the same tensor). Itself when nothing changes (unless
        ``copy=True``); float to float stays on the tape, to an integer dtype leaves it."""
        Tensor = _tensor_class()
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "xla", "meta"):
                if arg != "cpu":
                    raise ValueError(f"to: chainrule runs on the CPU only, got device {arg!r}")
            else:
                dtype = arg
        if dtype is None:
            return ops.Cast.apply(self) if copy else self
        try:
            target = np.dtype(dtype)
        except TypeError as e:
            raise TypeError(f"to: dtype must be a NumPy dtype such as chainrule.float32, got {dtype!r}") from e
        if target == self.data.dtype:
            return ops.Cast.apply(self) if copy else self
        if target.kind == "f" and self.data.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=target)
        return Tensor._wrap(self.data.astype(target), False)  # to or from integers: no gradient

    def float(self) -> "Tensor":
        """As float32 (PyTorch's ``float()``; ``float(t)`` and ``t.item()`` give the Python number)."""
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def half(self) -> "Tensor":
        return self.to(np.float16)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    def int(self) -> "Tensor":
        return self.to(np.int32)

    def bool(self) -> "Tensor":
        return self.to(np.bool_)

    def type_as(self, other) -> "Tensor":
        """This tensor in other's dtype."""
        return self.to(other.dtype)

    def contiguous(self) -> "Tensor":
        """The tensor itself (a NumPy array needs no contiguous copy before ``view``)."""
        return self

    def cpu(self) -> "Tensor":
        """The tensor itself: chainrule runs on the CPU only (``t.cpu().numpy()`` as in PyTorch)."""
        return self

    def type(self, dtype: Any = None) -> "Tensor | str":
        """PyTorch's ``t.type(dtype)``: ``t.to(dtype)``; with no dtype, the dtype's name as a string."""
        return str(self.data.dtype) if dtype is None else self.to(dtype)


def _dim_options(dim, keepdim, axis, keepdims) -> dict[str, Any]:
    """The reduction's axis and keepdims from PyTorch's dim/keepdim (positional) or NumPy's axis/keepdims."""
    return {"axis": dim if dim is not None else axis, "keepdims": bool(keepdim or keepdims)}


def _data(value: Any) -> Any:
    """A Tensor's array; anything else as it is."""
    return value.data if isinstance(value, _tensor_class()) else value

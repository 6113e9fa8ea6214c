"""Tensor: a NumPy array that remembers how it was made, and backward().

``backward()`` walks the recorded graph once, in reverse topological order,
iteratively (deep graphs never hit Python's recursion limit), and accumulates
into ``.grad`` with ``+=``: a tensor used twice receives the sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import default_generator
from . import ops
from .function import Node, is_grad_enabled, unbroadcast

__all__ = ["Tensor", "tensor", "as_operand", "zeros", "ones", "randn"]

DEFAULT_FLOAT = np.float32


def as_operand(value: Any, dtype: np.dtype | None, keep_integers: bool = False) -> np.ndarray:
    """An operand as an array of the tensors' float dtype.

    Numbers and arrays, float or integer, take the dtype of the Tensor they meet, so
    ``t * 0.5``, ``t + np.float64(1)`` or ``t * np.array([1, 2])`` never upcasts a
    float32 tensor. With ``keep_integers``, integer arrays (class labels, indices)
    are left as they are; integer numbers are still cast.
    """
    arr = np.asarray(value)
    if dtype is not None and dtype.kind == "f" and arr.dtype != dtype and arr.dtype.kind in "fiub":
        if arr.dtype.kind == "f" or arr.ndim == 0 or not keep_integers:
            arr = arr.astype(dtype)
    return arr


class Tensor:
    """A NumPy array with a gradient and a place in the recorded graph.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "_grad", "_grad_zeroed", "requires_grad", "_node", "_retains_grad", "name", "__weakref__")
    # Make ``ndarray + Tensor`` call Tensor.__radd__ instead of broadcasting elementwise.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None):
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype.kind == "f" and arr.dtype != DEFAULT_FLOAT:
            arr = arr.astype(DEFAULT_FLOAT)
        if requires_grad and arr.dtype.kind != "f":
            raise ValueError(f"only floating-point tensors can require gradients, got dtype {arr.dtype}")
        self.data: np.ndarray = arr
        self._grad: np.ndarray | None = None
        self._grad_zeroed = False  # zero_grad() was called: _grad reads as zeros, the next backward overwrites it
        self.requires_grad = bool(requires_grad)
        self._node: Node | None = None
        self._retains_grad = False
        self.name: str | None = None

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool) -> "Tensor":
        """Wrap an op's output without copying or re-checking it."""
        t = cls.__new__(cls)
        t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        t._grad = None
        t._grad_zeroed = False
        t.requires_grad = requires_grad
        t._node = None
        t._retains_grad = False
        t.name = None
        return t

    # ----------------------------------------------------------------- basics
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        """The Function that produced this tensor (None for leaves)."""
        return None if self._node is None else self._node.function

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        return Tensor._wrap(self.data, False)

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after backward (as in PyTorch)."""
        self._retains_grad = True
        return self

    # ------------------------------------------------------------- gradient
    @property
    def grad(self) -> np.ndarray | None:
        """The accumulated gradient (same shape as data), or None before any backward."""
        if self._grad_zeroed:  # zero_grad() was lazy: zero the array now that someone looks
            self._grad.fill(0)
            self._grad_zeroed = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        self._grad = value
        self._grad_zeroed = False

    def zero_grad(self) -> None:
        """Make ``.grad`` zero, keeping the same array (lists from ``grads()`` stay valid).

        Lazily: the array is filled with zeros when ``.grad`` is next read, or simply
        overwritten by the next backward, which saves a pass over it every step. Like
        PyTorch's ``zero_grad(set_to_none=True)``, an array you took before this call
        keeps its old values until then: read ``.grad`` (or ``grads()``) again.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (w * w).sum().backward(); w.zero_grad(); w.grad.tolist()
        [0.0, 0.0]
        """
        if self._grad is not None:
            self._grad_zeroed = True

    def _current_grad(self) -> np.ndarray | None:
        """The gradient written since the last zero_grad(), or None (PyTorch's None grad):
        optimizers and clipping skip a parameter that took no part in this step."""
        return None if self._grad_zeroed else self._grad

    def _grad_buffer(self) -> np.ndarray | None:
        """The gradient array if backward may overwrite it (after zero_grad), else None."""
        return self._grad if self._grad_zeroed else None

    def _accumulate(self, g: np.ndarray) -> None:
        """Add g into ``.grad``: a copy the first time, an overwrite after zero_grad, else ``+=``.

        ``g`` may be ``.grad`` itself: a backward that wrote into ``_grad_buffer()``.
        """
        grad = self._grad
        if grad is None:
            self._grad = np.array(g, dtype=self.data.dtype, copy=True)
        elif self._grad_zeroed:
            if g is not grad:
                np.copyto(grad, g)
            self._grad_zeroed = False
        else:
            grad += g

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        extra = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({np.array2string(self.data, precision=4, threshold=20)}{extra})"

    # --------------------------------------------------------------- backward
    def backward(self, gradient: Any = None, retain_graph: bool | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Called on a scalar with no argument, the seed gradient is 1. On any other
        shape give ``gradient`` of the same shape (a vector-Jacobian product).
        The graph is always kept (``retain_graph`` is accepted for PyTorch's sake), so
        calling backward again adds the same gradients again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar, got shape {self.shape}; "
                    "pass a gradient of the same shape"
                )
            seed = np.ones(self.data.shape, self.data.dtype)
        else:
            seed = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if seed.shape != self.shape:
                raise ValueError(f"backward(): gradient shape {seed.shape} does not match tensor shape {self.shape}")
            seed = seed.astype(self.dtype, copy=False)

        root = self._node
        if root is None:  # a leaf: its gradient is the seed
            self._accumulate(seed)
            return
        # Each node is visited once, after every node that consumes its output: in
        # reverse order of creation, since an op's inputs always exist before it does.
        pending: dict[Node, np.ndarray] = {root: seed}  # gradient waiting for each node's output
        retained: dict[Node, Tensor] = {root: self} if self._retains_grad else {}
        for node in _reachable_nodes(root):
            g = pending.pop(node, None)
            if g is None:  # no path from self carried a gradient here
                continue
            if retained:
                t = retained.get(node)
                if t is not None:
                    t._accumulate(g)
            inputs, ctx = node.inputs, node.ctx
            # A leaf zeroed by zero_grad() lends its .grad for backward to write into
            # (to one input slot: the same leaf twice in one op gets the second one added).
            buffers = None
            for k, inp in enumerate(inputs):
                if inp is not None and inp._grad_zeroed and inp._node is None:
                    if buffers is None:
                        buffers, lent = [None] * len(inputs), set()
                    elif id(inp) in lent:  # by identity (== is elementwise)
                        continue
                    lent.add(id(inp))
                    buffers[k] = inp._grad
            ctx.grad_buffers = buffers
            input_grads = node.function.backward(ctx, g)
            ctx.grad_buffers = None
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            if len(input_grads) != len(inputs):
                raise RuntimeError(
                    f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
                    f"for {len(inputs)} inputs"
                )
            for inp, ig in zip(inputs, input_grads):
                if inp is None or ig is None:
                    continue
                if type(ig) is not np.ndarray or ig.shape != inp.data.shape:
                    ig = unbroadcast(np.asarray(ig), inp.data.shape)
                producer = inp._node
                if producer is None:  # a leaf: straight into .grad (each use adds its share)
                    inp._accumulate(ig)
                    continue
                previous = pending.get(producer)
                # ``+`` (not ``+=``): an op may hand the same array to two inputs.
                pending[producer] = ig if previous is None else previous + ig
                if inp._retains_grad:
                    retained[producer] = inp

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
        if isinstance(index, Tensor):
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

    # ------------------------------------------------------------- reductions
    # NumPy's axis/keepdims, or PyTorch's dim/keepdim: the same thing under two names.
    def sum(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
        return ops.Sum.apply(self, **_reduce_options(axis, keepdims, dim, keepdim))

    def mean(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
        return ops.Mean.apply(self, **_reduce_options(axis, keepdims, dim, keepdim))

    def max(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
        """The largest values (NumPy's max: values only; for PyTorch's indices use ``argmax``)."""
        return ops.Max.apply(self, **_reduce_options(axis, keepdims, dim, keepdim))

    def argmax(self, axis=None, *, dim=None) -> "Tensor":
        """Indices of the largest values (int64, no gradient): ``logits.argmax(1)``."""
        return Tensor._wrap(np.argmax(self.data, axis=dim if dim is not None else axis), False)

    def softmax(self, axis: int = -1, *, dim: int | None = None):
        return ops.Softmax.apply(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None):
        return ops.LogSoftmax.apply(self, axis=axis if dim is None else dim)

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

    def flatten(self, start_dim: int = 0):
        """All dims from start_dim on merged into one: ``x.flatten(1)`` gives (batch, features)."""
        start = start_dim % max(self.ndim, 1)
        return self.reshape(self.shape[:start] + (-1,))

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

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise ValueError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def permute(self, *dims):
        """The dims in a new order, every one named once: ``x.permute(2, 0, 1)``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return ops.Transpose.apply(self, axes=tuple(dims))

    @property
    def T(self):
        return ops.Transpose.apply(self, axes=None)

    # ---------------------------------------------- comparisons (no gradient)
    # Elementwise, as in NumPy and PyTorch, giving bool tensors: (pred == y).sum().
    # Tensors stay hashable by identity (the graph keeps them in lists and dicts).
    __hash__ = object.__hash__

    def _compare(self, other, op) -> "Tensor":
        return Tensor._wrap(op(self.data, other.data if isinstance(other, Tensor) else other), False)

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

    # ------------------------------------------------ in place (off the tape)
    # PyTorch's hand-written update ``with no_grad(): p -= lr * p.grad`` changes p's
    # own array. On a tensor that requires grad it is refused while the tape records,
    # since backward would then use changed values.
    def _in_place(self, other, op) -> "Tensor":
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("a tensor that requires grad is being changed in place; do it under "
                               "chainrule.no_grad() (or change .data)")
        op(self.data, as_operand(other.data if isinstance(other, Tensor) else other, self.data.dtype),
           out=self.data, casting="same_kind")
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

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def tolist(self):
        return self.data.tolist()

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim


def _reduce_options(axis, keepdims, dim, keepdim) -> dict[str, Any]:
    return {"axis": dim if dim is not None else axis, "keepdims": keepdim if keepdim is not None else keepdims}


def _reachable_nodes(root: Node) -> list[Node]:
    """Every node the graph behind ``root`` holds, newest first (a reverse topological order)."""
    seen, stack = {root}, [root]
    while stack:  # iterative: deep graphs never hit Python's recursion limit
        for inp in stack.pop().inputs:
            if inp is not None:
                node = inp._node
                if node is not None and node not in seen:
                    seen.add(node)
                    stack.append(node)
    return sorted(seen, key=_sequence, reverse=True)


def _sequence(node: Node) -> int:
    return node.sequence


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a Tensor; float data defaults to float32.

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4.5]]).dtype
    dtype('float32')
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, requires_grad: bool = False, dtype: Any = DEFAULT_FLOAT) -> Tensor:
    """A tensor of zeros: ``cr.zeros(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def ones(*shape, requires_grad: bool = False, dtype: Any = DEFAULT_FLOAT) -> Tensor:
    """A tensor of ones: ``cr.ones(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def randn(*shape, requires_grad: bool = False, dtype: Any = DEFAULT_FLOAT) -> Tensor:
    """Standard-normal samples from chainrule's seeded generator: ``cr.randn(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(default_generator().standard_normal(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)

"""Tensor: a NumPy array that remembers how it was made, and backward().

``backward()`` walks the recorded graph once, in reverse topological order,
iteratively (deep graphs never hit Python's recursion limit), and accumulates
into ``.grad`` with ``+=``: a tensor used twice receives the sum.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from ..random import default_generator
from . import ops
from .function import Node, is_grad_enabled, unbroadcast

__all__ = [
    "Tensor", "tensor", "as_operand", "zeros", "ones", "randn", "ValuesIndices",
    "from_numpy", "arange", "linspace", "full", "eye", "zeros_like", "ones_like", "full_like", "rand", "randint",
    "randperm", "rand_like", "randn_like", "grad", "is_tensor", "numel",
]

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

    __slots__ = ("data", "_grad", "_grad_zeroed", "requires_grad", "_node", "_retains_grad", "_hooks", "name",
                 "__weakref__")
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
        self._hooks: list[Callable] | None = None
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
        t._hooks = None
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
    def size(self) -> "_Size":
        """NumPy's ``t.size`` (the number of elements) and PyTorch's ``t.size()`` (the shape)
        or ``t.size(d)`` (one dim's length): an int that can be called.

        >>> import chainrule as cr
        >>> t = cr.zeros(2, 3)
        >>> t.size, t.size(), t.size(1)
        (6, (2, 3), 3)
        """
        return _Size(self.data.shape)

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
        """The same data, off the tape (shares memory, as in PyTorch)."""
        return Tensor._wrap(self.data, False)

    def clone(self) -> "Tensor":
        """A copy of the data that stays on the tape: gradients flow back through it."""
        return ops.Cast.apply(self)

    def register_hook(self, hook: Callable[[np.ndarray], Any]) -> "RemovableHandle":
        """Call ``hook(grad)`` when backward has this tensor's whole gradient (a NumPy array,
        like ``.grad``); a returned array (or Tensor) replaces the gradient from there on.

        Hooks run on the tape only (``Module.bprop`` runs none). Returns a handle whose
        ``remove()`` unregisters the hook.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> _ = w.register_hook(lambda g: g * 10)
        >>> (w * w).sum().backward(); w.grad.tolist()
        [20.0, 40.0]
        """
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient will reach it")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def _run_hooks(self, g: np.ndarray) -> np.ndarray:
        for hook in list(self._hooks):
            replaced = hook(g)
            if replaced is not None:
                replaced = np.asarray(replaced.data if isinstance(replaced, Tensor) else replaced)
                if replaced.shape != self.data.shape:
                    raise ValueError(f"register_hook: the hook returned a gradient of shape {replaced.shape}, "
                                     f"expected {self.data.shape}")
                g = replaced
        return g

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

    def __bool__(self) -> bool:
        """A one-element tensor's truth (``if (x > 0).all():``); more elements raise, as in PyTorch."""
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of {self.data.size} elements is ambiguous; "
                               "use .any() or .all()")
        return bool(self.data.item())

    def __repr__(self) -> str:
        extra = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({np.array2string(self.data, precision=4, threshold=20)}{extra})"

    def __format__(self, spec: str) -> str:
        """As PyTorch's: a 0-d tensor formats as its number (``f"{loss:.4f}"``), others as repr."""
        return self.data.item().__format__(spec) if self.data.ndim == 0 else object.__format__(self, spec)

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
            self._accumulate(self._run_hooks(seed) if self._hooks else seed)
            return
        # Each node is visited once, after every node that consumes its output: in
        # reverse order of creation, since an op's inputs always exist before it does.
        pending: dict[Node, np.ndarray] = {root: seed}  # gradient waiting for each node's output
        retained: dict[Node, Tensor] = {root: self} if self._retains_grad else {}
        # Tensors with hooks: a non-leaf's hooks run when its node's whole gradient is known;
        # a leaf's gradient is summed over its uses first, then hooked once (as in PyTorch).
        hooked: dict[Node, Tensor] = {root: self} if self._hooks else {}
        hooked_leaves: dict[Tensor, np.ndarray] = {}
        for node in _reachable_nodes(root):
            g = pending.pop(node, None)
            if g is None:  # no path from self carried a gradient here
                continue
            if hooked:
                t = hooked.get(node)
                if t is not None:
                    g = t._run_hooks(g)
            if retained:
                t = retained.get(node)
                if t is not None:
                    t._accumulate(g)
            inputs, ctx = node.inputs, node.ctx
            # A leaf zeroed by zero_grad() lends its .grad for backward to write into
            # (to one input slot: the same leaf twice in one op gets the second one added).
            buffers = None
            for k, inp in enumerate(inputs):
                if inp is not None and inp._grad_zeroed and inp._node is None and not inp._hooks:
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
                    if inp._hooks:
                        previous = hooked_leaves.get(inp)
                        hooked_leaves[inp] = ig if previous is None else previous + ig
                    else:
                        inp._accumulate(ig)
                    continue
                previous = pending.get(producer)
                # ``+`` (not ``+=``): an op may hand the same array to two inputs.
                pending[producer] = ig if previous is None else previous + ig
                if inp._retains_grad:
                    retained[producer] = inp
                if inp._hooks:
                    hooked[producer] = inp
        for leaf, g in hooked_leaves.items():
            leaf._accumulate(leaf._run_hooks(g))

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
            return Tensor._wrap(np.asarray((self.data != 0).sum(**options), self.data.dtype), False)
        return (self.abs() ** p).sum(**options) ** (1 / p)

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
        return Tensor._wrap(np.asarray(np.all(self.data, **_dim_options(dim, keepdim, axis, False))), False)

    def any(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """True where some element (over a dim, or all) is nonzero."""
        return Tensor._wrap(np.asarray(np.any(self.data, **_dim_options(dim, keepdim, axis, False))), False)

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


def _reduce_options(axis, keepdims, dim, keepdim) -> dict[str, Any]:
    return {"axis": dim if dim is not None else axis, "keepdims": keepdim if keepdim is not None else keepdims}


def _dim_options(dim, keepdim, axis, keepdims) -> dict[str, Any]:
    """The reduction's axis and keepdims from PyTorch's dim/keepdim (positional) or NumPy's axis/keepdims."""
    return {"axis": dim if dim is not None else axis, "keepdims": bool(keepdim or keepdims)}


def _data(value: Any) -> Any:
    """A Tensor's array; anything else as it is."""
    return value.data if isinstance(value, Tensor) else value


class _Size(int):
    """The number of elements (an int, NumPy's ``.size``) that, called, gives the shape
    (PyTorch's ``size()``) or one dim's length (``size(d)``)."""

    def __new__(cls, shape: tuple[int, ...]):
        size = super().__new__(cls, math.prod(shape))
        size.shape = shape
        return size

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, as ``torch.return_types.max``: ``values, indices = t.max(1)``."""

    values: Tensor
    indices: Tensor


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _extreme(x: Tensor, dim, keepdim: bool, axis, keepdims, largest: bool):
    """max / min: PyTorch's forms, and NumPy's values-only form under ``axis=``."""
    name = "max" if largest else "min"
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


def _arg_extreme(x: Tensor, arg: Callable, axis, keepdim: bool) -> Tensor:
    indices = arg(x.data, axis=axis, keepdims=bool(keepdim))
    return Tensor._wrap(np.asarray(indices, np.int64), False)


def _elementwise_extreme(a, b, largest: bool) -> Tensor:
    """maximum / minimum; where a == b each side gets half the gradient (PyTorch's rule)."""
    a_data, b_data = np.asarray(_data(a)), np.asarray(_data(b))
    if a_data.dtype.kind != "f" and b_data.dtype.kind != "f":  # integers: no gradient to split
        return Tensor._wrap((np.maximum if largest else np.minimum)(a_data, b_data), False)
    a_wins = a_data > b_data if largest else a_data < b_data
    b_wins = a_data < b_data if largest else a_data > b_data
    tie = (a + b) * 0.5  # a itself where they are equal (and NaN where either is)
    return ops.Where.apply(a, ops.Where.apply(b, tie, condition=b_wins), condition=a_wins)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple of tensors, as ``torch.autograd.grad``: no ``.grad`` is
    changed (the graph's leaves get theirs back afterwards). An input that no output depends on
    raises unless ``allow_unused`` (then None, or zeros with ``materialize_grads``). The graph is
    always kept; ``create_graph`` (higher-order gradients) is not supported, since backward runs
    on NumPy arrays.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (g,) = cr.autograd.grad((x ** 3).sum(), x); g.tolist(), x.grad
    ([3.0, 12.0], None)
    """
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (gradients of gradients) is not supported: "
                                  "chainrule's backward runs on NumPy arrays, off the tape")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: every input must be a tensor that requires grad")
    # backward writes into every leaf it reaches: keep their gradients and give them back after
    touched = {t: None for t in inputs}
    for out in outputs:
        if out._node is None:
            touched.setdefault(out, None)
            continue
        for node in _reachable_nodes(out._node):
            for inp in node.inputs:
                if inp is not None and inp._node is None:
                    touched.setdefault(inp, None)
    saved = {t: (t._grad, t._grad_zeroed, t._retains_grad) for t in touched}
    try:
        for t in touched:
            t._grad, t._grad_zeroed = None, False
        for t in inputs:
            t._retains_grad = t._node is not None
        for out, g in zip(outputs, grad_outputs):
            out.backward(g)
        found = [t._grad for t in inputs]
    finally:
        for t, (g, zeroed, retains) in saved.items():
            t._grad, t._grad_zeroed, t._retains_grad = g, zeroed, retains
    result = []
    for t, g in zip(inputs, found):
        if g is None and not allow_unused and not materialize_grads:
            raise RuntimeError("grad: an input was not used to compute the outputs; pass allow_unused=True "
                               "to get None for it")
        if g is None and materialize_grads:
            g = np.zeros_like(t.data)
        result.append(None if g is None else Tensor._wrap(g, False))
    return tuple(result)


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
    """Make a Tensor from a copy of data, as ``torch.tensor``; float data defaults to float32.
    (``from_numpy`` shares the array's memory instead.)

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4.5]]).dtype
    dtype('float32')
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(np.array(data, copy=True), requires_grad=requires_grad, dtype=dtype)


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


def _shape(shape: tuple) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _default_dtype(*values: Any) -> np.dtype:
    """PyTorch's dtype for Python numbers: int64 if all are integers, else float32 (bool for bools)."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.dtype(bool)
    if all(isinstance(v, (int, np.integer)) for v in values):
        return np.dtype(np.int64)
    return np.dtype(DEFAULT_FLOAT)


def is_tensor(obj: Any) -> bool:
    """True for a chainrule Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    """The number of elements (``torch.numel``)."""
    return t.numel()


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor on the array's own memory, in its own dtype (float64 stays float64), as
    ``torch.from_numpy``: a change to one shows in the other.

    >>> import numpy as np, chainrule as cr
    >>> a = np.zeros(2); t = cr.from_numpy(a); a[0] = 5; t.tolist(), t.dtype
    ([5.0, 0.0], dtype('float64'))
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: array must be a NumPy array, got {type(array).__name__}")
    return Tensor._wrap(array, False)


def arange(start, end=None, step=1, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Numbers from start up to (not including) end: int64 from integers, else float32.

    >>> import chainrule as cr
    >>> cr.arange(4).tolist(), cr.arange(0, 1, 0.25).tolist()
    ([0, 1, 2, 3], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    dtype = _default_dtype(start, end, step) if dtype is None else dtype
    return Tensor(np.arange(start, end, step).astype(dtype), requires_grad=requires_grad, dtype=dtype)


def linspace(start, end, steps: int, *, dtype: Any = DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """steps evenly spaced numbers from start to end, both included (float32).

    >>> import chainrule as cr
    >>> cr.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return Tensor(np.linspace(start, end, steps).astype(dtype), requires_grad=requires_grad, dtype=dtype)


def full(size, fill_value, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of one value: ``cr.full((2, 3), 0.5)`` (float32; int64 for an integer, as PyTorch)."""
    fill_value = _data(fill_value)
    if dtype is None:
        dtype = np.asarray(fill_value).dtype if isinstance(fill_value, np.ndarray) else _default_dtype(fill_value)
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return Tensor(np.full(size, fill_value, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def eye(n: int, m: int | None = None, *, dtype: Any = DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix (m = n by default), float32."""
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def zeros_like(t, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape and dtype."""
    return full_like(t, 0, dtype=dtype, requires_grad=requires_grad)


def ones_like(t, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape and dtype."""
    return full_like(t, 1, dtype=dtype, requires_grad=requires_grad)


def full_like(t, fill_value, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """fill_value in t's shape and dtype."""
    array = np.asarray(_data(t))
    dtype = array.dtype if dtype is None else dtype
    return Tensor(np.full(array.shape, _data(fill_value), dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def rand(*size, generator: np.random.Generator | None = None, dtype: Any = DEFAULT_FLOAT,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from chainrule's seeded generator (or ``generator``), float32."""
    samples = (generator or default_generator()).random(_shape(size), dtype=dtype)
    return Tensor(samples, requires_grad=requires_grad, dtype=dtype)


def randperm(n: int, *, generator: np.random.Generator | None = None, dtype: Any = np.int64) -> Tensor:
    """0 … n−1 in a random order (int64), from chainrule's seeded generator (or ``generator``)."""
    return Tensor((generator or default_generator()).permutation(int(n)).astype(dtype), dtype=dtype)


def rand_like(t, *, dtype: Any = None, generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1) in t's shape and (float) dtype."""
    array = np.asarray(_data(t))
    return rand(array.shape, generator=generator, dtype=array.dtype if dtype is None else dtype)


def randn_like(t, *, dtype: Any = None) -> Tensor:
    """Standard-normal samples in t's shape and (float) dtype."""
    array = np.asarray(_data(t))
    return randn(array.shape, dtype=array.dtype if dtype is None else dtype)


def randint(*args, low=None, high=None, size=None, generator: np.random.Generator | None = None,
            dtype: Any = np.int64) -> Tensor:
    """Integers drawn uniformly from [low, high), as PyTorch's ``randint(high, size)`` or
    ``randint(low, high, size)``; int64, from chainrule's seeded generator (or ``generator``).

    >>> import chainrule as cr
    >>> cr.randint(0, 10, (2, 3)).shape
    (2, 3)
    """
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        low, high = (0, args[0]) if high is None else (args[0], high)
    elif args:
        high = None
    if size is None or high is None:
        raise TypeError("randint: call it as randint(high, size) or randint(low, high, size), size a tuple")
    low = 0 if low is None else low
    return Tensor((generator or default_generator()).integers(low, high, size=tuple(size), dtype=dtype), dtype=dtype)

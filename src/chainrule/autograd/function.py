"""Function: one op's forward and backward on NumPy arrays, side by side.

Every op in chainrule is a subclass of :class:`Function`. Two drivers use it:

* the tape: ``MyOp.apply(*tensors)`` runs ``forward`` on the arrays inside the
  tensors and, when gradients are wanted, records a :class:`Node` so that
  ``Tensor.backward()`` can later call ``backward``;
* the module contract: ``Module.fprop`` calls ``forward`` directly with a fresh
  :class:`Context` and ``Module.bprop`` calls ``backward`` with it. No tape.

So each backward formula is written exactly once.

Here too: grad mode (``no_grad``, ``enable_grad``, ``inference_mode``), the one place
broadcasting is undone (``unbroadcast``), and ``as_operand``, which gives numbers and
arrays meeting a tensor that tensor's float dtype.
"""

from __future__ import annotations

import functools
import itertools
import threading
from typing import Any

import numpy as np

__all__ = ["Context", "Function", "GradSink", "Node", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "unbroadcast", "as_operand"]


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations on tensors record the graph."""
    return _grad_mode.enabled


class no_grad:
    """Context manager (and decorator) that turns graph recording off.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _mode = False

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]):  # used bare, as ``@cr.no_grad``
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self._mode

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)

        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = fn.__doc__
        return wrapped

    def _fresh(self) -> "no_grad":
        """A new manager of the same kind, for one call of a decorated function."""
        return type(self)()


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside ``no_grad``."""

    _mode = True


class set_grad_enabled(no_grad):
    """Turn graph recording on or off: at once when called (``cr.set_grad_enabled(False)``),
    or for a block (``with cr.set_grad_enabled(is_train):``), restored on leaving it, as PyTorch's.

    >>> import chainrule as cr
    >>> with cr.set_grad_enabled(False):
    ...     cr.is_grad_enabled()
    False
    >>> cr.is_grad_enabled()
    True
    """

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        self._mode = bool(mode)
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self._mode

    def __enter__(self):
        pass  # already set by the constructor

    def __call__(self, fn):
        _grad_mode.enabled = self._previous  # as a decorator it changes nothing until fn is called
        return super().__call__(fn)

    def _fresh(self) -> "set_grad_enabled":
        return set_grad_enabled(self._mode)


class inference_mode(no_grad):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``inference_mode(False)`` records).

    >>> import chainrule as cr
    >>> with cr.inference_mode():
    ...     cr.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool = True):
        self._mode = not mode

    def _fresh(self) -> "inference_mode":
        return inference_mode(not self._mode)


class Context:
    """What ``forward`` leaves for ``backward``: saved arrays and any attributes.

    ``needs_input_grad`` tells ``backward`` which inputs want a gradient, so it
    can skip work (the module path asks for every input).

    ``grad_buffer(i)`` is an array that ``backward`` may overwrite with input i's
    gradient (it must then return that very array), or None. The drivers offer a
    parameter's ``.grad`` there right after ``zero_grad()``: the gradient is then
    written where it belongs (``np.matmul(a, b, out=ctx.grad_buffer(1))``) instead
    of being allocated, then copied or added. ``out=None`` allocates as usual,
    so a backward formula is still written once.

    A gradient that is a matrix product goes through ``grad_matmul(i, a, b)`` instead:
    besides a buffer, Module.bprop may lend there a :class:`GradSink`, an optimizer's
    update that takes the product inside its own GEMM (optim/fold.py), so the gradient
    is never stored.
    """

    __slots__ = ("saved_tensors", "needs_input_grad", "grad_buffers", "__dict__")

    def __init__(self, needs_input_grad: tuple[bool, ...] = ()):
        self.saved_tensors: tuple = ()
        self.needs_input_grad = needs_input_grad
        self.grad_buffers: tuple | None = None

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    def grad_buffer(self, i: int) -> np.ndarray | None:
        """Where backward may write input i's gradient (then return it), or None."""
        buffers = self.grad_buffers
        lent = None if buffers is None else buffers[i]
        return lent if lent is None or type(lent) is np.ndarray else lent.buffer()

    def grad_matmul(self, i: int, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """Input i's gradient ``a @ b``: written into the lent buffer (and returned), or
        handed to a lent :class:`GradSink`, which applies the update with it (then None:
        nothing is left to accumulate).

        >>> import numpy as np
        >>> Context().grad_matmul(0, np.ones((1, 2)), np.ones((2, 1))).tolist()
        [[2.0]]
        """
        buffers = self.grad_buffers
        lent = None if buffers is None else buffers[i]
        if lent is None or type(lent) is np.ndarray:
            return np.matmul(a, b, out=lent)
        return lent.matmul(a, b)


class GradSink:
    """An update that takes a parameter's gradient as the product ``a @ b`` inside its own
    matrix product (Lua Torch nn's Linear.lua ``accUpdateGradParameters``: W ← W − lr·xᵀg as
    one GEMM with beta = 1), instead of the gradient being stored and read back.

    An optimizer lends one per parameter and step (``Tensor.lend_update``; Module.bprop passes it on
    through ``engine.lend_grad_buffers(..., sinks=True)``); subclasses
    define ``update(a, b)`` (optim/fold.py). ``folded`` tells whether it took the step's
    gradient; ``buffer()`` is the parameter's ``.grad`` array for backwards that only
    know buffers (``Context.grad_buffer``), which then take the ordinary path.
    """

    __slots__ = ("param", "folded")

    def __init__(self, param):
        self.param = param
        self.folded = False

    def buffer(self) -> np.ndarray | None:
        p = self.param
        return p._grad if p._grad_zeroed else None

    def matmul(self, a: np.ndarray, b: np.ndarray) -> None:
        """Apply the update with the gradient ``a @ b`` (shaped as the parameter)."""
        self.update(a, b)
        self.folded = True

    def update(self, a: np.ndarray, b: np.ndarray) -> None:
        raise NotImplementedError


class Node:
    """One recorded application of a Function: what backward needs to revisit it.

    ``sequence`` numbers nodes in order of creation: an op's inputs always exist
    before it does, so sorting by it, newest first, is a reverse topological order.
    """

    __slots__ = ("function", "ctx", "inputs", "sequence", "constants")

    def __init__(self, function: type["Function"], ctx: Context, inputs: tuple, constants: tuple = ()):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs  # Tensors (recorded) or None (constants)
        self.sequence = next(_node_counter)
        # (position, value) of the scalar constants, e.g. the 1 in 1 + e^-x, so a drawing can show them
        self.constants = constants


_node_counter = itertools.count()


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    The one place where broadcasting is undone: no op handles it itself.

    >>> unbroadcast(np.ones((3, 4)), (4,)).tolist()
    [3.0, 3.0, 3.0, 3.0]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return np.broadcast_to(grad, shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


class Function:
    """Base class of every op: static ``forward(ctx, *arrays, **options)`` and
    ``backward(ctx, grad_output)`` returning one gradient per positional input
    (``None`` where there is none).

    >>> import numpy as np, chainrule as cr
    >>> class Square(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return (2 * x * g,)
    >>> t = cr.tensor([3.0], requires_grad=True)
    >>> Square.apply(t).sum().backward(); t.grad.tolist()
    [6.0]
    """

    # Arithmetic (+ − × / ** @, cat, stack) sets this: integer operands meet float
    # tensors as their float dtype, as in PyTorch (float32 * int64 is float32), so they
    # never upcast a float32 graph. Elsewhere integers pass through as they are: class
    # labels stay labels, and a layer fed integer pixels says so instead of guessing.
    promote_integers = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **options: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_output: np.ndarray) -> tuple:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **options: Any):
        """Run ``forward`` on the inputs' arrays and record the op on the tape.

        Inputs may be Tensors, NumPy arrays or Python numbers; only Tensors that
        require gradients are differentiated. Keyword options (an axis, a flag)
        go to ``forward`` unchanged and get no gradient.
        """
        Tensor = _tensor_class()
        # One plain loop (this runs for every op on the tape: its overhead is per-step cost).
        arrays, needs, record, dtype, cast = [], [], False, None, False
        for t in inputs:
            if isinstance(t, Tensor):
                a = t.data
                arrays.append(a)
                needs.append(t.requires_grad)
                record = record or t.requires_grad
                if a.dtype.kind == "f":
                    dtype = dtype or a.dtype
                else:
                    cast = True  # an integer or bool tensor
            else:
                arrays.append(t)
                needs.append(False)
                cast = True
        if cast:  # numbers, arrays and integer tensors take the tensors' float dtype
            arrays = [a if isinstance(t, Tensor) and (a.dtype.kind == "f" or not cls.promote_integers)
                      else as_operand(a, dtype, keep_integers=not cls.promote_integers)
                      for a, t in zip(arrays, inputs)]
        record = record and _grad_mode.enabled
        ctx = Context(tuple(needs))
        out = cls.forward(ctx, *arrays, **options)
        if getattr(out, "dtype", None) is _FLOAT64 and "dtype" not in options and not _asked_for_float64(inputs):
            # Integers meeting a Python float, or true division of integers: float32, torch's default dtype
            # (NumPy would give float64). Only a float64 tensor or array among the inputs gives float64.
            out = out.astype(np.float32)
        result = Tensor._wrap(out, record)
        if record:
            constants = tuple((i, a.item()) for i, (a, t) in enumerate(zip(arrays, inputs))
                              if cast and not isinstance(t, Tensor) and np.size(a) == 1)
            result._node = Node(cls, ctx, tuple([t if n else None for t, n in zip(inputs, needs)]), constants)
        return result


_FLOAT64 = np.dtype(np.float64)  # NumPy's builtin dtypes are singletons: `is` is the cheap test on every op


def _asked_for_float64(inputs) -> bool:
    """Whether a float64 tensor or a float64 array (not a lone number) is among an op's inputs."""
    for t in inputs:
        a = getattr(t, "data", t)
        if isinstance(a, np.ndarray) and a.dtype == np.float64 and (a.ndim or hasattr(t, "requires_grad")):
            return True
    return False


@functools.cache
def _tensor_class():
    """The Tensor class: tensor.py imports this module (and the method modules that use this), so
    Tensor is resolved once, on first use."""
    from .tensor import Tensor

    return Tensor


def as_operand(value: Any, dtype: np.dtype | None, keep_integers: bool = False) -> np.ndarray:
    """An operand as an array of the tensors' float dtype.

    Numbers and arrays, float or integer, take the dtype of the Tensor they meet, so
    ``t * 0.5``, ``t + np.float64(1)`` or ``t * np.array([1, 2])`` never upcasts a
    float32 tensor. With ``keep_integers``, integer arrays (class labels, indices)
    are left as they are; integer numbers are still cast.

    >>> as_operand(2, np.dtype(np.float32)).dtype
    dtype('float32')
    """
    arr = np.asarray(value)
    if dtype is not None and dtype.kind == "f" and arr.dtype != dtype and arr.dtype.kind in "fiub":
        if arr.dtype.kind == "f" or arr.ndim == 0 or not keep_integers:
            arr = arr.astype(dtype)
    return arr

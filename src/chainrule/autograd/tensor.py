"""Tensor: a NumPy array that remembers how it was made, and backward().

This module holds the Tensor class's state, its gradient protocol and ``backward``
(whose reverse walk is in engine.py), and ``grad``. The methods that compute are in
math_methods.py, the array methods in array_methods.py, the factories (``zeros``,
``arange``, ``rand``, ...) in factories.py; every name stays importable from here.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward(); x.grad.tolist()
[2.0, 4.0]
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import engine, ops
from .array_methods import ArrayMethods
from .function import Node, as_operand
from .math_methods import MathMethods, ValuesIndices

__all__ = [
    "Tensor", "tensor", "as_operand", "zeros", "ones", "randn", "ValuesIndices",
    "from_numpy", "arange", "linspace", "full", "eye", "zeros_like", "ones_like", "full_like", "rand", "randint",
    "randperm", "rand_like", "randn_like", "grad", "is_tensor", "numel",
]

DEFAULT_FLOAT = np.float32


class Tensor(MathMethods, ArrayMethods):
    """A NumPy array with a gradient and a place in the recorded graph.

    This class holds the state, the gradient protocol and ``backward``; the operators,
    elementwise functions and reductions come from :class:`MathMethods` (math_methods.py),
    shapes, comparisons, in-place updates and dtypes from :class:`ArrayMethods`
    (array_methods.py).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "_grad", "_grad_zeroed", "requires_grad", "_node", "_retains_grad", "_hooks", "name",
                 "_sink", "__weakref__")
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
        self._sink = None  # a GradSink an optimizer lent (function.py): this step's update takes the gradient

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
        t._sink = None
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
    def node(self) -> "Node | None":
        """The tape's record of the op that produced this tensor (its Function, inputs and constants;
        None for leaves): what a walk over the graph, such as ``chainrule.viz.graph``, follows.

        >>> import chainrule as cr
        >>> x = cr.tensor([1.0], requires_grad=True)
        >>> x.node is None, (x * 2).node.function.__name__
        (True, 'Mul')
        """
        return self._node

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

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise ValueError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    # ------------------------------------------------------------- gradient
    @property
    def grad(self) -> np.ndarray | None:
        """The accumulated gradient (same shape as data), or None before any backward."""
        if self._sink is not None:  # reading the gradient turns a lent fold off (or finds it spent)
            self._take_back_sink()
        if self._grad_zeroed:  # zero_grad() was lazy: zero the array now that someone looks
            self._grad.fill(0)
            self._grad_zeroed = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        if self._sink is not None and value is not None:
            self._take_back_sink()
        self._sink = None
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
        self._sink = None

    # The gradient-buffer protocol: what optimizers, gradient clipping, Module.bprop and
    # the reverse walk (engine.py) use instead of ``.grad``, which zero-fills a lazily zeroed array.
    def current_grad(self) -> np.ndarray | None:
        """The gradient written since the last ``zero_grad()``, or None (PyTorch's None grad):
        optimizers and gradient clipping skip a parameter that took no part in this step.
        The array itself, not a copy: changing it changes ``.grad``.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (w * w).sum().backward(); w.current_grad().tolist()
        [2.0, 4.0]
        >>> w.zero_grad(); w.current_grad() is None
        True
        """
        if self._sink is not None and self._sink.folded:
            self._take_back_sink()
        return None if self._grad_zeroed else self._grad

    # Folding: an optimizer that can apply its update inside the gradient's matrix product
    # (optim/fold.py) lends a GradSink (function.py) for one step instead of this .grad array.
    def lend_update(self, sink) -> None:
        """Until the next ``zero_grad()``, hand this tensor's gradient to ``sink`` (a
        :class:`GradSink`) instead of storing it, where a backward can (``Context.grad_matmul``).
        Reading or storing the gradient first takes the sink back: the gradient is kept as usual.
        """
        sink.folded = False
        self._sink = sink

    @property
    def grad_folded(self) -> bool:
        """True when this step's gradient went straight into the parameter's update (a lent
        :class:`GradSink` took it) and was never stored: ``step()`` leaves the tensor alone.

        >>> import chainrule as cr
        >>> cr.tensor([1.0], requires_grad=True).grad_folded
        False
        """
        return self._sink is not None and self._sink.folded

    def _take_back_sink(self) -> None:
        """Someone reads or stores the gradient: a lent sink is taken back; a spent one raises."""
        if self._sink.folded:
            raise RuntimeError(
                f"{self.name or 'this parameter'}: its gradient was folded into the optimizer's update "
                f"({type(self._sink).__name__}) and never stored, so it can't be read or added to; "
                "call optimizer.zero_grad() without fold=True where the gradient is needed (clipping, "
                "diagnostics, a parameter used twice in one step)")
        self._sink = None

    def grad_buffer(self) -> np.ndarray | None:
        """The ``.grad`` array when backward may overwrite it (after ``zero_grad()``), else None:
        what this tensor lends a backward through ``Context.grad_buffer(i)``.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> (w * 3).sum().backward(); w.grad_buffer() is None
        True
        >>> w.zero_grad(); w.grad_buffer() is w.grad
        True
        """
        return self._grad if self._grad_zeroed else None

    def accumulate_grad(self, g: np.ndarray) -> None:
        """Add g into ``.grad``: a copy the first time, an overwrite after ``zero_grad()``, else ``+=``.

        ``g`` may be ``.grad`` itself: a backward that wrote into ``grad_buffer()``.

        >>> import numpy as np, chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> w.accumulate_grad(np.ones(1)); w.accumulate_grad(np.ones(1)); w.grad.tolist()
        [2.0]
        """
        if self._sink is not None:  # a gradient stored, not folded: the lent sink is taken back
            self._take_back_sink()
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
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (the walk: engine.py).

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
        engine.backward(self, seed)


class _Size(int):
    """The number of elements (an int, NumPy's ``.size``) that, called, gives the shape
    (PyTorch's ``size()``) or one dim's length (``size(d)``)."""

    def __new__(cls, shape: tuple[int, ...]):
        size = super().__new__(cls, math.prod(shape))
        size.shape = shape
        return size

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


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
        for node in engine.reachable_nodes(out._node):
            for inp in node.inputs:
                if inp is not None and inp._node is None:
                    touched.setdefault(inp, None)
    saved = {t: (t._grad, t._grad_zeroed, t._retains_grad, t._sink) for t in touched}
    try:
        for t in touched:
            t._grad, t._grad_zeroed, t._sink = None, False, None
        for t in inputs:
            t._retains_grad = t._node is not None
        for out, g in zip(outputs, grad_outputs):
            out.backward(g)
        found = [t._grad for t in inputs]
    finally:
        for t, (g, zeroed, retains, sink) in saved.items():
            t._grad, t._grad_zeroed, t._retains_grad, t._sink = g, zeroed, retains, sink
    result = []
    for t, g in zip(inputs, found):
        if g is None and not allow_unused and not materialize_grads:
            raise RuntimeError("grad: an input was not used to compute the outputs; pass allow_unused=True "
                               "to get None for it")
        if g is None and materialize_grads:
            g = np.zeros_like(t.data)
        result.append(None if g is None else Tensor._wrap(g, False))
    return tuple(result)


_FACTORIES = frozenset({
    "tensor", "zeros", "ones", "randn", "from_numpy", "arange", "linspace", "full", "eye", "zeros_like",
    "ones_like", "full_like", "rand", "randint", "randperm", "rand_like", "randn_like", "is_tensor", "numel",
})


def __getattr__(name: str) -> Any:
    """The factories (factories.py imports Tensor from here, so they are looked up on first use)."""
    if name in _FACTORIES:
        from . import factories

        return getattr(factories, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Module: parameters, state_dict, train/eval, and the exercise's contract.

A module can be driven two ways, both by the same Function (see autograd):

* ``module(tensor)`` records on the tape; ``loss.backward()`` fills ``.grad``;
* ``module.fprop(x)`` / ``module.bprop(grad_output)`` on plain arrays, with
  ``params()`` and ``grads()`` as parallel lists, so the exercise's loop
  ``for θ, dθ in zip(m.params(), m.grads()): θ -= lr * dθ`` trains in place.

Gradients accumulate (``+=``) on both paths; ``zero_grad()`` clears them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from ..autograd.function import Context, Function, unbroadcast
from ..autograd.tensor import Tensor

__all__ = ["Module", "Parameter", "StateDictError"]


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight (requires_grad=True).

    Keeps the float dtype it is given (float32 by default), so a module can be
    converted to float64 for gradient checking.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True):
        arr = data.data if isinstance(data, Tensor) else np.asarray(data)
        super().__init__(arr, requires_grad=requires_grad, dtype=arr.dtype if arr.dtype.kind == "f" else np.float32)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class StateDictError(KeyError):
    """load_state_dict found missing, unexpected or mis-shaped keys (all listed)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Module:
    """Base class of layers, containers and criteria.

    A simple layer sets ``function`` (the Function it runs), creates its
    Parameters in the order that Function takes them after the input, and may
    override ``options()`` (keyword options for the Function). It then gets
    ``forward`` (tape), ``fprop``/``bprop`` (no tape) for free.

    >>> import chainrule as cr
    >>> layer = cr.nn.Linear(3, 2)
    >>> [name for name, _ in layer.named_parameters()]
    ['weight', 'bias']
    """

    function: type[Function] | None = None

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_ctx", None)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = d["_parameters"], d["_modules"]
        if name in params or name in modules or isinstance(value, (Parameter, Module)):
            params.pop(name, None)
            modules.pop(name, None)
            if isinstance(value, Parameter):
                params[name] = value
            elif isinstance(value, Module):
                modules[name] = value
        object.__setattr__(self, name, value)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for this module and every child, in order.

        A Parameter reached twice (a layer used twice) is listed once, under its first
        name, as in PyTorch: an optimizer then updates it once per step.
        """
        seen: set[int] = set()
        for name, p in self._every_parameter(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _every_parameter(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, p in self._parameters.items():
            yield prefix + name, p
        for name, child in self._modules.items():
            yield from child._every_parameter(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def children(self) -> list["Module"]:
        return list(self._modules.values())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix.rstrip("."), self
        for name, child in self._modules.items():
            yield from child.named_modules(prefix + name + ".")

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ------------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameter arrays by dotted name (references; copy them to keep a snapshot)."""
        return OrderedDict((name, p.data) for name, p in self.named_parameters())

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters in place (same arrays, so params() stays valid).

        Every missing, unexpected and mis-shaped key is collected first, then one
        error lists them all; nothing is copied unless everything fits.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        mismatched = [
            f"{k}: checkpoint {tuple(np.shape(v))} vs model {own[k].shape}"
            # a PyTorch Linear keeps its weight as (out, in); chainrule's, as the exercise, (in, out)
            + (" (transposed: chainrule's Linear weight is (in, out), PyTorch's (out, in))"
               if len(own[k].shape) == 2 and tuple(np.shape(v)) == own[k].shape[::-1] else "")
            for k, v in state.items()
            if k in own and tuple(np.shape(v)) != own[k].shape
        ]
        problems = []
        if mismatched:
            problems.append("mis-shaped " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected " + ", ".join(unexpected))
        if problems:
            raise StateDictError(f"load_state_dict into {type(self).__name__}: " + " | ".join(problems))
        for k, v in state.items():
            if k in own:
                np.copyto(own[k].data, np.asarray(v.data if isinstance(v, Tensor) else v), casting="same_kind")

    # ------------------------------------------------------------- train/eval
    def train(self, mode: bool = True) -> "Module":
        for _, m in self.named_modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        """Zero every gradient, keeping the arrays (see :meth:`Tensor.zero_grad`: it is lazy,
        so the next bprop or backward writes the gradients instead of adding them)."""
        for p in self.parameters():
            p.zero_grad()

    def to(self, dtype: Any) -> "Module":
        """Convert every parameter to a float dtype (gradients are dropped)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # ---------------------------------------------------------- autodiff path
    def options(self) -> dict[str, Any]:
        """Keyword options this layer passes to its Function (axis, p, ...)."""
        return {}

    def forward(self, x: Tensor) -> Tensor:
        if self.function is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither `function` nor forward()")
        return self.function.apply(x, *self._parameters.values(), **self.options())

    def __call__(self, *inputs: Any) -> Tensor:
        return self.forward(*[x if isinstance(x, Tensor) else Tensor(x) for x in inputs])

    # ----------------------------------------------------- the exercise's path
    def fprop(self, x: np.ndarray) -> np.ndarray:
        """Output for input array x; caches what bprop needs."""
        if self.function is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither `function` nor fprop()")
        params = self._parameters.values()
        # Forget the last step's context first: its arrays are freed before new ones are made.
        object.__setattr__(self, "_ctx", None)
        ctx = Context((True,) * (1 + len(params)))
        out = self.function.forward(ctx, x, *[p.data for p in params], **self.options())
        object.__setattr__(self, "_ctx", ctx)
        return out

    def bprop(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """grad_input for grad_output; adds the parameter gradients into grads().

        ``input_grad=False`` skips grad_input (the first layer's input is data).
        """
        ctx = self._ctx
        if ctx is None:
            raise RuntimeError(f"{type(self).__name__}.bprop called before fprop")
        ctx.needs_input_grad = (input_grad,) + ctx.needs_input_grad[1:]
        params = self._parameters.values()
        # Gradients zeroed by zero_grad() are lent to backward to be written in place.
        ctx.grad_buffers = (None, *[p._grad_buffer() for p in params]) if params else None
        try:
            grads = self.function.backward(ctx, grad_output)
        finally:
            ctx.grad_buffers = None
        for p, g in zip(params, grads[1:]):
            if g is not None:
                # undo broadcasting, as the tape does for every op (a Function never does it itself)
                p._accumulate(g if g.shape == p.shape else unbroadcast(g, p.shape))
        return grads[0]

    def params(self) -> list[np.ndarray]:
        """The parameter arrays, in the same order as grads()."""
        return [p.data for p in self.parameters()]

    def grads(self) -> list[np.ndarray]:
        """The gradient arrays, same shapes and order as params() (zeros until bprop)."""
        out = []
        for p in self.parameters():
            if p.grad is None:
                p.grad = np.zeros_like(p.data)
            out.append(p.grad)
        return out

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

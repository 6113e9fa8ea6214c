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
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from ..autograd.engine import lend_grad_buffers
from ..autograd.function import Context, Function, unbroadcast
from ..autograd.tensor import Tensor

__all__ = ["Module", "Parameter", "StateDictError", "IncompatibleKeys"]


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


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` left out, as PyTorch's named tuple (and its repr).

    >>> IncompatibleKeys([], [])
    <All keys matched successfully>
    """

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"

    __str__ = __repr__


def _check_name(owner: "Module", kind: str, name: Any) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{type(owner).__name__}: {kind} name must be a non-empty string without '.', got {name!r}")


def _as_buffer(owner: "Module", name: str, value: Any) -> Tensor | None:
    if value is None or (isinstance(value, Tensor) and not isinstance(value, Parameter)):
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value, dtype=value.dtype)
    raise TypeError(f"{type(owner).__name__}: buffer {name!r} must be a Tensor, an array or None, "
                    f"got {type(value).__name__}")


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
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_ctx", None)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if name in buffers and not isinstance(value, (Parameter, Module)):
            value = buffers[name] = _as_buffer(self, name, value)  # assigning to a buffer replaces it
        elif name in params or name in modules or name in buffers or isinstance(value, (Parameter, Module)):
            params.pop(name, None)
            modules.pop(name, None)
            buffers.pop(name, None)
            if isinstance(value, Parameter):
                params[name] = value
            elif isinstance(value, Module):
                modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register a child under ``name`` (as ``setattr``, for names computed at run time).

        >>> import chainrule as cr
        >>> net = cr.nn.Module(); net.add_module("fc", cr.nn.Linear(2, 1))
        >>> [n for n, _ in net.named_parameters()]
        ['fc.weight', 'fc.bias']
        """
        _check_name(self, "module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module({name!r}): {type(module).__name__} is not a Module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"{type(self).__name__}.add_module: attribute {name!r} already exists")
        if module is None:  # a placeholder, as PyTorch allows
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a Parameter under ``name`` (None removes it from the parameters)."""
        _check_name(self, "parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter({name!r}): {type(param).__name__} "
                            "is not a Parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"{type(self).__name__}.register_parameter: attribute {name!r} already exists")
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register state that is not learned (a running mean, a step count): saved in
        ``state_dict`` (unless ``persistent=False``), converted by ``to``/``double``, never
        a parameter, so optimizers never see it.

        >>> import numpy as np, chainrule as cr
        >>> m = cr.nn.Module(); m.register_buffer("count", np.zeros((), np.int64))
        >>> list(m.state_dict()), list(m.parameters())
        (['count'], [])
        """
        _check_name(self, "buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"{type(self).__name__}.register_buffer: attribute {name!r} already exists")
        self._buffers[name] = None  # so that setattr stores it as a buffer
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        setattr(self, name, tensor)

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module ("") and every descendant, depth first.

        A module reached twice (a layer used twice) is listed once, as in PyTorch.
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        """This module and every descendant (a generator, as PyTorch's)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator["Module"]:
        """The direct children (a generator, as PyTorch's)."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for this module and every child, in order.

        A Parameter reached twice (a layer used twice) is listed once, under its first
        name, as in PyTorch: an optimizer then updates it once per step.
        """
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter, in order: a generator, as PyTorch's (``list(net.parameters())``
        to index it or take its length; optimizers take it as it is)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every child (recursively), then on this module; returns self.

        >>> import chainrule as cr
        >>> def init(m):
        ...     if isinstance(m, cr.nn.Linear):
        ...         cr.nn.init.zeros_(m.weight)
        >>> net = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Tanh()).apply(init)
        >>> float(abs(net[0].weight.numpy()).sum())
        0.0
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` on every parameter (False freezes them: no gradient on either path)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ------------------------------------------------------------------ state
    def _state(self) -> "OrderedDict[str, Tensor]":
        """Every saved tensor by dotted name: each module's parameters, then its persistent
        buffers, then its children's (PyTorch's order)."""
        state: OrderedDict[str, Tensor] = OrderedDict()
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            dot = prefix + "." if prefix else ""
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is None or id(t) in seen or (registry is module._buffers and name in module._non_persistent):
                        continue
                    seen.add(id(t))
                    state[dot + name] = t
        return state

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameter and buffer arrays by dotted name (references; copy them to keep a snapshot)."""
        return OrderedDict((name, t.data) for name, t in self._state().items())

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers in place (same arrays, so params() stays valid).

        Every missing, unexpected and mis-shaped key is collected first, then one
        error lists them all; nothing is copied unless everything fits. With
        ``strict=False`` missing and unexpected keys are allowed (mis-shaped ones
        still raise) and returned as ``(missing_keys, unexpected_keys)``.
        """
        own = self._state()
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
        return IncompatibleKeys(missing, unexpected)

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

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> "Module":
        """Convert every parameter and float buffer to a float dtype (gradients are dropped).

        ``to("cpu")`` (or ``device="cpu"``) is accepted and changes nothing: chainrule
        computes on the CPU only. Any other device is refused.

        >>> import numpy as np, chainrule as cr
        >>> cr.nn.Linear(2, 1).to("cpu").to(np.float64).weight.dtype
        dtype('float64')
        """
        for arg in args:
            if (isinstance(arg, str) and arg not in ("float16", "float32", "float64")) or type(arg).__name__ == "device":
                device = arg
            elif dtype is None:
                dtype = arg
            else:
                raise TypeError(f"{type(self).__name__}.to: unexpected argument {arg!r}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"{type(self).__name__}.to({str(device)!r}): chainrule has no devices, only 'cpu'")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: dtype must be floating point, got {dtype}")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for b in self.buffers():
            if b.data.dtype.kind == "f":  # a step count stays an integer
                b.data = b.data.astype(dtype)
        return self

    def cpu(self) -> "Module":
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``forward(*args, **kwargs)``, as PyTorch's. NumPy arrays become tensors (modules take
        arrays directly), as does a first argument of numbers; anything else (flags, None,
        options) is passed as it is."""
        if args and not isinstance(args[0], Tensor) and isinstance(args[0], (list, tuple, int, float, np.generic)):
            args = (Tensor(args[0]), *args[1:])
        return self.forward(*[Tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                            **{k: Tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})

    # ----------------------------------------------------- the exercise's path
    def fprop(self, x: np.ndarray) -> np.ndarray:
        """Output for input array x; caches what bprop needs."""
        if self.function is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither `function` nor fprop()")
        params = self._parameters.values()
        # Forget the last step's context first: its arrays are freed before new ones are made.
        object.__setattr__(self, "_ctx", None)
        ctx = Context((True, *[p.requires_grad for p in params]))  # frozen parameters get no gradient
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
        # Gradients zeroed by zero_grad() are lent to backward to be written in place (as on the tape),
        # or an optimizer's folded update where one was armed (Optimizer.zero_grad(fold=True)).
        ctx.grad_buffers = lend_grad_buffers((None, *params), sinks=True) if params else None
        try:
            grads = self.function.backward(ctx, grad_output)
        finally:
            ctx.grad_buffers = None
        for p, g in zip(params, grads[1:]):
            if g is not None:
                # undo broadcasting, as the tape does for every op (a Function never does it itself)
                p.accumulate_grad(g if g.shape == p.shape else unbroadcast(g, p.shape))
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

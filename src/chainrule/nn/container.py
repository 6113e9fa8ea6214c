"""Containers. Sequential: children run in order; fprop forward and bprop in reverse, no tape.
ModuleList and ModuleDict hold children whose parameters count, for a custom forward.

Called on tensors, a Sequential of plain layers (each only names its Function)
records one ``ops.Chain`` node: the same Functions, without a tensor per layer.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Iterator, Mapping

import numpy as np

from ..autograd import ops
from ..autograd.errors import add_context
from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _shape(x) -> tuple:
    return tuple(getattr(x, "shape", ()))


class _Label:
    """Names child i in an error message (formatted only if one is raised)."""

    __slots__ = ("i", "child")

    def __init__(self, i: int, child: Module):
        self.i, self.child = i, child

    def __str__(self) -> str:
        return f"Sequential[{self.i}] ({type(self.child).__name__})"


def _is_plain_layer(m: Module) -> bool:
    """A layer that only names its Function (and options): Module's own forward runs it."""
    return m.function is not None and type(m).forward is Module.forward and not m._modules


class _Modules(Module):
    """Children held in order, named "0", "1", ...: what Sequential and ModuleList share."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: child {len(self._modules)} is {type(module).__name__}, "
                            f"not a Module")
        setattr(self, str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def extend(self, modules: Iterable[Module]):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        """The child at position i; a slice gives a container of the same kind (names kept)."""
        if isinstance(i, slice):
            return type(self)(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[i]

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(_Modules):
    """Modules held in a list whose parameters count (a plain Python list's would not):
    for layers a custom ``forward`` loops over.

    >>> import chainrule as cr
    >>> blocks = cr.nn.ModuleList([cr.nn.Linear(4, 4) for _ in range(3)])
    >>> len(blocks), len(list(blocks.parameters()))
    (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | Mapping[str, Module] = ()):
        if isinstance(modules, Mapping):  # a slice of a ModuleList: positions renumbered, as PyTorch's
            modules = modules.values()
        super().__init__(modules)


class Sequential(_Modules):
    """A chain of modules; the fast path for feed-forward training.

    An error raised inside names the failing child (index and type) and the
    shape it received. Children are named "0", "1", ..., or by the keys of one
    OrderedDict argument, as in PyTorch.

    >>> import numpy as np, chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
    >>> net.fprop(np.zeros((5, 4), np.float32)).shape
    (5, 3)
    >>> from collections import OrderedDict
    >>> named = cr.nn.Sequential(OrderedDict(fc=cr.nn.Linear(4, 2), act=cr.nn.Tanh()))
    >>> [name for name, _ in named.named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    def __init__(self, *modules: Module):
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            super().__init__()
            for name, m in modules[0].items():
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: child {name!r} is {type(m).__name__}, not a Module")
                self.add_module(name, m)
        else:
            super().__init__(modules)

    def _fail(self, i: int, child: Module, x, error: Exception):
        raise add_context(error, f"Sequential[{i}] ({type(child).__name__}) with input shape {_shape(x)}")

    def forward(self, x):
        children = list(self._modules.values())
        if children and all([_is_plain_layer(c) for c in children]):
            # One node on the tape for the whole chain (ops.Chain): the children's own
            # Functions, forward in order and backward in reverse, without a Tensor per layer.
            steps, params = [], []
            for i, child in enumerate(children):
                own = child._parameters
                if own:
                    params.extend(own.values())
                steps.append((child.function, len(own), child.options(), _Label(i, child)))
            return ops.Chain.apply(x, *params, steps=steps)
        for i, child in enumerate(children):
            try:
                x = child(x)
            except (ValueError, TypeError, IndexError) as e:
                self._fail(i, child, x, e)
        return x

    def fprop(self, x: np.ndarray) -> np.ndarray:
        children = self._modules.values()
        object.__setattr__(self, "_ctxs", None)
        for child in children:  # free the last step's activations before making new ones
            object.__setattr__(child, "_ctx", None)
        # Each position's context, kept here: a layer used twice has one ``_ctx``, which
        # its second fprop overwrites; bprop hands every position its own back.
        ctxs = []
        for i, child in enumerate(children):
            try:
                x = child.fprop(x)
            except (ValueError, TypeError, IndexError) as e:
                self._fail(i, child, x, e)
            ctxs.append(getattr(child, "_ctx", None))
        object.__setattr__(self, "_ctxs", ctxs)
        return x

    def bprop(self, grad_output: np.ndarray, input_grad: bool = True):
        children = list(self._modules.values())
        ctxs = getattr(self, "_ctxs", None)
        if ctxs is None:
            raise RuntimeError("Sequential.bprop called before fprop")
        g = grad_output
        for i in range(len(children) - 1, -1, -1):
            object.__setattr__(children[i], "_ctx", ctxs[i])
            try:
                g = children[i].bprop(g, input_grad=input_grad or i > 0)
            except (ValueError, TypeError, IndexError) as e:
                self._fail(i, children[i], g, e)
        return g



class ModuleDict(Module):
    """Modules held by name, whose parameters count (a plain dict's would not).

    >>> import chainrule as cr
    >>> heads = cr.nn.ModuleDict({"digit": cr.nn.Linear(8, 10), "parity": cr.nn.Linear(8, 2)})
    >>> list(heads), [n for n, _ in heads.named_parameters()][:2]
    (['digit', 'parity'], ['digit.weight', 'digit.bias'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        module = self._modules[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        for key, module in (modules.items() if isinstance(modules, Mapping) else modules):
            self[key] = module

    def forward(self, *inputs):
        raise NotImplementedError("ModuleDict has no forward: call its modules by name")

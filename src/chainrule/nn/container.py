"""Sequential: children run in order; fprop forward and bprop in reverse, no tape.

Called on tensors, a Sequential of plain layers (each only names its Function)
records one ``ops.Chain`` node: the same Functions, without a tensor per layer.
"""

from __future__ import annotations

import numpy as np

from ..autograd import ops
from .module import Module

__all__ = ["Sequential", "ModuleList"]


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

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(_Modules):
    """Modules held in a list whose parameters count (a plain Python list's would not):
    for layers a custom ``forward`` loops over.

    >>> import chainrule as cr
    >>> blocks = cr.nn.ModuleList([cr.nn.Linear(4, 4) for _ in range(3)])
    >>> len(blocks), len(blocks.parameters())
    (3, 6)
    """


class Sequential(_Modules):
    """A chain of modules; the fast path for feed-forward training.

    An error raised inside names the failing child (index and type) and the
    shape it received.

    >>> import numpy as np, chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
    >>> net.fprop(np.zeros((5, 4), np.float32)).shape
    (5, 3)
    """

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def _fail(self, i: int, child: Module, x, error: Exception):
        message = f"Sequential[{i}] ({type(child).__name__}) with input shape {_shape(x)}: {error}"
        raise type(error)(message) if isinstance(error, (ValueError, TypeError)) else RuntimeError(message)

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


"""chainrule: a small, readable, fast deep-learning framework on NumPy.

Tensors and their functions as PyTorch's (``cr.tensor``, ``cr.tanh``, ...), and the
subpackages as attributes: ``cr.autograd``, ``cr.nn``, ``cr.optim`` and ``cr.data`` are
imported with chainrule; the other modules (``cr.viz``, ``cr.plots``, ``cr.tune``,
``cr.bench``, ...) on first use, so ``import chainrule`` needs NumPy only.

>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 2.0]], requires_grad=True)
>>> net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
>>> net(x).sum().backward()
>>> x.grad.shape
(1, 2)
"""

import importlib as _importlib

import numpy as _np

from .version import __version__

from . import autograd, data, nn, optim
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, ones, randn, tensor, zeros
from .autograd.factories import (
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    numel,
    ones_like,
    rand,
    rand_like,
    randint,
    randn_like,
    randperm,
    zeros_like,
)
from .autograd.function import inference_mode, set_grad_enabled
from .autograd.functional import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    cross_entropy,
    exp,
    flatten,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    norm,
    pow,
    prod,
    relu,
    sigmoid,
    softmax,
    softplus,
    sqrt,
    stack,
    std,
    sum,
    tanh,
    transpose,
    var,
    where,
)
from .autograd.math_methods import ValuesIndices
from .dtypes import double, float16, float32, float64, half, int8, int16, int32, int64, long, short, uint8
from .gradcheck import GradcheckError, check_module, gradcheck
from .model import Classifier, load, save
from .random import default_generator, manual_seed
from .train import TrainConfig, fit

# PyTorch's torch.float, torch.int and torch.bool; kept out of __all__ so that a star import
# leaves Python's float, int and bool alone.
float = float32  # noqa: A001
int = int32  # noqa: A001
bool = _np.bool_  # noqa: A001

__all__ = [
    "Classifier", "Function", "GradcheckError", "TrainConfig", "fit", "load", "save", "Tensor", "autograd", "cat", "check_module", "cross_entropy",
    "default_generator", "enable_grad", "gradcheck", "is_grad_enabled", "log_softmax", "manual_seed",
    "data", "nn", "no_grad", "ones", "optim", "randn", "relu", "sigmoid", "softmax", "softplus", "stack",
    "tanh", "tensor", "zeros",
    # tensors and top-level functions, as PyTorch's
    "ValuesIndices", "abs", "amax", "amin", "arange", "argmax", "argmin", "clamp", "clip", "exp", "eye", "flatten",
    "from_numpy", "full", "full_like", "inference_mode", "is_tensor", "numel", "linspace", "log", "matmul", "max", "maximum", "mean", "min",
    "minimum", "norm", "ones_like", "pow", "prod", "rand", "rand_like", "randint", "randn_like", "randperm", "set_grad_enabled", "sqrt", "std", "sum",
    "transpose", "var", "where", "zeros_like",
    "double", "float16", "float32", "float64", "half", "int8", "int16", "int32", "int64", "long", "short", "uint8",
]

# The modules below chainrule's top level that are not imported with it: each is imported
# when first asked for (PEP 562's module __getattr__), so ``cr.viz.graph(t)`` works after a
# plain ``import chainrule`` and matplotlib (plots) loads only when wanted. ``cr.gradcheck``
# is the function; its module is ``chainrule.gradcheck`` in sys.modules.
_SUBMODULES = frozenset({
    "atomic", "bench", "diagnose", "diagnostics", "dtypes", "extras", "interop", "io", "model", "plots", "progress",
    "random", "rundir", "schema", "sklearn", "spec", "threads", "train", "tune", "viz",
})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)

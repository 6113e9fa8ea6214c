"""Modules with the fprop/bprop/params/grads contract (Lua Torch nn's Module, the course
exercise's), criteria and initialisers.

The package, file by file:

* ``module.py``: :class:`Module` (parameters, state_dict, train/eval, ``fprop``/``bprop``
  over the layer's Function, ``forward`` on the tape) and :class:`Parameter`;
* ``layers.py``: the layers, each naming the Function it runs (Linear, Tanh, ReLU,
  Dropout, BatchNorm1d, LayerNorm, Embedding, ...);
* ``container.py``: Sequential (one ``ops.Chain`` node on the tape for plain layers),
  ModuleList, ModuleDict;
* ``losses.py``: the criteria (CrossEntropyLoss, NLLLoss, MSELoss, BCE..., L1, Huber);
* ``init.py``: weight initialisers (Glorot & Bengio 2010, He et al. 2015), seeded;
* ``utils.py``: over a model's gradients (grad_norm, clip_grad_norm_, clip_grad_value_);
* ``functional.py``: ``chainrule.autograd.functional`` under PyTorch's address.

>>> import numpy as np, chainrule as cr
>>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.Tanh())
>>> net.fprop(np.zeros((2, 4), np.float32)).shape
(2, 3)
"""

from . import functional, init, utils
from .container import ModuleDict, ModuleList, Sequential
from ..gradcheck import check_module
from .layers import (
    ELU, GELU, BatchNorm1d, Dropout, Embedding, Flatten, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax, ReLU,
    Sigmoid, Softmax, Softplus, Tanh,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter, StateDictError

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Identity", "LeakyReLU", "Linear",
    "IncompatibleKeys", "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "StateDictError", "Tanh", "check_module", "functional", "init", "utils",
    "BatchNorm1d", "ELU", "Embedding", "Flatten", "GELU", "LayerNorm", "Softplus",
    "BCELoss", "HuberLoss", "L1Loss",
]

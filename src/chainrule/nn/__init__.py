"""Modules with the fprop/bprop/params/grads contract, criteria and initialisers."""

from . import functional, init, utils
from .container import ModuleDict, ModuleList, Sequential
from ..gradcheck import check_module
from .layers import Dropout, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter, StateDictError

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Identity", "LeakyReLU", "Linear",
    "IncompatibleKeys", "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "StateDictError", "Tanh", "check_module", "functional", "init", "utils",
]

"""Modules with the fprop/bprop/params/grads contract, criteria and initialisers."""

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

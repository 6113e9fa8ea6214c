"""chainrule: a small, readable, fast deep-learning framework on NumPy.

>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 2.0]], requires_grad=True)
>>> net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
>>> net(x).sum().backward()
>>> x.grad.shape
(1, 2)
"""

__version__ = "0.1.0"  # first: train.py records it in checkpoints

from . import autograd, nn, optim
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, ones, randn, tensor, zeros
from .autograd.functional import (
    cat,
    cross_entropy,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    stack,
    tanh,
)
from .gradcheck import GradcheckError, check_module, gradcheck
from .model import Classifier, load, save
from .random import default_generator, manual_seed
from .train import TrainConfig, fit


__all__ = [
    "Classifier", "Function", "GradcheckError", "TrainConfig", "fit", "load", "save", "Tensor", "autograd", "cat", "check_module", "cross_entropy",
    "default_generator", "enable_grad", "gradcheck", "is_grad_enabled", "log_softmax", "manual_seed",
    "nn", "no_grad", "ones", "optim", "randn", "relu", "sigmoid", "softmax", "softplus", "stack",
    "tanh", "tensor", "zeros",
]

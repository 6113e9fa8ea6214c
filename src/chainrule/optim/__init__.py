"""Optimizers over (parameter, gradient) pairs, updating in place, and learning-rate schedules.

The package, file by file:

* ``optimizer.py``: :class:`Optimizer`, the base: param groups, state, ``step`` over the
  parameters whose gradient was written this step (``Tensor.current_grad()``), ``zero_grad``,
  state_dict; a subclass writes one ``update(param, grad, state, group)``;
* ``sgd.py``: SGD with momentum, dampening, Nesterov and L2 weight decay;
* ``adam.py``: Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019, decoupled decay);
* ``rmsprop.py``: RMSprop (Hinton's lecture 6e), with momentum and centering;
* ``lr_scheduler.py``: StepLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau, ... (PyTorch's).

>>> import chainrule as cr
>>> w = cr.nn.Parameter(cr.ones(2))
>>> opt = cr.optim.SGD([w], lr=0.5)
>>> (w * w).sum().backward(); opt.step(); w.tolist()
[0.0, 0.0]
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adam", "AdamW", "ConstantLR", "CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR",
           "OneCycleLR", "Optimizer", "RMSprop", "ReduceLROnPlateau", "SGD", "StepLR", "lr_scheduler"]

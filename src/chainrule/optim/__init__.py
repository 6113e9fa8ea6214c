"""Optimizers over (parameter, gradient) pairs, updating in place, and learning-rate schedules."""

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

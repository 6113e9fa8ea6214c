"""Optimizers over (parameter, gradient) pairs, updating in place."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import ConstantLR, CosineAnnealingLR, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Adam", "AdamW", "ConstantLR", "CosineAnnealingLR", "Optimizer", "SGD", "StepLR", "lr_scheduler"]

"""Learning-rate schedules, stepped once per epoch (PyTorch's names).

>>> import chainrule as cr
>>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=1.0)
>>> sched = CosineAnnealingLR(opt, T_max=4)
>>> [round(sched.step() or opt.lr, 3) for _ in range(4)]
[0.854, 0.5, 0.146, 0.0]
"""

from __future__ import annotations

import math

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "ConstantLR"]


class LRScheduler:
    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)


class ConstantLR(LRScheduler):
    """lr · factor for the first total_iters epochs, then lr (PyTorch's ConstantLR, a warm-up);
    ``factor=1`` is no schedule at all.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=0.3)
    >>> sched = ConstantLR(opt, factor=0.5, total_iters=2)
    >>> [opt.lr] + [sched.step() or opt.lr for _ in range(3)]
    [0.15, 0.15, 0.3, 0.3]
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1 / 3, total_iters: int = 5):
        if not 0 < factor <= 1 or total_iters < 0:
            raise ValueError(f"ConstantLR: needs 0 < factor <= 1 and total_iters >= 0, got {factor}, {total_iters}")
        super().__init__(optimizer)
        self.factor, self.total_iters = float(factor), int(total_iters)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * (self.factor if epoch < self.total_iters else 1.0)


class StepLR(LRScheduler):
    """lr · gamma^⌊epoch / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        super().__init__(optimizer)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr from base down to eta_min along half a cosine over T_max epochs, then eta_min
    (PyTorch's carries on along the cosine and rises again)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        super().__init__(optimizer)
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def lr_at(self, epoch: int) -> float:
        t = min(epoch, self.T_max) / self.T_max
        return self.eta_min + (self.base_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * t))

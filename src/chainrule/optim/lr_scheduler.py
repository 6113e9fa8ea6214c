"""Learning-rate schedules (PyTorch's names), stepped once per epoch, except OneCycleLR (once
per batch) and ReduceLROnPlateau (once per validation, given the metric).

Each sets the ``lr`` of every param group of its optimizer, from the group's ``initial_lr``
(its lr when the first scheduler was attached, as in PyTorch); ``get_last_lr()`` lists them.

>>> import chainrule as cr
>>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=1.0)
>>> sched = CosineAnnealingLR(opt, T_max=4)
>>> [round(sched.step() or sched.get_last_lr()[0], 3) for _ in range(4)]
[0.854, 0.5, 0.146, 0.0]
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "ConstantLR", "ExponentialLR", "LambdaLR", "OneCycleLR",
           "ReduceLROnPlateau"]


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list:
    """One value per param group: a list of them, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}: expected {n} values, one per param group, got {len(value)}")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: a subclass gives ``lr_at(epoch, base_lr)`` (or ``lrs_at(epoch)`` for all groups)."""

    # Attributes that are not state (PyTorch's state_dict leaves out the optimizer and the functions).
    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, epoch: int, base_lr: float) -> float:
        raise NotImplementedError

    def lrs_at(self, epoch: int) -> list[float]:
        return [self.lr_at(epoch, base_lr) for base_lr in self.base_lrs]

    def _apply(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.lrs_at(self.last_epoch)):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rates."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The learning rate of each param group, as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's attributes but the optimizer (and LambdaLR's functions), as PyTorch's.

        >>> import chainrule as cr
        >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=1.0)
        >>> StepLR(opt, step_size=2).state_dict()["last_epoch"]
        0
        """
        return {k: v for k, v in self.__dict__.items() if k not in self._not_state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in self._not_state})


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
        self.factor, self.total_iters = float(factor), int(total_iters)
        super().__init__(optimizer)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * (self.factor if epoch < self.total_iters else 1.0)


class StepLR(LRScheduler):
    """lr · gamma^⌊epoch / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr · gamma^epoch.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> [sched.step() or opt.lr for _ in range(3)]
    [0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        if not gamma > 0:
            raise ValueError(f"ExponentialLR: gamma must be > 0, got {gamma}")
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** epoch


class LambdaLR(LRScheduler):
    """lr · lr_lambda(epoch); ``lr_lambda`` is a function or a list of them, one per group.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=0.1)
    >>> sched = LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> [round(sched.step() or opt.lr, 4) for _ in range(3)]
    [0.05, 0.0333, 0.025]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list[Callable[[int], float]]):
        self.lr_lambdas = _per_group("LambdaLR: lr_lambda", optimizer, lr_lambda)
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the epoch (or a list of them)")
        super().__init__(optimizer)

    def lrs_at(self, epoch: int) -> list[float]:
        return [base_lr * f(epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class CosineAnnealingLR(LRScheduler):
    """lr from base down to eta_min along half a cosine over T_max epochs, then eta_min
    (PyTorch's carries on along the cosine and rises again)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer)

    def lr_at(self, epoch: int, base_lr: float) -> float:
        t = min(epoch, self.T_max) / self.T_max
        return self.eta_min + (base_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * t))


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017), as PyTorch's OneCycleLR: stepped once per batch,
    lr rises from max_lr/div_factor to max_lr over the first pct_start of total_steps, then
    anneals to max_lr/(div_factor·final_div_factor); momentum (SGD's, or Adam's beta1) moves
    the opposite way between max_momentum and base_momentum. ``three_phase`` returns to the
    start value before the final annealing.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> round(opt.lr, 3), [round(sched.step() or opt.lr, 3) for _ in range(3)]
    (0.04, [0.52, 1.0, 0.95])
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False):
        if total_steps is None:
            if not (isinstance(epochs, int) and isinstance(steps_per_epoch, int) and epochs > 0
                    and steps_per_epoch > 0):
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch (positive integers)")
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        # (last step of the phase, group key it starts from, key it ends at, momentum's start and end keys)
        if three_phase:
            self._phases = [
                (float(pct_start * total_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (float(pct_start * total_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        for group, top in zip(optimizer.param_groups, _per_group("OneCycleLR: max_lr", optimizer, max_lr)):
            group.update(initial_lr=top / div_factor, max_lr=top, min_lr=top / div_factor / final_div_factor)
        self._beta1 = "betas" in optimizer.defaults
        if cycle_momentum:
            if not self._beta1 and "momentum" not in optimizer.defaults:
                raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas "
                                 "(or cycle_momentum=False)")
            for group, top, bottom in zip(optimizer.param_groups,
                                          _per_group("OneCycleLR: max_momentum", optimizer, max_momentum),
                                          _per_group("OneCycleLR: base_momentum", optimizer, base_momentum)):
                group.update(max_momentum=top, base_momentum=bottom)
        super().__init__(optimizer)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def lrs_at(self, step: int) -> list[float]:
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, past total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:  # set here, alongside the lr, as PyTorch's does
                        momentum = self._anneal(group[m_from], group[m_to], pct)
                        if self._beta1:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start = end
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when the metric given to ``step(metric)`` has not improved
    for more than ``patience`` epochs (PyTorch's, with its options and defaults).

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1)
    >>> [sched.step(loss) or opt.lr for loss in (1.0, 1.0, 1.0, 0.5)]
    [1.0, 1.0, 0.1, 0.1]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got {type(optimizer).__name__}")
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', "
                             f"got {mode!r}, {threshold_mode!r}")
        # No call to LRScheduler.__init__: this one changes nothing until told a metric.
        self.optimizer = optimizer
        self.mode, self.factor, self.patience, self.threshold = mode, float(factor), int(patience), float(threshold)
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, int(cooldown), float(eps)
        self.min_lrs = [float(v) for v in _per_group("ReduceLROnPlateau: min_lr", optimizer, min_lr)]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _better(self, value: float) -> bool:
        if self.mode == "min":
            bound = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < bound
        bound = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > bound

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Count one epoch with this value of the monitored metric (a validation loss, say)."""
        value = float(metrics)
        self.last_epoch += 1
        if self._better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, floor)
                if group["lr"] - new_lr > self.eps:  # smaller changes are ignored (PyTorch's eps)
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

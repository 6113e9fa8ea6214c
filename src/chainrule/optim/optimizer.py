"""Optimizer: updates parameters in place from their ``.grad``, float32 kept.

Works with gradients from either path (``loss.backward()`` or ``bprop``), since
both accumulate into the same ``Parameter.grad`` arrays.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..nn.module import Parameter

__all__ = ["Optimizer"]


class Optimizer:
    def __init__(self, params: Iterable[Parameter], defaults: dict[str, Any]):
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__}: expected Parameters, got {type(p).__name__}")
        lr = defaults.get("lr")
        if lr is None or not np.isfinite(lr) or lr < 0:
            raise ValueError(f"{type(self).__name__}: lr must be a non-negative number, got {lr!r}")
        if defaults.get("weight_decay", 0) < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got {defaults['weight_decay']}")
        self.defaults = dict(defaults)
        for k, v in defaults.items():
            setattr(self, k, v)
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        self.step_count = 0

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = float(value)

    def zero_grad(self) -> None:
        """Zero every gradient, keeping the arrays (lazily: see :meth:`Tensor.zero_grad`)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        self.step_count += 1
        for p, state in zip(self.params, self.state):
            # A parameter with no gradient since zero_grad() (unused this step) is left
            # alone, momentum and weight decay included, as PyTorch skips a None .grad.
            grad = p._current_grad()
            if grad is not None:
                self.update(p.data, grad, state)

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _buffer(self, state: dict[str, np.ndarray], name: str, like: np.ndarray) -> np.ndarray:
        buf = state.get(name)
        if buf is None:
            buf = state[name] = np.zeros_like(like)
        return buf

    def state_dict(self) -> dict[str, Any]:
        """Buffers as flat name -> array, plus the step count (for checkpoints)."""
        arrays = {f"{i}.{k}": v for i, s in enumerate(self.state) for k, v in s.items()}
        return {"step_count": self.step_count, "lr": self.lr, "arrays": arrays}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = int(state["step_count"])
        self.lr = float(state["lr"])
        self.state = [{} for _ in self.params]
        for key, value in state["arrays"].items():
            i, name = key.split(".", 1)
            i = int(i)
            counter = name == "step"  # a per-parameter step count (Adam), not a buffer like the parameter
            if not 0 <= i < len(self.params) or np.shape(value) != (() if counter else self.params[i].shape):
                raise ValueError(f"{type(self).__name__}.load_state_dict: buffer {key} does not fit the parameters")
            self.state[i][name] = np.array(value, dtype=np.int64 if counter else self.params[i].dtype)

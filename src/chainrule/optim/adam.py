"""Adam and AdamW (decoupled weight decay)."""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba); ``weight_decay`` adds wd·θ to the gradient (L2).

    >>> import chainrule as cr
    >>> opt = cr.optim.Adam(cr.nn.Linear(2, 1).parameters(), lr=1e-3)
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, param, grad, state):
        b1, b2 = self.betas
        t = self.step_count
        m = self._buffer(state, "exp_avg", param)
        v = self._buffer(state, "exp_avg_sq", param)
        scratch = self._buffer(state, "scratch", param)
        if self.weight_decay and self.decoupled:
            param *= 1 - self.lr * self.weight_decay
        if self.weight_decay and not self.decoupled:
            np.multiply(param, self.weight_decay, out=scratch)
            scratch += grad
            grad = scratch.copy()
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - b2
        v += scratch
        # Bias corrections folded into the step size and epsilon, in Python floats.
        step_size = self.lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        np.sqrt(v, out=scratch)
        scratch += self.eps * math.sqrt(1 - b2 ** t)
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − lr·wd) before the Adam step."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

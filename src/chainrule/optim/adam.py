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
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def _check_group(self, group):
        super()._check_group(group)
        betas = group["betas"]
        if len(betas) != 2 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: betas must be two numbers in [0, 1), got {betas}")

    def update(self, param, grad, state, group):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        # Steps are counted per parameter, as in PyTorch: one that first gets a gradient
        # at step 3 starts its bias correction at t = 1.
        if "step" not in state:
            state["step"] = np.array(0, np.int64)
        state["step"] += 1
        t = int(state["step"])
        m = self._buffer(state, "exp_avg", param)
        v = self._buffer(state, "exp_avg_sq", param)
        # Temporaries live for this one update only, as in SGD: the state (and the
        # checkpoints) hold the two moments and nothing else.
        if wd and self.decoupled:
            param *= 1 - lr * wd
        elif wd:
            grad = grad + wd * param  # L2, added to the gradient
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * (grad * grad)
        # Bias corrections folded into the step size and epsilon, in Python floats.
        step = np.sqrt(v)
        step += eps * math.sqrt(1 - b2 ** t)
        np.divide(m, step, out=step)
        step *= lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        param -= step


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − lr·wd) before the Adam step."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

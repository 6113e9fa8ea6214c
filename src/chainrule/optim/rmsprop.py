"""RMSprop (Hinton's lecture 6e), in PyTorch's form: optional momentum and centering."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """s ← αs + (1 − α)g² with g = grad + wd·θ; centered, also ḡ ← αḡ + (1 − α)g and
    s − ḡ² in place of s; then θ ← θ − lr·g / (√s + eps), or with momentum
    b ← μb + g / (√s + eps), θ ← θ − lr·b (PyTorch's torch.optim.RMSprop).

    >>> import chainrule as cr
    >>> opt = cr.optim.RMSprop(cr.nn.Linear(2, 1).parameters(), lr=0.01, momentum=0.9)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def _check_group(self, group):
        super()._check_group(group)
        if not 0 <= group["alpha"] <= 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {group['alpha']}")
        if group["eps"] < 0 or group["momentum"] < 0:
            raise ValueError(f"RMSprop: eps and momentum must be >= 0, got {group['eps']}, {group['momentum']}")

    def update(self, param, grad, state, group):
        lr, alpha, eps, wd, mu = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if "step" not in state:
            state["step"] = np.array(0, np.int64)
        state["step"] += 1
        if wd:
            grad = grad + wd * param
        s = self._buffer(state, "square_avg", param)
        s *= alpha
        s += (1 - alpha) * (grad * grad)
        if group["centered"]:
            g_avg = self._buffer(state, "grad_avg", param)
            g_avg *= alpha
            g_avg += (1 - alpha) * grad
            avg = s - g_avg * g_avg
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(s)
        avg += eps
        np.divide(grad, avg, out=avg)  # avg now holds g / (√s + eps)
        if mu > 0:
            b = self._buffer(state, "momentum_buffer", param)
            b *= mu
            b += avg
            avg = b
        param -= lr * avg

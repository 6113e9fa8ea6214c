"""Stochastic gradient descent, with momentum, Nesterov and L2 weight decay."""

from __future__ import annotations

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """θ ← θ − lr·d with d = g + wd·θ; with momentum v ← μv + d and θ ← θ − lr·v, or with
    Nesterov θ ← θ − lr·(d + μv) (PyTorch's forms).

    >>> import chainrule as cr
    >>> layer = cr.nn.Linear(2, 1)
    >>> opt = cr.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        if momentum < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov needs momentum > 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    def update(self, param, grad, state):
        # Temporaries live for this one update only: between steps the memory is the
        # parameters, their gradients and the momentum buffers, nothing else.
        d = grad
        if self.weight_decay:
            d = param * self.weight_decay
            d += grad
        if self.momentum:
            v = self._buffer(state, "momentum", param)
            v *= self.momentum
            v += d
            if self.nesterov:  # d + μv
                step = v * self.momentum
                step += d
                d = step
            else:
                d = v
        param -= self.lr * d

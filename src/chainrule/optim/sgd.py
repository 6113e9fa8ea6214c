"""Stochastic gradient descent, with momentum, dampening, Nesterov and L2 weight decay."""

from __future__ import annotations

from .fold import FoldedUpdate, blas_functions, foldable
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """θ ← θ − lr·d with d = g + wd·θ; with momentum v ← μv + (1 − dampening)·d (v = d at the
    first step) and θ ← θ − lr·v, or with Nesterov θ ← θ − lr·(d + μv) (PyTorch's forms and
    argument order).

    >>> import chainrule as cr
    >>> layer = cr.nn.Linear(2, 1)
    >>> opt = cr.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))
        self._sinks: dict[int, FoldedUpdate] = {}  # by parameter index: zero_grad(fold=True) lends them

    def _check_group(self, group):
        super()._check_group(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {group['momentum']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")

    def can_fold(self, group):
        # Nesterov and dampening need the gradient apart from the buffer: they take the ordinary path.
        return group["dampening"] == 0 and not group["nesterov"]

    def fold_sink(self, param, index, group):
        data = param.data
        if not foldable(data) or blas_functions(data.dtype) is None:
            return None
        sink = self._sinks.get(index)
        if sink is None or sink.param is not param:
            sink = self._sinks[index] = FoldedUpdate(param, group, self.state[index])
        sink.group, sink.state = group, self.state[index]  # load_state_dict replaces both's contents
        return sink

    def update(self, param, grad, state, group):
        # Temporaries live for this one update only: between steps the memory is the
        # parameters, their gradients and the momentum buffers, nothing else.
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        d = grad
        if wd:
            d = param * wd
            d += grad
        if mu:
            v = state.get("momentum_buffer")
            if v is None:  # the first step's buffer is d itself, undamped (PyTorch)
                v = state["momentum_buffer"] = d.copy()
            else:
                v *= mu
                v += d if group["dampening"] == 0 else (1 - group["dampening"]) * d
            if group["nesterov"]:  # d + μv
                step = v * mu
                step += d
                d = step
            else:
                d = v
        param -= lr * d

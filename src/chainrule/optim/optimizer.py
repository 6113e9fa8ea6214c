"""Optimizer: updates parameters in place from their ``.grad``, float32 kept.

Works with gradients from either path (``loss.backward()`` or ``bprop``), since
both accumulate into the same ``Parameter.grad`` arrays. Parameters come in
``param_groups`` (PyTorch's): dicts holding ``params`` and that group's options.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd.tensor import Tensor
from ..nn.module import Parameter

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: ``params`` is an iterable of Parameters, or of dicts (param groups) whose
    missing options are taken from ``defaults``.

    >>> import chainrule as cr
    >>> a, b = cr.nn.Linear(2, 2), cr.nn.Linear(2, 1)
    >>> opt = cr.optim.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.01}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.01]
    """

    def __init__(self, params: Iterable[Parameter] | Iterable[dict[str, Any]], defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        # Per-parameter buffers, in the order of the parameters across the groups (the
        # numbering of PyTorch's state_dict).
        self.state: list[dict[str, np.ndarray]] = []
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for an option out of range (subclasses add their own)."""
        lr = group["lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"{type(self).__name__}: lr must be a non-negative number, got {lr!r}")
        if group.get("weight_decay", 0) < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got {group['weight_decay']}")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the others from the defaults).

        >>> import chainrule as cr
        >>> opt = cr.optim.SGD(cr.nn.Linear(2, 2).parameters(), lr=0.1)
        >>> opt.add_param_group({"params": cr.nn.Linear(2, 1).parameters(), "lr": 0.01})
        >>> len(opt.param_groups), opt.param_groups[1]["momentum"]
        (2, 0.0)
        """
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a param group is a dict with 'params', got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        for p in params:  # as PyTorch's: any leaf tensor (a Parameter or ``tensor(..., requires_grad=True)``)
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: expected Parameters or tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a tensor computed from others (not a leaf); "
                                 "pass the tensors that require grad")
        group = {**self.defaults, **param_group, "params": params}
        if group.get("lr") is None:
            raise ValueError(f"{name}: lr must be given, for the optimizer or for every group")
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{name}: a parameter appears more than once in the param groups")
        self.param_groups.append(group)
        self.state.extend({} for _ in params)

    @property
    def params(self) -> list[Parameter]:
        """Every parameter, group after group."""
        return [p for g in self.param_groups for p in g["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate (setting it sets every group's)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = float(value)

    def zero_grad(self, set_to_none: bool = True, fold: bool = False) -> None:
        """Forget the gradients. With ``set_to_none`` (the default, as PyTorch's) a parameter
        counts as having no gradient until the next backward, so ``step()`` skips it; its
        ``.grad`` array is kept and reads as zeros (see :meth:`Tensor.zero_grad`: it is lazy).
        ``set_to_none=False`` fills the gradients with zeros, and ``step()`` then updates
        every parameter (weight decay and momentum act on a zero gradient).

        ``fold=True``, for a loop where nothing reads the gradients (no clipping, no
        diagnostics, one process): where this optimizer can (SGD, on NumPy's OpenBLAS), the next
        ``bprop`` applies a weight's update inside its gradient's matrix product
        (optim/fold.py) and stores no gradient; ``step()`` then skips that weight, and
        reading its ``.grad`` raises until the next ``zero_grad()``. Reading or storing a
        gradient before that turns the fold off for it. Results equal the unfused step's
        to float32 rounding.
        """
        i = 0
        for group in self.param_groups:
            folding = fold and set_to_none and self.can_fold(group)
            for p in group["params"]:
                if set_to_none:
                    p.zero_grad()
                elif p.grad is not None:
                    p.grad.fill(0)
                if folding:
                    sink = self.fold_sink(p, i, group)
                    if sink is not None:
                        p.lend_update(sink)
                i += 1

    def can_fold(self, group: dict[str, Any]) -> bool:
        """Whether this group's update can be folded into the gradient's product (none here)."""
        return False

    def fold_sink(self, param: Parameter, index: int, group: dict[str, Any]) -> Any:
        """The GradSink (optim/fold.py) that applies this parameter's update, or None."""
        return None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given
        (it is called first, to recompute the loss, as in PyTorch)."""
        loss = closure() if closure is not None else None
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                # A parameter with no gradient since zero_grad() (unused this step) is left
                # alone, momentum and weight decay included, as PyTorch skips a None .grad.
                if p.grad_folded:  # updated inside its gradient's product already (zero_grad(fold=True))
                    i += 1
                    continue
                grad = p.current_grad()
                if grad is not None:
                    self.update(p.data, grad, self.state[i], group)
                i += 1
        return loss

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
               group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _buffer(self, state: dict[str, np.ndarray], name: str, like: np.ndarray) -> np.ndarray:
        buf = state.get(name)
        if buf is None:
            buf = state[name] = np.zeros_like(like)
        return buf

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``state`` maps a parameter's index (across the groups) to its
        buffers (references: copy to keep a snapshot); ``param_groups`` holds the options,
        with ``params`` as lists of indices.

        >>> import chainrule as cr
        >>> opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> opt.state_dict()["param_groups"][0]["params"]
        [0, 1]
        """
        groups, start = [], 0
        for g in self.param_groups:
            groups.append({**g, "params": list(range(start, start + len(g["params"])))})
            start += len(g["params"])
        return {"state": {i: dict(s) for i, s in enumerate(self.state) if s}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take buffers and options from ``state_dict()`` of an optimizer over parameters of
        the same shapes, grouped alike (state keys may be ints or their strings)."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(saved["params"]) != len(own["params"]) for saved, own in zip(groups, self.param_groups)):
            raise ValueError(f"{name}.load_state_dict: the saved param groups do not match this optimizer's "
                             f"({[len(g['params']) for g in groups]} vs {[len(g['params']) for g in self.param_groups]})")
        params = self.params
        state: list[dict[str, np.ndarray]] = [{} for _ in params]
        for key, buffers in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, which does not exist")
            for buf_name, value in buffers.items():
                counter = buf_name == "step"  # a per-parameter step count (Adam), not a buffer like the parameter
                if np.shape(value) != (() if counter else params[i].shape):
                    raise ValueError(f"{name}.load_state_dict: buffer {key}.{buf_name} of shape {np.shape(value)} "
                                     f"does not fit parameter {key} of shape {params[i].shape}")
                state[i][buf_name] = np.array(value, dtype=np.int64 if counter else params[i].dtype)
        self.state = state
        for own, saved in zip(self.param_groups, groups):
            own.update({k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k != "params"})

"""Gradient checking by central finite differences, in float64.

Two checks, one comparison:

* :func:`gradcheck` compares autodiff's Jacobian (rows from ``backward`` of unit
  vectors) with finite differences of a function of tensors;
* :func:`check_module` is the exercise's check of the fprop/bprop contract:
  Jacobian columns by finite differences of ``fprop`` against rows from
  ``bprop`` of unit vectors, for the input and every parameter.

The step is h_i = sqrt(eps) · max(|x_i|, 1), the exercise's rule.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from .autograd.function import no_grad
from .autograd.tensor import Tensor
from .random import default_generator

__all__ = ["GradcheckError", "gradcheck", "check_module"]


class GradcheckError(AssertionError):
    """Analytic and numerical Jacobians disagree (the message names where)."""


def _step(value: float, eps: float) -> float:
    return math.sqrt(eps) * max(abs(value), 1.0)


def _numerical_jacobian(f: Callable[[], np.ndarray], x: np.ndarray, out_size: int, eps: float) -> np.ndarray:
    """J[j, k] = d f_j / d x_k by central differences, perturbing x in place."""
    jac = np.zeros((out_size, x.size))
    # x itself is perturbed, entry by entry in row-major order (the order of the analytic
    # Jacobian's columns), whatever its memory layout: a transposed or Fortran-ordered x
    # has no flat view, and perturbing a copy would measure nothing.
    for k, index in enumerate(np.ndindex(x.shape)):
        original = x[index]
        h = _step(original, eps)
        x[index] = original + h
        plus = np.array(f(), dtype=np.float64).reshape(-1)
        x[index] = original - h
        minus = np.array(f(), dtype=np.float64).reshape(-1)
        x[index] = original
        jac[:, k] = (plus - minus) / (2 * h)
    return jac


def _compare(where: str, name: str, shape: tuple, analytic: np.ndarray, numeric: np.ndarray,
             atol: float, rtol: float) -> str | None:
    """None if close everywhere, else a one-line report of the worst entry."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if not np.isfinite(analytic).all():
        excess = np.where(np.isfinite(analytic), excess, np.inf)
    if excess.size == 0 or excess.max() <= 0:
        return None
    j, k = np.unravel_index(int(np.argmax(excess)), excess.shape)
    index = tuple(int(i) for i in np.unravel_index(k, shape)) if shape else ()
    a, n = analytic[j, k], numeric[j, k]
    return (f"{where}: gradient of output element {int(j)} w.r.t. {name}{list(index)} is wrong: "
            f"analytic {a:.6g}, finite differences {n:.6g}, error {abs(a - n):.3g} "
            f"(atol {atol:g}, rtol {rtol:g})")


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check autodiff against finite differences for every float input of fn.

    Inputs are copied to float64; ``fn`` must keep them float64.

    >>> import chainrule as cr
    >>> a, b = cr.randn(3, requires_grad=True), cr.randn(3, requires_grad=True)
    >>> gradcheck(lambda a, b: (a * b).sum(), [a, b])
    True
    """
    tensors = []
    for x in inputs:
        arr = x.data if isinstance(x, Tensor) else np.asarray(x)
        # As in PyTorch: Tensors are checked where they require grad; float arrays always.
        wants = arr.dtype.kind == "f" and (not isinstance(x, Tensor) or x.requires_grad)
        tensors.append(Tensor(arr.astype(np.float64, order="C"), requires_grad=True, dtype=np.float64) if wants
                       else Tensor(arr, dtype=arr.dtype))
    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"gradcheck: fn returned {out.dtype}; it must compute in float64 throughout")
    checked = [t for t in tensors if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; nothing to check")

    # Analytic: row j of each input's Jacobian is backward of the unit vector e_j.
    rows = {id(t): np.zeros((out.size, t.size)) for t in checked}
    for j in range(out.size):
        for t in checked:
            t.grad = None
        seed = np.zeros(out.shape)
        seed.reshape(-1)[j] = 1.0
        out.backward(seed)
        for t in checked:
            if t.grad is not None:
                rows[id(t)][j] = t.grad.reshape(-1)

    def evaluate():
        with no_grad():
            return fn(*tensors).data

    for i, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        numeric = _numerical_jacobian(evaluate, t.data, out.size, eps)
        report = _compare("gradcheck", f"input {i} ", t.shape, rows[id(t)], numeric, atol, rtol)
        if report:
            if raise_exception:
                raise GradcheckError(report)
            return False
    return True


def check_module(module, x: np.ndarray, target: np.ndarray | None = None, eps: float = 1e-6,
                 atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """The exercise's check of fprop/bprop, for the input and every parameter, in float64.

    For a criterion, pass ``target``: its output is the loss (or the losses, with reduction='none'). An integer
    ``x`` (an Embedding's indices) is passed as it is, and only the parameters are checked.

    >>> import numpy as np, chainrule as cr
    >>> check_module(cr.nn.Linear(3, 2), np.random.default_rng(0).normal(size=(4, 3)))
    True
    """
    is_criterion = target is not None
    name = type(module).__name__
    params = list(module.parameters())
    saved = [(p, p.data, p.grad) for p in params]
    saved_buffers = [(b, b.data.copy()) for b in module.buffers()]  # running statistics change in train mode
    rng = default_generator()
    rng_state = rng.bit_generator.state
    integer_input = np.asarray(x).dtype.kind in "iu"
    x64 = np.array(x, dtype=None if integer_input else np.float64, order="C")
    try:
        module.double()

        def forward() -> np.ndarray:
            rng.bit_generator.state = rng_state  # the same dropout mask every call
            return module.fprop(x64, target) if is_criterion else module.fprop(x64)

        out = np.asarray(forward())
        m = out.size
        grad_x = np.zeros((m, x64.size))
        grad_p = [np.zeros((m, p.size)) for p in params]
        for j in range(m):
            forward()
            module.zero_grad()
            if is_criterion and out.ndim == 0:
                gx = module.bprop(1.0)
            else:  # a layer, or a criterion with reduction='none': one output element at a time
                seed = np.zeros(out.shape)
                seed.reshape(-1)[j] = 1.0
                gx = module.bprop(seed)
            if not integer_input:
                grad_x[j] = np.asarray(gx).reshape(-1)
            for rows, g in zip(grad_p, module.grads()):
                rows[j] = g.reshape(-1)

        checks = ([] if integer_input else [("input ", x64, grad_x)]) + [(f"{pname} ", p.data, rows) for (pname, p), rows in
                                             zip(module.named_parameters(), grad_p)]
        for label, array, analytic in checks:
            numeric = _numerical_jacobian(forward, array, m, eps)
            report = _compare(f"check_module({name})", label, array.shape, analytic, numeric, atol, rtol)
            if report:
                if raise_exception:
                    raise GradcheckError(report)
                return False
        return True
    finally:
        for p, data, grad in saved:
            p.data, p.grad = data, grad
        for b, data in saved_buffers:
            b.data = data
        rng.bit_generator.state = rng_state

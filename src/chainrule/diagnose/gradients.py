"""The gradient check of a whole network, in float64: the loss's gradient from ``bprop`` against
central differences, and each layer's ``bprop`` against its own ``fprop``, so a mismatch names
the layer.

Directional derivatives keep it cheap for any size of network (JAX's ``check_grads`` checks
along random directions the same way): for each array, the derivative along the gradient
itself, along random unit directions and along the coordinates of the largest gradient entries
must match (f(θ + hv) − f(θ − hv)) / 2h. A direction along which some ReLU's input changes sign
between θ − hv and θ + hv straddles the kink, where the difference quotient is not the
derivative (CS231n's notes on gradient checks, "kinks in the objective"): it is skipped.

>>> import numpy as np, chainrule as cr
>>> net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
>>> check_gradients(net, np.ones((2, 3), np.float32), np.array([0, 1])).status
'pass'
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from ..diagnostics import sequential_layers
from ..nn import CrossEntropyLoss, LeakyReLU, Module, ReLU, Sequential
from .checks import FAIL, PASS, Check

__all__ = ["check_gradients", "GRAD_STEP", "GRAD_ATOL", "GRAD_RTOL"]

GRAD_STEP = 1e-6  # along a unit direction, in float64
GRAD_ATOL, GRAD_RTOL = 1e-5, 1e-3  # PyTorch's gradcheck tolerances (torch/autograd/gradcheck.py)
KINKED = (ReLU, LeakyReLU)  # not differentiable where their input is 0

# value() returns the scalar and the signs of every kinked layer's input, as bytes
Value = Callable[[], tuple[float, bytes]]


def _directions(grad: np.ndarray, rng: np.random.Generator, random: int = 2, largest: int = 2) -> list[np.ndarray]:
    g = grad.reshape(-1).astype(np.float64)
    found = []
    norm = np.linalg.norm(g)
    if norm > 0:
        found.append(g / norm)
    for _ in range(random):
        v = rng.standard_normal(g.size)
        found.append(v / np.linalg.norm(v))
    for k in np.argsort(-np.abs(g))[:largest]:
        v = np.zeros(g.size)
        v[k] = 1.0
        found.append(v)
    return found


def _mismatch(value: Value, array: np.ndarray, grad: np.ndarray,
              rng: np.random.Generator) -> tuple[tuple[float, float] | None, float, int]:
    """Whether ``grad`` is the gradient of ``value`` w.r.t. ``array`` (perturbed in place, then
    restored): (the worst wrong direction's (analytic, numerical) derivatives, or None; the largest
    relative error seen; how many directions were skipped for crossing a kink)."""
    original = array.copy()
    flat = grad.reshape(-1).astype(np.float64)
    worst, wrong, relative, skipped = -np.inf, None, 0.0, 0
    for v in _directions(flat, rng):
        step = GRAD_STEP * v.reshape(array.shape)
        array[...] = original + step
        plus, signs_plus = value()
        array[...] = original - step
        minus, signs_minus = value()
        array[...] = original
        if signs_plus != signs_minus:
            skipped += 1
            continue
        numeric = (plus - minus) / (2 * GRAD_STEP)
        analytic = float(np.dot(flat, v))
        excess = abs(analytic - numeric) - (GRAD_ATOL + GRAD_RTOL * abs(numeric))
        if not (np.isfinite(analytic) and np.isfinite(numeric)):
            excess = np.inf
        relative = max(relative, abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-6))
        if excess > worst:
            worst = excess
            wrong = (analytic, numeric) if excess > 0 else None
    return wrong, relative, skipped


def _signs(a: np.ndarray) -> bytes:
    return np.packbits(np.asarray(a) > 0).tobytes()


def _layer_mismatch(name: str, layer: Module, a: np.ndarray,
                    rng: np.random.Generator) -> tuple[str | None, float, int]:
    """(None when layer.bprop is the derivative of layer.fprop at input ``a``, else what is wrong;
    the largest relative error seen; directions skipped at a kink)."""
    out = layer.fprop(a)
    cotangent = rng.standard_normal(out.shape)
    layer.zero_grad()
    grad_in = layer.bprop(cotangent)
    grads = [g.copy() for g in layer.grads()]

    def value() -> tuple[float, bytes]:
        return float(np.sum(cotangent * layer.fprop(a))), _signs(a) if isinstance(layer, KINKED) else b""

    checked = [("input", a, grad_in)] + [(pname, p.data, g) for (pname, p), g in zip(layer.named_parameters(), grads)]
    relative, skipped = 0.0, 0
    for label, array, grad in checked:
        if grad is None:
            continue
        bad, error, missed = _mismatch(value, array, np.asarray(grad), rng)
        relative, skipped = max(relative, error), skipped + missed
        if bad:
            return (f"layer {name} ({type(layer).__name__}): the gradient w.r.t. its {label} is wrong "
                    f"(along one direction: bprop {bad[0]:.6g}, finite differences {bad[1]:.6g})"), relative, skipped
    return None, relative, skipped


def check_gradients(net: Sequential, x: np.ndarray, y: np.ndarray, seed: int = 0) -> Check:
    """Gradient check of ``net`` with cross-entropy on the examples (x, y), on a float64 copy in
    eval mode (dropout off): the whole network's loss gradient for the input and every parameter,
    then each layer's bprop against its fprop (naming the first layer that is wrong)."""
    rng = np.random.default_rng([seed, 3])
    net64 = copy.deepcopy(net).double().eval()
    x64 = np.array(x, dtype=np.float64)
    criterion = CrossEntropyLoss()
    worst, skipped = 0.0, 0
    layers_of = sequential_layers(net64)
    with np.errstate(all="ignore"):
        net64.zero_grad()
        criterion.fprop(net64.fprop(x64), y)
        grad_x = net64.bprop(criterion.bprop())
        grads = [g.copy() for g in net64.grads()]

        def loss() -> tuple[float, bytes]:
            a, signs = x64, []
            for _, layer in layers_of:
                if isinstance(layer, KINKED):
                    signs.append(_signs(a))
                a = layer.fprop(a)
            return float(criterion.fprop(a, y)), b"".join(signs)

        problems = []
        checked = [("input", x64, grad_x)] + [(n, p.data, g) for (n, p), g in zip(net64.named_parameters(), grads)]
        for label, array, grad in checked:
            bad, error, missed = _mismatch(loss, array, grad, rng)
            worst, skipped = max(worst, error), skipped + missed
            if bad:
                problems.append(f"the loss's gradient w.r.t. {label} is wrong (along one direction: bprop "
                                f"{bad[0]:.6g}, finite differences {bad[1]:.6g})")
                break
        a, layers = x64, 0
        for name, layer in layers_of:
            bad_layer, error, missed = _layer_mismatch(name, layer, a.copy(), rng)
            worst, skipped = max(worst, error), skipped + missed
            if bad_layer:
                problems.insert(0, bad_layer)
                break
            a = layer.fprop(a)
            layers += 1
    if problems:
        return Check("gradient check", FAIL, problems[0],
                     "the backward pass does not match the forward: fix that layer's bprop (or its Function's "
                     "backward)")
    kinks = f"; {skipped} directions across a ReLU's kink skipped" if skipped else ""
    return Check("gradient check", PASS,
                 f"float64, {len(x)} examples: the loss's gradient for the input and {len(grads)} parameter arrays, "
                 f"and each of {layers} layers' bprop, match finite differences (worst relative error {worst:.1e}"
                 f"{kinks})")

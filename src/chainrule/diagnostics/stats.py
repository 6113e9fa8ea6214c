"""Per-layer statistics of a network on a probe batch: what backprop's δ and each layer's
activations look like, computed on the fast path (``fprop``/``bprop``), without hooks.

The lectures' signals, one dict per layer:

* the output's ``mean`` and ``std`` (the init scale keeps them from exploding or dying,
  Glorot & Bengio 2010, variance 2/(fan_in + fan_out));
* ``saturated``: for sigmoid and tanh, the fraction of activations in the flat tails, where
  the derivative (σ(1−σ), 1−tanh²) is below 0.06 and the gradient vanishes;
* ``dead``: for the ReLU family, the fraction of units that are never positive on the probe
  set (a ReLU that never fires never gets a gradient again);
* with labels, ``grad_norm``: the mean over examples of ‖δ‖, the gradient of each example's
  own loss with respect to the layer's output, and for Linear layers ``weight_grad_norm``
  (of the mean loss, the gradient the optimizer sees) and ``weight_norm``.

>>> import numpy as np, chainrule as cr
>>> net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
>>> rows = layer_stats(net, np.ones((5, 4), np.float32), np.array([0, 1, 2, 0, 1]))
>>> [(r["name"], r["kind"], r["units"]) for r in rows]
[('0', 'linear', 8), ('1', 'relu', 8), ('2', 'linear', 3)]
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..nn import CrossEntropyLoss, Linear, Module, Sequential

__all__ = ["layer_stats", "sequential_layers", "SATURATING", "RELU_FAMILY", "TAIL"]

SATURATING = {"tanh", "sigmoid"}
RELU_FAMILY = {"relu", "leakyrelu", "elu", "gelu"}
# The flat tails: |tanh| > 0.97 (derivative 1 − tanh² < 0.06); sigmoid < 0.03 or > 0.97 (σ(1−σ) < 0.03).
TAIL = 0.97


def sequential_layers(module: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """(dotted name, layer) in the order a Sequential runs them; nested Sequentials are opened.

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Sequential(cr.nn.Tanh(), cr.nn.Linear(2, 1)))
    >>> [name for name, _ in sequential_layers(net)]
    ['0', '1.0', '1.1']
    """
    found = []
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        if isinstance(child, Sequential):
            found.extend(sequential_layers(child, path + "."))
        else:
            found.append((path, child))
    return found


def _saturated(kind: str, a: np.ndarray) -> float | None:
    if kind == "tanh":
        return float(np.mean(np.abs(a) > TAIL))
    if kind == "sigmoid":
        return float(np.mean((a < 1 - TAIL) | (a > TAIL)))
    return None


def _histogram(kind: str, a: np.ndarray, bins: int) -> dict[str, Any]:
    """Counts of the activations in ``bins`` equal bins over the kind's range (its values' otherwise)."""
    finite = a[np.isfinite(a)]
    if kind == "tanh":
        lo, hi = -1.0, 1.0
    elif kind == "sigmoid":
        lo, hi = 0.0, 1.0
    elif finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = 0.0, 1.0
    if hi <= lo:  # all one value: a bin's width around it, wide enough to tell from it (2e30 ± 0.5 is 2e30)
        pad = max(0.5, abs(lo) * 1e-6)
        lo, hi = lo - pad, hi + pad
    counts, _ = np.histogram(finite, bins=bins, range=(lo, hi))
    return {"lo": lo, "hi": hi, "counts": counts.tolist()}


def _number(value: float) -> float | None:
    """A statistic as JSON can hold it: None for NaN or inf (an overflowed network)."""
    return float(value) if math.isfinite(value) else None


def layer_stats(model: Any, x: np.ndarray, y: np.ndarray | None = None, *, histogram_bins: int = 0,
                criterion: Module | None = None) -> list[dict[str, Any]]:
    """One dict per layer of ``model`` (a Sequential, or anything with a ``.net`` that is one, as a
    Classifier), in order, on the probe batch ``x`` (labels ``y`` add the gradient figures).

    Computed on a copy of the network in eval mode (dropout off): no parameter, gradient,
    cached activation or random stream of the caller's changes. Keys: ``name`` (dotted path),
    ``kind`` (the layer's type in lower case), ``units``, ``mean``, ``std``, ``saturated``
    (sigmoid/tanh, else None), ``dead`` (ReLU family, else None); with ``y``: ``grad_norm``,
    and for Linear layers ``weight_grad_norm`` and ``weight_norm``. ``histogram_bins`` > 0
    adds ``histogram`` ({"lo", "hi", "counts"}) of the layer's outputs. A figure that is
    not finite (an overflowed network) is None.

    ``criterion`` is the loss whose δ is measured: CrossEntropyLoss on the logits unless given.

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.ReLU(), cr.nn.Linear(2, 2))
    >>> net[0].bias.data[...] = -1000  # every pre-activation negative: the ReLU never fires
    >>> [r["dead"] for r in layer_stats(net, np.ones((4, 2), np.float32))]
    [None, 1.0, None]
    """
    net = getattr(model, "net", model)
    if not isinstance(net, Sequential):
        raise TypeError(f"layer_stats: expected a Sequential or a Classifier, got {type(model).__name__}")
    leaves = sequential_layers(net)
    if not leaves:
        raise ValueError("layer_stats: the network has no layers")
    params = list(net.parameters())
    dtype = params[0].dtype if params else np.dtype(np.float32)
    x = np.asarray(x)
    if x.dtype.kind not in "f":  # raw pixels (uint8) would go in unscaled: the figures of another input
        raise ValueError(f"layer_stats: x must be floating-point features as the network takes them, got dtype "
                         f"{x.dtype} (scale raw pixels to [0, 1] first)")
    if x.ndim > 2 and hasattr(model, "num_features"):  # images, as a Classifier takes them
        x = x.reshape(len(x), -1)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"layer_stats: x must be a non-empty batch of examples, got shape {x.shape}")
    x = x.astype(dtype, copy=False)  # the network's own precision: no silent upcast
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"layer_stats: {len(x)} examples but {len(y)} labels")

    probe = copy.deepcopy(net).eval()  # the caller's network, its gradients and caches stay as they are
    probe.zero_grad()
    layers = dict(probe.named_modules(remove_duplicate=False))  # a layer used twice is at both its names
    copies = [(name, layers[name]) for name, _ in leaves]
    rows, contexts = [], []
    a = x
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for name, layer in copies:
            try:
                a = layer.fprop(a)
            except (ValueError, TypeError, IndexError) as e:
                raise ValueError(f"layer_stats: layer {name} ({type(layer).__name__}) with input shape "
                                 f"{a.shape}: {e}") from None
            contexts.append(getattr(layer, "_ctx", None))  # a layer used twice keeps only its last context
            kind = type(layer).__name__.lower()
            flat = a.reshape(len(a), -1)
            row: dict[str, Any] = {
                "name": name, "kind": kind, "units": int(flat.shape[1]),
                "mean": _number(float(flat.mean(dtype=np.float64))),
                "std": _number(float(flat.std(dtype=np.float64))),
                "saturated": _saturated(kind, flat),
                "dead": float(np.mean(np.all(flat <= 0, axis=0))) if kind in RELU_FAMILY else None,
            }
            if histogram_bins:
                row["histogram"] = _histogram(kind, flat, histogram_bins)
            rows.append(row)
        if y is None:
            return rows

        if not np.isfinite(a).all():  # overflowed outputs: the loss refuses them, and there is no δ to measure
            for (_, layer), row in zip(copies, rows):
                row["grad_norm"] = None
                if isinstance(layer, Linear):
                    row["weight_grad_norm"] = None
                    row["weight_norm"] = _number(float(np.linalg.norm(layer.weight.data.astype(np.float64))))
            return rows
        loss = criterion if criterion is not None else CrossEntropyLoss()
        loss.fprop(a, y)
        g = loss.bprop()
        # bprop gives the gradient of the batch's loss; each example's own loss has N times it
        # under a mean (the reduction chainrule trains with), the same under a sum.
        per_example = len(x) if getattr(loss, "reduction", "mean") == "mean" else 1
        for i in range(len(copies) - 1, -1, -1):
            name, layer = copies[i]
            delta = g.reshape(len(g), -1).astype(np.float64) * per_example
            rows[i]["grad_norm"] = _number(float(np.sqrt((delta * delta).sum(axis=1)).mean()))
            object.__setattr__(layer, "_ctx", contexts[i])
            g = layer.bprop(g, input_grad=i > 0)
        for (_, layer), row in zip(copies, rows):  # after the whole pass: a layer used twice has both uses' sum
            if isinstance(layer, Linear):
                w = layer.weight
                row["weight_grad_norm"] = _number(float(np.linalg.norm(w.grad.astype(np.float64))))
                row["weight_norm"] = _number(float(np.linalg.norm(w.data.astype(np.float64))))
    return rows

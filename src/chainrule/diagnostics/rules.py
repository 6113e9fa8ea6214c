"""The verdicts: which per-layer figures mean a network is failing to learn, and what to do.

Thresholds, each with the lecture's reason:

* saturation: more than half of a sigmoid/tanh layer's activations in the flat tails, where
  the local derivative is under 0.06 and δ vanishes on the way back;
* dead units: more than half of a ReLU layer's units never active on the probe set (no
  gradient reaches their weights again);
* vanishing gradients: the first Linear layer's δ norm below 1/100 of the last's (each
  sigmoid multiplies δ by at most 1/4);
* exploding updates: an update ‖Δθ‖/‖θ‖ above 0.1 per step; stalled ones below 1e-5 (a
  healthy ratio is near 1e-3, Karpathy's rule of thumb in CS231n's notes on babysitting
  the learning process).

>>> rows = [{"name": "0", "kind": "linear", "grad_norm": 1e-4}, {"name": "1", "kind": "sigmoid", "saturated": 0.9},
...         {"name": "2", "kind": "linear", "grad_norm": 0.5}]
>>> [f.kind for f in check_layers(rows)]
['saturation', 'vanishing_gradients']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["Finding", "check_layers", "check_updates", "SATURATED_LIMIT", "DEAD_LIMIT", "VANISHING_RATIO",
           "UPDATE_HIGH", "UPDATE_LOW", "UPDATE_REFERENCE"]

SATURATED_LIMIT = 0.5
DEAD_LIMIT = 0.5
VANISHING_RATIO = 0.01
UPDATE_HIGH = 0.1
UPDATE_LOW = 1e-5
UPDATE_REFERENCE = 1e-3  # the healthy order of magnitude, drawn as a line in the picture


@dataclass(frozen=True)
class Finding:
    """One verdict: ``kind`` (saturation, dead_units, vanishing_gradients, exploding_updates,
    stalled_updates), the ``layer`` it is about (None for the network), the measured ``value``
    and a one-line ``message`` that says what to do."""

    kind: str
    layer: str | None
    value: float
    message: str


def _lower_lr(lr: float | None) -> str:
    return f"a lower learning rate than lr={lr:g}" if lr is not None else "a lower learning rate"


def check_layers(rows: Sequence[dict[str, Any]], lr: float | None = None) -> list[Finding]:
    """Saturation, dead units and vanishing gradients in ``layer_stats`` rows (the worst layer of
    each kind; ``lr`` is named in the remedy when given).

    >>> [finding] = check_layers([{"name": "1", "kind": "relu", "dead": 0.75}], lr=0.5)
    >>> finding.kind, finding.message[:36], finding.message[-57:]
    ('dead_units', 'layer 1 (relu): 75% of its units are', 'try a lower learning rate than lr=0.5, or leakyrelu units')
    """
    found = []
    saturated = [r for r in rows if (r.get("saturated") or 0) > SATURATED_LIMIT]
    if saturated:
        r = max(saturated, key=lambda r: r["saturated"])
        found.append(Finding("saturation", r["name"], r["saturated"],
                             f"layer {r['name']} ({r['kind']}): {r['saturated']:.0%} of its activations are saturated "
                             f"(in the flat tails, where the gradient vanishes); try {_lower_lr(lr)}, or relu units, "
                             f"or Glorot init"))
    dead = [r for r in rows if (r.get("dead") or 0) > DEAD_LIMIT]
    if dead:
        r = max(dead, key=lambda r: r["dead"])
        found.append(Finding("dead_units", r["name"], r["dead"],
                             f"layer {r['name']} ({r['kind']}): {r['dead']:.0%} of its units are never active on the "
                             f"probe set and get no gradient; try {_lower_lr(lr)}, or leakyrelu units"))
    linear = [r for r in rows if r.get("kind") == "linear" and r.get("grad_norm") is not None]
    if len(linear) >= 2:
        first, last = linear[0], linear[-1]
        if last["grad_norm"] > 0 and first["grad_norm"] < VANISHING_RATIO * last["grad_norm"]:
            ratio = first["grad_norm"] / last["grad_norm"]
            found.append(Finding("vanishing_gradients", first["name"], ratio,
                                 f"vanishing gradients: the first layer's δ norm ({first['grad_norm']:.2g}) is "
                                 f"{ratio:.1e} of the last layer's ({last['grad_norm']:.2g}); use relu units, "
                                 f"fewer layers, or Glorot init"))
    return found


def check_updates(rows: Sequence[dict[str, Any]], lr: float | None = None, lr_fraction: float = 1.0) -> list[Finding]:
    """Exploding or stalled updates in rows that carry ``update_ratio`` (Linear layers, as training's
    diagnostics record them); the epoch's mean ratio is judged when present, else the last step's.

    ``lr_fraction`` is the learning rate now over the initial one: updates are only called stalled
    while a schedule has not lowered the rate below half (a cosine schedule ends near zero on purpose).

    >>> rows = [{"name": "0", "update_ratio": 0.3, "update_ratio_mean": 0.2}, {"name": "2", "update_ratio": 1e-6}]
    >>> [(f.kind, f.layer, f.value) for f in check_updates(rows)]
    [('exploding_updates', '0', 0.2), ('stalled_updates', '2', 1e-06)]
    >>> check_updates(rows[1:], lr_fraction=0.1)  # a schedule near its end: a small step is on purpose
    []
    """
    found = []
    ratios = [(r, r.get("update_ratio_mean", r.get("update_ratio"))) for r in rows]
    ratios = [(r, v) for r, v in ratios if v is not None]
    high = [(r, v) for r, v in ratios if v > UPDATE_HIGH]
    if high:
        r, v = max(high, key=lambda rv: rv[1])
        found.append(Finding("exploding_updates", r["name"], v,
                             f"layer {r['name']}: each update changes the weights by {v:.2g} of their norm (above "
                             f"{UPDATE_HIGH:g}: the steps are too large); try {_lower_lr(lr)}, or clip_grad=1.0"))
    low = [(r, v) for r, v in ratios if v < UPDATE_LOW]
    if low and lr_fraction >= 0.5:
        r, v = min(low, key=lambda rv: rv[1])
        higher = f"a higher learning rate than lr={lr:g}" if lr is not None else "a higher learning rate"
        found.append(Finding("stalled_updates", r["name"], v,
                             f"layer {r['name']}: each update changes the weights by {v:.2g} of their norm (below "
                             f"{UPDATE_LOW:g}: training has stalled); try {higher}"))
    return found

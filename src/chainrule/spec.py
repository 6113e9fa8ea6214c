"""Model SPECs: a short readable string for an MLP whose ends come from the data.

=====================  ==================================================
SPEC                   network (for 784 inputs, 10 classes)
=====================  ==================================================
``linear``             Linear(784, 10) + softmax (the exercise's first model)
``200tanh``            Linear(784, 200), Tanh, Linear(200, 10) + softmax
``512relu-256relu``    two ReLU hidden layers
``512relu-dropout0.2-256relu``  dropout between layers
=====================  ==================================================

Hidden units: ``<width><activation>`` with activation one of tanh, relu,
sigmoid, leakyrelu. The softmax is fused into the CrossEntropyLoss criterion,
so the network itself ends in the last Linear layer (logits).

The sizes may also be spelled out, inputs first and classes last, as in the
lecture's notation ``784-200tanh-10`` (``784-10`` or ``784-linear-10`` for the
linear model); they must then match the data, and say so in one line if not.

>>> build_mlp("200tanh", 784, 10)
Sequential(
  (0): Linear(784, 200)
  (1): Tanh()
  (2): Linear(200, 10)
)
"""

from __future__ import annotations

import re

from .nn import Dropout, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh

__all__ = ["SpecError", "parse_spec", "build_mlp", "count_parameters", "ACTIVATIONS"]

ACTIVATIONS = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid, "leakyrelu": LeakyReLU}
_HIDDEN = re.compile(r"^(\d+)(" + "|".join(ACTIVATIONS) + r")$")
_DROPOUT = re.compile(r"^dropout(0?\.\d+|0)$")
_SIZE = re.compile(r"[0-9]+")  # a spelled input or output size (ASCII digits only)
MAX_WIDTH = 1 << 16
MAX_PARAMETERS = 1 << 28  # 1 GiB of float32 weights: past it, a SPEC is a typo, not a model for this library


class SpecError(ValueError):
    """A model SPEC that chainrule cannot read."""


def _sized_ends(spec: str, text: str, in_features: int | None, num_classes: int | None) -> str:
    """The SPEC without its spelled sizes (``784-200tanh-10`` -> ``200tanh``), checked against the data's."""
    tokens = text.split("-")
    if len(tokens) == 1:  # 'linear', '200tanh', or a bare width whose message parse_spec gives
        return text
    lead, trail = bool(_SIZE.fullmatch(tokens[0])), bool(_SIZE.fullmatch(tokens[-1]))
    if not lead and not trail:
        return text
    core = "-".join(tokens[int(lead):len(tokens) - int(trail)]) or "linear"
    if in_features is not None and num_classes is not None:
        sized = f"'{in_features}-{num_classes}'" if core == "linear" else f"'{in_features}-{core}-{num_classes}'"
    else:
        sized = "IN-CLASSES" if core == "linear" else f"IN-{core}-CLASSES"
    hint = f"write {core!r} (sizes come from the data) or {sized}"
    if not (lead and trail):
        which = "inputs first" if trail else "classes last"
        raise SpecError(f"model SPEC {spec!r}: spelled sizes go at both ends, {which}; {hint}")
    if in_features is not None and num_classes is not None and (int(tokens[0]), int(tokens[-1])) != (
            in_features, num_classes):
        raise SpecError(f"model SPEC {spec!r}: the data has {in_features} inputs and {num_classes} classes; {hint}")
    return core


def parse_spec(spec: str, in_features: int | None = None,
               num_classes: int | None = None) -> list[tuple[str, float | int]]:
    """SPEC -> [("hidden", width, activation) | ("dropout", p)], validated.

    Spelled sizes (``64-200tanh-10``) are checked against ``in_features`` and
    ``num_classes`` when given, and dropped.

    >>> parse_spec("512relu-dropout0.2-256relu")
    [('hidden', 512, 'relu'), ('dropout', 0.2), ('hidden', 256, 'relu')]
    >>> parse_spec("64-200tanh-10", 64, 10)
    [('hidden', 200, 'tanh')]
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("empty model SPEC; try 'linear', '200tanh' or '512relu-256relu'")
    text = _sized_ends(spec, spec.strip().lower(), in_features, num_classes)
    if text == "linear":
        return []
    layers: list = []
    for token in text.split("-"):
        hidden, dropout = _HIDDEN.match(token), _DROPOUT.match(token)
        if hidden:
            width = int(hidden.group(1))
            if not 1 <= width <= MAX_WIDTH:
                raise SpecError(f"model SPEC {spec!r}: width {width} must be between 1 and {MAX_WIDTH}")
            layers.append(("hidden", width, hidden.group(2)))
        elif dropout:
            p = float(dropout.group(1))
            if p >= 1:  # 0.99999999999999999 reads as 1.0
                raise SpecError(f"model SPEC {spec!r}: dropout {dropout.group(1)} rounds to 1, which drops everything")
            if not layers or layers[-1][0] != "hidden":
                raise SpecError(f"model SPEC {spec!r}: dropout goes after a hidden layer")
            layers.append(("dropout", p))
        else:
            bare = f" (a width needs an activation: '{token}tanh', '{token}relu')" if _SIZE.fullmatch(token) else ""
            raise SpecError(
                f"model SPEC {spec!r}: cannot read {token!r}{bare}; use 'linear', or layers like '200tanh', "
                f"'512relu', 'dropout0.2' joined by '-' (activations: {', '.join(ACTIVATIONS)})"
            )
    return layers


def count_parameters(spec: str, in_features: int, num_classes: int) -> int:
    """Weights and biases of the MLP a SPEC describes, counted without building it.

    >>> count_parameters("200tanh", 784, 10)
    159010
    """
    hidden = [layer[1] for layer in parse_spec(spec, in_features, num_classes) if layer[0] == "hidden"]
    widths = [in_features] + hidden + [num_classes]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def build_mlp(spec: str, in_features: int, num_classes: int) -> Sequential:
    """The network a SPEC describes, for the given input size and number of classes.

    >>> [type(m).__name__ for m in build_mlp("64-32relu-10", 64, 10)]
    ['Linear', 'ReLU', 'Linear']
    """
    n = count_parameters(spec, in_features, num_classes)
    if n > MAX_PARAMETERS:  # refused before anything is allocated
        raise SpecError(f"model SPEC {spec!r} on {in_features} features would have {n:,} parameters "
                        f"({4 * n / 2**30:.1f} GiB); the limit is {MAX_PARAMETERS:,}")
    modules = []
    width = in_features
    for layer in parse_spec(spec, in_features, num_classes):
        if layer[0] == "hidden":
            _, units, activation = layer
            modules += [Linear(width, units), ACTIVATIONS[activation]()]
            width = units
        else:
            modules.append(Dropout(layer[1]))
    modules.append(Linear(width, num_classes))
    return Sequential(*modules)

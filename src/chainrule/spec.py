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
MAX_WIDTH = 1 << 16
MAX_PARAMETERS = 1 << 28  # 1 GiB of float32 weights: past it, a SPEC is a typo, not a model for this library


class SpecError(ValueError):
    """A model SPEC that chainrule cannot read."""


def parse_spec(spec: str) -> list[tuple[str, float | int]]:
    """SPEC -> [("hidden", width, activation) | ("dropout", p)], validated.

    >>> parse_spec("512relu-dropout0.2-256relu")
    [('hidden', 512, 'relu'), ('dropout', 0.2), ('hidden', 256, 'relu')]
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("empty model SPEC; try 'linear', '200tanh' or '512relu-256relu'")
    text = spec.strip().lower()
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
            raise SpecError(
                f"model SPEC {spec!r}: cannot read {token!r}; use 'linear', or layers like '200tanh', "
                f"'512relu', 'dropout0.2' joined by '-' (activations: {', '.join(ACTIVATIONS)})"
            )
    return layers


def count_parameters(spec: str, in_features: int, num_classes: int) -> int:
    """Weights and biases of the MLP a SPEC describes, counted without building it.

    >>> count_parameters("200tanh", 784, 10)
    159010
    """
    widths = [in_features] + [layer[1] for layer in parse_spec(spec) if layer[0] == "hidden"] + [num_classes]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def build_mlp(spec: str, in_features: int, num_classes: int) -> Sequential:
    """The network a SPEC describes, for the given input size and number of classes."""
    n = count_parameters(spec, in_features, num_classes)
    if n > MAX_PARAMETERS:  # refused before anything is allocated
        raise SpecError(f"model SPEC {spec!r} on {in_features} features would have {n:,} parameters "
                        f"({4 * n / 2**30:.1f} GiB); the limit is {MAX_PARAMETERS:,}")
    modules = []
    width = in_features
    for layer in parse_spec(spec):
        if layer[0] == "hidden":
            _, units, activation = layer
            modules += [Linear(width, units), ACTIVATIONS[activation]()]
            width = units
        else:
            modules.append(Dropout(layer[1]))
    modules.append(Linear(width, num_classes))
    return Sequential(*modules)

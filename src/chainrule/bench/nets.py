"""The nets the benchmark trains, the weights they all start from, the data, and the arithmetic of an epoch.

>>> spec = NETS["784-200tanh-10"]
>>> spec.sizes, spec.activation, [w.shape for w in initial_weights(spec)]
((784, 200, 10), 'tanh', [(784, 200), (200,), (200, 10), (10,)])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from ..nn import init
from ..spec import build_mlp, parse_spec

__all__ = ["EPOCH", "FEATURES", "CLASSES", "NetSpec", "NETS", "build_net", "initial_weights", "load_data",
           "epoch_flops", "strictly_needed_bytes", "batches"]

EPOCH = 60_000
FEATURES, CLASSES = 784, 10


@dataclass(frozen=True)
class NetSpec:
    """An MLP from 784 features to 10 classes, given by a model SPEC of :mod:`chainrule.spec`.

    >>> NetSpec("784-512relu-256relu-10", "512relu-256relu").layers
    [(784, 512), (512, 256), (256, 10)]
    """

    name: str
    model: str  # the SPEC that chainrule.spec.build_mlp builds, e.g. "200tanh"

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths, input and output included."""
        hidden = [layer[1] for layer in parse_spec(self.model) if layer[0] == "hidden"]
        return (FEATURES, *hidden, CLASSES)

    @property
    def activation(self) -> str:
        """The hidden layers' one activation ("tanh", "relu", ...); the contenders written out by hand need one."""
        kinds = {layer[2] for layer in parse_spec(self.model) if layer[0] == "hidden"}
        if len(kinds) != 1:
            raise ValueError(f"net {self.name}: the benchmark needs one hidden activation, got {sorted(kinds)}")
        return kinds.pop()

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(in, out) of every Linear layer."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))


NETS = {
    "784-200tanh-10": NetSpec("784-200tanh-10", "200tanh"),
    "784-512relu-256relu-10": NetSpec("784-512relu-256relu-10", "512relu-256relu"),
}


def build_net(spec: NetSpec, weights: list[np.ndarray] | None = None, seed: int = 0) -> nn.Sequential:
    """The net ``spec.build_mlp`` builds for ``spec``, starting from ``weights`` ([W1, b1, W2, b2, ...]), or,
    without them, from Glorot-normal weights (``nn.init.xavier_normal_``, Linear's own rule) drawn from a
    generator seeded ``seed`` and zero biases: the same weights on every call, whatever chainrule's seed.

    >>> bool(build_net(NETS["784-200tanh-10"])[0].bias.data.any())
    False
    """
    net = build_mlp(spec.model, FEATURES, CLASSES)
    if weights is not None:
        for p, w in zip(net.parameters(), weights, strict=True):
            np.copyto(p.data, w)
        return net
    generator = np.random.default_rng(seed)
    for module in net:
        if isinstance(module, nn.Linear):
            init.xavier_normal_(module.weight, generator=generator)
            init.zeros_(module.bias)
    return net


def initial_weights(spec: NetSpec, seed: int = 0) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] of ``build_net(spec, seed=seed)``, W of shape (in, out), float32: every
    contender copies its initial weights from this chainrule net."""
    return [p.data.copy() for p in build_net(spec, seed=seed).parameters()]


def load_data(kind: str = "auto") -> tuple[np.ndarray, np.ndarray, str]:
    """60,000 float32 examples and int64 labels, and the data's name: Fashion-MNIST if on disk (never
    downloaded; ``kind="fashion-mnist"`` insists on it), else (or with ``kind="random"``) random."""
    if kind in ("auto", "fashion-mnist"):
        try:
            from ..data import load_fashion_mnist

            d = load_fashion_mnist(download=False)
            return np.ascontiguousarray(d.x_train[:EPOCH], np.float32), d.y_train[:EPOCH].astype(np.int64), \
                "Fashion-MNIST"
        except Exception as e:  # noqa: BLE001 -- any failure means: not usable here
            if kind == "fashion-mnist":
                raise RuntimeError(f"Fashion-MNIST is not available: {e}") from e
    rng = np.random.default_rng(0)
    return rng.random((EPOCH, FEATURES), dtype=np.float32), rng.integers(0, CLASSES, EPOCH), "random"


def epoch_flops(spec: NetSpec, examples: int = EPOCH) -> int:
    """Matrix-multiply FLOPs of one training epoch (elementwise work ignored).

    Forward 2·in·out per example and Linear; backward twice that (grad W and grad
    x), except the first layer's grad x, which nobody needs.

    >>> epoch_flops(NETS["784-200tanh-10"], 1)
    639200
    """
    forward = sum(2 * i * o for i, o in spec.layers)
    first = 2 * spec.sizes[0] * spec.sizes[1]
    return examples * (3 * forward - first)


def strictly_needed_bytes(spec: NetSpec, batch: int, optimizer_buffers: int = 0) -> dict[str, int]:
    """Bytes training can't do without: parameters, gradients, optimizer state, and the
    activations backward needs (the input batch and every layer's output), float32.

    >>> strictly_needed_bytes(NETS["784-200tanh-10"], 1)["activations"]
    3976
    """
    params = sum(i * o + o for i, o in spec.layers)
    activations = batch * sum(spec.sizes)
    parts = {"parameters": params, "gradients": params, "optimizer state": optimizer_buffers * params,
             "activations": activations}
    return {k: 4 * v for k, v in parts.items()}


def batches(order: np.ndarray, batch: int):
    """Consecutive pieces of ``order``, ``batch`` long (the last one shorter).

    >>> [b.tolist() for b in batches(np.arange(5), 2)]
    [[0, 1], [2, 3], [4]]
    """
    for start in range(0, len(order), batch):
        yield order[start:start + batch]

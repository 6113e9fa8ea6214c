"""Toy sets written with NumPy alone, all float32: xor, two moons, spirals.

Each `make_*` returns (x, y) arrays; `load_toy` wraps one as a `Data` with a
stratified 20% held out for testing (xor: the 4 points, tested on themselves).

>>> x, y = make_moons(10, seed=0)
>>> x.shape, x.dtype, y.dtype
((10, 2), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .dataset import Data
from .errors import DataError
from .split import stratified_indices

__all__ = ["TOY_SETS", "load_toy", "make_xor", "make_moons", "make_spirals"]

TOY_SETS = ("xor", "moons", "spirals")


def _check_count(n, least: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < least:
        raise DataError(f"{what}: n must be an integer >= {least}, got {n!r}")
    return int(n)


def _check_noise(noise, what: str) -> np.float32:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < math.inf:
        raise DataError(f"{what}: noise must be a finite number >= 0, got {noise!r}")
    return np.float32(noise)


def make_xor(n: int = 4, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the corners of the unit square, labelled 1 where exactly one coordinate is 1.

    n=4 gives the four corners once; larger n cycles through them, each copy moved
    by Gaussian noise of standard deviation `noise`.

    >>> x, y = make_xor()
    >>> x.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    n = _check_count(n, 4, "make_xor")
    scale = _check_noise(noise, "make_xor")
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    which = np.arange(n) % 4
    x = corners[which]
    y = np.array([0, 1, 1, 0], dtype=np.int64)[which]
    if scale:
        x += scale * np.random.default_rng(seed).standard_normal(x.shape, dtype=np.float32)
    return x, y


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top, class 1 below), shuffled.

    >>> x, y = make_moons(100, noise=0.1, seed=0)
    >>> x.shape, x.dtype, np.bincount(y).tolist()
    ((100, 2), dtype('float32'), [50, 50])
    """
    n = _check_count(n, 2, "make_moons")
    scale = _check_noise(noise, "make_moons")
    rng = np.random.default_rng(seed)
    n_top = n // 2
    t_top = np.linspace(0, np.pi, n_top, dtype=np.float32)
    t_bottom = np.linspace(0, np.pi, n - n_top, dtype=np.float32)
    x = np.concatenate([
        np.stack([np.cos(t_top), np.sin(t_top)], axis=1),
        np.stack([1 - np.cos(t_bottom), np.float32(0.5) - np.sin(t_bottom)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_top, np.int64), np.ones(n - n_top, np.int64)])
    order = rng.permutation(n)
    x, y = x[order], y[order]
    if scale:
        x += scale * rng.standard_normal(x.shape, dtype=np.float32)
    return x, y


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n set), shuffled; inputs in about [-1, 1].

    Arm k has radius r from 0 to 1 and angle 4(k + r) radians plus Gaussian noise
    of standard deviation `noise`. Classes share n as evenly as possible.

    >>> x, y = make_spirals(300, classes=3, seed=0)
    >>> x.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 2:
        raise DataError(f"make_spirals: classes must be an integer >= 2, got {classes!r}")
    n = _check_count(n, int(classes), "make_spirals")
    scale = _check_noise(noise, "make_spirals")
    rng = np.random.default_rng(seed)
    sizes = [n // classes + (k < n % classes) for k in range(classes)]
    radius = np.concatenate([np.linspace(0, 1, m, dtype=np.float32) for m in sizes])
    y = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    angle = np.float32(4) * (y.astype(np.float32) + radius)
    angle += scale * rng.standard_normal(n, dtype=np.float32)
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    order = rng.permutation(n)
    return x[order], y[order]


def load_toy(name: str, seed: int = 0) -> Data:
    """A toy set by name as a Data: xor (4 points, tested on themselves), moons (1,000
    points), spirals (3 arms of 100), generated with `seed`, a stratified 20% held out.

    >>> load_toy("spirals")
    Data(name='spirals', train=(240, 2), test=(60, 2), classes=3, image_shape=None)
    """
    if name == "xor":
        x, y = make_xor()
        return Data(x, y, x.copy(), y.copy(), name="xor", classes=["0", "1"])
    if name == "moons":
        (x, y), classes = make_moons(1000, noise=0.1, seed=seed), 2
    elif name == "spirals":
        (x, y), classes = make_spirals(300, classes=3, noise=0.2, seed=seed), 3
    else:
        raise DataError(f"unknown toy set {name!r}: expected one of {', '.join(TOY_SETS)}")
    keep, test = stratified_indices(y, 0.2, seed)
    return Data(x[keep], y[keep], x[test], y[test], name=name, classes=[str(i) for i in range(classes)])

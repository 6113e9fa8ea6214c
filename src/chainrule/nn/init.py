"""Weight initialisers, drawn from chainrule's seeded generator.

Weights are stored as (fan_in, fan_out), as the exercise writes y = xW + b.
The exercise's rule, Glorot normal with σ = sqrt(2 / (fan_in + fan_out)), is
Linear's default; biases start at zero.

>>> import chainrule as cr
>>> _ = cr.manual_seed(0)
>>> w = glorot_normal((784, 200)); w.dtype, round(float(w.std()), 3)
(dtype('float32'), 0.045)
"""

from __future__ import annotations

import math

import numpy as np

from ..random import default_generator

__all__ = [
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "zeros",
    "xavier_normal_", "xavier_uniform_", "kaiming_normal_", "kaiming_uniform_", "zeros_",
]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"fan in/out need a weight of at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


def _normal(shape, std, generator, dtype):
    rng = generator or default_generator()
    out = rng.standard_normal(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    out *= out.dtype.type(std)
    return out.astype(dtype, copy=False)


def _uniform(shape, bound, generator, dtype):
    rng = generator or default_generator()
    out = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    out *= out.dtype.type(2 * bound)
    out -= out.dtype.type(bound)
    return out.astype(dtype, copy=False)


def glorot_normal(shape, generator=None, dtype=np.float32) -> np.ndarray:
    """N(0, σ²) with σ = sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio; the exercise's rule)."""
    fan_in, fan_out = _fans(tuple(shape))
    return _normal(shape, math.sqrt(2.0 / (fan_in + fan_out)), generator, dtype)


def glorot_uniform(shape, generator=None, dtype=np.float32) -> np.ndarray:
    """U(−a, a) with a = sqrt(6 / (fan_in + fan_out)): the same variance as glorot_normal."""
    fan_in, fan_out = _fans(tuple(shape))
    return _uniform(shape, math.sqrt(6.0 / (fan_in + fan_out)), generator, dtype)


def he_normal(shape, generator=None, dtype=np.float32) -> np.ndarray:
    """N(0, σ²) with σ = sqrt(2 / fan_in): keeps the variance through ReLU layers."""
    fan_in, _ = _fans(tuple(shape))
    return _normal(shape, math.sqrt(2.0 / fan_in), generator, dtype)


def he_uniform(shape, generator=None, dtype=np.float32) -> np.ndarray:
    """U(−a, a) with a = sqrt(6 / fan_in)."""
    fan_in, _ = _fans(tuple(shape))
    return _uniform(shape, math.sqrt(6.0 / fan_in), generator, dtype)


def zeros(shape, dtype=np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def _fill(tensor, values):
    tensor.data[...] = values
    return tensor


# PyTorch's in-place names (the fans read our (in, out) layout).
def xavier_normal_(tensor, generator=None):
    return _fill(tensor, glorot_normal(tensor.shape, generator, tensor.dtype))


def xavier_uniform_(tensor, generator=None):
    return _fill(tensor, glorot_uniform(tensor.shape, generator, tensor.dtype))


def kaiming_normal_(tensor, generator=None):
    return _fill(tensor, he_normal(tensor.shape, generator, tensor.dtype))


def kaiming_uniform_(tensor, generator=None):
    return _fill(tensor, he_uniform(tensor.shape, generator, tensor.dtype))


def zeros_(tensor):
    tensor.data[...] = 0
    return tensor

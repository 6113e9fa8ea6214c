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
    "calculate_gain", "normal_", "uniform_", "constant_", "ones_",
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


# PyTorch's in-place names and signatures (the fans read chainrule's (in, out) layout, so
# fan_in is still the number of inputs).
def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _fans(tuple(tensor.shape))
    return _fill(tensor, _normal(tensor.shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator, tensor.dtype))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _fans(tuple(tensor.shape))
    return _fill(tensor, _uniform(tensor.shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), generator, tensor.dtype))


def _kaiming_std(tensor, a, mode, nonlinearity) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tuple(tensor.shape))
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """N(0, σ²), σ = gain / sqrt(fan): with the defaults sqrt(2 / fan_in), as ``he_normal``."""
    return _fill(tensor, _normal(tensor.shape, _kaiming_std(tensor, a, mode, nonlinearity), generator, tensor.dtype))


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """U(−b, b), b = sqrt(3)·gain / sqrt(fan): with the defaults sqrt(6 / fan_in), as ``he_uniform``."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _fill(tensor, _uniform(tensor.shape, bound, generator, tensor.dtype))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """N(mean, std²) in place, from chainrule's generator (or ``generator``)."""
    values = _normal(tensor.shape, std, generator, tensor.dtype)
    values += values.dtype.type(mean)
    return _fill(tensor, values)


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """U(a, b) in place, from chainrule's generator (or ``generator``)."""
    values = _uniform(tensor.shape, (b - a) / 2, generator, tensor.dtype)
    values += values.dtype.type((a + b) / 2)
    return _fill(tensor, values)


def constant_(tensor, val: float):
    tensor.data[...] = val
    return tensor


def ones_(tensor):
    return constant_(tensor, 1)


def zeros_(tensor):
    return constant_(tensor, 0)

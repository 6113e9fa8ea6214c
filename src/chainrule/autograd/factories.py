"""Tensor factories, as PyTorch's: ``tensor``, ``zeros``, ``ones``, ``full``, ``eye``, ``arange``,
``linspace``, the ``*_like`` forms, and random ones (``rand``, ``randn``, ``randint``,
``randperm``) drawn from chainrule's seeded generator (``chainrule.manual_seed``).

>>> import chainrule as cr
>>> cr.zeros(2, 3).shape, cr.arange(3).tolist()
((2, 3), [0, 1, 2])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import default_generator
from .tensor import DEFAULT_FLOAT, Tensor

__all__ = [
    "tensor", "zeros", "ones", "randn", "from_numpy", "arange", "linspace", "full", "eye", "zeros_like",
    "ones_like", "full_like", "rand", "randint", "randperm", "rand_like", "randn_like", "is_tensor", "numel",
]


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a Tensor from a copy of data, as ``torch.tensor``; float data defaults to float32.
    (``from_numpy`` shares the array's memory instead.)

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4.5]]).dtype
    dtype('float32')
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(np.array(data, copy=True), requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, requires_grad: bool = False, dtype: Any = DEFAULT_FLOAT) -> Tensor:
    """A tensor of zeros: ``cr.zeros(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def ones(*shape, requires_grad: bool = False, dtype: Any = DEFAULT_FLOAT) -> Tensor:
    """A tensor of ones: ``cr.ones(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def randn(*shape, requires_grad: bool = False, dtype: Any = DEFAULT_FLOAT) -> Tensor:
    """Standard-normal samples from chainrule's seeded generator: ``cr.randn(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(default_generator().standard_normal(shape, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def _shape(shape: tuple) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _default_dtype(*values: Any) -> np.dtype:
    """PyTorch's dtype for Python numbers: int64 if all are integers, else float32 (bool for bools)."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.dtype(bool)
    if all(isinstance(v, (int, np.integer)) for v in values):
        return np.dtype(np.int64)
    return np.dtype(DEFAULT_FLOAT)


def is_tensor(obj: Any) -> bool:
    """True for a chainrule Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    """The number of elements (``torch.numel``)."""
    return t.numel()


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor on the array's own memory, in its own dtype (float64 stays float64), as
    ``torch.from_numpy``: a change to one shows in the other.

    >>> import numpy as np, chainrule as cr
    >>> a = np.zeros(2); t = cr.from_numpy(a); a[0] = 5; t.tolist(), t.dtype
    ([5.0, 0.0], dtype('float64'))
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: array must be a NumPy array, got {type(array).__name__}")
    return Tensor._wrap(array, False)


def arange(start, end=None, step=1, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Numbers from start up to (not including) end: int64 from integers, else float32.

    >>> import chainrule as cr
    >>> cr.arange(4).tolist(), cr.arange(0, 1, 0.25).tolist()
    ([0, 1, 2, 3], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    dtype = _default_dtype(start, end, step) if dtype is None else dtype
    return Tensor(np.arange(start, end, step).astype(dtype), requires_grad=requires_grad, dtype=dtype)


def linspace(start, end, steps: int, *, dtype: Any = DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """steps evenly spaced numbers from start to end, both included (float32).

    >>> import chainrule as cr
    >>> cr.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return Tensor(np.linspace(start, end, steps).astype(dtype), requires_grad=requires_grad, dtype=dtype)


def full(size, fill_value, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of one value: ``cr.full((2, 3), 0.5)`` (float32; int64 for an integer, as PyTorch)."""
    fill_value = _data(fill_value)
    if dtype is None:
        dtype = np.asarray(fill_value).dtype if isinstance(fill_value, np.ndarray) else _default_dtype(fill_value)
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return Tensor(np.full(size, fill_value, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def eye(n: int, m: int | None = None, *, dtype: Any = DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix (m = n by default), float32."""
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def zeros_like(t, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape and dtype."""
    return full_like(t, 0, dtype=dtype, requires_grad=requires_grad)


def ones_like(t, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape and dtype."""
    return full_like(t, 1, dtype=dtype, requires_grad=requires_grad)


def full_like(t, fill_value, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """fill_value in t's shape and dtype."""
    array = np.asarray(_data(t))
    dtype = array.dtype if dtype is None else dtype
    return Tensor(np.full(array.shape, _data(fill_value), dtype=dtype), requires_grad=requires_grad, dtype=dtype)


def rand(*size, generator: np.random.Generator | None = None, dtype: Any = DEFAULT_FLOAT,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from chainrule's seeded generator (or ``generator``), float32."""
    samples = (generator or default_generator()).random(_shape(size), dtype=dtype)
    return Tensor(samples, requires_grad=requires_grad, dtype=dtype)


def randperm(n: int, *, generator: np.random.Generator | None = None, dtype: Any = np.int64) -> Tensor:
    """0 … n−1 in a random order (int64), from chainrule's seeded generator (or ``generator``)."""
    return Tensor((generator or default_generator()).permutation(int(n)).astype(dtype), dtype=dtype)


def rand_like(t, *, dtype: Any = None, generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1) in t's shape and (float) dtype."""
    array = np.asarray(_data(t))
    return rand(array.shape, generator=generator, dtype=array.dtype if dtype is None else dtype)


def randn_like(t, *, dtype: Any = None) -> Tensor:
    """Standard-normal samples in t's shape and (float) dtype."""
    array = np.asarray(_data(t))
    return randn(array.shape, dtype=array.dtype if dtype is None else dtype)


def randint(*args, low=None, high=None, size=None, generator: np.random.Generator | None = None,
            dtype: Any = np.int64) -> Tensor:
    """Integers drawn uniformly from [low, high), as PyTorch's ``randint(high, size)`` or
    ``randint(low, high, size)``; int64, from chainrule's seeded generator (or ``generator``).

    >>> import chainrule as cr
    >>> cr.randint(0, 10, (2, 3)).shape
    (2, 3)
    """
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        low, high = (0, args[0]) if high is None else (args[0], high)
    elif args:
        high = None
    if size is None or high is None:
        raise TypeError("randint: call it as randint(high, size) or randint(low, high, size), size a tuple")
    low = 0 if low is None else low
    return Tensor((generator or default_generator()).integers(low, high, size=tuple(size), dtype=dtype), dtype=dtype)


def _data(value: Any) -> Any:
    """A Tensor's array; anything else as it is."""
    return value.data if isinstance(value, Tensor) else value

"""The weight update folded into the weight gradient's matrix product (SGD, momentum, L2 decay).

A Linear layer's weight gradient is one GEMM, xᵀg. NumPy's matmul can only store it; BLAS's
GEMM computes C ← α·A·B + β·C, so the update can happen inside it and the gradient is never
stored nor read back (Lua Torch nn's Linear.lua ``accUpdateGradParameters`` does the same):

* SGD:       W ← (1 − lr·λ)·W − lr·xᵀg     one GEMM, α = −lr, β = 1 − lr·λ (L2 decay λ);
* momentum:  v ← μ·v + xᵀg (+ λ·W)          one GEMM into v, α = 1, β = μ (β = 0 at the first step),
             W ← W − lr·v                   then an axpy (and one more for the decay).

The GEMM with beta is taken from NumPy's own BLAS: NumPy's wheels ship OpenBLAS (the
scipy-openblas build, whose CBLAS functions are named ``scipy_cblas_sgemm64_`` and so on, with
64-bit integers), and ctypes calls it with the arrays' own memory. It is the BLAS that already
runs every ``@``, with the same thread pool: a second BLAS (SciPy's wheels bring another
OpenBLAS) would add a second pool of spinning threads, measured here to make a folded step
several times slower at 2 threads. Where NumPy was built otherwise (no such library beside
it), nothing folds and training is exactly as before.

Results equal the unfused update to float32 rounding (the sums are grouped differently).
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..autograd.function import GradSink

__all__ = ["FoldedUpdate", "blas_functions"]


# CBLAS's constants (cblas.h)
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


@functools.cache
def _numpy_openblas() -> tuple[ctypes.CDLL, str] | None:
    """NumPy's bundled OpenBLAS and its CBLAS names' prefix, or None (NumPy built another way)."""
    root = Path(np.__file__).resolve().parent
    for path in sorted(root.parent.glob("numpy.libs/*openblas*")) + sorted((root / ".dylibs").glob("*openblas*")):
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        if hasattr(lib, "scipy_cblas_sgemm64_") and hasattr(lib, "scipy_cblas_saxpy64_"):
            return lib, "scipy_cblas_"
    return None


@functools.cache
def blas_functions(dtype: np.dtype) -> tuple[Callable, Callable] | None:
    """(gemm, axpy) on NumPy's own BLAS for float32 or float64 arrays, or None where there is none:
    ``gemm(alpha, a, b, beta, c)`` sets c ← alpha·a·b + beta·c and ``axpy(alpha, x, y)`` sets
    y ← alpha·x + y, both in place on c and y.

    >>> import numpy as np
    >>> blas_functions(np.dtype(np.int64)) is None
    True
    >>> functions = blas_functions(np.dtype(np.float32))
    >>> c = np.ones((2, 2), np.float32)
    >>> if functions: functions[0](2.0, np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), 1.0, c)
    >>> c.tolist() if functions else [[3.0, 1.0], [1.0, 3.0]]
    [[3.0, 1.0], [1.0, 3.0]]
    """
    found = _numpy_openblas()
    if dtype not in (np.float32, np.float64) or found is None:
        return None
    lib, prefix = found
    letter, real = ("s", ctypes.c_float) if dtype == np.float32 else ("d", ctypes.c_double)
    i64, ptr, enum = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    gemm = getattr(lib, f"{prefix}{letter}gemm64_")
    gemm.argtypes = [enum, enum, enum, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64]
    gemm.restype = None
    axpy = getattr(lib, f"{prefix}{letter}axpy64_")
    axpy.argtypes = [i64, real, ptr, i64, ptr, i64]
    axpy.restype = None

    def gemm_in_place(alpha: float, a: np.ndarray, b: np.ndarray, beta: float, c: np.ndarray) -> None:
        (a, trans_a, lda), (b, trans_b, ldb) = _operand(a, dtype), _operand(b, dtype)
        if not (c.flags.c_contiguous and c.flags.writeable and c.dtype == dtype):
            raise ValueError(f"gemm: c must be a writable C-contiguous {dtype} array")
        gemm(ROW_MAJOR, trans_a, trans_b, c.shape[0], c.shape[1], a.shape[1], alpha, a.ctypes.data, lda,
             b.ctypes.data, ldb, beta, c.ctypes.data, max(1, c.shape[1]))

    def axpy_in_place(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
        if not (x.flags.c_contiguous and y.flags.c_contiguous and x.size == y.size and x.dtype == y.dtype == dtype):
            raise ValueError(f"axpy: x and y must be C-contiguous {dtype} arrays of one size")
        axpy(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)

    return gemm_in_place, axpy_in_place


def _operand(m: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, int, int]:
    """(array, transpose flag, leading dimension) for a row-major CBLAS operand equal to m,
    without a copy when m is C- or F-contiguous (an F-contiguous m is a transposed C array)."""
    if m.dtype != dtype:
        raise ValueError(f"gemm: operands must be {dtype}, got {m.dtype}")
    if m.flags.c_contiguous:
        return m, NO_TRANS, max(1, m.shape[1])
    if m.flags.f_contiguous:
        return m, TRANS, max(1, m.shape[0])
    m = np.ascontiguousarray(m)
    return m, NO_TRANS, max(1, m.shape[1])


def foldable(param: np.ndarray) -> bool:
    """Whether a parameter array can be updated inside a GEMM in place: a C-contiguous, writable
    float32 or float64 matrix (the GEMM's row-major C, written where it lies).

    >>> import numpy as np
    >>> foldable(np.zeros((3, 2), np.float32).T)
    False
    """
    return (param.ndim == 2 and param.flags.c_contiguous and param.flags.writeable
            and param.dtype in (np.float32, np.float64))


class FoldedUpdate(GradSink):
    """SGD's step for one parameter (plain or momentum with dampening 0, with or without L2
    weight decay), applied inside the gradient's GEMM. The optimizer builds it; ``group`` and
    ``state`` are the parameter's options and buffers there, read at every step.

    >>> import numpy as np, chainrule as cr
    >>> w = cr.nn.Parameter(np.ones((2, 1), np.float32))
    >>> fold = FoldedUpdate(w, {"lr": 0.5, "momentum": 0.0, "weight_decay": 0.0}, {})
    >>> if blas_functions(w.dtype): fold.matmul(np.ones((2, 1), np.float32), np.ones((1, 1), np.float32))
    >>> w.data.ravel().tolist() if blas_functions(w.dtype) else [0.5, 0.5]
    [0.5, 0.5]
    """

    __slots__ = ("group", "state")

    def __init__(self, param, group: dict[str, Any], state: dict[str, np.ndarray]):
        super().__init__(param)
        self.group = group
        self.state = state

    def update(self, a: np.ndarray, b: np.ndarray) -> None:
        w = self.param.data
        gemm, axpy = blas_functions(w.dtype)
        group = self.group
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if not mu:
            gemm(-lr, a, b, 1.0 - lr * wd, w)
            return
        v = self.state.get("momentum_buffer")
        first = v is None  # the first step's buffer is the gradient itself (PyTorch)
        if first:
            v = self.state["momentum_buffer"] = np.zeros_like(w)
        elif not v.flags.c_contiguous:  # (a loaded buffer could be any layout) GEMM's C must be v itself
            v = self.state["momentum_buffer"] = np.ascontiguousarray(v)
        gemm(1.0, a, b, 0.0 if first else mu, v)
        if wd:
            axpy(wd, w, v)
        axpy(-lr, v, w)

"""The weight update folded into the weight gradient's matrix product (SGD, momentum, L2 decay).

A Linear layer's weight gradient is one GEMM, xᵀg. NumPy's matmul can only store it; BLAS's
GEMM computes C ← α·A·B + β·C, so the update can happen inside it and the gradient is never
stored nor read back (Lua Torch nn's Linear.lua ``accUpdateGradParameters`` does the same):

* SGD:       W ← (1 − lr·λ)·W − lr·xᵀg     one GEMM, α = −lr, β = 1 − lr·λ (L2 decay λ);
* momentum:  v ← μ·v + xᵀg (+ λ·W)          one GEMM into v, α = 1, β = μ (β = 0 at the first step),
             W ← W − lr·v                   then an axpy (and one more for the decay).

The GEMM with beta comes from SciPy's BLAS (``scipy.linalg.blas.sgemm``), imported lazily:
without SciPy nothing folds and training is exactly as before. SciPy's BLAS is its own
OpenBLAS build, not NumPy's: it has its own thread pool (``threadpoolctl.threadpool_info()``
lists both).

Results equal the unfused update to float32 rounding (the sums are grouped differently).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..autograd.function import GradSink

__all__ = ["FoldedUpdate", "blas_functions"]


@functools.cache
def blas_functions(dtype: np.dtype) -> tuple[Any, Any] | None:
    """SciPy's (gemm, axpy) for float32 or float64 arrays, or None without SciPy.

    >>> import numpy as np
    >>> blas_functions(np.dtype(np.int64)) is None
    True
    """
    if dtype not in (np.float32, np.float64):
        return None
    try:
        from scipy.linalg import blas
    except ImportError:
        return None
    return (blas.sgemm, blas.saxpy) if dtype == np.float32 else (blas.dgemm, blas.daxpy)


def _fortran(m: np.ndarray) -> tuple[np.ndarray, int]:
    """(array, trans) with op(array) == m, column-major without a copy when m is C- or F-contiguous."""
    return (m, 0) if m.flags.f_contiguous else (m.T, 1)


def foldable(param: np.ndarray) -> bool:
    """Whether a parameter array can be updated inside a GEMM in place: a C-contiguous, writable
    float32 or float64 matrix (seen column-major, its transpose is the GEMM's C).

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
        # Column-major, Wᵀ = bᵀ·aᵀ: for a Linear, a = xᵀ and b = g, both seen without a copy.
        left, trans_a = _fortran(b.T)
        right, trans_b = _fortran(a.T)
        if not mu:
            gemm(-lr, left, right, beta=1.0 - lr * wd, c=w.T, trans_a=trans_a, trans_b=trans_b, overwrite_c=1)
            return
        v = self.state.get("momentum_buffer")
        first = v is None  # the first step's buffer is the gradient itself (PyTorch)
        if first:
            v = self.state["momentum_buffer"] = np.zeros_like(w)
        elif not v.flags.c_contiguous:  # (a loaded buffer could be any layout) GEMM's C must be v itself
            v = self.state["momentum_buffer"] = np.ascontiguousarray(v)
        gemm(1.0, left, right, beta=0.0 if first else mu, c=v.T, trans_a=trans_a, trans_b=trans_b, overwrite_c=1)
        flat_w, flat_v = w.reshape(-1), v.reshape(-1)  # views: both are C-contiguous
        if wd:
            axpy(flat_w, flat_v, a=wd)
        axpy(flat_v, flat_w, a=-lr)

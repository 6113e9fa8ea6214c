"""Every op chainrule knows, forward and backward side by side.

Each class is a :class:`Function`: ``forward(ctx, *arrays, **options)`` computes
on NumPy arrays and saves what backward needs; ``backward(ctx, g)`` returns one
gradient per positional input. Gradients may have the broadcast shape: the tape
reduces them back with :func:`unbroadcast`, in one place.

Backward never writes into ``g``: one op may hand the same array to two inputs.
"""

from __future__ import annotations

import functools

import numpy as np

from ..random import draw_rows
from .errors import add_context
from .function import Context, Function

__all__ = [
    "Add", "Sub", "Mul", "Div", "Pow", "Neg", "MatMul",
    "Exp", "Log", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Softplus", "Abs", "Sqrt", "Where",
    "Sum", "Mean", "Max", "Prod", "Norm", "Reshape", "Transpose", "GetItem", "Cat", "Stack", "Cast",
    "Softmax", "LogSoftmax", "Linear", "Chain", "Dropout",
    "CrossEntropy", "NLL", "BCEWithLogits", "MSE",
    "sigmoid", "NonFiniteError",
]


# ------------------------------------------------------------------ arithmetic
class Add(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g  # the add gate distributes the gradient unchanged


class Sub(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors  # the mul gate switches its inputs
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b
        gb = -ga * (a / b) if ctx.needs_input_grad[1] else None  # not g·a/b²: b² overflows float32 at |b| > 1.8e19
        return (ga if ctx.needs_input_grad[0] else None), gb


class Pow(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, x, p):
        out = x ** p
        ctx.save_for_backward(x, p, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, p, out = ctx.saved_tensors
        gx = gp = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 and log 0, masked just below
            if ctx.needs_input_grad[0]:  # p·x^(p−1), and 0 where p = 0 (x^0 is constant, even at x = 0)
                gx = g * np.where(p == 0, 0, p * x ** (p - 1))
            if ctx.needs_input_grad[1]:  # x^p·log x, and 0 at x = 0 (0^p stays 0 for p > 0), as PyTorch
                gp = g * np.where((x == 0) & (p >= 0), 0, out * np.log(x))
        return gx, gp


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class MatMul(Function):
    """``a @ b`` for 1-D, 2-D and batched operands (NumPy's matmul rules)."""

    promote_integers = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return (g * b if need_a else None), (g * a if need_b else None)
        if a.ndim == 1:  # (k,) @ (..., k, n)
            ga = (b @ g[..., None])[..., 0] if need_a else None
            gb = a[:, None] * g[..., None, :] if need_b else None
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k,)
            ga = g[..., None] * b if need_a else None
            gb = (np.swapaxes(a, -1, -2) @ g[..., None])[..., 0] if need_b else None
            return ga, gb
        ga = g @ np.swapaxes(b, -1, -2) if need_a else None
        gb = np.swapaxes(a, -1, -2) @ g if need_b else None
        return ga, gb


# ----------------------------------------------------------------- elementwise
class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * out,)


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / x,)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        d = np.multiply(y, y, out=np.empty_like(y))  # tanh' = 1 - tanh², built in one buffer (0-d too)
        np.subtract(1, d, out=d)
        d *= g
        return (d,)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function on an array, accurate for any input.

    σ(x) = 1 / (1 + e^−x) for x ≥ 0 and e^x / (1 + e^x) below, both from e = e^−|x| ≤ 1:
    nothing overflows, and σ(−30) keeps its digits (1 + tanh(x/2) would cancel to 0).
    """
    x = np.asarray(x)
    e = np.abs(x, out=np.empty(x.shape, x.dtype if x.dtype.kind == "f" else np.float64))  # an array, also 0-d
    np.negative(e, out=e)
    np.exp(e, out=e)
    out = np.add(e, 1, out=np.empty_like(e))
    np.divide(1, out, out=out)  # σ(|x|)
    np.multiply(out, e, out=out, where=x < 0)  # σ(x) = e^x σ(|x|) = σ(−|x|) for x < 0
    return out


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        out = sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return (g * y * (1 - y),)


@functools.lru_cache(maxsize=32)
def _row(value: float, n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only row of n copies of value. NumPy's loops run several times faster
    against a broadcast row than against a scalar (np.maximum(x, 0) is ~3x slower
    than np.maximum(x, zeros)), and a row of ones turns a column sum into BLAS."""
    row = np.full(n, value, dtype)
    row.flags.writeable = False
    return row


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, _row(0, x.shape[-1], x.dtype)) if x.ndim else np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        # Gradient 0 at x == 0 (a subgradient): the max gate routes g only where the input won.
        return (g * (y > 0),)


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (np.where(x > 0, g, g * ctx.negative_slope),)


class Softplus(Function):
    """softplus(x) = log(1 + e^(βx))/β, computed with logaddexp so it never overflows; x itself
    where βx > threshold (PyTorch's ``torch.nn.Softplus(beta=1, threshold=20)``)."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        bx = x * beta if beta != 1 else x
        out = np.asarray(np.logaddexp(0, bx))  # an array also for 0-d x (np.copyto below writes into it)
        if beta != 1:
            out /= beta
        linear = bx > threshold
        np.copyto(out, x, where=linear)
        ctx.save_for_backward(bx, linear)
        return out

    @staticmethod
    def backward(ctx, g):
        bx, linear = ctx.saved_tensors
        d = sigmoid(bx)
        d[linear] = 1
        return (g * d,)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * np.sign(x),)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * 0.5 / out,)


class Where(Function):
    """``where(condition, a, b)``: a where the condition holds, else b. The condition is an
    option (a bool array, no gradient); a's gradient is g where it holds, b's the rest."""

    @staticmethod
    def forward(ctx, a, b, condition=None):
        ctx.condition = condition = np.asarray(condition, dtype=bool)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        c, needs = ctx.condition, ctx.needs_input_grad
        return (np.where(c, g, 0) if needs[0] else None), (np.where(c, 0, g) if needs[1] else None)


# ------------------------------------------------------------------ reductions
def _expand_reduced(g: np.ndarray, shape: tuple[int, ...], axis, keepdims: bool) -> np.ndarray:
    """Put back the axes a reduction removed, so g broadcasts against the input."""
    if axis is None or keepdims:
        return g if keepdims or g.ndim == len(shape) else g.reshape((1,) * len(shape))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(g, tuple(a % len(shape) for a in axes))


def _drop_reduced(out: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    """A reduction computed with keepdims=True, its reduced axes removed unless keepdims."""
    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return (np.broadcast_to(_expand_reduced(g, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape),)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = np.asarray(x.mean(axis=axis, keepdims=keepdims))
        ctx.count = x.size // max(out.size, 1) if x.size else 0
        return out

    @staticmethod
    def backward(ctx, g):
        g = _expand_reduced(g, ctx.shape, ctx.axis, ctx.keepdims) / ctx.count
        return (np.broadcast_to(g, ctx.shape),)


class Max(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.asarray(x.max(axis=axis, keepdims=True))
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return _drop_reduced(out, axis, keepdims)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        # The max gate routes g to the winner; ties share it equally.
        mask = (x == out).astype(x.dtype)
        mask /= mask.sum(axis=ctx.axis, keepdims=True)
        return (mask * _expand_reduced(g, x.shape, ctx.axis, ctx.keepdims),)


class Prod(Function):
    """Product over one axis (or all). Each input's gradient is the product of the others,
    from exclusive cumulative products on both sides: exact where inputs are 0 (no division)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.save_for_backward(x)
        ctx.axis, ctx.keepdims = axis, keepdims
        return np.asarray(x.prod(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if x.size == 0:
            return (np.zeros_like(x),)
        axis = -1 if ctx.axis is None else ctx.axis
        row = np.moveaxis(x.reshape(-1) if ctx.axis is None else x, axis, -1)  # the reduced axis last
        before, after = np.ones_like(row), np.ones_like(row)
        before[..., 1:] = np.cumprod(row[..., :-1], axis=-1)  # x_0 ⋯ x_(i−1)
        after[..., :-1] = np.cumprod(row[..., :0:-1], axis=-1)[..., ::-1]  # x_(i+1) ⋯ x_(n−1)
        others = np.moveaxis(before * after, -1, axis).reshape(x.shape)
        return (others * _expand_reduced(g, x.shape, ctx.axis, ctx.keepdims),)


class Norm(Function):
    """The 2-norm over axes (or all): sqrt(Σ x²). Gradient x / norm, and 0 where the norm is 0
    (PyTorch's choice: a subgradient instead of 0/0)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.sqrt(np.asarray((x * x).sum(axis=axis, keepdims=True)))
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return _drop_reduced(out, axis, keepdims)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(out == 0, 0, _expand_reduced(g, x.shape, ctx.axis, ctx.keepdims) / out)
        return (x * scale,)


# ----------------------------------------------------------------------- shape
class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx.shape),)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, g):
        # the inverse permutation; negative axes counted from the end first
        return (np.transpose(g, None if ctx.axes is None else np.argsort([a % g.ndim for a in ctx.axes])),)


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index=None):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return np.asarray(x[index])

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_basic_index(ctx.index):
            grad[ctx.index] = g  # a view: every element picked at most once
        else:
            np.add.at(grad, ctx.index, g)  # repeated indices must add up
        return (grad,)


class Cat(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.splits, axis=ctx.axis))


class Stack(Function):
    promote_integers = True

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.moveaxis(g, ctx.axis, 0))


class Cast(Function):
    """A copy of x in another float dtype (or the same: ``clone``); the gradient goes back
    in x's dtype. Casts to integer dtypes leave the tape (they have no gradient)."""

    @staticmethod
    def forward(ctx, x, dtype=None):
        ctx.dtype = x.dtype
        return x.astype(x.dtype if dtype is None else dtype, copy=True)

    @staticmethod
    def backward(ctx, g):
        return (g.astype(ctx.dtype, copy=False),)


# ----------------------------------------------------------- softmax and kin
def _max_over(z: np.ndarray, axis: int) -> np.ndarray:
    """z.max(axis, keepdims=True), quicker for a (batch, classes) array with few classes.

    NumPy reduces a short last axis one row at a time; reducing the transposed copy
    runs down all rows at once (7x faster at (1000, 10), the same values)."""
    if z.ndim == 2 and axis in (1, -1) and z.shape[1] <= 32 and z.size:
        return np.ascontiguousarray(z.T).max(axis=0)[:, None]
    return z.max(axis=axis, keepdims=True)


def _sum_over(z: np.ndarray, axis: int) -> np.ndarray:
    """z.sum(axis, keepdims=True); over the last axis of a 2-D array as z @ ones (BLAS, 3x faster)."""
    if z.ndim == 2 and axis in (1, -1):
        return np.matmul(z, _row(1, z.shape[1], z.dtype))[:, None]
    return z.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """log softmax, shifted by the max so e^z never overflows (finite at ±1e4)."""
    shifted = z - _max_over(z, axis)
    lse = np.log(_sum_over(np.exp(shifted), axis))
    shifted -= lse
    return shifted


class Softmax(Function):
    @staticmethod
    def forward(ctx, z, axis=-1):
        e = z - _max_over(z, axis)
        np.exp(e, out=e)
        e /= _sum_over(e, axis)
        ctx.save_for_backward(e)
        ctx.axis = axis
        return e

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return (s * (g - (g * s).sum(axis=ctx.axis, keepdims=True)),)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, z, axis=-1):
        out = log_softmax(z, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True),)


# -------------------------------------------------------------- fused layers
class Linear(Function):
    """y = x W + b with W of shape (in, out), as the exercise writes it.

    grad W = xᵀ g, grad b = Σ_batch g, grad x = g Wᵀ (skipped when x needs none).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.dtype.kind != "f":  # an integer input would silently make float64 outputs
            raise ValueError(f"Linear({weight.shape[0]}, {weight.shape[1]}): input must be floating point, "
                             f"got dtype {x.dtype} (divide pixels by 255 first?)")
        if x.shape[-1] != weight.shape[0]:
            raise ValueError(
                f"Linear({weight.shape[0]}, {weight.shape[1]}): input has {x.shape[-1]} features, "
                f"expected {weight.shape[0]} (input shape {x.shape})"
            )
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        out = x @ weight
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = g @ weight.T if needs[0] else None
        x2, g2 = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
        # Straight into a freshly zeroed .grad when the driver lends it, else a new array; or, when an
        # optimizer lent its update (a GradSink), folded into that update's GEMM and never stored (None).
        # After gx: the fold changes the weight in place.
        gw = ctx.grad_matmul(1, x2.T, g2) if needs[1] else None
        if not ctx.has_bias:
            return gx, gw
        # Σ_batch g as ones @ g: a BLAS matrix-vector product, ~3x faster than g2.sum(axis=0)
        gb = np.matmul(_row(1, len(g2), g2.dtype), g2, out=ctx.grad_buffer(2)) if needs[2] else None
        return gx, gw, gb


class Chain(Function):
    """Functions applied one after another, ``f_n(... f_1(x, θ_1) ..., θ_n)``, as one tape node.

    ``steps`` lists ``(Function, number of parameter arrays, options, label)``; the
    parameter arrays follow x in order. Forward runs each step's forward, backward
    each step's backward in reverse: no formula of its own, and one node on the
    tape instead of a tensor and a node per layer (what ``Sequential`` records), so
    the graph keeps only what the steps saved, not every intermediate output.
    An error names the failing step by its label.
    """

    @staticmethod
    def forward(ctx, x, *params, steps=()):
        needs = ctx.needs_input_grad
        upstream = needs[0]  # does this step's input lead back to anything that wants a gradient?
        ctxs, i = [], 0
        for function, n, options, label in steps:
            own = needs[1 + i:1 + i + n]
            step_ctx = Context((upstream, *own))
            try:
                y = function.forward(step_ctx, x, *params[i:i + n], **options)
            except (ValueError, TypeError, IndexError) as e:
                raise add_context(e, f"{label} with input shape {np.shape(x)}")
            x = y
            upstream = upstream or True in own
            ctxs.append(step_ctx)
            i += n
        ctx.ctxs, ctx.steps = ctxs, steps
        return x

    @staticmethod
    def backward(ctx, g):
        lent = ctx.grad_buffers  # .grad arrays the driver lent: handed on to each step
        grads: list = [None] * (len(ctx.needs_input_grad) - 1)
        i = len(grads)
        for (function, n, _, _), step_ctx in zip(reversed(ctx.steps), reversed(ctx.ctxs)):
            i -= n
            step_ctx.grad_buffers = (None, *lent[1 + i:1 + i + n]) if lent and n else None
            out = function.backward(step_ctx, g)
            step_ctx.grad_buffers = None
            grads[i:i + n] = out[1:]
            g = out[0]
            if g is None:  # nothing before this step wants a gradient
                break
        return (g, *grads)


class Dropout(Function):
    """Inverted dropout: zero each unit with probability p, scale the rest by 1/(1-p)."""

    @staticmethod
    def forward(ctx, x, p=0.5, training=True, generator=None):
        if not training or p == 0:
            ctx.mask = None
            return x
        # draw_rows: under data-parallel training, this process's rows of the whole batch's draw
        keep = draw_rows(lambda shape: generator.random(shape, dtype=np.float32), x.shape) >= p
        mask = keep.astype(x.dtype)
        if p < 1:  # p = 1 drops everything: the mask is all zeros, nothing to scale
            mask *= 1 / (1 - p)
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return (g if ctx.mask is None else g * ctx.mask,)


# ------------------------------------------------------- nn layers (PyTorch's)
# One Function per layer of chainrule.nn beyond Linear and the activations above;
# the Module in nn/layers.py only names it and holds its parameters and buffers.
class Identity(Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Flatten(Reshape):
    """Dimensions start_dim..end_dim merged into one (``torch.nn.Flatten``); backward is Reshape's."""

    @staticmethod
    def forward(ctx, x, start_dim=1, end_dim=-1):
        n = max(x.ndim, 1)
        start, end = start_dim % n if -n <= start_dim < n else None, end_dim % n if -n <= end_dim < n else None
        if start is None or end is None or start > end:
            raise ValueError(f"Flatten(start_dim={start_dim}, end_dim={end_dim}): does not fit input shape {x.shape}")
        shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
        return Reshape.forward(ctx, x, shape)


def _erfc(x: np.ndarray) -> np.ndarray:
    """erfc on an array, in its own dtype: Numerical Recipes' erfcc (Press et al., 2nd ed., §6.2),
    a Chebyshev fit with relative error below 1.2e-7 everywhere, tails included (NumPy has no erf)."""
    z = np.abs(x, out=np.empty(np.shape(x), x.dtype))  # an array, also for 0-d x
    t = 1 / (1 + 0.5 * z)
    poly = 0.17087277
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
              1.00002368):
        poly = poly * t + c
    poly = np.asarray(poly * t - 1.26551223)
    z *= z
    np.subtract(poly, z, out=poly)
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x|)
    return np.where(x >= 0, poly, 2 - poly)


_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT_2PI = 0.3989422804014327


class GELU(Function):
    """x·Φ(x), Φ the standard normal CDF (Hendrycks & Gimpel 2016), as ``torch.nn.GELU``.

    ``approximate='tanh'``: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). The exact form
    computes Φ(x) = erfc(−x/√2)/2 with :func:`_erfc` (relative error < 1.2e-7).
    """

    @staticmethod
    def forward(ctx, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        ctx.approximate = approximate
        if approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = 0.5 * _erfc(x * -0.7071067811865476)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        if ctx.approximate == "tanh":  # d/dx: 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
            inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + s) + 0.5 * x * (1 - s * s) * inner),)
        return (g * (s + x * (_INV_SQRT_2PI * np.exp(-0.5 * x * x))),)  # Φ(x) + x·φ(x)


class ELU(Function):
    """x for x > 0, alpha·(eˣ − 1) otherwise (Clevert et al. 2015), as ``torch.nn.ELU``."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        positive = x > 0
        out = np.asarray(np.expm1(np.minimum(x, 0)))  # no overflow for large x, which copyto replaces
        out *= alpha
        np.copyto(out, x, where=positive)
        ctx.save_for_backward(positive, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, g):
        positive, out = ctx.saved_tensors
        return (np.where(positive, g, g * (out + ctx.alpha)),)  # alpha·eˣ = out + alpha below 0


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x̂, 1/σ, mean, biased variance) over axes, kept for broadcasting."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    centred *= rstd
    return centred, rstd, mean, var


def _normalize_backward(g_xhat: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Gradient through x̂ = (x − mean)/σ with mean and σ taken over axes (from x itself):
    (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) (Ioffe & Szegedy 2015, §3)."""
    gx = g_xhat - g_xhat.mean(axis=axes, keepdims=True)
    gx -= xhat * np.mean(g_xhat * xhat, axis=axes, keepdims=True)
    gx *= rstd
    return gx


class LayerNorm(Function):
    """Each example normalised over its last dimensions (Ba et al. 2016), then x̂·weight + bias."""

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, normalized_shape=(), eps=1e-5):
        k = len(normalized_shape)
        if x.shape[x.ndim - k:] != tuple(normalized_shape) or x.ndim < k:
            raise ValueError(f"LayerNorm({tuple(normalized_shape)}): input shape {x.shape} does not end in "
                             f"{tuple(normalized_shape)}")
        axes = tuple(range(x.ndim - k, x.ndim))
        xhat, rstd, _, _ = _normalize(x, axes, eps)
        ctx.save_for_backward(xhat, rstd, weight)
        ctx.axes, ctx.has_bias = axes, bias is not None
        out = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g_xhat = g * weight if weight is not None else g
        gx = _normalize_backward(g_xhat, xhat, rstd, ctx.axes) if needs[0] else None
        if weight is None:
            return (gx,)
        lead = tuple(range(g.ndim - len(ctx.axes)))  # the batch dimensions
        gw = (g * xhat).sum(axis=lead) if needs[1] else None
        if not ctx.has_bias:
            return gx, gw
        return gx, gw, (g.sum(axis=lead) if needs[2] else None)


class BatchNorm(Function):
    """Batch normalisation over (N, C) or (N, C, L) (Ioffe & Szegedy 2015), as ``torch.nn.BatchNorm1d``.

    Training (or without running statistics): normalised with the batch's mean and
    biased variance; the running mean and the *unbiased* variance are updated in
    place, r ← (1 − momentum)·r + momentum·batch (momentum None: the cumulative mean).
    Evaluation: normalised with the running statistics, an affine map of x.
    """

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, running_mean=None, running_var=None, num_batches_tracked=None,
                training=True, momentum=0.1, eps=1e-5, num_features=None):
        name = f"BatchNorm1d({num_features})"
        if x.ndim not in (2, 3) or (num_features is not None and x.shape[1] != num_features):
            raise ValueError(f"{name}: expected input of shape (N, {num_features}) or (N, {num_features}, L), "
                             f"got {x.shape}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)  # per-channel arrays broadcast along the channel axis
        batch_stats = training or running_mean is None
        if batch_stats:
            n = x.size // max(x.shape[1], 1)
            if training and n <= 1:
                raise ValueError(f"{name}: expected more than 1 value per channel when training, got input shape "
                                 f"{x.shape}")
            xhat, rstd, mean, var = _normalize(x, axes, eps)
            if training and running_mean is not None:
                if num_batches_tracked is not None:
                    num_batches_tracked += 1
                factor = momentum if momentum is not None else 1 / float(num_batches_tracked)
                running_mean *= 1 - factor
                running_mean += factor * mean.reshape(-1)
                running_var *= 1 - factor
                running_var += (factor * n / max(n - 1, 1)) * var.reshape(-1)  # the unbiased variance
        else:
            rstd = (1 / np.sqrt(running_var + eps)).reshape(shape)
            xhat = (x - running_mean.reshape(shape)) * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        ctx.axes, ctx.shape, ctx.batch_stats, ctx.has_bias = axes, shape, batch_stats, bias is not None
        out = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        return out

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g_xhat = g * weight.reshape(ctx.shape) if weight is not None else g
        gx = None
        if needs[0]:
            gx = _normalize_backward(g_xhat, xhat, rstd, ctx.axes) if ctx.batch_stats else g_xhat * rstd
        if weight is None:
            return (gx,)
        gw = (g * xhat).sum(axis=ctx.axes) if needs[1] else None
        if not ctx.has_bias:
            return gx, gw
        return gx, gw, (g.sum(axis=ctx.axes) if needs[2] else None)


class Embedding(Function):
    """Rows of weight picked by integer indices: out[..., :] = weight[indices[...]].

    Backward scatter-adds g into the picked rows (an index used twice gets both); the
    row ``padding_idx`` gets none, as in PyTorch.
    """

    @staticmethod
    def forward(ctx, indices, weight, padding_idx=None):
        name = f"Embedding({weight.shape[0]}, {weight.shape[1]})"
        if indices.dtype.kind not in "iu":
            raise ValueError(f"{name}: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            bad = indices[(indices < 0) | (indices >= weight.shape[0])].reshape(-1)[0]
            raise IndexError(f"{name}: index {bad} is out of range for {weight.shape[0]} embeddings")
        ctx.indices, ctx.shape, ctx.padding_idx = indices, weight.shape, padding_idx
        return np.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[1]:
            return None, None
        gw = ctx.grad_buffer(1)
        if gw is None:
            gw = np.zeros(ctx.shape, dtype=g.dtype)
        else:
            gw.fill(0)
        np.add.at(gw, ctx.indices.reshape(-1), g.reshape(-1, ctx.shape[1]))
        if ctx.padding_idx is not None:
            gw[ctx.padding_idx] = 0
        return None, gw


__all__ += ["Identity", "Flatten", "GELU", "ELU", "LayerNorm", "BatchNorm", "Embedding"]


# -------------------------------------------------------------------- criteria
# Every criterion computes per-example (or per-element) losses ℓ and reduces them:
# 'mean' divides the sum by ctx.count, 'sum' adds them, 'none' returns them. Backward
# multiplies dℓ/dz by g·ctx.scale: a scalar for 'mean'/'sum', ℓ's shape for 'none'.
def check_reduction(name: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(per_example: np.ndarray, reduction: str, count):
    if reduction == "none":
        return per_example
    total = per_example.sum(dtype=per_example.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 when every target is ignored: NaN, as PyTorch
        return np.asarray(total / count if reduction == "mean" else total, dtype=per_example.dtype)


def _set_count(ctx: Context, reduction: str, count) -> None:
    """What 'mean' divides by (ctx.count) and the factor backward applies to g (ctx.scale)."""
    ctx.reduction = reduction
    ctx.count = count if reduction == "mean" else 1
    # a Python float: NumPy treats it as weak, so g·scale stays float32 (a NumPy float64 would not)
    ctx.scale = 1.0 / float(ctx.count) if ctx.count else float("inf")


class NonFiniteError(ValueError):
    """NaN or infinity reached a criterion (training has usually diverged)."""


def _check_finite(name: str, z: np.ndarray) -> None:
    if z.dtype.kind != "f":
        raise ValueError(f"{name}: input must be floating point, got dtype {z.dtype}")
    if not np.isfinite(z).all():
        bad = np.argwhere(~np.isfinite(z))[0]
        raise NonFiniteError(f"{name}: input has a non-finite value ({z[tuple(bad)]}) at index {tuple(int(i) for i in bad)}")


def _check_labels(name: str, z: np.ndarray, target: np.ndarray, ignore_index: int = -100) -> tuple[np.ndarray, bool]:
    """(integer labels, whether any equals ignore_index), or a one-line error."""
    if z.ndim != 2:
        raise ValueError(f"{name}: expected input of shape (batch, classes), got {z.shape}")
    if target.shape != (z.shape[0],):
        raise ValueError(f"{name}: target shape {target.shape} does not match input shape {z.shape}; expected ({z.shape[0]},)")
    if target.dtype.kind not in "iu":
        if target.dtype.kind == "f" and np.all(np.mod(target, 1) == 0):
            target = target.astype(np.int64)
        else:
            raise ValueError(f"{name}: target must hold integer class labels, got dtype {target.dtype}")
    classes = z.shape[1]
    # one reduction checks both ends: a negative label read as unsigned is huge
    unsigned = target.view(_UNSIGNED[target.dtype.itemsize]) if target.dtype.kind == "i" else target
    if not target.size or unsigned.max() < classes:
        return target, 0 <= ignore_index < classes and bool((target == ignore_index).any())
    bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
    if bad.any():
        raise ValueError(f"{name}: label {target[bad][0]} is out of range for {classes} classes")
    return target, True


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


@functools.lru_cache(maxsize=8)
def _rows(n: int) -> np.ndarray:
    """A read-only ``np.arange(n)``: the row index of a (batch, classes) array's picked entries."""
    rows = np.arange(n)
    rows.flags.writeable = False
    return rows


def _check_same_shape(name: str, z: np.ndarray, target: np.ndarray) -> None:
    # (n, 1) against (n,) would silently broadcast to (n, n): refuse it.
    if z.shape != target.shape:
        raise ValueError(f"{name}: input shape {z.shape} and target shape {target.shape} differ")


def _class_weight(name: str, weight, classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight)
    if w.shape != (classes,) or w.dtype.kind not in "fiu":
        raise ValueError(f"{name}: weight must hold one number per class, shape ({classes},), got shape {w.shape}")
    return w.astype(dtype, copy=False)


def _target_distribution(name: str, z: np.ndarray, target: np.ndarray, weight, ignore_index: int,
                         label_smoothing: float) -> tuple[np.ndarray | None, np.ndarray, object]:
    """(q, labels, divisor): example i's loss is −Σ_c q_ic·log p_ic, and 'mean' divides the sum
    by the divisor, as ``torch.nn.functional.cross_entropy`` does:

    * labels t: q_i = (1 − ε)·w_{t_i}·onehot(t_i) + (ε/C)·w, zero for ignored examples, and
      the divisor Σ w_{t_i} over the others (their count without weights);
    * probabilities (target of z's shape): q_i = ((1 − ε)·t_i + ε/C)·w, the divisor N.

    q is None for plain labels (no weight, smoothing or ignored example): the fast path.
    """
    n, classes = z.shape
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target.shape == z.shape and target.ndim == 2 and target.dtype.kind == "f":
        w = _class_weight(name, weight, classes, z.dtype)
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index is not supported for probability targets")
        q = target.astype(z.dtype, copy=True)
        if label_smoothing:
            q *= 1 - label_smoothing
            q += label_smoothing / classes
        if w is not None:
            q *= w
        return q, target, max(n, 1)
    target, has_ignored = _check_labels(name, z, target, ignore_index)
    if weight is None and not label_smoothing and not has_ignored:
        return None, target, max(n, 1)
    w = _class_weight(name, weight, classes, z.dtype)
    keep = target != ignore_index if has_ignored else np.ones(n, bool)
    labels = np.where(keep, target, 0)
    per_weight = (w[labels] if w is not None else np.ones(n, z.dtype)) * keep
    q = np.zeros(z.shape, z.dtype)
    if label_smoothing:
        q += (label_smoothing / classes) * (w if w is not None else 1)
        q *= keep[:, None]
    q[np.arange(n), labels] += (1 - label_smoothing) * per_weight
    return q, labels, per_weight.sum(dtype=z.dtype)


def _per_row(scale):
    """g·scale for a per-example loss: a scalar, or one factor per row as a column."""
    return scale if np.ndim(scale) == 0 else np.reshape(scale, (-1, 1))


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood: logits (N, C), int labels (N,) or
    probabilities (N, C); optional class ``weight``, ``ignore_index``, ``label_smoothing``.

    Backward is (Σ_c q_ic)·softmax(z_i) − q_i per example (see _target_distribution);
    for plain labels softmax(z) − onehot(t): the softmax output unit's δ(L).
    """

    @staticmethod
    def forward(ctx, z, target, reduction="mean", weight=None, ignore_index=-100, label_smoothing=0.0):
        name = "CrossEntropyLoss"
        check_reduction(name, reduction)
        _check_finite(name, z)
        if z.ndim != 2:
            raise ValueError(f"{name}: expected input of shape (batch, classes), got {z.shape}")
        q, target, divisor = _target_distribution(name, z, target, weight, ignore_index, label_smoothing)
        shifted = z - _max_over(z, 1)  # e^shifted never overflows: finite at ±1e4
        p = np.exp(shifted)
        total = _sum_over(p, 1)
        log_total = np.log(total)
        ctx.rows = _rows(z.shape[0])
        _set_count(ctx, reduction, divisor)
        if q is None:
            # -log softmax(z)_t = log Σ_j e^shifted_j - shifted_t, per example
            out = log_total[:, 0] - shifted[ctx.rows, target]
            if reduction != "none":
                out = np.asarray(out.sum(dtype=z.dtype) / ctx.count, dtype=z.dtype)
        else:
            shifted -= log_total  # log softmax
            shifted *= q
            out = _reduce(0.0 - shifted.sum(axis=1), reduction, divisor)  # 0 − x: an ignored example's loss is +0
            ctx.q_sum = q.sum(axis=1, keepdims=True)
        p /= total  # the softmax, kept for backward (it costs the exp that backward would redo)
        ctx.save_for_backward(p, target if q is None else q)
        ctx.plain = q is None
        return out

    @staticmethod
    def backward(ctx, g):
        p, target_or_q = ctx.saved_tensors
        if ctx.plain and np.ndim(g) == 0:  # the usual case: one factor for the whole batch
            scale = g * ctx.scale
            grad = p * scale
            grad[ctx.rows, target_or_q] -= scale
            return grad, None
        scale = _per_row(g * ctx.scale)
        if ctx.plain:
            grad = p * scale
            grad[ctx.rows, target_or_q] -= scale[:, 0]
            return grad, None
        grad = p * ctx.q_sum
        grad -= target_or_q
        grad *= scale
        return grad, None


class NLL(Function):
    """Negative log-likelihood of log-probabilities (N, C) and int labels (N,); optional class
    ``weight`` and ``ignore_index`` ('mean' then divides by the kept examples' weights)."""

    @staticmethod
    def forward(ctx, logp, target, reduction="mean", weight=None, ignore_index=-100):
        check_reduction("NLLLoss", reduction)
        _check_finite("NLLLoss", logp)
        if target.ndim != 1:
            _check_labels("NLLLoss", logp, target, ignore_index)  # the shape error
        q, target, divisor = _target_distribution("NLLLoss", logp, target, weight, ignore_index, 0.0)
        ctx.shape, ctx.dtype, ctx.target, ctx.q = logp.shape, logp.dtype, target, q
        _set_count(ctx, reduction, divisor)
        rows = np.arange(logp.shape[0])
        per = -logp[rows, target] if q is None else 0.0 - q[rows, target] * logp[rows, target]
        return _reduce(per, reduction, divisor)

    @staticmethod
    def backward(ctx, g):
        scale = _per_row(g * ctx.scale)
        if ctx.q is not None:
            return -ctx.q * scale, None
        grad = np.zeros(ctx.shape, dtype=ctx.dtype)
        grad[np.arange(ctx.shape[0]), ctx.target] = -(scale if np.ndim(scale) == 0 else scale[:, 0])
        return grad, None


class BCEWithLogits(Function):
    """Binary cross-entropy of a sigmoid output unit, as the seed writes it:
    −log σ((2y−1)z) = softplus((1−2y)z), finite for any logit, for targets 0 or 1.

    Targets in [0, 1], a ``weight`` (broadcast) or a ``pos_weight`` p (per class, on the
    positive term) take PyTorch's general form, ℓ = w·((1 − y)·z + (1 + (p − 1)y)·softplus(−z)).
    Backward is w·((1 − y) − (1 + (p − 1)y)·σ(−z)): σ(z) − y for plain targets.
    """

    @staticmethod
    def forward(ctx, z, y, reduction="mean", weight=None, pos_weight=None):
        name = "BCEWithLogitsLoss"
        check_reduction(name, reduction)
        _check_same_shape(name, z, y)
        _check_finite(name, z)
        y = y.astype(z.dtype, copy=False)
        _set_count(ctx, reduction, max(z.size, 1))
        binary = bool(np.all((y == 0) | (y == 1)))
        if not binary and y.size and not (y.min() >= 0 and y.max() <= 1):
            raise ValueError(f"{name}: targets must be in [0, 1], got values in [{y.min()}, {y.max()}]")
        w = None if weight is None else np.asarray(weight).astype(z.dtype, copy=False)
        pw = None if pos_weight is None else np.asarray(pos_weight).astype(z.dtype, copy=False)
        ctx.save_for_backward(z, y, w, pw)
        ctx.general = not binary or pw is not None
        if not ctx.general:
            per = np.logaddexp(0, (1 - 2 * y) * z)  # exact for 0/1 targets, even where σ(z) rounds to 1
        else:
            log_weight = 1 + (pw - 1) * y if pw is not None else 1
            per = (1 - y) * z + log_weight * np.logaddexp(0, -z)
        if w is not None:
            per *= w
        return _reduce(per, reduction, ctx.count)

    @staticmethod
    def backward(ctx, g):
        z, y, w, pw = ctx.saved_tensors
        if ctx.general and pw is not None:
            grad = (1 - y) - (1 + (pw - 1) * y) * sigmoid(-z)
        else:
            grad = sigmoid(z)
            grad -= y
        if w is not None:
            grad *= w
        grad *= g * ctx.scale
        return grad, None


class BCE(Function):
    """Binary cross-entropy of probabilities p in [0, 1] and targets y:
    −w·(y·log p + (1 − y)·log(1 − p)), each log clamped at −100 as PyTorch does, so
    p = 0 or 1 gives a finite loss. Backward is w·(p − y)/max(p(1 − p), 1e-12) (PyTorch's).
    Prefer BCEWithLogits on logits: it is exact where p rounds to 0 or 1.
    """

    @staticmethod
    def forward(ctx, p, y, reduction="mean", weight=None):
        name = "BCELoss"
        check_reduction(name, reduction)
        _check_same_shape(name, p, y)
        _check_finite(name, p)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError(f"{name}: input must hold probabilities in [0, 1] (apply a sigmoid, or use "
                             f"BCEWithLogitsLoss on logits), got values in [{p.min()}, {p.max()}]")
        y = y.astype(p.dtype, copy=False)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        per = -(y * log_p + (1 - y) * log_q)
        w = None if weight is None else np.asarray(weight).astype(p.dtype, copy=False)
        if w is not None:
            per *= w  # broadcast as in PyTorch: one weight per element, per example or per column
        ctx.save_for_backward(p, y, w)
        _set_count(ctx, reduction, max(p.size, 1))
        return _reduce(per, reduction, ctx.count)

    @staticmethod
    def backward(ctx, g):
        p, y, w = ctx.saved_tensors
        grad = p - y
        grad /= np.maximum(p * (1 - p), 1e-12)
        if w is not None:
            grad *= w
        grad *= g * ctx.scale
        return grad, None


def _difference(ctx: Context, name: str, z: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    """z − y for the regression criteria, after their checks; saved for backward."""
    check_reduction(name, reduction)
    _check_same_shape(name, z, y)
    _check_finite(name, z)
    diff = z - y.astype(z.dtype, copy=False)  # integer targets: no float64 result
    ctx.save_for_backward(diff)
    _set_count(ctx, reduction, max(z.size, 1))
    return diff


def _difference_grads(ctx: Context, d_loss: np.ndarray, g) -> tuple:
    """(grad z, grad y) from dℓ/d(z − y): the same, and its negative."""
    d_loss *= g * ctx.scale
    return d_loss, (-d_loss if ctx.needs_input_grad[1] else None)


class MSE(Function):
    """Mean squared error: the linear output unit's cost for a Gaussian mean."""

    @staticmethod
    def forward(ctx, z, y, reduction="mean"):
        diff = _difference(ctx, "MSELoss", z, y, reduction)
        return _reduce(diff * diff, reduction, ctx.count)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved_tensors
        return _difference_grads(ctx, diff * 2, g)  # d(diff²)/dz = 2·diff


class L1(Function):
    """Mean absolute error |z − y|; gradient sign(z − y), 0 where they are equal (as PyTorch)."""

    @staticmethod
    def forward(ctx, z, y, reduction="mean"):
        return _reduce(np.abs(_difference(ctx, "L1Loss", z, y, reduction)), reduction, ctx.count)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved_tensors
        return _difference_grads(ctx, np.sign(diff), g)


class Huber(Function):
    """Huber loss: ½d² where |d| < delta, delta·(|d| − ½delta) beyond (d = z − y), so
    quadratic near the target and linear far from it; gradient d clipped to ±delta."""

    @staticmethod
    def forward(ctx, z, y, reduction="mean", delta=1.0):
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        diff = _difference(ctx, "HuberLoss", z, y, reduction)
        ctx.delta = delta
        absolute = np.abs(diff)
        per = np.where(absolute < delta, 0.5 * diff * diff, delta * (absolute - 0.5 * delta))
        return _reduce(per.astype(z.dtype, copy=False), reduction, ctx.count)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved_tensors
        return _difference_grads(ctx, np.clip(diff, -ctx.delta, ctx.delta), g)


__all__ += ["BCE", "L1", "Huber"]

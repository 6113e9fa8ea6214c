"""Layers. Each names the Function it runs; forward and backward live there.

>>> import numpy as np, chainrule as cr
>>> layer = cr.nn.Linear(4, 3)
>>> layer.fprop(np.ones((2, 4), np.float32)).shape
(2, 3)
"""

from __future__ import annotations

import numpy as np

from ..autograd import ops
from ..autograd.tensor import Tensor
from ..random import default_generator
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Identity", "Softmax", "LogSoftmax", "Dropout",
           "Flatten", "GELU", "ELU", "Softplus", "LayerNorm", "BatchNorm1d", "Embedding"]


class _Options(Module):
    """A layer whose Function options are attributes named in ``option_names``: options()
    and repr come from them."""

    option_names: tuple[str, ...] = ()

    def options(self):
        return {name: getattr(self, name) for name in self.option_names}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.option_names)


class Linear(Module):
    """y = x W + b, W of shape (in_features, out_features), Glorot-normal init, b = 0."""

    function = ops.Linear

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float32, generator=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(init.glorot_normal((self.in_features, self.out_features), generator, dtype))
        if bias:
            self.bias = Parameter(init.zeros((self.out_features,), dtype))
        else:
            self.register_parameter("bias", None)  # as PyTorch's: ``bias`` reads None

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}" + ("" if "bias" in self._parameters else ", bias=False")


class Tanh(Module):
    function = ops.Tanh


class Sigmoid(Module):
    function = ops.Sigmoid


class ReLU(Module):
    function = ops.ReLU


class LeakyReLU(_Options):
    function = ops.LeakyReLU
    option_names = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)


class Identity(Module):
    """Returns its input; any arguments are ignored, as in PyTorch (a placeholder layer)."""

    function = ops.Identity

    def __init__(self, *args, **kwargs):
        super().__init__()


class Softmax(Module):
    function = ops.Softmax

    def __init__(self, axis: int = -1, *, dim: int | None = None):  # NumPy's axis or PyTorch's dim
        super().__init__()
        self.axis = axis if dim is None else dim

    def options(self):
        return {"axis": self.axis}


class LogSoftmax(Softmax):
    function = ops.LogSoftmax


class Dropout(Module):
    """Inverted dropout with probability p while training; the identity in eval()."""

    function = ops.Dropout

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)
        self.generator = generator

    def options(self):
        return {"p": self.p, "training": self.training, "generator": self.generator or default_generator()}

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _positive_int(layer: str, name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {n!r}")
    return int(n)


class Flatten(_Options):
    """Merges dimensions start_dim..end_dim (default: all but the batch one).

    >>> import numpy as np, chainrule as cr
    >>> cr.nn.Flatten().fprop(np.zeros((2, 3, 4), np.float32)).shape
    (2, 12)
    """

    function = ops.Flatten
    option_names = ("start_dim", "end_dim")

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)


class GELU(_Options):
    """x·Φ(x); ``approximate='tanh'`` for the tanh form (see ops.GELU for the erf's accuracy).

    >>> import numpy as np, chainrule as cr
    >>> [round(float(v), 4) for v in cr.nn.GELU().fprop(np.array([-1.0, 0.0, 1.0], np.float32))]
    [-0.1587, 0.0, 0.8413]
    """

    function = ops.GELU
    option_names = ("approximate",)

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate


class ELU(_Options):
    """x for x > 0, alpha·(eˣ − 1) otherwise.

    >>> import numpy as np, chainrule as cr
    >>> [round(float(v), 4) for v in cr.nn.ELU().fprop(np.array([-1.0, 2.0], np.float32))]
    [-0.6321, 2.0]
    """

    function = ops.ELU
    option_names = ("alpha",)

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)


class Softplus(_Options):
    """log(1 + e^(βx))/β, and x where βx > threshold (PyTorch's defaults β = 1, threshold = 20).

    >>> import numpy as np, chainrule as cr
    >>> [round(float(v), 4) for v in cr.nn.Softplus(beta=2.0).fprop(np.array([0.0, 30.0], np.float32))]
    [0.3466, 30.0]
    """

    function = ops.Softplus
    option_names = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        if not beta > 0:
            raise ValueError(f"Softplus: beta must be > 0, got {beta}")
        self.beta, self.threshold = float(beta), float(threshold)


class LayerNorm(Module):
    """Normalises each example over its last dimensions (``normalized_shape``), then
    scales by ``weight`` (ones) and shifts by ``bias`` (zeros) when ``elementwise_affine``.

    >>> import numpy as np, chainrule as cr
    >>> cr.nn.LayerNorm(2).fprop(np.array([[1.0, 3.0]], np.float32)).round(3).astype(float).tolist()
    [[-1.0, 1.0]]
    """

    function = ops.LayerNorm

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape = tuple(_positive_int("LayerNorm", "normalized_shape", n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        # as PyTorch's, a weight or bias left out reads None
        self.register_parameter("weight", Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None)
        self.register_parameter("bias", Parameter(init.zeros(self.normalized_shape, dtype))
                                if elementwise_affine and bias else None)

    def options(self):
        return {"normalized_shape": self.normalized_shape, "eps": self.eps}

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) or (N, C, L) inputs, as ``torch.nn.BatchNorm1d``.

    In train mode each channel is normalised with the batch's mean and biased
    variance, and ``running_mean``/``running_var`` (unbiased) move towards them by
    ``momentum``; in eval mode the running statistics are used. They and
    ``num_batches_tracked`` are buffers: saved in ``state_dict``, not parameters.

    >>> import numpy as np, chainrule as cr
    >>> bn = cr.nn.BatchNorm1d(2)
    >>> bn.fprop(np.array([[0.0, 1.0], [2.0, 5.0]], np.float32)).round(3).astype(float).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> bn.running_mean.numpy().astype(float).round(3).tolist(), list(bn.state_dict())
    ([0.1, 0.3], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'])
    """

    function = ops.BatchNorm

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=np.float32):
        super().__init__()
        self.num_features = _positive_int("BatchNorm1d", "num_features", num_features)
        self.eps, self.momentum = float(eps), (None if momentum is None else float(momentum))
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        # as PyTorch's, parameters and buffers left out read None
        self.register_parameter("weight", Parameter(np.ones(self.num_features, dtype)) if affine else None)
        self.register_parameter("bias", Parameter(init.zeros((self.num_features,), dtype)) if affine else None)
        tracked = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(self.num_features, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64) if tracked else None)

    def options(self):
        tracked = self.track_running_stats
        return {"running_mean": self.running_mean.data if tracked else None,
                "running_var": self.running_var.data if tracked else None,
                "num_batches_tracked": self.num_batches_tracked.data if tracked else None,
                "training": self.training, "momentum": self.momentum, "eps": self.eps,
                "num_features": self.num_features}

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class Embedding(Module):
    """A lookup table: integer indices of any shape -> rows of ``weight`` (num_embeddings, embedding_dim),
    drawn from N(0, 1) as in PyTorch; the row ``padding_idx`` starts at zero and is never updated.

    >>> import numpy as np, chainrule as cr
    >>> cr.nn.Embedding(10, 3).fprop(np.array([[1, 2], [4, 1]])).shape
    (2, 2, 3)
    """

    function = ops.Embedding

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=np.float32,
                 generator=None):
        super().__init__()
        self.num_embeddings = _positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(init._normal((self.num_embeddings, self.embedding_dim), 1.0, generator, dtype))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def options(self):
        return {"padding_idx": self.padding_idx}

    def fprop(self, x):
        return super().fprop(np.asarray(x))

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None) -> "Embedding":
        """An Embedding holding a copy of ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        array = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if array.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {array.shape}")
        layer = cls(*array.shape, padding_idx=padding_idx, dtype=array.dtype)
        layer.weight.data[...] = array
        layer.weight.requires_grad = not freeze
        return layer

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            "" if self.padding_idx is None else f", padding_idx={self.padding_idx}")

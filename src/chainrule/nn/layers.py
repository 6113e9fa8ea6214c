"""Layers. Each names the Function it runs; forward and backward live there.

>>> import numpy as np, chainrule as cr
>>> layer = cr.nn.Linear(4, 3)
>>> layer.fprop(np.ones((2, 4), np.float32)).shape
(2, 3)
"""

from __future__ import annotations

import numpy as np

from ..autograd import ops
from ..random import default_generator
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Identity", "Softmax", "LogSoftmax", "Dropout"]


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

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}" + ("" if "bias" in self._parameters else ", bias=False")


class Tanh(Module):
    function = ops.Tanh


class Sigmoid(Module):
    function = ops.Sigmoid


class ReLU(Module):
    function = ops.ReLU


class LeakyReLU(Module):
    function = ops.LeakyReLU

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def options(self):
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Identity(Module):
    def forward(self, x):
        return x

    def fprop(self, x):
        return x

    def bprop(self, grad_output, input_grad=True):
        return grad_output


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

"""The contenders: each trains the same net on the same batches, the way one library or loop does it.

* ``fast``      chainrule's ``Sequential.fprop``/``bprop`` and ``optim.SGD`` (no tape);
* ``fast-fold`` the same with SGD's update folded into the weight gradient's GEMM (optim/fold.py);
* ``autodiff``  chainrule's tape: ``net(Tensor)``, ``loss.backward()``, ``opt.step()``;
* ``numpy``     a hand-written NumPy loop of exactly the same maths (loss included);
* ``numpy-opt`` the same loop optimized: buffers made once, ``out=`` everywhere, in-place updates;
* ``gemm``      only the same matrix products, at the same shapes: the measured floor;
* ``torch``     PyTorch on the CPU (``pip install torch==2.13.0``);
* ``sklearn``   scikit-learn's ``MLPClassifier(solver="sgd", momentum=0)``, one epoch per call.

Each is set up (untimed) by ``CONTENDERS[name](spec, weights, lr, batch)`` from a :class:`NetSpec`,
the initial weights (``initial_weights(spec)``: every contender copies them from the same chainrule
net), the learning rate and the batch size, and returns a :class:`Contender`.

>>> from chainrule.bench.nets import NETS, initial_weights, load_data
>>> spec = NETS["784-200tanh-10"]
>>> x, y, _ = load_data("random")
>>> loss = CONTENDERS["numpy"](spec, initial_weights(spec), 0.05, 32).epoch(x, y, np.arange(64))
>>> 2 < loss < 3  # about log(10) on random labels
True
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import nn, optim
from ..optim.fold import blas_functions
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from .nets import CLASSES, FEATURES, NetSpec, batches, build_net

__all__ = ["Contender", "CONTENDERS", "available", "setup_fast", "setup_autodiff", "setup_numpy", "setup_numpy_opt",
           "setup_gemm", "setup_torch", "setup_sklearn"]


@dataclass
class Contender:
    """One contender, set up: ``epoch(x, y, order) -> last loss`` trains for one pass over x[order]
    and is what gets timed; ``prepare(x, y, order)`` runs untimed before it; ``predict(x, batch)``
    measures inference throughput."""

    epoch: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    predict: Callable[[np.ndarray, int], np.ndarray]
    prepare: Callable[[np.ndarray, np.ndarray, np.ndarray], None] = lambda x, y, order: None


def _chainrule_predict(net: nn.Sequential):
    def predict(x, batch):
        net.eval()
        return np.concatenate([net.fprop(x[s:s + batch]) for s in range(0, len(x), batch)])
    return predict


def setup_fast(spec: NetSpec, weights, lr: float, batch: int, fold: bool = False) -> Contender:
    """chainrule without the tape: the course exercise's fprop/bprop loop, with optim.SGD; with
    ``fold``, SGD's update folded into the weight gradient's GEMM (optim/fold.py, NumPy's OpenBLAS)."""
    net = build_net(spec, weights)
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, FEATURES), np.float32)

    def epoch(x, y, order):
        net.train()
        loss = math.nan
        for idx in batches(order, batch):
            # mode="clip" as the DataLoader's: valid indices, and "raise" gathers into a temporary first
            xi = np.take(x, idx, axis=0, out=xb[:len(idx)], mode="clip")
            opt.zero_grad(fold=fold)
            loss = loss_fn.fprop(net.fprop(xi), y[idx])
            net.bprop(loss_fn.bprop(), input_grad=False)
            opt.step()
        return loss

    return Contender(epoch, _chainrule_predict(net))


def setup_autodiff(spec: NetSpec, weights, lr: float, batch: int) -> Contender:
    """chainrule on the tape, as PyTorch is written: net(Tensor), loss.backward(), opt.step()."""
    net = build_net(spec, weights)
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, FEATURES), np.float32)

    def epoch(x, y, order):
        net.train()
        loss = math.nan
        for idx in batches(order, batch):
            xi = np.take(x, idx, axis=0, out=xb[:len(idx)], mode="clip")
            opt.zero_grad()
            out = loss_fn(net(Tensor(xi)), y[idx])
            out.backward()
            opt.step()
            loss = out.item()
        return loss

    def predict(x, b):
        net.eval()
        with no_grad():
            return np.concatenate([net(Tensor(x[s:s + b])).data for s in range(0, len(x), b)])

    return Contender(epoch, predict)


def setup_numpy(spec: NetSpec, weights, lr: float, batch: int) -> Contender:
    """The floor for NumPy code: the same maths written out by hand, loss included."""
    ws = [w.copy() for w in weights[0::2]]
    bs = [b.copy() for b in weights[1::2]]
    tanh = spec.activation == "tanh"
    xb = np.empty((batch, FEATURES), np.float32)

    def forward(h):
        hs = [h]
        for w, b in zip(ws[:-1], bs[:-1]):
            a = hs[-1] @ w
            a += b
            np.tanh(a, out=a) if tanh else np.maximum(a, 0, out=a)
            hs.append(a)
        z = hs[-1] @ ws[-1]
        z += bs[-1]
        return hs, z

    def epoch(x, y, order):
        loss = math.nan
        for idx in batches(order, batch):
            n = len(idx)
            hs, z = forward(np.take(x, idx, axis=0, out=xb[:n]))
            yi, rows = y[idx], np.arange(n)
            # softmax cross-entropy, mean over the batch, and its gradient (softmax - onehot) / n
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            s = e.sum(axis=1, keepdims=True)
            loss = float(np.log(s).mean() - z[rows, yi].mean())
            e /= s
            e[rows, yi] -= 1
            e *= 1 / n
            g = e
            for k in range(len(ws) - 1, -1, -1):
                gw = hs[k].T @ g
                gb = g.sum(axis=0)
                if k > 0:
                    g = g @ ws[k].T
                    if tanh:
                        g *= 1 - hs[k] * hs[k]
                    else:
                        g *= hs[k] > 0
                ws[k] -= lr * gw
                bs[k] -= lr * gb
        return loss

    def predict(x, b):
        return np.concatenate([forward(x[s:s + b])[1] for s in range(0, len(x), b)])

    return Contender(epoch, predict)


def setup_numpy_opt(spec: NetSpec, weights, lr: float, batch: int) -> Contender:
    """The optimized floor for NumPy code: ``numpy``'s maths, written for speed. Every activation and
    gradient lives in a buffer made once and every NumPy call writes with ``out=``; the batch gather is
    ``np.take(..., out=, mode="clip")`` (``mode="raise"`` gathers into a temporary first); sums are BLAS
    products with a ones vector (the bias gradient, the softmax's row sums); the softmax's row max runs
    down a transposed copy (NumPy reduces a short last axis one row at a time); relu is a maximum
    against a row of zeros (NumPy's loop against a scalar is slower); the update happens in place."""
    ws = [w.copy() for w in weights[0::2]]
    bs = [b.copy() for b in weights[1::2]]
    tanh = spec.activation == "tanh"
    lr32 = np.float32(lr)
    xb = np.empty((batch, FEATURES), np.float32)
    acts = [np.empty((batch, o), np.float32) for _, o in spec.layers]  # layer outputs; the last one: logits
    grads = [np.empty((batch, o), np.float32) for _, o in spec.layers]  # gradients at each layer's output
    # the activation's derivative: 1 - h² for tanh, the mask h > 0 for relu
    tmp = [np.empty((batch, o), np.float32 if tanh else bool) for _, o in spec.layers[:-1]]
    zeros = [np.zeros(o, np.float32) for _, o in spec.layers[:-1]]
    gws = [np.empty_like(w) for w in ws]
    gbs = [np.empty_like(b) for b in bs]
    ones, ones_c = np.ones(batch, np.float32), np.ones(CLASSES, np.float32)
    zt = np.empty((CLASSES, batch), np.float32)  # the logits transposed, for the row max
    row_max, row_sum, picked = (np.empty(batch, np.float32) for _ in range(3))
    flat = np.empty(batch, np.int64)
    offsets = np.arange(batch, dtype=np.int64) * CLASSES

    def forward(h, n):
        for k, (w, b) in enumerate(zip(ws, bs)):
            a = np.matmul(h, w, out=acts[k][:n])
            np.add(a, b, out=a)
            if k < len(ws) - 1:
                np.tanh(a, out=a) if tanh else np.maximum(a, zeros[k], out=a)
            h = a
        return h

    def step(xi, yi, n):
        z = forward(xi, n)
        # softmax cross-entropy, mean over the batch, and its gradient (softmax - onehot) / n
        np.copyto(zt[:, :n], z.T)
        np.max(zt[:, :n], axis=0, out=row_max[:n])
        np.subtract(z, row_max[:n, None], out=z)
        np.add(offsets[:n], yi, out=flat[:n])
        np.take(z.reshape(-1), flat[:n], out=picked[:n], mode="clip")
        g = grads[-1][:n]
        np.exp(z, out=g)
        np.matmul(g, ones_c, out=row_sum[:n])
        loss = float(np.log(row_sum[:n]).mean() - picked[:n].mean())
        np.divide(g, row_sum[:n, None], out=g)
        g.reshape(-1)[flat[:n]] -= 1
        np.multiply(g, np.float32(1 / n), out=g)
        for k in range(len(ws) - 1, -1, -1):
            below = acts[k - 1][:n] if k else xi
            np.matmul(below.T, g, out=gws[k])
            np.matmul(ones[:n], g, out=gbs[k])
            if k:
                gb = np.matmul(g, ws[k].T, out=grads[k - 1][:n])
                if tanh:  # tanh' = 1 - tanh²
                    t = np.multiply(below, below, out=tmp[k - 1][:n])
                    np.subtract(1, t, out=t)
                    np.multiply(gb, t, out=gb)
                else:  # relu' = [h > 0]
                    np.multiply(gb, np.greater(below, 0, out=tmp[k - 1][:n]), out=gb)
                g = gb
            np.multiply(gws[k], lr32, out=gws[k])
            np.subtract(ws[k], gws[k], out=ws[k])
            np.multiply(gbs[k], lr32, out=gbs[k])
            np.subtract(bs[k], gbs[k], out=bs[k])
        return loss

    def epoch(x, y, order):
        loss = math.nan
        for idx in batches(order, batch):
            n = len(idx)
            loss = step(np.take(x, idx, axis=0, out=xb[:n], mode="clip"), y[idx], n)
        return loss

    def predict(x, b):
        if b > batch:  # buffers of b rows, for the weights trained so far
            return setup_numpy_opt(spec, [p for pair in zip(ws, bs) for p in pair], lr, b).predict(x, b)
        return np.concatenate([forward(x[s:s + b], len(x[s:s + b])).copy() for s in range(0, len(x), b)])

    return Contender(epoch, predict)


def setup_gemm(spec: NetSpec, weights, lr: float, batch: int) -> Contender:
    """The measured floor: only the epoch's matrix products, at the same shapes, into
    buffers made once: no gather, activation, loss or update. Nothing built on NumPy's
    BLAS trains faster than this; the roofline is the same FLOPs at the machine's peak."""
    ws = [w.copy() for w in weights[0::2]]
    xb = np.empty((batch, FEATURES), np.float32)
    outs = [np.empty((batch, o), np.float32) for _, o in spec.layers]
    # upstream gradients of a plausible size (1e-3): garbage could hold NaNs or denormals,
    # which slow some CPUs' arithmetic and would make the floor a fiction
    grads = [np.full((batch, o), 1e-3, np.float32) for _, o in spec.layers]
    grad_ws = [np.empty_like(w) for w in ws]

    def forward(h, n):
        for w, out in zip(ws, outs):
            h = np.matmul(h, w, out=out[:n])
        return h

    filled = []

    def epoch(x, y, order):
        if not filled:  # one real batch, gathered once and never again
            np.take(x, np.arange(batch) % len(x), axis=0, out=xb)
            filled.append(True)
        for idx in batches(order, batch):
            n = len(idx)
            forward(xb[:n], n)
            for k in range(len(ws) - 1, -1, -1):
                below = outs[k - 1][:n] if k else xb[:n]
                np.matmul(below.T, grads[k][:n], out=grad_ws[k])
                if k:  # the first layer's input gradient is never needed
                    np.matmul(grads[k][:n], ws[k].T, out=grads[k - 1][:n])
        return math.nan

    def predict(x, b):
        return np.concatenate([forward(x[s:s + b], len(x[s:s + b])).copy() for s in range(0, len(x), b)])

    return Contender(epoch, predict)


def setup_torch(spec: NetSpec, weights, lr: float, batch: int) -> Contender:
    """PyTorch on the CPU: torch.nn.Sequential, CrossEntropyLoss and torch.optim.SGD, from the same weights."""
    import torch

    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[spec.activation]
    layers: list = []
    for k, (i, o) in enumerate(spec.layers):
        layers += [torch.nn.Linear(i, o)] + ([act()] if k < len(spec.layers) - 1 else [])
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(torch.from_numpy(w.T.copy() if w.ndim == 2 else w))  # torch stores W as (out, in)
    loss_fn, opt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=lr)
    cache: dict = {}

    def tensors(x, y):  # zero-copy views of the same arrays, made once
        if cache.get("key") is not x:
            cache.update(key=x, x=torch.from_numpy(x), y=torch.from_numpy(y))
        return cache["x"], cache["y"]

    def epoch(x, y, order):
        xt, yt = tensors(x, y)
        loss = math.nan
        for idx in batches(torch.from_numpy(order), batch):
            opt.zero_grad()
            out = loss_fn(net(xt.index_select(0, idx)), yt.index_select(0, idx))
            out.backward()
            opt.step()
            loss = out.item()
        return loss

    def predict(x, b):
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            return torch.cat([net(xt[s:s + b]) for s in range(0, len(x), b)]).numpy()

    return Contender(epoch, predict)


def setup_sklearn(spec: NetSpec, weights, lr: float, batch: int) -> Contender:
    """scikit-learn's MLPClassifier: the same layers, initial weights, batch, learning rate and plain
    SGD; it shuffles by itself. Each epoch is one ``partial_fit``: a pass that goes on from the weights
    the last one left, as the other contenders' epochs do."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=spec.sizes[1:-1], activation=spec.activation, solver="sgd",
                          alpha=0.0, batch_size=batch, learning_rate_init=lr, momentum=0.0,
                          nesterovs_momentum=False, max_iter=1, shuffle=True, random_state=0, tol=0.0)
    # One partial_fit on an example of each class lays out the layers (float32, as the data), whose
    # arrays then take the chainrule net's initial weights in place: its optimizer holds these arrays.
    classes = np.arange(CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the batch size is clipped to those 10 examples
        model.partial_fit(np.zeros((CLASSES, FEATURES), np.float32), classes, classes=classes)
    for param, w in zip(model.coefs_ + model.intercepts_, weights[0::2] + weights[1::2], strict=True):
        np.copyto(param, w)

    subset: dict = {}

    def prepare(x, y, order):  # it shuffles by itself: hand it the examples, not the order
        subset.update(x=x, y=y) if len(order) == len(x) else subset.update(x=x[order], y=y[order])

    def epoch(x, y, order):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 is one epoch on purpose
            model.partial_fit(subset["x"], subset["y"])
        return float(model.loss_)

    def predict(x, b):
        return np.concatenate([model.predict_proba(x[s:s + b]) for s in range(0, len(x), b)])

    return Contender(epoch, predict, prepare)


CONTENDERS: dict[str, Callable[..., Contender]] = {
    "fast": setup_fast, "fast-fold": functools.partial(setup_fast, fold=True), "autodiff": setup_autodiff, "numpy": setup_numpy, "numpy-opt": setup_numpy_opt,
    "gemm": setup_gemm, "torch": setup_torch, "sklearn": setup_sklearn,
}


def available(name: str) -> str | None:
    """None if the contender can run here, else why not.

    >>> available("numpy") is None
    True
    """
    if name == "fast-fold":
        return None if blas_functions(np.dtype(np.float32)) else "NumPy's BLAS offers no CBLAS GEMM to fold with"
    module = {"torch": "torch", "sklearn": "sklearn"}.get(name)
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return {"torch": "not installed (pip install torch==2.13.0)",
                "sklearn": "not installed (pip install scikit-learn)"}[name]
    return None

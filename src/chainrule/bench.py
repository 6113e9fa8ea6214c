"""``chainrule bench``: seconds per training epoch, against a hand-written NumPy
loop, PyTorch and scikit-learn, and against the machine's matrix-multiply limit.

    chainrule bench            # the full run: about 2 minutes on 2 cores
    chainrule bench --quick    # a fifth of an epoch per measurement, about a minute
    python -m chainrule.bench  # the same without the command-line entry point

One epoch is 60,000 examples of 784 float32 features and 10 classes (Fashion-MNIST
when it is on disk, random data of the same shape otherwise), for 784-200tanh-10
and 784-512relu-256relu-10 at batch sizes 32, 100 and 1000, plain SGD. Contenders:

* ``fast``      chainrule's ``Sequential.fprop``/``bprop`` and ``optim.SGD`` (no tape);
* ``autodiff``  chainrule's tape: ``net(Tensor)``, ``loss.backward()``, ``opt.step()``;
* ``numpy``     a hand-written NumPy loop of exactly the same maths (loss included);
* ``gemm``      only the same matrix products, at the same shapes: the measured floor;
* ``torch``     PyTorch on the CPU with the same threads (``pip install torch==2.13.0``);
* ``sklearn``   scikit-learn's ``MLPClassifier(solver="sgd", momentum=0)``, one epoch.

Each epoch is cut into 10 slices of whole batches that the NumPy-based contenders
take in turns (the order rotates every repeat); PyTorch and scikit-learn run their
epoch whole, after a pause, since their thread pools are not NumPy's. The table
gives the median of the repeats and the "best" figure: each slice's fastest repeat,
summed. Only ratios within one run mean much on a shared machine: absolute seconds
swing with whatever else it is doing, and with 2 BLAS threads on 2 busy cores every
matrix product waits for both, so ``--threads 1`` gives the steadiest ratios. The
roofline is the epoch's matrix-multiply FLOPs at the best float32 GEMM rate measured
on this machine during the run. The results go to a JSON file and, as bars, a PNG.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import nn, optim
from ._parser import ArgumentParser
from .autograd.tensor import Tensor
from .atomic import atomic_write
from .threads import blas_threads, limit_threads

__all__ = ["add_arguments", "run", "main", "NETS", "CONTENDERS", "epoch_flops", "gemm_gflops"]

EPOCH = 60_000
SETTLE = 0.3  # seconds of pause before and after a contender on its own thread pool
FEATURES, CLASSES = 784, 10
TARGETS = "fast <= 1.15x numpy, autodiff <= 1.5x numpy; both <= 0.6x torch at batch 32/100, <= 1x at 1000; " \
          "fast <= 1.5x roofline at batch 1000; memory <= 1.5x strictly needed"


@dataclass(frozen=True)
class NetSpec:
    """An MLP: layer sizes and one hidden activation, e.g. (784, 200, 10) with tanh."""

    name: str
    sizes: tuple[int, ...]
    activation: str  # "tanh" or "relu"

    @property
    def layers(self) -> list[tuple[int, int]]:
        return list(zip(self.sizes[:-1], self.sizes[1:]))


NETS = {
    "784-200tanh-10": NetSpec("784-200tanh-10", (784, 200, 10), "tanh"),
    "784-512relu-256relu-10": NetSpec("784-512relu-256relu-10", (784, 512, 256, 10), "relu"),
}


# --------------------------------------------------------------- arithmetic
def epoch_flops(spec: NetSpec, examples: int = EPOCH) -> int:
    """Matrix-multiply FLOPs of one training epoch (elementwise work ignored).

    Forward 2·in·out per example and Linear; backward twice that (grad W and grad
    x), except the first layer's grad x, which nobody needs.

    >>> epoch_flops(NETS["784-200tanh-10"], 1)
    639200
    """
    forward = sum(2 * i * o for i, o in spec.layers)
    first = 2 * spec.sizes[0] * spec.sizes[1]
    return examples * (3 * forward - first)


def gemm_gflops(n: int = 1536, repeats: int = 3) -> float:
    """The best float32 GEMM rate of ``repeats`` products of two n×n matrices, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)  # warm up: threads started, pages touched
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def strictly_needed_bytes(spec: NetSpec, batch: int, optimizer_buffers: int = 0) -> dict[str, int]:
    """Bytes training can't do without: parameters, gradients, optimizer state, and the
    activations backward needs (the input batch and every layer's output), float32."""
    params = sum(i * o + o for i, o in spec.layers)
    activations = batch * sum(spec.sizes)
    parts = {"parameters": params, "gradients": params, "optimizer state": optimizer_buffers * params,
             "activations": activations}
    return {k: 4 * v for k, v in parts.items()}


# --------------------------------------------------------------------- data
def load_data(kind: str = "auto") -> tuple[np.ndarray, np.ndarray, str]:
    """60,000 float32 examples and int64 labels: Fashion-MNIST if on disk (never downloaded), else random."""
    if kind in ("auto", "fashion-mnist"):
        try:
            from .data import load_fashion_mnist

            d = load_fashion_mnist(download=False)
            return np.ascontiguousarray(d.x_train[:EPOCH], np.float32), d.y_train[:EPOCH].astype(np.int64), \
                "Fashion-MNIST"
        except Exception as e:  # noqa: BLE001 -- any failure means: not usable here
            if kind == "fashion-mnist":
                raise RuntimeError(f"Fashion-MNIST is not available: {e}") from e
    rng = np.random.default_rng(0)
    return rng.random((EPOCH, FEATURES), dtype=np.float32), rng.integers(0, CLASSES, EPOCH), "random"


def init_weights(spec: NetSpec, seed: int = 0) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...], W of shape (in, out), Glorot normal, float32."""
    rng = np.random.default_rng(seed)
    out = []
    for i, o in spec.layers:
        w = rng.standard_normal((i, o), dtype=np.float32)
        w *= np.float32(math.sqrt(2 / (i + o)))
        out += [w, np.zeros(o, np.float32)]
    return out


def batches(order: np.ndarray, batch: int):
    for start in range(0, len(order), batch):
        yield order[start:start + batch]


# -------------------------------------------------------------- contenders
# Each contender is set up (untimed) from a net, initial weights, the learning rate
# and the batch size, and returns a Trainer: ``epoch(x, y, order) -> last loss`` trains
# for one pass over x[order] and is what gets timed; ``prepare(x, y, order)``, if any,
# runs untimed before it; ``predict(x, batch)`` measures inference throughput.

@dataclass
class Trainer:
    epoch: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    predict: Callable[[np.ndarray, int], np.ndarray]
    prepare: Callable[[np.ndarray, np.ndarray, np.ndarray], None] = lambda x, y, order: None
    # True: epoch(x, y, part of order) continues where the last call stopped, on NumPy's
    # thread pool, so it can take turns with the others slice by slice
    interleave: bool = True


def chainrule_net(spec: NetSpec, weights: list[np.ndarray]) -> nn.Sequential:
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[spec.activation]
    layers: list[nn.Module] = []
    for k, (i, o) in enumerate(spec.layers):
        layers += [nn.Linear(i, o)] + ([act()] if k < len(spec.layers) - 1 else [])
    net = nn.Sequential(*layers)
    for p, w in zip(net.parameters(), weights):
        np.copyto(p.data, w)
    return net


def _chainrule_predict(net: nn.Sequential):
    def predict(x, batch):
        net.eval()
        return np.concatenate([net.fprop(x[s:s + batch]) for s in range(0, len(x), batch)])
    return predict


def setup_fast(spec, weights, lr, batch) -> Trainer:
    net = chainrule_net(spec, weights)
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, FEATURES), np.float32)

    def epoch(x, y, order):
        net.train()
        loss = math.nan
        for idx in batches(order, batch):
            xi = np.take(x, idx, axis=0, out=xb[:len(idx)])
            opt.zero_grad()
            loss = loss_fn.fprop(net.fprop(xi), y[idx])
            net.bprop(loss_fn.bprop(), input_grad=False)
            opt.step()
        return loss

    return Trainer(epoch, _chainrule_predict(net))


def setup_autodiff(spec, weights, lr, batch) -> Trainer:
    from .autograd.function import no_grad

    net = chainrule_net(spec, weights)
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, FEATURES), np.float32)

    def epoch(x, y, order):
        net.train()
        loss = math.nan
        for idx in batches(order, batch):
            xi = np.take(x, idx, axis=0, out=xb[:len(idx)])
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

    return Trainer(epoch, predict)


def setup_numpy(spec, weights, lr, batch) -> Trainer:
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

    return Trainer(epoch, predict)


def setup_gemm(spec, weights, lr, batch) -> Trainer:
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

    return Trainer(epoch, predict)


def setup_torch(spec, weights, lr, batch) -> Trainer:
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

    return Trainer(epoch, predict, interleave=False)


def setup_sklearn(spec, weights, lr, batch) -> Trainer:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    # Its own initial weights and shuffling; the same layers, batch, learning rate and plain SGD.
    model = MLPClassifier(hidden_layer_sizes=spec.sizes[1:-1], activation=spec.activation, solver="sgd",
                          alpha=0.0, batch_size=batch, learning_rate_init=lr, momentum=0.0,
                          nesterovs_momentum=False, max_iter=1, shuffle=True, random_state=0, tol=0.0)

    subset: dict = {}

    def prepare(x, y, order):  # it shuffles by itself: hand it the examples, not the order
        subset.update(x=x, y=y) if len(order) == len(x) else subset.update(x=x[order], y=y[order])

    def epoch(x, y, order):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 is one epoch on purpose
            model.fit(subset["x"], subset["y"])
        return float(model.loss_)

    def predict(x, b):
        return np.concatenate([model.predict_proba(x[s:s + b]) for s in range(0, len(x), b)])

    return Trainer(epoch, predict, prepare, interleave=False)


CONTENDERS: dict[str, Callable[..., Trainer]] = {
    "fast": setup_fast, "autodiff": setup_autodiff, "numpy": setup_numpy, "gemm": setup_gemm,
    "torch": setup_torch, "sklearn": setup_sklearn,
}
LABELS = {
    "fast": "chainrule fprop/bprop", "autodiff": "chainrule autodiff", "numpy": "hand-written NumPy",
    "gemm": "GEMMs only (measured floor)", "torch": "PyTorch CPU", "sklearn": "scikit-learn MLP",
}


def available(name: str) -> str | None:
    """None if the contender can run here, else why not."""
    module = {"torch": "torch", "sklearn": "sklearn"}.get(name)
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return {"torch": "not installed (pip install torch==2.13.0)",
                "sklearn": "not installed (pip install scikit-learn)"}[name]
    return None


# ------------------------------------------------------------------ measure
def measure_memory(name: str, spec: NetSpec, weights, lr: float, batch: int, x, y, steps: int = 5) -> int:
    """Peak bytes NumPy allocated (tracemalloc) while setting up and training ``steps`` batches.

    The data set was allocated before tracing starts, so it is not counted.
    """
    x, y, order = x[:steps * batch], y[:steps * batch], np.arange(steps * batch)  # views: nothing copied
    tracemalloc.start()
    try:
        trainer = CONTENDERS[name](spec, weights, lr, batch)
        trainer.prepare(x, y, order)
        trainer.epoch(x, y, order)
        trainer.epoch(x, y, order)  # a second pass: the steady state, with last step's leftovers
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _machine() -> dict:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    info = {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "blas_threads": blas_threads(), "platform": platform.platform()}
    for key, dist in (("torch", "torch"), ("sklearn", "scikit-learn")):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info[key] = importlib.metadata.version(dist)  # without importing it (seconds, for torch)
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    if env:
        info["env"] = env
    return info


def _time_epoch(trainers: dict[str, Trainer], x, y, order, batch: int, slices: int) -> dict[str, list[float]]:
    """Seconds each trainer takes for one pass over x[order], slice by slice.

    The NumPy-based contenders cut the pass into ``slices`` runs of whole batches
    and take turns slice by slice, so a burst of load from elsewhere hits them alike.
    The others run their pass whole, each after a pause: PyTorch's thread pool is
    not NumPy's, and a pool's threads keep spinning for a while after their last
    job, slowing whoever runs next; scikit-learn's fit is one call.
    """
    seconds: dict[str, list[float]] = {n: [] for n in trainers}
    alone = [n for n, t in trainers.items() if not t.interleave]
    for n in alone:
        trainers[n].prepare(x, y, order)
        time.sleep(SETTLE)
        t0 = time.perf_counter()
        trainers[n].epoch(x, y, order)
        seconds[n].append(time.perf_counter() - t0)
    time.sleep(SETTLE if alone else 0)
    steps = -(-len(order) // batch)
    bounds = sorted({min(round(j * steps / slices) * batch, len(order)) for j in range(slices + 1)})
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        for n, trainer in trainers.items():
            if n not in alone:
                t0 = time.perf_counter()
                trainer.epoch(x, y, order[lo:hi])
                seconds[n].append(time.perf_counter() - t0)
    return seconds


def benchmark(nets: list[str], batch_sizes: list[int], names: list[str], repeats: int, examples: int,
              lr: float, data: str, threads: int | None, memory: bool = True, slices: int = 10,
              log: Callable[[str], None] = lambda s: None) -> dict:
    """Run everything; returns the JSON-able results (medians and every sample)."""
    x, y, data_name = load_data(data)
    threads = threads or blas_threads() or os.cpu_count()
    skipped = {n: why for n in names if (why := available(n))}
    names = [n for n in names if n not in skipped]
    if "torch" in names:
        import torch

        torch.set_num_threads(threads)
    cells = [(net, b) for net in nets for b in batch_sizes]
    weights = {net: init_weights(NETS[net]) for net in nets}
    samples = {(net, b, n): [] for net, b in cells for n in names}
    slice_samples = {(net, b, n): [] for net, b in cells for n in names}
    gemm = []
    started = time.perf_counter()
    with limit_threads(threads):
        for r in range(repeats):
            for net, b in cells:
                gemm.append(gemm_gflops())  # sampled all along: the peak is the best the machine gave
                order = np.random.default_rng(r).permutation(len(x))[:examples]
                # rotate the order every repeat: nobody always runs right after the same neighbour
                rotated = names[r % len(names):] + names[:r % len(names)]
                trainers = {n: CONTENDERS[n](NETS[net], weights[net], lr, b) for n in rotated}
                if r == 0:  # warm up (untimed): first calls, thread pools, caches
                    for n, trainer in trainers.items():
                        trainer.prepare(x, y, order[:3 * b])
                        trainer.epoch(x, y, order[:3 * b])
                parts = _time_epoch(trainers, x, y, order, b, slices)
                for n in rotated:
                    samples[net, b, n].append(sum(parts[n]) * EPOCH / examples)
                    slice_samples[net, b, n].append(parts[n])
                log(f"repeat {r + 1}/{repeats}  {net:24s} batch {b:5d}  " + "  ".join(
                    f"{n} {samples[net, b, n][-1]:.3f}" for n in rotated) + "  s/epoch")
        throughput = {}
        for net in nets:
            for n in names:
                trainer = CONTENDERS[n](NETS[net], weights[net], lr, 1000)
                trainer.prepare(x, y, np.arange(3000))
                trainer.epoch(x, y, np.arange(3000))  # sklearn must fit before it predicts
                trainer.predict(x[:2000], 1000)
                t = []
                for _ in range(max(repeats, 3)):
                    t0 = time.perf_counter()
                    trainer.predict(x[:examples], 1000)
                    t.append(time.perf_counter() - t0)
                throughput[net, n] = examples / statistics.median(t)
        mem = {}
        if memory:
            big = NETS["784-512relu-256relu-10"]
            for n in names:
                if n in ("fast", "autodiff", "numpy"):  # NumPy's allocations; torch's and scikit-learn's data copies aside
                    mem[n] = measure_memory(n, big, init_weights(big), lr, 1000, x, y)
    peak = max(gemm)
    results = []
    for net, b in cells:
        flops = epoch_flops(NETS[net])
        roof = flops / (peak * 1e9)
        med = {n: statistics.median(samples[net, b, n]) for n in names}
        # Load from elsewhere only ever adds time: the fastest repeat of each slice, summed,
        # is the steadier estimate on a shared machine.
        best = {n: sum(map(min, zip(*slice_samples[net, b, n]))) * EPOCH / examples for n in names}
        for n in names:
            results.append({
                "net": net, "batch": b, "contender": n, "seconds_per_epoch": med[n], "samples": samples[net, b, n],
                "x_numpy": med[n] / med["numpy"] if "numpy" in med else None,
                "x_torch": med[n] / med["torch"] if "torch" in med else None,
                "x_roofline": med[n] / roof,
                "x_gemm": med[n] / med["gemm"] if "gemm" in med else None,
                "best_seconds_per_epoch": best[n],
                "x_numpy_best": best[n] / best["numpy"] if "numpy" in best else None,
                "x_torch_best": best[n] / best["torch"] if "torch" in best else None,
            })
        results.append({"net": net, "batch": b, "contender": "roofline", "seconds_per_epoch": roof,
                        "flops_per_epoch": flops, "x_roofline": 1.0})
    needed = strictly_needed_bytes(NETS["784-512relu-256relu-10"], 1000)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(), "threads": threads, "data": data_name, "examples_timed": examples,
        "repeats": repeats, "slices": slices, "lr": lr, "skipped": skipped, "gemm_gflops": peak, "gemm_samples": gemm,
        "results": results,
        "inference_examples_per_s": [{"net": net, "contender": n, "batch": 1000, "examples_per_s": v}
                                     for (net, n), v in throughput.items()],
        "memory": {"net": "784-512relu-256relu-10", "batch": 1000, "peak_bytes": mem,
                   "strictly_needed_bytes": sum(needed.values()), "strictly_needed_parts": needed},
        "seconds": time.perf_counter() - started,
    }


# ------------------------------------------------------------------- report
def _ratio(v) -> str:
    return "" if v is None else f"{v:.2f}"


def targets(res: dict) -> list[tuple[str, bool | None, str]]:
    """The issue's targets, each (what, met?, the measured figure); met is None when unmeasured."""
    by = {(r["net"], r["batch"], r["contender"]): r for r in res["results"]}
    out = []
    for (net, b, n), r in by.items():
        if n == "fast" and r["x_numpy"] is not None:
            out.append((f"{net} b{b}: fast <= 1.15x numpy", r["x_numpy"] <= 1.15, f"{r['x_numpy']:.2f}x"))
        if n == "autodiff" and r["x_numpy"] is not None:
            out.append((f"{net} b{b}: autodiff <= 1.5x numpy", r["x_numpy"] <= 1.5, f"{r['x_numpy']:.2f}x"))
        if n in ("fast", "autodiff") and r["x_torch"] is not None:
            limit = 1.0 if b >= 1000 else 0.6
            figure = f"{r['x_torch']:.2f}x"
            floor = by.get((net, b, "gemm"))
            if floor and r["x_torch"] > limit:  # how much of the miss the matrix products alone explain
                figure += f" (GEMMs alone {floor['x_torch']:.2f}x)"
            out.append((f"{net} b{b}: {n} <= {limit}x torch", r["x_torch"] <= limit, figure))
        if n == "fast" and b >= 1000:
            out.append((f"{net} b{b}: fast <= 1.5x roofline", r["x_roofline"] <= 1.5, f"{r['x_roofline']:.2f}x"))
    need = res["memory"]["strictly_needed_bytes"]
    for n, peak in res["memory"]["peak_bytes"].items():
        if n in ("fast", "autodiff"):
            out.append((f"memory {n} <= 1.5x needed", peak <= 1.5 * need, f"{peak / need:.2f}x"))
    return out


def format_report(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"chainrule bench, {res['date']}: {m['cpu']}, {m['cores']} cores, {res['threads']} BLAS threads; "
        f"Python {m['python']}, NumPy {m['numpy']}" + (f", PyTorch {m['torch']}" if "torch" in m else "")
        + (f", scikit-learn {m['sklearn']}" if "sklearn" in m else "") + ".",
        f"Data: {res['data']}; SGD lr {res['lr']}, float32; seconds per epoch of {EPOCH:,} examples "
        f"(timed on {res['examples_timed']:,}, cut in {res['slices']} slices that the contenders take in turns), "
        f"median of {res['repeats']} repeats; 'best' sums each slice's fastest repeat (load from elsewhere "
        f"only adds time, so on a shared machine it is the steadier figure). "
        f"Roofline: the epoch's matrix-multiply FLOPs at the best float32 GEMM rate measured in the run, "
        f"{res['gemm_gflops']:.0f} GFLOP/s. GEMMs only: the same matrix products at the same shapes, "
        f"timed alone (the floor for any NumPy trainer; × GEMMs is each contender against it).",
        "",
        "| net | batch | contender | s / epoch | × NumPy | × PyTorch | × roofline | × GEMMs | best s "
        "| best × NumPy | best × PyTorch |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["results"]:
        label = LABELS.get(r["contender"], "roofline (GEMM FLOPs / peak)")
        best = f"{r['best_seconds_per_epoch']:.3f}" if "best_seconds_per_epoch" in r else ""
        lines.append(f"| {r['net']} | {r['batch']} | {label} | {r['seconds_per_epoch']:.3f} | "
                     f"{_ratio(r.get('x_numpy'))} | {_ratio(r.get('x_torch'))} | {_ratio(r['x_roofline'])} | "
                     f"{_ratio(r.get('x_gemm'))} | {best} | {_ratio(r.get('x_numpy_best'))} | {_ratio(r.get('x_torch_best'))} |")
    if res["skipped"]:
        lines += [""] + [f"Skipped {n}: {why}." for n, why in res["skipped"].items()]
    lines += ["", "Inference at batch 1000 (examples / s):", "", "| net | " + " | ".join(
        LABELS[n] for n in dict.fromkeys(t["contender"] for t in res["inference_examples_per_s"])) + " |"]
    nets = list(dict.fromkeys(t["net"] for t in res["inference_examples_per_s"]))
    lines.append("|---|" + "---:|" * (len(lines[-1].split("|")) - 3))
    for net in nets:
        row = [f"{t['examples_per_s']:,.0f}" for t in res["inference_examples_per_s"] if t["net"] == net]
        lines.append(f"| {net} | " + " | ".join(row) + " |")
    mem = res["memory"]
    if mem["peak_bytes"]:
        need = mem["strictly_needed_bytes"]
        parts = ", ".join(f"{k} {v / 2**20:.2f}" for k, v in mem["strictly_needed_parts"].items())
        lines += ["", f"Training memory, {mem['net']} at batch {mem['batch']} (tracemalloc peak of NumPy "
                      f"allocations; strictly needed {need / 2**20:.2f} MiB = {parts}):", "",
                  "| contender | peak MiB | × needed |", "|---|---:|---:|"]
        for n, peak in mem["peak_bytes"].items():
            lines.append(f"| {LABELS[n]} | {peak / 2**20:.2f} | {peak / need:.2f} |")
    checks = targets(res)
    if checks:
        lines += ["", "| target | measured | met |", "|---|---:|:---:|"]
        lines += [f"| {what} | {fig} | {'yes' if ok else 'NO'} |" for what, ok, fig in checks]
    return "\n".join(lines)


# ---------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``chainrule bench``."""
    parser.add_argument("--quick", action="store_true",
                        help="time a fifth of an epoch (12,000 examples), 2 repeats: about a minute")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default: 3, quick: 2)")
    parser.add_argument("--examples", type=int, default=None,
                        help=f"examples timed per measurement, scaled to {EPOCH:,} (default: {EPOCH:,}, quick: 12,000)")
    parser.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS), metavar="NET",
                        help=f"among {', '.join(NETS)} (default: both)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 100, 1000], metavar="B",
                        help="(default: 32 100 1000)")
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS),
                        metavar="NAME", help=f"among {', '.join(CONTENDERS)} (default: all that are installed)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for NumPy and PyTorch alike (default: NumPy's current count)")
    parser.add_argument("--data", choices=["auto", "fashion-mnist", "random"], default="auto",
                        help="auto: Fashion-MNIST if on disk, else random (default: auto)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="write the results here, and their bars beside it as .png "
                             "(default: benchmarks/results/bench-<time>.json; '' for none)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _checked(args: argparse.Namespace) -> tuple[int, int, str]:
    """(repeats, examples, JSON path) from the options, or ValueError naming the bad one."""
    for option, value, low, high in (("--repeats", args.repeats, 1, None), ("--examples", args.examples, 1, EPOCH),
                                      ("--threads", args.threads, 1, None)):
        if value is not None and (value < low or (high is not None and value > high)):
            bounds = f"in {low}..{high:,}" if high is not None else f"at least {low}"
            raise ValueError(f"{option} must be {bounds}, got {value}")
    if any(b < 1 for b in args.batch_sizes):
        raise ValueError(f"--batch-sizes must be at least 1, got {min(args.batch_sizes)}")
    path = args.json if args.json is not None else \
        f"benchmarks/results/bench-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    if path:  # checked before minutes of timing, not after
        folder = Path(path).parent
        if Path(path).is_dir() or (folder.exists() and not folder.is_dir()):
            raise ValueError(f"--json {path}: not a file path")
        writable = folder if folder.exists() else next((d for d in folder.parents if d.exists()), Path("."))
        if not os.access(writable, os.W_OK):
            raise ValueError(f"--json {path}: cannot write in {writable}")
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    examples = args.examples if args.examples is not None else (12_000 if args.quick else EPOCH)
    return repeats, examples, path


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed ``args``; print the tables; return the exit status.

    A bad option raises ValueError before anything is timed."""
    repeats, examples, path = _checked(args)
    contenders = list(dict.fromkeys(["numpy"] + args.contenders))  # the hand loop is every ratio's reference
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    res = benchmark(args.nets, args.batch_sizes, contenders, repeats, examples, args.lr, args.data, args.threads,
                    memory=not args.no_memory, log=log)
    print(format_report(res))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            f.write((json.dumps(res, indent=1) + "\n").encode())
        print(f"\nwrote {path}")
        if importlib.util.find_spec("matplotlib"):  # it comes with the cli extra
            from .plots import plot_bench

            picture = Path(path).with_suffix(".png")
            plot_bench(res, picture)
            print(f"wrote {picture}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="chainrule bench", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_arguments(parser).parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as e:
        print(f"chainrule bench: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Timing, memory and the machine: :func:`benchmark` runs the contenders and returns the results as JSON-able data.

Every argument is checked before anything is timed (the package's docstring has a run):

>>> benchmark(["784-200tanh-10"], [100], ["numpy"], repeats=0, examples=200, lr=0.05, data="random", threads=None)
Traceback (most recent call last):
ValueError: repeats must be at least 1, got 0
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import math
import numbers
import os
import platform
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import numpy as np

from ..threads import blas_threads, limit_threads
from .contenders import CONTENDERS, Contender, available
from .nets import EPOCH, NETS, NetSpec, epoch_flops, initial_weights, load_data, strictly_needed_bytes

__all__ = ["benchmark", "gemm_gflops", "measure_memory", "SETTLE", "DATA"]

SETTLE = 0.3  # seconds of pause before and after a contender on its own thread pool
DATA = ("auto", "fashion-mnist", "random")
MEMORY_NET = "784-512relu-256relu-10"  # the training memory is measured on this net at batch 1000


def gemm_gflops(n: int = 1536, repeats: int = 3) -> float:
    """The best float32 GEMM rate of ``repeats`` products of two n×n matrices, in GFLOP/s.

    >>> gemm_gflops(64, 1) > 0
    True
    """
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


def measure_memory(name: str, spec: NetSpec, weights, lr: float, batch: int, x, y, steps: int = 5) -> int:
    """Peak bytes NumPy allocated (tracemalloc) while setting up and training ``steps`` batches.

    The data set was allocated before tracing starts, so it is not counted.
    """
    x, y, order = x[:steps * batch], y[:steps * batch], np.arange(steps * batch)  # views: nothing copied
    tracemalloc.start()
    try:
        contender = CONTENDERS[name](spec, weights, lr, batch)
        contender.prepare(x, y, order)
        contender.epoch(x, y, order)
        contender.epoch(x, y, order)  # a second pass: the steady state, with last step's leftovers
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


def _time_epoch(contenders: dict[str, Contender], x, y, order, batch: int, slices: int) -> dict[str, list[float]]:
    """Seconds each contender takes for one pass over x[order], slice by slice.

    The NumPy-based contenders cut the pass into ``slices`` runs of whole batches
    and take turns slice by slice, so a burst of load from elsewhere hits them alike.
    The others run their pass whole, each after a pause: PyTorch's thread pool is
    not NumPy's, and a pool's threads keep spinning for a while after their last
    job, slowing whoever runs next; scikit-learn's fit is one call.
    """
    seconds: dict[str, list[float]] = {n: [] for n in contenders}
    alone = [n for n, t in contenders.items() if not t.interleave]
    for n in alone:
        contenders[n].prepare(x, y, order)
        time.sleep(SETTLE)
        t0 = time.perf_counter()
        contenders[n].epoch(x, y, order)
        seconds[n].append(time.perf_counter() - t0)
    time.sleep(SETTLE if alone else 0)
    steps = -(-len(order) // batch)
    bounds = sorted({min(round(j * steps / slices) * batch, len(order)) for j in range(slices + 1)})
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        for n, contender in contenders.items():
            if n not in alone:
                t0 = time.perf_counter()
                contender.epoch(x, y, order[lo:hi])
                seconds[n].append(time.perf_counter() - t0)
    return seconds


def _whole(name: str, value, low: int, high: int | None = None) -> None:
    """ValueError naming ``name`` unless value is an integer in low..high."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bounds = f"in {low}..{high:,}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bounds}, got {value!r}")


def _names(name: str, values, known) -> list:
    """``values`` as a list without repeats, or ValueError naming ``name`` if one is not in ``known``."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a list, got {values!r}")
    values = list(dict.fromkeys(values))
    if not values:
        raise ValueError(f"{name} must not be empty")
    for v in values:
        if v not in known:
            raise ValueError(f"{name} must be among {', '.join(map(str, known))}, got {v!r}")
    return values


def _checked(nets, batch_sizes, names, repeats, examples, lr, data, threads, slices) -> tuple[list, list, list]:
    """benchmark()'s arguments checked: (nets, batch_sizes, names) without repeats, or ValueError naming the bad one."""
    nets, names = _names("nets", nets, list(NETS)), _names("names", names, list(CONTENDERS))
    if isinstance(batch_sizes, str) or not hasattr(batch_sizes, "__iter__") or not list(batch_sizes):
        raise ValueError(f"batch_sizes must be a non-empty list of integers, got {batch_sizes!r}")
    batch_sizes = list(dict.fromkeys(batch_sizes))
    for b in batch_sizes:
        _whole("batch_sizes", b, 1)
    _whole("repeats", repeats, 1)
    _whole("examples", examples, 1, EPOCH)
    _whole("slices", slices, 1)
    if threads is not None:
        _whole("threads", threads, 1)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if data not in DATA:
        raise ValueError(f"data must be one of {', '.join(DATA)}, got {data!r}")
    return nets, batch_sizes, names


def benchmark(nets: list[str], batch_sizes: list[int], names: list[str], repeats: int, examples: int,
              lr: float, data: str, threads: int | None, memory: bool = True, slices: int = 10,
              log: Callable[[str], None] = lambda s: None) -> dict:
    """Time one training epoch of each net at each batch size for each contender; returns the JSON-able
    results: medians, ratios and every sample, inference throughput, training memory, the machine.

    ``nets`` are names in :data:`NETS`, ``names`` in :data:`CONTENDERS` (those not installed are skipped
    and said so under "skipped"; ratios to "numpy" and "torch" need them among ``names``); each epoch of
    60,000 examples is timed on ``examples`` of them, cut in ``slices``, ``repeats`` times, with plain
    SGD at ``lr``, on ``data`` ("auto": Fashion-MNIST if on disk, else random; "fashion-mnist";
    "random"), with ``threads`` BLAS threads (None: as many as NumPy uses now). ``log`` gets a line per
    measurement. Every argument is checked, and a bad one raises ValueError, before anything is timed.
    See the module's docstring for an example.
    """
    nets, batch_sizes, names = _checked(nets, batch_sizes, names, repeats, examples, lr, data, threads, slices)
    lr = float(lr)
    x, y, data_name = load_data(data)
    limit = threads  # None: NumPy's count is left alone (and threadpoolctl, an extra, is not needed)
    threads = threads or blas_threads() or os.cpu_count()
    skipped = {n: why for n in names if (why := available(n))}
    names = [n for n in names if n not in skipped]
    if "torch" in names:
        import torch

        torch.set_num_threads(threads)
    cells = [(net, b) for net in nets for b in batch_sizes]
    weights = {net: initial_weights(NETS[net]) for net in nets}
    samples = {(net, b, n): [] for net, b in cells for n in names}
    slice_samples = {(net, b, n): [] for net, b in cells for n in names}
    gemm = []
    started = time.perf_counter()
    with limit_threads(limit):
        for r in range(repeats):
            for net, b in cells:
                gemm.append(gemm_gflops())  # sampled all along: the peak is the best the machine gave
                order = np.random.default_rng(r).permutation(len(x))[:examples]
                # rotate the order every repeat: nobody always runs right after the same neighbour
                rotated = names[r % len(names):] + names[:r % len(names)]
                contenders = {n: CONTENDERS[n](NETS[net], weights[net], lr, b) for n in rotated}
                if r == 0:  # warm up (untimed): first calls, thread pools, caches
                    for n, contender in contenders.items():
                        contender.prepare(x, y, order[:3 * b])
                        contender.epoch(x, y, order[:3 * b])
                parts = _time_epoch(contenders, x, y, order, b, slices)
                for n in rotated:
                    samples[net, b, n].append(sum(parts[n]) * EPOCH / examples)
                    slice_samples[net, b, n].append(parts[n])
                log(f"repeat {r + 1}/{repeats}  {net:24s} batch {b:5d}  " + "  ".join(
                    f"{n} {samples[net, b, n][-1]:.3f}" for n in rotated) + "  s/epoch")
        throughput = {}
        for net in nets:
            for n in names:
                contender = CONTENDERS[n](NETS[net], weights[net], lr, 1000)
                contender.prepare(x, y, np.arange(3000))
                contender.epoch(x, y, np.arange(3000))  # warm up: first calls, thread pools
                contender.predict(x[:2000], 1000)
                t = []
                for _ in range(max(repeats, 3)):
                    t0 = time.perf_counter()
                    contender.predict(x[:examples], 1000)
                    t.append(time.perf_counter() - t0)
                throughput[net, n] = examples / statistics.median(t)
        mem = {}
        if memory:
            big = NETS[MEMORY_NET]
            for n in names:
                if n in ("fast", "autodiff", "numpy"):  # NumPy's allocations; torch's and scikit-learn's data copies aside
                    mem[n] = measure_memory(n, big, initial_weights(big), lr, 1000, x, y)
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
    needed = strictly_needed_bytes(NETS[MEMORY_NET], 1000)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(), "threads": threads, "data": data_name, "examples_timed": examples,
        "repeats": repeats, "slices": slices, "lr": lr, "skipped": skipped, "gemm_gflops": peak, "gemm_samples": gemm,
        "results": results,
        "inference_examples_per_s": [{"net": net, "contender": n, "batch": 1000, "examples_per_s": v}
                                     for (net, n), v in throughput.items()],
        "memory": {"net": MEMORY_NET, "batch": 1000, "peak_bytes": mem,
                   "strictly_needed_bytes": sum(needed.values()), "strictly_needed_parts": needed},
        "seconds": time.perf_counter() - started,
    }



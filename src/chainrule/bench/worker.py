"""One measurement in a process of its own: ``python -m chainrule.bench.worker`` reads a job (JSON) on
stdin, runs it and writes the result (JSON) on stdout; :func:`run_job` is the same in this process.

Each contender trains in a process of its own because thread pools fight: PyTorch's OpenMP pool and
OpenBLAS's pthreads, both alive in one process, slow each other several-fold when both have run
recently, and a library imported (PyTorch) changes what the others find. A NumPy contender's process
never imports PyTorch (its result says so: ``torch_imported``).

Jobs (``kind``):

* ``train``: a warm-up of ``warmup`` examples (untimed), then ``epochs`` timed passes over ``examples``
  examples of the round's shuffled order, each scaled to seconds per epoch of 60,000; with
  ``inference`` true, also the examples/s of ``predict`` at batch 1000, measured after the timing;
* ``peak``: the best float32 GEMM rate (:func:`gemm_gflops`);
* ``memory``: the tracemalloc peak of a few training steps (:func:`measure_memory`).

>>> res = run_job({"kind": "peak", "n": 64, "repeats": 1, "threads": None})
>>> res["gflops"] > 0 and isinstance(res["torch_imported"], bool)  # (this process may have torch; a worker's has not)
True
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import tracemalloc

import numpy as np

from ..threads import limit_threads
from .contenders import CONTENDERS
from .nets import EPOCH, NETS, NetSpec, initial_weights, load_data

__all__ = ["run_job", "gemm_gflops", "measure_memory", "blas_info", "main"]


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


def blas_info() -> list[dict]:
    """The BLAS libraries loaded, as threadpoolctl sees them: library, version, kernel ("architecture"),
    threads and the package they came with; [] without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    # "of": the package that ships the library (numpy.libs/... -> numpy; SciPy brings its own OpenBLAS)
    return [{**{k: lib.get(k) for k in keys}, "of": os.path.basename(os.path.dirname(lib.get("filepath") or ""))
             .removesuffix(".libs")} for lib in threadpool_info() if lib.get("user_api") == "blas"]


def _data(job: dict) -> tuple[np.ndarray, np.ndarray]:
    """The data set the parent saved (``x``, ``y``: .npy paths), or ``load_data(job["data"])``."""
    if "x" in job:
        return np.load(job["x"]), np.load(job["y"])
    x, y, _ = load_data(job["data"])
    return x, y


def _train(job: dict, x, y) -> dict:
    name, spec, batch, examples = job["contender"], NETS[job["net"]], job["batch"], job["examples"]
    weights = initial_weights(spec)
    order = np.random.default_rng(job["seed"]).permutation(len(x))[:examples]
    contender = CONTENDERS[name](spec, weights, job["lr"], batch)
    warm = order[:max(job["warmup"], min(3 * batch, examples))]  # first calls, thread pools, caches, pages
    contender.prepare(x, y, warm)
    contender.epoch(x, y, warm)
    seconds, loss = [], math.nan
    for _ in range(job["epochs"]):
        contender.prepare(x, y, order)
        t0 = time.perf_counter()
        loss = contender.epoch(x, y, order)
        seconds.append((time.perf_counter() - t0) * EPOCH / examples)
    out = {"seconds": seconds, "loss": loss}
    if job.get("inference"):  # after the timing, which it cannot disturb
        contender = CONTENDERS[name](spec, weights, job["lr"], 1000)
        contender.prepare(x, y, np.arange(3000))
        contender.epoch(x, y, np.arange(3000))  # warm up: first calls, thread pools
        contender.predict(x[:2000], 1000)
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            contender.predict(x[:examples], 1000)
            t.append(time.perf_counter() - t0)
        out["examples_per_s"] = examples / sorted(t)[1]
    return out


def run_job(job: dict) -> dict:
    """Run one job (see the module's docstring) here and return its JSON-able result, with the BLAS
    seen, whether PyTorch was imported, PyTorch's threads where it was, and the load average."""
    threads = job.get("threads")
    if job.get("contender") == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
    with limit_threads(threads):
        if job["kind"] == "peak":
            out = {"gflops": gemm_gflops(job.get("n", 1536), job.get("repeats", 3))}
        elif job["kind"] == "memory":
            x, y = _data(job)
            spec = NETS[job["net"]]
            out = {"peak_bytes": measure_memory(job["contender"], spec, initial_weights(spec), job["lr"],
                                                job["batch"], x, y)}
        elif job["kind"] == "train":
            out = _train(job, *_data(job))
        else:
            raise ValueError(f"kind must be train, peak or memory, got {job['kind']!r}")
        out["blas"] = blas_info()
    out["torch_imported"] = "torch" in sys.modules
    if out["torch_imported"]:
        out["torch_threads"] = sys.modules["torch"].get_num_threads()
    out["load"] = os.getloadavg()[0]
    return out


def main() -> None:
    """The job on stdin, the result on stdout; a failure is an exception (exit status 1, traceback on stderr)."""
    print(json.dumps(run_job(json.loads(sys.stdin.read()))), flush=True)


if __name__ == "__main__":
    main()

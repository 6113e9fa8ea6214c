"""Timing, memory and the machine: :func:`benchmark` runs every measurement in a process of its own
(:mod:`.worker`) and returns the results as JSON-able data.

Every argument is checked before anything is timed (the package's docstring has a run):

>>> benchmark(["784-200tanh-10"], [100], ["numpy"], rounds=0, examples=200, lr=0.05, data="random", threads=None)
Traceback (most recent call last):
ValueError: rounds must be at least 1, got 0
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import json
import math
import numbers
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..threads import limit_threads
from .contenders import CONTENDERS, available
from .nets import EPOCH, NETS, epoch_flops, load_data, strictly_needed_bytes
from .worker import blas_info, gemm_gflops, measure_memory

__all__ = ["benchmark", "gemm_gflops", "measure_memory", "spawn", "DATA", "REFERENCES"]

DATA = ("auto", "fashion-mnist", "random")
MEMORY_NET = "784-512relu-256relu-10"  # the training memory is measured on this net at batch 1000
MEMORY_CONTENDERS = ("fast", "autodiff", "numpy", "numpy-opt")  # NumPy's allocations, which tracemalloc sees
# every contender's time over these, round by round: the result's x_<name> (x_numpy_opt for numpy-opt)
REFERENCES = ("numpy-opt", "torch", "numpy", "gemm")


def _package_root() -> str:
    """The folder chainrule is imported from: a worker imports the same code as its parent."""
    return str(Path(__file__).resolve().parents[2])


def spawn(job: dict) -> dict:
    """Run ``job`` in a fresh Python process (``python -m chainrule.bench.worker``) and return its result;
    RuntimeError with the worker's last error line if it fails.

    >>> spawn({"kind": "peak", "n": 64, "repeats": 1, "threads": None})["torch_imported"]
    False
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_package_root(), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([sys.executable, "-m", "chainrule.bench.worker"], input=json.dumps(job), env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        what = ", ".join(f"{k}={job[k]}" for k in ("kind", "contender", "net", "batch") if k in job)
        raise RuntimeError(f"benchmark process ({what}) failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _machine() -> dict:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    info = {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform()}
    for key, dist in (("torch", "torch"), ("sklearn", "scikit-learn"), ("scipy", "scipy"),
                      ("threadpoolctl", "threadpoolctl")):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info[key] = importlib.metadata.version(dist)  # without importing it (seconds, for torch)
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_"))}
    if env:
        info["env"] = env
    return info


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


def _checked(nets, batch_sizes, names, rounds, examples, lr, data, threads, epochs, warmup) -> tuple[list, list, list]:
    """benchmark()'s arguments checked: (nets, batch_sizes, names) without repeats, or ValueError naming the bad one."""
    nets, names = _names("nets", nets, list(NETS)), _names("names", names, list(CONTENDERS))
    if isinstance(batch_sizes, str) or not hasattr(batch_sizes, "__iter__") or not list(batch_sizes):
        raise ValueError(f"batch_sizes must be a non-empty list of integers, got {batch_sizes!r}")
    batch_sizes = list(dict.fromkeys(batch_sizes))
    for b in batch_sizes:
        _whole("batch_sizes", b, 1)
    _whole("rounds", rounds, 1)
    _whole("examples", examples, 1, EPOCH)
    _whole("epochs", epochs, 1)
    if warmup is not None:
        _whole("warmup", warmup, 0, EPOCH)
    if threads is not None:
        _whole("threads", threads, 1)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if data not in DATA:
        raise ValueError(f"data must be one of {', '.join(DATA)}, got {data!r}")
    return nets, batch_sizes, names


def _key(name: str) -> str:
    return "x_" + name.replace("-", "_")


def _cell_results(net: str, b: int, names: list[str], seconds: dict, peak: float) -> list[dict]:
    """The rows of one (net, batch): medians over rounds, and each contender's time over each reference's,
    round by round: the median of those ratios and their spread (min, max)."""
    flops = epoch_flops(NETS[net])
    roof = flops / (peak * 1e9)
    rows = []
    for n in names:
        row = {"net": net, "batch": b, "contender": n, "seconds_per_epoch": statistics.median(seconds[n]),
               "samples": seconds[n], "x_roofline": statistics.median(seconds[n]) / roof, "spread": {}}
        for ref in REFERENCES:
            if ref in names:
                ratios = [s / r for s, r in zip(seconds[n], seconds[ref])]
                row[_key(ref)] = statistics.median(ratios)
                row["spread"][_key(ref)] = [min(ratios), max(ratios)]
            else:
                row[_key(ref)] = None
        rows.append(row)
    rows.append({"net": net, "batch": b, "contender": "roofline", "seconds_per_epoch": roof,
                 "flops_per_epoch": flops, "x_roofline": 1.0})
    return rows


def benchmark(nets: list[str], batch_sizes: list[int], names: list[str], rounds: int, examples: int,
              lr: float, data: str, threads: int | None, memory: bool = True, epochs: int = 1,
              warmup: int | None = None, log: Callable[[str], None] = lambda s: None) -> dict:
    """Time training epochs of each net at each batch size for each contender, every measurement in a
    fresh process; returns the JSON-able results: medians over rounds, ratios with their per-round
    spread and every sample, inference throughput, training memory, the machine and the method.

    ``nets`` are names in :data:`NETS`, ``names`` in :data:`CONTENDERS` (those not installed are skipped
    and said so under "skipped"; the ratios to a contender of :data:`REFERENCES` need it among ``names``).
    Each round runs, for every net and batch size, one process per contender, in an order rotated every
    round: ``warmup`` examples untimed (None: a quarter of ``examples``), then ``epochs`` timed passes
    over ``examples`` of the round's shuffled 60,000 (scaled to a whole epoch), plain SGD at ``lr``, on
    ``data`` ("auto": Fashion-MNIST if on disk, else random; "fashion-mnist"; "random"), with ``threads``
    BLAS and PyTorch threads (None: each library's own default). A process of each round measures the
    machine's best GEMM rate (the roofline). ``log`` gets a line per process. Every argument is checked,
    and a bad one raises ValueError, before anything is timed. The package's docstring has an example.
    """
    nets, batch_sizes, names = _checked(nets, batch_sizes, names, rounds, examples, lr, data, threads, epochs,
                                        warmup)
    lr, warmup = float(lr), examples // 4 if warmup is None else warmup
    with limit_threads(threads):  # threadpoolctl missing: said here, before anything runs
        pass
    started, load_start = time.perf_counter(), os.getloadavg()
    skipped = {n: why for n in names if (why := available(n))}
    names = [n for n in names if n not in skipped]
    cells = [(net, b) for net in nets for b in batch_sizes]
    seconds = {(net, b, n): [] for net, b in cells for n in names}
    gemm, blas, torch_threads, torch_in, loads, throughput, processes = [], [], set(), {}, [], {}, 0
    x, y, data_name = load_data(data)
    with tempfile.TemporaryDirectory(prefix="chainrule-bench-") as folder:
        # saved once, loaded by every worker: parsing Fashion-MNIST takes longer than reading an array
        files = {"x": str(Path(folder) / "x.npy"), "y": str(Path(folder) / "y.npy")}
        np.save(files["x"], x)
        np.save(files["y"], y)
        del x, y
        common = {**files, "lr": lr, "threads": threads}
        for r in range(rounds):
            gemm.append(spawn({"kind": "peak", "threads": threads})["gflops"])
            processes += 1
            # rotate the order every round: nobody always runs right after the same neighbour
            rotated = names[r % len(names):] + names[:r % len(names)]
            for net, b in cells:
                for n in rotated:
                    job = {**common, "kind": "train", "contender": n, "net": net, "batch": b, "seed": r,
                           "examples": examples, "warmup": warmup, "epochs": epochs,
                           "inference": r == 0 and b == batch_sizes[0]}
                    res = spawn(job)
                    processes += 1
                    seconds[net, b, n].append(statistics.median(res["seconds"]))
                    if "examples_per_s" in res:
                        throughput[net, n] = res["examples_per_s"]
                    torch_in[n] = res["torch_imported"]
                    blas += [lib for lib in res["blas"] if lib not in blas and not res["torch_imported"]]
                    if "torch_threads" in res and n == "torch":
                        torch_threads.add(res["torch_threads"])
                    loads.append(res["load"])
                    log(f"round {r + 1}/{rounds}  {net:24s} batch {b:5d}  {n:9s} {seconds[net, b, n][-1]:7.3f} "
                        f"s/epoch  (load {res['load']:.1f})")
        mem = {}
        if memory:
            for n in (n for n in names if n in MEMORY_CONTENDERS):
                mem[n] = spawn({**common, "kind": "memory", "contender": n, "net": MEMORY_NET, "batch": 1000})[
                    "peak_bytes"]
                processes += 1
    peak = max(gemm)
    results = [row for net, b in cells
               for row in _cell_results(net, b, names, {n: seconds[net, b, n] for n in names}, peak)]
    needed = strictly_needed_bytes(NETS[MEMORY_NET], 1000)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {**_machine(), "blas": blas or blas_info()}, "threads": threads,
        "torch_threads": sorted(torch_threads), "data": data_name, "examples_timed": examples,
        "method": {"processes": processes, "rounds": rounds, "epochs": epochs, "warmup_examples": warmup,
                   "order": "contenders rotated every round", "torch_imported": torch_in},
        "load_average": {"start": list(load_start), "end": list(os.getloadavg()),
                         "during": [min(loads, default=math.nan), max(loads, default=math.nan)]},
        "rounds": rounds, "lr": lr, "skipped": skipped, "gemm_gflops": peak, "gemm_samples": gemm,
        "results": results,
        "inference_examples_per_s": [{"net": net, "contender": n, "batch": 1000, "examples_per_s": v}
                                     for (net, n), v in throughput.items()],
        "memory": {"net": MEMORY_NET, "batch": 1000, "peak_bytes": mem,
                   "strictly_needed_bytes": sum(needed.values()), "strictly_needed_parts": needed},
        "seconds": time.perf_counter() - started,
    }

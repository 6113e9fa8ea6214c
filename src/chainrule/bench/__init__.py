"""Seconds per training epoch, against hand-written NumPy loops, PyTorch and scikit-learn, and against
the machine's matrix-multiply limit: the library behind ``chainrule bench`` (which adds the options).

>>> from chainrule.bench import benchmark, format_report
>>> res = benchmark(["784-200tanh-10"], [100], ["numpy-opt", "fast"], rounds=1, examples=200, lr=0.05,
...                 data="random", threads=1, memory=False)
>>> "| 784-200tanh-10 | 100 | chainrule fprop/bprop |" in format_report(res)
True

One epoch is 60,000 examples of 784 float32 features and 10 classes (Fashion-MNIST
when it is on disk, random data of the same shape otherwise), for 784-200tanh-10
and 784-512relu-256relu-10 (built by ``chainrule.spec.build_mlp``) at the batch sizes
asked for, plain SGD, every contender starting from the same chainrule net's weights.

Every measurement runs in a fresh process of its own (``python -m chainrule.bench.worker``):
PyTorch's OpenMP pool and OpenBLAS's threads, alive in one process, slow each other
several-fold, and a NumPy contender's process never imports PyTorch. Each process warms
up (a quarter of the timed examples, untimed), then times whole epochs. Rounds repeat
every (net, batch, contender) process in an order rotated every round; the results give
the median over rounds and, for each ratio, the median of the per-round ratios with their
spread (min–max). Only ratios within one run mean much on a shared machine: absolute
seconds swing with whatever else it is doing. The roofline is the epoch's matrix-multiply
FLOPs at the best float32 GEMM rate measured on this machine during the run.

=================  =====================================================================
module             what
=================  =====================================================================
``nets.py``        NETS (NetSpec: a model SPEC), the initial weights, the data, EPOCH,
                   the FLOPs and bytes one epoch needs
``contenders.py``  CONTENDERS: fast, autodiff, numpy, numpy-opt, gemm, torch, sklearn; each
                   set up as a :class:`Contender`; ``available(name)``
``worker.py``      one measurement in its own process: ``run_job``, GEMM peak, memory, BLAS
``measure.py``     ``benchmark()``: the rounds of worker processes, ratios and spreads, the machine
``report.py``      LABELS, ``format_report(res)`` (Markdown tables), ``plot_bench(res, path)``
=================  =====================================================================

Imports go one way: report, measure and worker use nets and contenders; measure starts workers
by module name; nothing here imports ``chainrule.plots`` or the command line
(``chainrule.plots.plot_bench`` is this package's).
"""

from .contenders import CONTENDERS, Contender, available
from .measure import REFERENCES, benchmark, gemm_gflops, measure_memory, spawn
from .nets import EPOCH, NETS, NetSpec, build_net, epoch_flops, initial_weights, load_data, strictly_needed_bytes
from .report import LABELS, format_report, plot_bench

__all__ = ["benchmark", "format_report", "plot_bench", "available", "NETS", "CONTENDERS", "LABELS", "EPOCH",
           "Contender", "NetSpec", "build_net", "initial_weights", "load_data", "epoch_flops", "gemm_gflops",
           "strictly_needed_bytes", "measure_memory", "spawn", "REFERENCES"]

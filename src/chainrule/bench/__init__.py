"""Seconds per training epoch, against a hand-written NumPy loop, PyTorch and scikit-learn, and against
the machine's matrix-multiply limit: the library behind ``chainrule bench`` (which adds the options).

>>> from chainrule.bench import benchmark, format_report
>>> res = benchmark(["784-200tanh-10"], [100], ["numpy", "fast"], repeats=1, examples=200, lr=0.05,
...                 data="random", threads=1, memory=False)
>>> "| 784-200tanh-10 | 100 | chainrule fprop/bprop |" in format_report(res)
True

One epoch is 60,000 examples of 784 float32 features and 10 classes (Fashion-MNIST
when it is on disk, random data of the same shape otherwise), for 784-200tanh-10
and 784-512relu-256relu-10 (built by ``chainrule.spec.build_mlp``) at the batch sizes
asked for, plain SGD, every contender starting from the same chainrule net's weights.

Each epoch is cut into slices of whole batches that the NumPy-based contenders
take in turns (the order rotates every repeat); PyTorch and scikit-learn run their
epoch whole, after a pause, since their thread pools are not NumPy's. The results
give the median of the repeats and the "best" figure: each slice's fastest repeat,
summed. Only ratios within one run mean much on a shared machine: absolute seconds
swing with whatever else it is doing, and with 2 BLAS threads on 2 busy cores every
matrix product waits for both, so one BLAS thread gives the steadiest ratios. The
roofline is the epoch's matrix-multiply FLOPs at the best float32 GEMM rate measured
on this machine during the run.

=================  =====================================================================
module             what
=================  =====================================================================
``nets.py``        NETS (NetSpec: a model SPEC), the initial weights, the data, EPOCH,
                   the FLOPs and bytes one epoch needs
``contenders.py``  CONTENDERS: fast, autodiff, numpy, gemm, torch, sklearn; each set up
                   as a :class:`Contender`; ``available(name)``
``measure.py``     ``benchmark()``: timing in turns, GEMM peak, memory, the machine
``report.py``      LABELS, ``format_report(res)`` (Markdown tables), ``plot_bench(res, path)``
=================  =====================================================================

Imports go one way: report and measure use nets and contenders; nothing here imports
``chainrule.plots`` or the command line (``chainrule.plots.plot_bench`` is this package's).
"""

from .contenders import CONTENDERS, Contender, available
from .measure import benchmark, gemm_gflops, measure_memory
from .nets import EPOCH, NETS, NetSpec, build_net, epoch_flops, initial_weights, load_data, strictly_needed_bytes
from .report import LABELS, format_report, plot_bench

__all__ = ["benchmark", "format_report", "plot_bench", "available", "NETS", "CONTENDERS", "LABELS", "EPOCH",
           "Contender", "NetSpec", "build_net", "initial_weights", "load_data", "epoch_flops", "gemm_gflops",
           "strictly_needed_bytes", "measure_memory"]

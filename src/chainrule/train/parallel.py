"""Synchronous data-parallel training over a Communicator (``chainrule.distributed``): the step
of Horovod's and PyTorch DistributedDataParallel's design, arranged so that K processes compute
what one process would, up to the order of float32 sums.

- Every rank holds the whole model and draws the same permutation, so every rank has the same
  global batch; rank r takes its contiguous rows ``part(n, K)[r]`` (no padding, no duplicates).
- Random draws per example (dropout masks, shifts) are made for the whole batch on every rank
  from the shared generator (``random.batch_part``); each rank keeps its rows.
- Each rank's gradient is of its rows' mean loss; scaled by n_rank / n it becomes that rank's
  share of the whole batch's mean, and one allreduce sums the shares. The loss sum, the correct
  count and the stop signals received (a count per signal) ride in the same buffer, so every rank
  sees the same loss (and diverges at the same step) and stops after the same step, for the same
  signal.
- Validation and test figures are sums over each rank's shard, allreduced.

>>> import numpy as np, chainrule as cr
>>> from chainrule.distributed import SingleProcess
>>> clf = cr.Classifier.from_spec("4tanh", 2, ["a", "b"])
>>> parallel = DataParallel(SingleProcess(), clf.net)
>>> parallel.evaluate(clf, np.zeros((3, 2), np.float32), np.array([0, 1, 1]))["size"]
3
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any, Callable

import numpy as np

from ..autograd.ops import NonFiniteError
from ..distributed import Communicator, bcast_arrays, bcast_json, part
from ..io import CheckpointError
from ..nn import BatchNorm1d, Module
from ..optim import Optimizer
from ..random import batch_part
from .signals import STOP_SIGNALS
from .evaluation import evaluate_arrays

__all__ = ["DataParallel", "local_gradients", "read_on_rank_zero", "warned_by_rank_zero"]


def local_gradients(net: Module, criterion: Module, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """fprop, the loss and (if the loss is finite) bprop of ``net`` on (x, y); returns (loss, logits)."""
    z = net.fprop(x)
    try:
        loss = float(criterion.fprop(z, y))
    except NonFiniteError:
        loss = float("nan")
    if math.isfinite(loss):
        net.bprop(criterion.bprop(), input_grad=False)
    return loss, z


class DataParallel:
    """One training process's part in synchronous data-parallel SGD (see the module's docstring)."""

    def __init__(self, comm: Communicator, net: Module):
        if comm.size > 1:
            batch_stats = [name or type(net).__name__ for name, m in net.named_modules() if isinstance(m, BatchNorm1d)]
            if batch_stats:
                raise ValueError(f"layer {batch_stats[0]} (BatchNorm1d) normalizes with statistics of the batch: "
                                 f"across {comm.size} processes each would use only its own rows, which is not "
                                 f"what one process computes; train this network in one process")
        self.comm, self.net = comm, net
        self.params = list(net.parameters())
        bounds = np.cumsum([0] + [p.data.size for p in self.params])
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        # The gradients, then the loss sum, the correct count and the stop signals: one allreduce a step.
        self.buffer = np.empty(int(bounds[-1]) + 2 + len(STOP_SIGNALS), np.float32) if comm.size > 1 else None

    def rows(self, n: int) -> tuple[int, int]:
        """This rank's rows [lo, hi) of a batch of n."""
        return part(n, self.comm.size)[self.comm.rank]

    def step_gradients(self, criterion: Module, x: np.ndarray, y: np.ndarray,
                       signum: int | None) -> tuple[float, int, int | None]:
        """This rank's rows of the global batch (x, y) forward and backward, then the allreduce.
        Leaves every parameter's ``.grad`` equal to the gradient of the whole batch's mean loss
        on every rank; returns (the batch's loss sum, its correct count, the stop signal any rank
        received (``signum`` is this rank's), or None)."""
        n = len(y)
        lo, hi = self.rows(n)
        with batch_part(n, lo):  # dropout draws for all n rows, as one process would
            loss, z = local_gradients(self.net, criterion, x[lo:hi], y[lo:hi]) if hi > lo else \
                (0.0, self.net.fprop(x[lo:hi]))  # no rows here: still make the batch's random draws
        buffer, share = self.buffer, np.float32((hi - lo) / n)
        for p, s in zip(self.params, self.slices):
            if hi > lo and math.isfinite(loss):
                np.multiply(p.grad.reshape(-1), share, out=buffer[s])
            else:
                buffer[s] = 0
        end = len(buffer) - len(STOP_SIGNALS)
        buffer[end - 2:end] = (loss * (hi - lo), int((z.argmax(axis=1) == y[lo:hi]).sum()))
        buffer[end:] = _signal_counts(signum)
        self.comm.allreduce_sum(buffer)
        for p, s in zip(self.params, self.slices):
            if p.grad is None:
                p.grad = buffer[s].reshape(p.data.shape).copy()
            else:
                np.copyto(p.grad, buffer[s].reshape(p.data.shape))
        return float(buffer[end - 2]), int(buffer[end - 1]), _first_signal(buffer[end:])

    def stop_signal(self, signum: int | None) -> int | None:
        """The stop signal any rank received (``signum`` is this rank's, or None), the same on every rank."""
        return _first_signal(self.comm.allreduce_sum(_signal_counts(signum)))

    def evaluate(self, model, x: np.ndarray, y: np.ndarray, predictions: bool = False) -> dict[str, Any]:
        """``evaluate_arrays`` of (x, y) from each rank's shard, summed over ranks; with ``predictions``,
        every rank gets all of them (zeros elsewhere than its shard, summed)."""
        if self.comm.size == 1:
            return evaluate_arrays(model, x, y)
        lo, hi = self.rows(len(y))
        mine = evaluate_arrays(model, x[lo:hi], y[lo:hi])
        sums = self.comm.allreduce_sum(np.array([mine["loss"] * mine["size"] if mine["size"] else 0.0,
                                                 mine["errors"], mine["size"]], np.float64))
        size, errors = int(sums[2]), int(sums[1])
        result = {"loss": float(sums[0] / size) if size else float("nan"),
                  "accuracy": 1 - errors / size if size else float("nan"), "errors": errors, "size": size,
                  "predictions": np.zeros(0, np.int64)}
        if predictions:
            every = np.zeros(len(y), np.int64)
            every[lo:hi] = mine["predictions"]
            result["predictions"] = self.comm.allreduce_sum(every)
        return result

    def broadcast(self, optimizer: Optimizer) -> None:
        """Rank 0's parameters, buffers and optimizer state on every rank (at the start and on resume:
        replicas never start apart, whatever each process built)."""
        if self.comm.size == 1:
            return
        self.net.load_state_dict(bcast_arrays(self.comm, self.net.state_dict()))
        state = optimizer.state_dict()
        flat = {f"{i}.{k}": v for i, buffers in state["state"].items() for k, v in buffers.items()}
        flat = bcast_arrays(self.comm, flat)
        buffers: dict[str, dict[str, np.ndarray]] = {}
        for key, value in flat.items():
            i, name = key.split(".", 1)
            buffers.setdefault(i, {})[name] = value
        optimizer.load_state_dict({"state": buffers, "param_groups": state["param_groups"]})


def read_on_rank_zero(comm: Communicator, read: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]]
                      ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``read()`` (a file's arrays and metadata) on rank 0 only, its result on every rank; a
    CheckpointError there is raised on every rank (its ``every_process`` set: rank 0 reports it). Only
    rank 0 needs the run folder."""
    if comm.size == 1:
        return read()
    if comm.rank == 0:
        try:
            arrays, info = read()
        except CheckpointError as e:
            bcast_json(comm, {"error": str(e)})
            e.every_process = True  # every process raises it: rank 0 alone reports it
            raise
        bcast_json(comm, {"info": info})
        return bcast_arrays(comm, arrays), info
    message = bcast_json(comm)
    if "error" in message:
        error = CheckpointError(message["error"])
        error.every_process = True
        raise error
    return bcast_arrays(comm), message["info"]


def _signal_counts(signum: int | None) -> np.ndarray:
    return np.array([signum == s for s in STOP_SIGNALS], np.float32)


def _first_signal(counts: np.ndarray) -> int | None:
    """The first of STOP_SIGNALS some rank received (SIGINT before SIGTERM before SIGHUP)."""
    return next((int(s) for s, n in zip(STOP_SIGNALS, counts) if n > 0), None)


@contextlib.contextmanager
def warned_by_rank_zero(comm: Communicator):
    """Warnings inside are shown by rank 0 only (every rank computes the same findings)."""
    with warnings.catch_warnings():
        if comm.rank != 0:
            warnings.simplefilter("ignore")
        yield

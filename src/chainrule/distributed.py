"""Data-parallel training's one seam: ``rank``, ``size``, ``allreduce_sum``, ``bcast``.

Two communicators have it: ``SingleProcess`` (one process; every call is the identity) and
``MPICommunicator`` (mpi4py's ``COMM_WORLD``, whose buffer methods ``Allreduce`` and ``Bcast``
move NumPy arrays without pickling). The Trainer is written once against the seam.
``world()`` picks one: MPI when this process was started by ``mpirun``/``mpiexec`` with more
than one process, else SingleProcess, and then mpi4py is never imported.

>>> comm = world()        # not under mpirun: the trivial communicator
>>> comm.rank, comm.size
(0, 1)
>>> import numpy as np
>>> comm.allreduce_sum(np.array([1.5, 2.0], np.float32))
array([1.5, 2. ], dtype=float32)
>>> part(10, 3)           # rows of a batch of 10 for each of 3 processes: contiguous, sizes 4, 3, 3
[(0, 4), (4, 7), (7, 10)]
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np

__all__ = ["Communicator", "SingleProcess", "MPICommunicator", "world", "started", "launched_size", "part", "bcast_json",
           "bcast_arrays"]

# The world size a launcher gives its processes: Open MPI's mpirun, then MPICH's and Intel MPI's (PMI).
SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


class Communicator:
    """What data-parallel training needs from a group of processes. Every method is collective:
    all ranks call it, in the same order, with arrays of the same shape and dtype."""

    rank: int = 0
    size: int = 1

    def allreduce_sum(self, array: np.ndarray) -> np.ndarray:
        """Replace ``array`` (contiguous) by its sum over all ranks, in place; returns it."""
        raise NotImplementedError

    def bcast(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        """Replace ``array`` (contiguous) by root's, in place; returns it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class SingleProcess(Communicator):
    """One process: the sum of one array is itself; a broadcast changes nothing."""

    def allreduce_sum(self, array: np.ndarray) -> np.ndarray:
        return array

    def bcast(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        return array


class MPICommunicator(Communicator):
    """MPI's COMM_WORLD through mpi4py (the ``mpi`` extra). Creating one also makes an uncaught
    exception on any rank stop the whole job (as ``python -m mpi4py`` does) instead of leaving
    the other ranks waiting for it forever."""

    def __init__(self):
        from mpi4py import MPI  # the optional extra, imported only under mpirun

        self._mpi = MPI
        self._comm = MPI.COMM_WORLD
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()
        if self.size > 1:
            _stop_job_on_uncaught_exception(self)

    def allreduce_sum(self, array: np.ndarray) -> np.ndarray:
        self._comm.Allreduce(self._mpi.IN_PLACE, _contiguous(array), op=self._mpi.SUM)
        return array

    def bcast(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        self._comm.Bcast(_contiguous(array), root=root)
        return array

    def fail(self, message: str, status: int = 1) -> None:
        """Stop this process at once with ``status`` after printing ``message`` (if any) on stderr.
        The launcher then stops the other ranks, which may be waiting for this one."""
        # os._exit, not sys.exit: sys.exit would run MPI_Finalize, which waits for every rank,
        # and the others may be waiting for this one. Open MPI's mpirun ends the job when a
        # process exits with a non-zero status, and exits with that status.
        try:
            if message:
                print(message, file=sys.stderr, flush=True)
            sys.stdout.flush()
        finally:
            os._exit(status)


def _contiguous(array: np.ndarray) -> np.ndarray:
    if not array.flags.c_contiguous:
        raise ValueError(f"communicator: arrays must be C-contiguous (shape {array.shape}, strides {array.strides})")
    return array


def _stop_job_on_uncaught_exception(comm: MPICommunicator) -> None:
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        comm.fail(f"chainrule: rank {comm.rank} of {comm.size} stopped by {kind.__name__}; stopping every rank")

    sys.excepthook = hook


def launched_size(environ: dict[str, str] | None = None) -> int:
    """How many processes the MPI launcher started (1 when not started by one).

    >>> launched_size({"OMPI_COMM_WORLD_SIZE": "4"}), launched_size({})
    (4, 1)
    """
    environ = os.environ if environ is None else environ
    for name in SIZE_VARIABLES:
        if name in environ:
            try:
                return max(1, int(environ[name]))
            except ValueError:
                pass
    return 1


_world: list[Communicator] = []


def started() -> Communicator | None:
    """The communicator world() made in this process, or None if it was never asked for."""
    return _world[0] if _world else None


def world() -> Communicator:
    """This job's communicator: MPICommunicator when mpirun started more than one process,
    else SingleProcess (mpi4py is not imported). Made once per process.

    Raises ModuleNotFoundError (naming the ``mpi`` extra) under mpirun without mpi4py.
    """
    if not _world:
        if launched_size() > 1:
            try:
                _world.append(MPICommunicator())
            except ModuleNotFoundError as e:
                if e.name != "mpi4py":
                    raise
                raise ModuleNotFoundError(f"this process was started by mpirun with {launched_size()} processes, "
                                          f"and training across processes needs mpi4py: pip install "
                                          f"'chainrule[mpi]'", name="mpi4py") from None
        else:
            _world.append(SingleProcess())
    return _world[0]


def part(n: int, size: int) -> list[tuple[int, int]]:
    """Rows [lo, hi) of a batch of n for each of ``size`` ranks: contiguous, in rank order, sizes
    differing by at most one (the first n % size ranks take one more); a rank may get none.

    >>> part(3, 4)
    [(0, 1), (1, 2), (2, 3), (3, 3)]
    """
    base, extra = divmod(n, size)
    bounds = np.cumsum([0] + [base + (r < extra) for r in range(size)])
    return [(int(bounds[r]), int(bounds[r + 1])) for r in range(size)]


def bcast_json(comm: Communicator, value: Any = None, root: int = 0) -> Any:
    """Root's ``value`` (JSON-able) on every rank: sent as UTF-8 bytes, never pickled."""
    if comm.size == 1:
        return value
    data = json.dumps(value).encode() if comm.rank == root else b""
    length = comm.bcast(np.array([len(data)], np.int64), root)[0]
    buffer = np.frombuffer(data, np.uint8).copy() if comm.rank == root else np.empty(int(length), np.uint8)
    return json.loads(comm.bcast(buffer, root).tobytes().decode())


def bcast_arrays(comm: Communicator, arrays: dict[str, np.ndarray] | None = None,
                 root: int = 0) -> dict[str, np.ndarray]:
    """Root's dict of arrays on every rank (names, shapes and dtypes as JSON, then each buffer)."""
    if comm.size == 1:
        return arrays
    layout = bcast_json(comm, None if comm.rank != root else
                        [[k, list(v.shape), v.dtype.str] for k, v in arrays.items()], root)
    out = {}
    for name, shape, dtype in layout:
        # np.array, not np.ascontiguousarray: that gives a 0-d array (Adam's step) the shape (1,)
        buffer = np.array(arrays[name], order="C") if comm.rank == root else np.empty(shape, np.dtype(dtype))
        out[name] = comm.bcast(buffer, root)
    return out


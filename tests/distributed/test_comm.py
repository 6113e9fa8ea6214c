"""The communicator seam in one process: part, SingleProcess, launched_size, world() without
mpirun, the broadcast helpers' protocol, and dropout drawn for the whole batch (batch_part)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import distributed
from chainrule.distributed import (Communicator, SingleProcess, bcast_arrays, bcast_json, launched_size, part)
from chainrule.random import batch_part, manual_seed
from chainrule.train.parallel import DataParallel


@given(st.integers(0, 5000), st.integers(1, 70))
def test_part_covers_the_batch_in_rank_order_with_sizes_within_one(n, size):
    bounds = part(n, size)
    assert len(bounds) == size
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    for (_, hi), (lo, _) in zip(bounds, bounds[1:]):
        assert hi == lo  # contiguous: each rank starts where the one before it stopped
    sizes = [hi - lo for lo, hi in bounds]
    assert min(sizes) >= 0 and max(sizes) - min(sizes) <= 1
    # the first n % size ranks take the extra row, so sizes never grow with the rank
    assert sizes == [n // size + (r < n % size) for r in range(size)]
    assert all(isinstance(v, int) for b in bounds for v in b)


def test_part_gives_ranks_beyond_the_batch_no_rows():
    assert part(2, 4) == [(0, 1), (1, 2), (2, 2), (2, 2)]
    assert part(0, 3) == [(0, 0)] * 3
    assert part(17, 4) == [(0, 5), (5, 9), (9, 13), (13, 17)]


def test_single_process_is_the_identity():
    comm = SingleProcess()
    assert isinstance(comm, Communicator) and (comm.rank, comm.size) == (0, 1)
    a = np.array([[1.5, -2.0], [3.0, 0.25]], np.float32)
    before = a.copy()
    assert comm.allreduce_sum(a) is a and comm.bcast(a) is a and comm.bcast(a, root=0) is a
    assert a.dtype == np.float32 and np.array_equal(a, before)
    assert repr(comm) == "SingleProcess(rank=0, size=1)"


@pytest.mark.parametrize("environ, size", [
    ({}, 1),
    ({"OMPI_COMM_WORLD_SIZE": "4"}, 4),
    ({"PMI_SIZE": "3"}, 3),
    ({"OMPI_COMM_WORLD_SIZE": "2", "PMI_SIZE": "8"}, 2),  # Open MPI's variable first
    ({"OMPI_COMM_WORLD_SIZE": "1"}, 1),
    ({"OMPI_COMM_WORLD_SIZE": "0"}, 1),
    ({"OMPI_COMM_WORLD_SIZE": "many", "PMI_SIZE": "2"}, 2),  # not a number: the next launcher's
    ({"PMI_SIZE": ""}, 1),
    ({"PATH": "/usr/bin"}, 1),
])
def test_launched_size_reads_the_launchers_variables(environ, size):
    assert launched_size(environ) == size


def python(code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter without any launcher's variables; its last stdout line as JSON."""
    environ = {k: v for k, v in os.environ.items() if k not in distributed.SIZE_VARIABLES and not k.startswith("OMPI_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**environ, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_world_outside_mpirun_is_single_process_and_never_imports_mpi4py():
    seen = python(
        "import json, sys\n"
        "import chainrule, chainrule.train, chainrule.cli\n"
        "after_import = 'mpi4py' in sys.modules\n"
        "from chainrule import distributed\n"
        "before = distributed.started()\n"
        "comm = distributed.world()\n"
        "print(json.dumps([after_import, before is None, type(comm).__name__, comm.rank, comm.size,\n"
        "                  distributed.world() is comm, distributed.started() is comm, 'mpi4py' in sys.modules]))\n")
    assert seen == [False, True, "SingleProcess", 0, 1, True, True, False]


def test_world_of_one_launched_process_does_not_import_mpi4py():
    seen = python("import json, sys\nfrom chainrule import distributed\ncomm = distributed.world()\n"
                  "print(json.dumps([type(comm).__name__, 'mpi4py' in sys.modules]))", OMPI_COMM_WORLD_SIZE="1")
    assert seen == ["SingleProcess", False]


def test_world_under_a_launcher_without_mpi4py_names_the_extra():
    # None in sys.modules makes ``import mpi4py`` fail as if it were not installed
    seen = python(
        "import json, sys\nsys.modules['mpi4py'] = None\nfrom chainrule import distributed\n"
        "try:\n    distributed.world()\nexcept ModuleNotFoundError as e:\n"
        "    print(json.dumps([str(e), e.name, distributed.started() is None]))\n", OMPI_COMM_WORLD_SIZE="2")
    message, name, none_started = seen
    assert name == "mpi4py" and none_started
    assert "2 processes" in message and "chainrule[mpi]" in message and "\n" not in message


def test_the_broadcast_helpers_return_the_value_itself_in_one_process():
    comm = SingleProcess()
    value = {"epoch": 3, "names": ["a", "b"], "lr": 0.5}
    assert bcast_json(comm, value) is value
    arrays = {"w": np.ones((2, 3), np.float32), "step": np.array([7], np.int64)}
    assert bcast_arrays(comm, arrays) is arrays


class Recorder(Communicator):
    """Rank 0 of two: every broadcast is kept (copied), as what the other rank would receive."""

    rank, size = 0, 2

    def __init__(self):
        self.sent = []

    def bcast(self, array, root=0):
        self.sent.append(array.copy())
        return array


class Replayer(Communicator):
    """Rank 1 of two: each broadcast receives, in order, what a Recorder kept; buffers must match."""

    rank, size = 1, 2

    def __init__(self, sent):
        self.sent = list(sent)

    def bcast(self, array, root=0):
        message = self.sent.pop(0)
        assert array.shape == message.shape and array.dtype == message.dtype and array.flags.c_contiguous
        array[...] = message
        return array


def test_bcast_json_and_arrays_carry_roots_values_to_another_rank():
    value = {"epoch": 3, "names": ["α", "b"], "lr": 0.5, "none": None}
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not contiguous at root
              "b": np.array([-1.5], np.float32), "step": np.array([7, 8], np.int64), "empty": np.zeros((0, 4), np.float32),
              "count": np.array(5, np.int64)}  # 0-d, as Adam's step count
    root = Recorder()
    assert bcast_json(root, value) == value
    kept = bcast_arrays(root, arrays)
    assert kept is not arrays and list(kept) == list(arrays)
    for name, a in arrays.items():  # the root keeps its arrays as they were, shapes too
        assert kept[name].dtype == a.dtype and kept[name].shape == a.shape and np.array_equal(kept[name], a)
    other = Replayer(root.sent)
    assert bcast_json(other, "ignored on rank 1") == value
    got = bcast_arrays(other)
    assert not other.sent  # every message used, in order
    assert list(got) == list(arrays)
    for name, a in arrays.items():
        assert got[name].dtype == a.dtype and got[name].shape == a.shape and np.array_equal(got[name], a)
    assert all(m.dtype in (np.int64, np.uint8, np.float32) for m in root.sent)  # bytes and buffers, never pickles


def dropout_rows(x, p, seed, total=None, start=0):
    layer = cr.nn.Dropout(p)
    layer.train()
    manual_seed(seed)
    if total is None:
        return layer(cr.Tensor(x)).numpy()
    with batch_part(total, start):
        return layer(cr.Tensor(x)).numpy()


@pytest.mark.parametrize("n, size", [(64, 2), (17, 4), (13, 3), (3, 4), (1, 2), (10, 1)])
def test_dropout_on_a_ranks_rows_equals_those_rows_of_the_whole_batch(n, size):
    x = np.random.default_rng(1).normal(size=(n, 32)).astype(np.float32) + 2  # no zeros: dropped means 0
    whole = dropout_rows(x, 0.3, seed=5)
    assert (whole == 0).any() and (whole != 0).any()
    for lo, hi in part(n, size):
        rows = dropout_rows(x[lo:hi], 0.3, seed=5, total=n, start=lo)
        assert rows.shape == (hi - lo, 32) and rows.dtype == np.float32
        np.testing.assert_array_equal(rows, whole[lo:hi])


def test_without_batch_part_a_later_ranks_mask_differs():
    # the control: a rank that drew only its own rows would not match one process
    x = np.ones((64, 32), np.float32)
    whole = dropout_rows(x, 0.5, seed=5)
    lo, hi = part(64, 2)[1]
    assert not np.array_equal(dropout_rows(x[lo:hi], 0.5, seed=5), whole[lo:hi])


def test_the_module_path_draws_the_same_rows():
    # fprop/bprop (the Trainer's fast path) uses the same draw: mask and gradient match the whole batch's rows
    x = np.full((9, 5), 2.0, np.float32)
    g = np.arange(45, dtype=np.float32).reshape(9, 5)
    layer = cr.nn.Dropout(0.5)
    layer.train()
    manual_seed(2)
    whole, whole_g = layer.fprop(x), layer.bprop(g)
    for lo, hi in part(9, 4):
        manual_seed(2)
        with batch_part(9, lo):
            np.testing.assert_array_equal(layer.fprop(x[lo:hi]), whole[lo:hi])
        np.testing.assert_array_equal(layer.bprop(g[lo:hi]), whole_g[lo:hi])


def test_batchnorm_is_refused_across_processes_and_allowed_in_one():
    class TwoProcesses(Communicator):  # never reduces anything: the refusal comes first
        rank, size = 0, 2

    net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.BatchNorm1d(8), cr.nn.ReLU(), cr.nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"layer 1 \(BatchNorm1d\) normalizes with statistics of the batch"):
        DataParallel(TwoProcesses(), net)
    DataParallel(SingleProcess(), net)  # one process: nothing to refuse

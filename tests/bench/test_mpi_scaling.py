"""benchmarks/mpi_scaling.py: the scaling model's arithmetic, and its allreduce timing under mpirun."""

from __future__ import annotations

import doctest
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "mpi_scaling.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("mpi_scaling_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_examples_in_the_script_hold(script):
    assert doctest.testmod(script).failed == 0


def test_the_parameter_counts_are_those_of_the_nets_chainrule_builds(script):
    import chainrule as cr

    for spec, sizes in script.NETS.items():
        model = cr.Classifier.from_spec(spec, sizes[0], [str(c) for c in range(sizes[-1])])
        assert script.parameters(sizes) == sum(p.data.size for p in model.net.parameters()), spec


def test_the_ring_model_sends_twice_the_buffer_as_k_grows_and_pays_latency_per_message(script):
    numbers, alpha, bandwidth = 10**6, 5e-6, 1e9
    # bandwidth part: 2(K-1)/K of 4 MB; latency part: 2(K-1) messages
    assert script.ring_allreduce(numbers, 4, alpha, bandwidth) == pytest.approx(6 * alpha + 1.5 * 4e6 / bandwidth)
    assert script.ring_allreduce(numbers, 1000, 0.0, bandwidth) == pytest.approx(2 * 4e6 / bandwidth, rel=1e-2)
    # the speedup approaches K as the allreduce gets cheap, and stays below it
    assert script.speedup(0.03, numbers, 8, alpha, 1e15) == pytest.approx(8 / (1 + 8 * 14 * alpha / 0.03), rel=1e-4)
    assert script.speedup(0.03, numbers, 8, alpha, bandwidth) < script.speedup(0.03, numbers, 8, alpha, 10 * bandwidth) < 8


def test_the_allreduce_part_runs_under_mpirun_and_times_every_size(tmp_path):
    pytest.importorskip("mpi4py")
    mpirun = shutil.which("mpirun", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    if mpirun is None:
        pytest.skip("no mpirun")
    command = [mpirun, "-n", "2", *(["--allow-run-as-root"] if os.geteuid() == 0 else []), sys.executable,
               str(SCRIPT), "--allreduce", "--sizes", "3,1000", "--repeats", "20", "--seconds", "0.05"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()  # rank 0 alone prints
    result = json.loads(line)
    assert result["k"] == 2 and [row["numbers"] for row in result["rows"]] == [3, 1000]
    assert all(10 <= row["repeats"] <= 20 and 0 < row["p10"] <= row["median"] <= row["p90"] for row in result["rows"])
    assert "Open MPI" in result["mpi"] or "MPICH" in result["mpi"]

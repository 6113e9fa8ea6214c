"""benchmarks/targets.py: the speed and memory goals, checked against a bench result."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("targets_script", ROOT / "benchmarks" / "targets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_missed_pytorch_target_reports_what_the_floors_alone_take(script):
    row = dict(net="784-200tanh-10", batch=32, x_roofline=3.0)
    res = {"machine": {},
           "results": [dict(row, contender="fast-fold", x_torch=0.8),
                       dict(row, contender="fast", x_torch=0.8, x_numpy_opt=1.05),
                       dict(row, contender="numpy-opt", x_torch=0.76, x_numpy_opt=1.0),
                       dict(row, contender="gemm", x_torch=0.5, x_numpy_opt=0.6)],
           "memory": {"strictly_needed_bytes": 1, "peak_bytes": {}}}
    checks = script.targets(res)
    assert ("784-200tanh-10 b32: fast <= 1.1x numpy-opt", True, "1.05x") in checks
    # the folded update's goal at batch 32 is 0.6x, the unfolded path's 0.8x
    assert ("784-200tanh-10 b32: fast-fold <= 0.6x torch", False,
            "0.80x (optimized NumPy 0.76x, GEMMs alone 0.50x)") in checks
    assert ("784-200tanh-10 b32: fast <= 0.8x torch", True, "0.80x") in checks


def test_an_older_result_is_checked_against_the_straightforward_loop(script):
    res = {"results": [dict(net="784-200tanh-10", batch=100, contender="autodiff", x_numpy=1.2, x_torch=0.9)],
           "memory": {"strictly_needed_bytes": 1, "peak_bytes": {}}}
    assert script.targets(res) == [("784-200tanh-10 b100: autodiff <= 1.5x numpy", True, "1.20x")]


def test_the_script_prints_the_targets_of_a_saved_result_and_says_whether_all_are_met(script, tmp_path, capsys):
    saved = sorted((ROOT / "benchmarks" / "results").glob("bench-*.json"))
    assert saved, "benchmarks/results holds the runs the README quotes"
    res = json.loads(saved[-1].read_text())
    code = script.main([str(saved[-1])])
    out = capsys.readouterr().out
    checks = script.targets(res)
    assert checks and "| target | measured | met |" in out
    assert code == (0 if all(ok for _, ok, _ in checks) else 1)
    assert all(what in out for what, _, _ in checks)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert script.main([str(broken)]) == 2 and "broken.json" in capsys.readouterr().err

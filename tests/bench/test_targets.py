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


def test_a_missed_pytorch_target_reports_what_the_matrix_products_alone_take(script):
    row = dict(net="n", batch=32, x_numpy=1.0, x_roofline=3.0)
    res = {"results": [dict(row, contender="fast", x_torch=0.8), dict(row, contender="gemm", x_torch=0.5)],
           "memory": {"strictly_needed_bytes": 1, "peak_bytes": {}}}
    (what, met, figure), = [t for t in script.targets(res) if "torch" in t[0]]
    assert (what, met, figure) == ("n b32: fast <= 0.6x torch", False, "0.80x (GEMMs alone 0.50x)")


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

"""Every script in examples/ is a runnable, documented teaching example with its own test."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_every_lecture_example_is_there():
    assert {p.stem for p in SCRIPTS} >= {"xor", "computational_graph", "neuron_types", "templates",
                                         "four_vs_rest", "regression", "exercise_loop", "vanishing_gradients",
                                         "init_scale"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_each_example_says_what_it_reproduces_and_has_a_test(script):
    tree = ast.parse(script.read_text())
    doc = ast.get_docstring(tree)
    assert doc and re.search(r"00[0-4]_\*", doc), f"{script.name}: the docstring should name its seed (000_* .. 004_*)"
    assert "What to look at" in doc, f"{script.name}: the docstring should say what to look at"
    assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), f"{script.name}: no main()"
    assert (Path(__file__).parent / f"test_{script.stem}.py").exists(), f"{script.name} has no test"


def test_an_example_runs_as_a_script(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / "computational_graph.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "f = q · z     Mul      -12.0000     1.0000" in done.stdout
    assert (tmp_path / "sum_times.dot").exists()

"""benchmark() checks its arguments before timing anything, and the package stays a library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chainrule import bench
from chainrule.bench import measure

GOOD = dict(nets=["784-200tanh-10"], batch_sizes=[100], names=["numpy"], rounds=1, examples=200, lr=0.05,
            data="random", threads=None)


@pytest.mark.parametrize("change,message", [
    (dict(rounds=0), "rounds must be at least 1, got 0"),
    (dict(epochs=0), "epochs must be at least 1, got 0"),
    (dict(warmup=-1), "warmup must be in 0..60,000, got -1"),
    (dict(examples=0), "examples must be in 1..60,000, got 0"),
    (dict(examples=60_001), "examples must be in 1..60,000, got 60001"),
    (dict(batch_sizes=[32, 0]), "batch_sizes must be at least 1, got 0"),
    (dict(batch_sizes=[]), "batch_sizes must be a non-empty list"),
    (dict(threads=0), "threads must be at least 1, got 0"),
    (dict(threads=1.5), "threads must be at least 1, got 1.5"),
    (dict(lr=-1), "lr must be a positive number, got -1"),
    (dict(lr=float("nan")), "lr must be a positive number, got nan"),
    (dict(data="mnist"), "data must be one of auto, fashion-mnist, random, got 'mnist'"),
    (dict(nets=["784-1-10"]), "nets must be among 784-200tanh-10, 784-512relu-256relu-10, got '784-1-10'"),
    (dict(nets="784-200tanh-10"), "nets must be a list"),
    (dict(names=[]), "names must not be empty"),
    (dict(names=["numpy", "jax"]),
     "names must be among fast, autodiff, numpy, numpy-opt, gemm, torch, sklearn, got 'jax'"),
])
def test_a_bad_argument_is_named_before_anything_is_timed(monkeypatch, change, message):
    def untouched(*args, **kwargs):
        raise AssertionError("data loaded before the arguments were checked")

    monkeypatch.setattr(measure, "load_data", untouched)
    with pytest.raises(ValueError) as e:
        bench.benchmark(**{**GOOD, **change})
    assert str(e.value).startswith(message) and "--" not in str(e.value) and "\n" not in str(e.value)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_the_package_imports_no_argparse_no_command_line_and_no_plots():
    """The command line is built on bench, and chainrule.plots reaches into bench: neither the other way round."""
    folder = Path(bench.__file__).parent
    for path in folder.glob("*.py"):
        imported = _imports(path)
        assert not {n for n in imported if n.split(".")[0] == "argparse" or n.lstrip(".").split(".")[0] in
                    ("cli", "plots", "_parser", "train", "tune") or n.startswith("chainrule.")}, (path.name, imported)

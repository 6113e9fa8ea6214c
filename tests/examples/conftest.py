"""Load the scripts in examples/ as modules, so each test can call ``main(argv)``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str):
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"chainrule_examples.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def example():
    """example("xor") -> the examples/xor.py module."""
    return load_example


@pytest.fixture(scope="session")
def run_example(tmp_path_factory):
    """run_example("xor", "--seed", "0") -> the dict main() returns, pictures in a fresh folder.

    Each (name, arguments) runs once per session; tests share the result (read it, don't change it).
    """
    done: dict[tuple[str, ...], dict] = {}

    def run(name: str, *args: str) -> dict:
        key = (name, *args)
        if key not in done:
            out = tmp_path_factory.mktemp(name)
            done[key] = load_example(name).main([*args, "--out", str(out)])
        return done[key]

    return run

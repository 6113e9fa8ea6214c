"""``import chainrule``: the subpackages are attributes, and the optional extras stay unimported."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import chainrule as cr

EXTRAS = ("matplotlib", "tqdm", "torch", "sklearn", "graphviz", "PIL", "threadpoolctl", "onnx", "onnxruntime", "selenium")


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_chainrule_loads_no_optional_extra():
    code = (
        "import sys, chainrule as cr\n"
        f"print(sorted(m for m in {EXTRAS!r} if m in sys.modules))\n"
        "cr.nn, cr.optim, cr.data, cr.viz, cr.autograd\n"
        f"print(sorted(m for m in {EXTRAS!r} if m in sys.modules))\n"
    )
    assert _run(code).splitlines() == ["[]", "[]"]


def test_viz_is_an_attribute_after_a_plain_import():
    code = (
        "import chainrule as cr\n"
        "x = cr.tensor(2.0, requires_grad=True)\n"
        "print(cr.viz.graph(x * x).splitlines()[0])\n"
    )
    assert _run(code) == "digraph G {"


@pytest.mark.parametrize("name", ["autograd", "nn", "optim", "data", "viz"])
def test_subpackage_is_an_attribute(name):
    module = getattr(cr, name)
    assert isinstance(module, types.ModuleType) and module.__name__ == f"chainrule.{name}"
    assert name in dir(cr)


@pytest.mark.parametrize("name", sorted(cr._SUBMODULES))
def test_every_public_module_is_reachable(name):
    module = getattr(cr, name)
    assert isinstance(module, types.ModuleType) and module.__name__ == f"chainrule.{name}"


def test_gradcheck_stays_the_function():
    assert callable(cr.gradcheck) and not isinstance(cr.gradcheck, types.ModuleType)
    assert cr.gradcheck is sys.modules["chainrule.gradcheck"].gradcheck


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        cr.nonexistent  # noqa: B018

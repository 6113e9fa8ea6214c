"""chainrule.data stands alone: NumPy and the standard library; Pillow only inside the image reader (inputs.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import chainrule.data as data

SOURCES = sorted(Path(data.__file__).parent.glob("*.py"))
LAZY = {"PIL": "inputs.py"}  # optional library: the one module that may import it


def test_public_names_exist():
    assert sorted(data.__all__) == sorted(set(data.__all__))
    for name in data.__all__:
        obj = getattr(data, name)
        assert name in ("DATASETS", "USER_FILE_SUFFIXES") or obj.__module__.startswith("chainrule.data")


def test_imports_only_numpy_stdlib_and_itself():
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside chainrule.data
                    continue
                top = node.module.split(".")[0]
            elif isinstance(node, ast.Import):
                top = node.names[0].name.split(".")[0]
            else:
                continue
            if top in LAZY:
                continue  # checked below: only inside a function, in its one module
            assert top in ("numpy", "__future__") or top in sys.stdlib_module_names, f"{path.name}: {top}"
            assert top != "pickle", path.name
    # the optional libraries appear only inside a function body, never at module level, and each in one module
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                assert not any(f"'{top}" in ast.dump(node) for top in LAZY), path.name
        for top, home in LAZY.items():
            if path.name != home:
                assert f"import {top}" not in path.read_text() and f"from {top}" not in path.read_text(), path.name


def test_array_readers_never_allow_pickle():
    """np.load and numpy.lib.format.read_array, wherever called, say allow_pickle=False; NpzReader
    (files.py) reads .npy headers itself and refuses object arrays (test_user_files.py)."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "load", "read_array"):
                if isinstance(node.func.value, ast.Name) and node.func.value.id == "np" or node.func.attr == "read_array":
                    kw = {k.arg: k.value for k in node.keywords}
                    assert isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False

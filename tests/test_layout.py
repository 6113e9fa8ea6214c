"""The package's shape, as ../shared/DESIGN.md draws it: small modules, imports that flow one way
(cli -> train/tune/bench -> model -> nn/optim -> autograd; data, io and rundir below), argparse and
--flags only in the command line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import chainrule

ROOT = Path(chainrule.__file__).parent
MAX_LINES = 500
LONG_ON_PURPOSE = {"autograd/ops.py"}  # the op catalogue: every op's forward and backward, side by side

# A module may import modules of a lower rank, and any module of its own top-level package.
RANK = {
    "version": 0, "random": 0, "dtypes": 0, "atomic": 0, "threads": 0, "schema": 0, "extras": 0, "distributed": 0,
    "autograd": 1, "data": 1, "progress": 1,
    "gradcheck": 2, "io": 2, "viz": 2,
    "nn": 3, "rundir": 3,  # nn: Module.check runs gradcheck's Jacobian check
    "optim": 4, "spec": 4,
    "model": 5, "diagnostics": 5,
    "train": 6, "bench": 6,
    "tune": 7, "plots": 7, "diagnose": 7, "interop": 7, "sklearn": 7,
    "board": 8,
    "cli": 9,
    "__main__": 10, "": 10,  # "": the package's __init__, which re-exports
}


def _modules() -> dict[str, Path]:
    """Dotted names below chainrule ("" for the package itself, "train" for train/__init__.py) -> file."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, top_level_only: bool) -> set[str]:
    """The chainrule modules `name` imports (module level only, or anywhere in the file)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module.startswith("chainrule"):
                target = node.module.partition(".")[2]
            else:
                continue
            subs = {f"{target}.{a.name}".lstrip(".") for a in node.names} & MODULES.keys()
            if len(subs) < len(node.names) and target in MODULES:
                found.add(target)  # a name defined in the module itself
            found |= subs
        elif isinstance(node, ast.Import):
            found |= {a.name.partition(".")[2] for a in node.names if a.name.startswith("chainrule.")} & MODULES.keys()
    found.discard(name)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def test_every_module_is_short_except_the_op_catalogue():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values()
            if (n := len(p.read_text().splitlines())) >= MAX_LINES and str(p.relative_to(ROOT)) not in LONG_ON_PURPOSE}
    assert not long, f"modules of {MAX_LINES} lines or more: {long}"


def test_every_module_has_a_rank():
    assert {_top(m) for m in MODULES} <= RANK.keys()


def test_imports_flow_one_way():
    wrong = []
    for name, path in MODULES.items():
        for dep in _imports(name, path, top_level_only=False):
            if _top(dep) != _top(name) and RANK[_top(dep)] >= RANK[_top(name)]:
                wrong.append(f"{name or 'chainrule'} imports {dep}")
    assert not wrong, wrong


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_cycle_at_module_level():
    graph = {name: _imports(name, path, top_level_only=True) for name, path in MODULES.items()}
    assert not _cycles(graph)


def test_the_cycle_check_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}, "f": set()}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["e", "e2"]]
    assert _imports("tune", MODULES["tune"], top_level_only=True) >= {"train", "data"}


def test_argparse_and_exit_codes_only_in_the_command_line():
    for name, path in MODULES.items():
        if _top(name) in ("cli", "__main__"):
            continue
        text = path.read_text()
        assert "import argparse" not in text, name
        assert not re.search(r"\bsys\.exit\(", text), name


def _message_strings(tree: ast.AST):
    """The string pieces of what `raise` and `warnings.warn` say."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "warn":
            target = node
        else:
            continue
        for piece in ast.walk(target):
            if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                yield piece.value


def test_the_library_names_fields_not_flags():
    flag = re.compile(r"(?<![\w-])--[a-z]")
    said = {name: [s for s in _message_strings(ast.parse(path.read_text())) if flag.search(s)]
            for name, path in MODULES.items() if _top(name) not in ("cli", "__main__")}
    assert not {k: v for k, v in said.items() if v}


def test_the_flag_check_would_catch_a_flag():
    tree = ast.parse('raise ValueError(f"--lr must be a positive number, got {lr}")')
    assert any("--lr" in s for s in _message_strings(tree))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_names_used_across_packages(name: str, path: Path) -> list[str]:
    """`from ..x import _name` and `module._name` where x or module lies in another top-level package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    modules, wrong = {}, []  # local name -> the chainrule module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{target}.{a.name}".lstrip(".")
                if sub in MODULES:
                    modules[a.asname or a.name] = sub
                elif _private(a.name) and _top(target) != _top(name):
                    wrong.append(f"{name} imports {a.name} from {target}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                and node.value.id in modules and _top(modules[node.value.id]) != _top(name)):
            wrong.append(f"{name} uses {modules[node.value.id]}.{node.attr}")
    return wrong


def test_no_private_name_crosses_packages():
    wrong = [w for name, path in MODULES.items() for w in _private_names_used_across_packages(name, path)]
    assert not wrong, wrong

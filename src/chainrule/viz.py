"""Draw the recorded graph of a Tensor, as the computational-graph slides do.

``graph(t)`` walks the tape behind ``t`` (each tensor's ``node``: the Function
that made it and its inputs) and returns Graphviz DOT text: one box per tensor,
labelled with its name (``Tensor.name``), the op that produced it, its value
(scalars) or shape, and its gradient when it has one. Leaves keep ``.grad``
after ``backward()``; intermediate tensors only if ``retain_grad()`` was called
on them, which ``retain_grads(t)`` does for the whole graph. ``render(dot, path)``
runs Graphviz's ``dot`` to write an SVG, PNG or PDF.

>>> import chainrule as cr
>>> x = cr.tensor(3.0, requires_grad=True); x.name = "x"
>>> y = x * x; y.name = "y"
>>> _ = retain_grads(y)
>>> y.backward()
>>> print(graph(y))  # doctest: +NORMALIZE_WHITESPACE
digraph G {
  rankdir=LR;
  node [shape=box, style=rounded, fontname="Helvetica"];
  t0 [label="x\\nleaf\\nvalue 3\\ngrad 6"];
  t1 [label="y\\nMul\\nvalue 9\\ngrad 1", style="rounded,filled", fillcolor=lightgrey];
  t0 -> t1;
  t0 -> t1;
}
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from .autograd.tensor import Tensor

__all__ = ["walk", "retain_grads", "graph", "render", "GraphvizNotFound", "GraphvizError"]

_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program is not installed (or not on PATH)."""


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` ran and failed (or could not be run): one line, with the first line it printed."""


def walk(tensor: Tensor) -> list[Tensor]:
    """Every tensor the graph of ``tensor`` reaches, inputs before the tensors made from them.

    Iterative (a deep graph never hits the recursion limit); ``tensor`` comes last.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(tensor, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.node is not None:
            # reversed: inputs are visited, and so numbered, left to right
            for inp in reversed(t.node.inputs):
                if inp is not None and id(inp) not in seen:
                    stack.append((inp, False))
    return order


def retain_grads(tensor: Tensor) -> Tensor:
    """Call ``retain_grad()`` on every non-leaf tensor of the graph; returns ``tensor``.

    Do this before ``backward()`` to see every node's gradient in ``graph()``.
    """
    for t in walk(tensor):
        if not t.is_leaf:
            t.retain_grad()
    return tensor


def _number(v) -> str:
    return f"{float(v):.4g}"


def _describe(array: np.ndarray, what: str) -> str:
    if array.size == 1:
        return f"{what} {_number(array.reshape(-1)[0])}"
    return f"{what} shape {tuple(array.shape)}"


def _label(t: Tensor) -> str:
    lines = []
    if t.name:
        lines.append(t.name)
    if t.node is None:
        lines.append("leaf")
    else:
        op = t.node.function.__name__
        # Inputs that need no gradient are not recorded as nodes: scalars are shown by value,
        # other constants (arrays, tensors without grad) are counted.
        scalars = ", ".join(_number(v) for _, v in t.node.constants)
        others = sum(inp is None for inp in t.node.inputs) - len(t.node.constants)
        extra = [f"with {scalars}"] if scalars else []
        extra += [f"with {others} constant{'s' if others > 1 else ''}"] if others else []
        lines.append(op + (f" ({'; '.join(extra)})" if extra else ""))
    lines.append(_describe(t.data, "value"))
    if t.grad is not None:
        lines.append(_describe(np.asarray(t.grad), "grad"))
    return "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)


def graph(tensor: Tensor, rankdir: str = "LR") -> str:
    """Graphviz DOT text of the graph recorded behind ``tensor``.

    One node per tensor (leaves first, ``tensor`` last), labelled with its name
    if set, its op (``leaf`` for inputs and parameters), its value or shape and
    its gradient if it has one; one edge per recorded input (an input used twice
    gets two edges). ``rankdir="LR"`` draws left to right, as the slides do.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph: expected a chainrule Tensor, got {type(tensor).__name__}")
    order = walk(tensor)
    ids = {id(t): f"t{i}" for i, t in enumerate(order)}
    lines = ["digraph G {", f"  rankdir={rankdir};", '  node [shape=box, style=rounded, fontname="Helvetica"];']
    for t in order:
        style = ', style="rounded,filled", fillcolor=lightgrey' if t is tensor else ""
        lines.append(f'  {ids[id(t)]} [label="{_label(t)}"{style}];')
    for t in order:
        if t.node is not None:
            for inp in t.node.inputs:
                if inp is not None:
                    lines.append(f"  {ids[id(inp)]} -> {ids[id(t)]};")
    lines.append("}")
    return "\n".join(lines)


def render(dot_text: str, path: str | os.PathLike) -> Path:
    """Write ``dot_text`` to ``path`` as SVG, PNG or PDF (by its extension) with Graphviz.

    A ``.dot``/``.gv`` path gets the text itself. Raises :class:`GraphvizNotFound`
    when the ``dot`` program is missing, :class:`GraphvizError` (one line: the program,
    its exit status and the first line of its error output) when it fails.

    >>> render("digraph G { a -> b; }", "graph.png")  # doctest: +SKIP
    PosixPath('graph.png')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"render: cannot tell the format of {path}; use one of {', '.join(_FORMATS)}")
    if _FORMATS[suffix] is None:
        path.write_text(dot_text)
        return path
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound("render: Graphviz's `dot` program was not found; "
                               "install it with `apt-get install graphviz` (Debian/Ubuntu)")
    try:
        done = subprocess.run([dot, f"-T{_FORMATS[suffix]}", "-o", str(path)], input=dot_text.encode(),
                              capture_output=True, check=False)
    except OSError as e:  # not executable, not a program, ...
        raise GraphvizError(f"render: cannot run {dot} ({e.strerror or e})") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        first = lines[0][:300] if lines else "no error output"
        raise GraphvizError(f"render: {dot} failed (exit status {done.returncode}) writing {path}: {first}")
    return path

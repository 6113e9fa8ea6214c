"""Backpropagation on a computational graph: the two worked examples of 004_* ("Neural Networks II").

1. f(x, y, z) = (x + y)·z at x = −2, y = 5, z = −4 (slides 13–24). Forward: q = x + y = 3,
   f = q·z = −12. Backward: ∂f/∂z = q = 3, ∂f/∂q = z = −4, and the add gate
   distributes it unchanged: ∂f/∂x = ∂f/∂y = −4.
2. f(w, x) = 1 / (1 + e^−(w0·x0 + w1·x1 + w2)) at w0 = 2, x0 = −1, w1 = −3, x1 = −2,
   w2 = −3 (slides 31–46), built from the slide's gates (×, +, ×−1, exp, +1, 1/x).
   f = σ(1) = 0.73. Each gate multiplies its local gradient by the gradient
   arriving from above; the slide rounds as it goes and gets w0 = −0.2, x0 = 0.4,
   w1 = −0.4, x1 = −0.6, w2 = 0.2. Exactly, the sum node's gradient is
   σ(1)(1 − σ(1)) = 0.1966, and the mul gates "switch" it: ∂f/∂w0 = x0·0.1966, etc.
   The same function with one fused sigmoid gate gives the same gradients in one step.

chainrule records each op on the tape; ``chainrule.viz.graph`` reads the tape back
as Graphviz DOT text (every node's op, value and gradient), and
``chainrule.viz.render`` draws it with Graphviz's ``dot`` (apt-get install graphviz).

What to look at: the printed tables (a value and a gradient for every node) and
``out/sum_times.png``, ``out/sigmoid_gates.png``, ``out/sigmoid_fused.png``.

    python examples/computational_graph.py [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import viz


def leaves(**values: float) -> list[cr.Tensor]:
    """Named scalar inputs that want gradients."""
    out = []
    for name, value in values.items():
        t = cr.tensor(value, requires_grad=True)
        t.name = name
        out.append(t)
    return out


def named(t: cr.Tensor, name: str) -> cr.Tensor:
    t.name = name
    return t


def sum_times() -> cr.Tensor:
    x, y, z = leaves(x=-2.0, y=5.0, z=-4.0)
    q = named(x + y, "q = x + y")
    return named(q * z, "f = q · z")


def sigmoid_gates() -> cr.Tensor:
    w0, x0, w1, x1, w2 = leaves(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    a = named(w0 * x0, "w0·x0")
    b = named(w1 * x1, "w1·x1")
    s = named(a + b, "sum")
    s = named(s + w2, "+ w2")
    n = named(-s, "× −1")
    e = named(n.exp(), "exp")
    d = named(1.0 + e, "+1")
    return named(1.0 / d, "f = 1/x")


def sigmoid_fused() -> cr.Tensor:
    w0, x0, w1, x1, w2 = leaves(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    s = named(named(named(w0 * x0, "w0·x0") + named(w1 * x1, "w1·x1"), "sum") + w2, "z = sum + w2")
    return named(s.sigmoid(), "f = σ(z)")


def backprop_and_show(f: cr.Tensor, title: str, out: Path, stem: str) -> dict[str, tuple[float, float]]:
    """Keep every node's gradient, run backward, print and draw the graph; {name: (value, grad)}."""
    viz.retain_grads(f)  # intermediate tensors drop .grad after backward unless asked to keep it
    f.backward()
    print(title)
    print(f"   {'node':<14}{'op':<8}{'value':>9}{'gradient':>11}")
    table = {}
    for t in viz.walk(f):
        op = "input" if t.is_leaf else t.grad_fn.__name__
        name = t.name or "(unnamed)"
        table[name] = (t.item(), float(t.grad))
        print(f"   {name:<14}{op:<8}{t.item():>9.4f}{float(t.grad):>11.4f}")
    dot = viz.graph(f)
    viz.render(dot, out / f"{stem}.dot")
    try:
        viz.render(dot, out / f"{stem}.png")
        print(f"   drawn: {out / stem}.png")
    except (viz.GraphvizNotFound, viz.GraphvizError) as e:
        print(f"   (not drawn: {e}; the DOT text is in {out / stem}.dot)")
    return table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the drawings")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    first = backprop_and_show(sum_times(), "1. f = (x + y)·z at x = -2, y = 5, z = -4", args.out, "sum_times")
    gates = backprop_and_show(sigmoid_gates(), "2. f = 1 / (1 + exp(-(w0·x0 + w1·x1 + w2))), gate by gate",
                              args.out, "sigmoid_gates")
    fused = backprop_and_show(sigmoid_fused(), "   the same with one sigmoid gate, local gradient σ(1 − σ)",
                              args.out, "sigmoid_fused")
    local = gates["f = 1/x"][0] * (1 - gates["f = 1/x"][0])
    print(f"   σ(1)(1 − σ(1)) = {local:.4f}; the slide rounds it to 0.2 and gets "
          f"w0 = -0.2, x0 = 0.4, w1 = -0.4, x1 = -0.6, w2 = 0.2; rounded, chainrule gets "
          + ", ".join(f"{k} = {gates[k][1]:.1f}" for k in ("w0", "x0", "w1", "x1", "w2")))
    return {"sum_times": first, "sigmoid_gates": gates, "sigmoid_fused": fused, "out": args.out}


if __name__ == "__main__":
    main()

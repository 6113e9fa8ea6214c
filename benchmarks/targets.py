"""The speed and memory goals for chainrule's training loops, checked against a ``chainrule bench`` result.

    chainrule bench --json benchmarks/results/run.json
    python benchmarks/targets.py benchmarks/results/run.json   # a table; exit 0 if every goal is met, 1 if not

The goals (medians of rounds, each contender in its own process):

* both paths (fast, autodiff) <= 1.1x the optimized hand-written NumPy loop (numpy-opt), every batch size;
* with the update folded into the gradient GEMM (the fast-fold contender), the fast path <= 0.6x PyTorch at
  batch 32 and <= 0.7x at batch 100 for 784-200tanh-10, <= 0.75x at batch 32 for 784-512relu-256relu-10;
  without it (fast), <= 0.8x at batch 32 for 784-200tanh-10; either way no slower than PyTorch at batch 1000;
* memory <= 1.5x strictly needed.

A goal whose contender was not measured in the run is left out; results of the older harness (no
numpy-opt) are checked against the hand-written loop (numpy) instead, as they were: fast <= 1.15x,
autodiff <= 1.5x. When a PyTorch goal is missed, the figure says what the optimized loop and the matrix
products alone take against PyTorch: how much of the miss no NumPy trainer can win back.
"""

from __future__ import annotations

import argparse
import json
import sys

TARGETS = "fast, autodiff <= 1.1x numpy-opt; vs torch: fast-fold <= 0.6x (small net, b32), <= 0.7x (b100), " \
          "<= 0.75x (large net, b32), fast <= 0.8x (small net, b32), both <= 1x at b1000; memory <= 1.5x needed"
SMALL, LARGE = "784-200tanh-10", "784-512relu-256relu-10"


def torch_limit(net: str, batch: int, folded: bool) -> float | None:
    """The fast path's goal against PyTorch at (net, batch), with or without the folded update; None
    where there is none.

    >>> torch_limit("784-200tanh-10", 32, True), torch_limit("784-200tanh-10", 32, False), torch_limit("x", 1000, False)
    (0.6, 0.8, 1.0)
    """
    if batch >= 1000:
        return 1.0
    with_fold = {(SMALL, 32): 0.6, (SMALL, 100): 0.7, (LARGE, 32): 0.75}
    return with_fold.get((net, batch)) if folded else {(SMALL, 32): 0.8}.get((net, batch))


def _floors(by: dict, net: str, b: int) -> str:
    """What the optimized loop and the GEMMs alone take against PyTorch at (net, b)."""
    parts = [f"{label} {by[net, b, n]['x_torch']:.2f}x" for n, label in (("numpy-opt", "optimized NumPy"),
                                                                          ("gemm", "GEMMs alone"))
             if (net, b, n) in by and by[net, b, n].get("x_torch") is not None]
    return f" ({', '.join(parts)})" if parts else ""


def targets(res: dict) -> list[tuple[str, bool, str]]:
    """The goals a bench result measured, each (what, met?, the measured figure)."""
    by = {(r["net"], r["batch"], r["contender"]): r for r in res["results"]}
    out = []
    for (net, b, n), r in by.items():
        if n in ("fast", "autodiff") and r.get("x_numpy_opt") is not None:
            out.append((f"{net} b{b}: {n} <= 1.1x numpy-opt", r["x_numpy_opt"] <= 1.1, f"{r['x_numpy_opt']:.2f}x"))
        elif n in ("fast", "autodiff") and r.get("x_numpy") is not None:  # the older harness: no numpy-opt
            limit = 1.15 if n == "fast" else 1.5
            out.append((f"{net} b{b}: {n} <= {limit}x numpy", r["x_numpy"] <= limit, f"{r['x_numpy']:.2f}x"))
        limit = torch_limit(net, b, n == "fast-fold")
        if n in ("fast", "fast-fold") and r.get("x_torch") is not None and limit is not None:
            figure = f"{r['x_torch']:.2f}x"
            if r["x_torch"] > limit:  # how much of the miss the floors alone explain
                figure += _floors(by, net, b)
            out.append((f"{net} b{b}: {n} <= {limit}x torch", r["x_torch"] <= limit, figure))
    need = res["memory"]["strictly_needed_bytes"]
    for n, peak in res["memory"]["peak_bytes"].items():
        if n in ("fast", "autodiff"):
            out.append((f"memory {n} <= 1.5x needed", peak <= 1.5 * need, f"{peak / need:.2f}x"))
    return out


def format_targets(checks: list[tuple[str, bool, str]]) -> str:
    """The checks as a Markdown table."""
    lines = ["| target | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {what} | {fig} | {'yes' if ok else 'NO'} |" for what, ok, fig in checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="JSON files written by chainrule bench")
    args = parser.parse_args(argv)
    code = 0
    for path in args.results:
        try:
            with open(path, encoding="utf-8") as f:
                checks = targets(json.load(f))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            print(f"targets.py: error: {path}: not a readable chainrule bench result ({type(e).__name__}: {e})",
                  file=sys.stderr)
            return 2
        print(f"{path}:\n\n{format_targets(checks)}\n")
        if not all(ok for _, ok, _ in checks):
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())

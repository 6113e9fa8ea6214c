"""The speed and memory goals for chainrule's training loops, checked against a ``chainrule bench`` result.

    chainrule bench --json benchmarks/results/run.json
    python benchmarks/targets.py benchmarks/results/run.json   # a table; exit 0 if every goal is met, 1 if not

The goals: fast <= 1.15x numpy, autodiff <= 1.5x numpy; both <= 0.6x torch at batch 32/100, <= 1x at
1000; fast <= 1.5x roofline at batch 1000; memory <= 1.5x strictly needed. A goal whose contender was
not measured in the run is left out. When a PyTorch goal is missed, the figure says what the matrix
products alone take (the ``gemm`` contender against PyTorch): how much of the miss no NumPy trainer
can win back. benchmarks/README.md discusses the results of 2026-11-22 against them.
"""

from __future__ import annotations

import argparse
import json
import sys

TARGETS = "fast <= 1.15x numpy, autodiff <= 1.5x numpy; both <= 0.6x torch at batch 32/100, <= 1x at 1000; " \
          "fast <= 1.5x roofline at batch 1000; memory <= 1.5x strictly needed"


def targets(res: dict) -> list[tuple[str, bool, str]]:
    """The goals a bench result measured, each (what, met?, the measured figure)."""
    by = {(r["net"], r["batch"], r["contender"]): r for r in res["results"]}
    out = []
    for (net, b, n), r in by.items():
        if n == "fast" and r["x_numpy"] is not None:
            out.append((f"{net} b{b}: fast <= 1.15x numpy", r["x_numpy"] <= 1.15, f"{r['x_numpy']:.2f}x"))
        if n == "autodiff" and r["x_numpy"] is not None:
            out.append((f"{net} b{b}: autodiff <= 1.5x numpy", r["x_numpy"] <= 1.5, f"{r['x_numpy']:.2f}x"))
        if n in ("fast", "autodiff") and r["x_torch"] is not None:
            limit = 1.0 if b >= 1000 else 0.6
            figure = f"{r['x_torch']:.2f}x"
            floor = by.get((net, b, "gemm"))
            if floor and r["x_torch"] > limit:  # how much of the miss the matrix products alone explain
                figure += f" (GEMMs alone {floor['x_torch']:.2f}x)"
            out.append((f"{net} b{b}: {n} <= {limit}x torch", r["x_torch"] <= limit, figure))
        if n == "fast" and b >= 1000:
            out.append((f"{net} b{b}: fast <= 1.5x roofline", r["x_roofline"] <= 1.5, f"{r['x_roofline']:.2f}x"))
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

"""A benchmark result as text (:func:`format_report`, Markdown tables) and as bars (:func:`plot_bench`, with
matplotlib); LABELS names the contenders in both.

>>> LABELS["fast"]
'chainrule fprop/bprop'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from .nets import EPOCH

__all__ = ["LABELS", "format_report", "plot_bench"]

LABELS = {
    "fast": "chainrule fprop/bprop", "fast-fold": "chainrule fprop/bprop, folded SGD", "autodiff": "chainrule autodiff", "numpy": "hand-written NumPy",
    "numpy-opt": "optimized NumPy", "gemm": "GEMMs only (measured floor)", "torch": "PyTorch CPU",
    "sklearn": "scikit-learn MLP",
}


# The fast path's goals as a fraction of PyTorch's epoch below batch 1000 (with the folded update),
# drawn on the bars; benchmarks/targets.py checks them, and the rest.
TORCH_GOALS = {("784-200tanh-10", 32): 0.6, ("784-200tanh-10", 100): 0.7, ("784-512relu-256relu-10", 32): 0.75}


def _ratio(v) -> str:
    return "" if v is None else f"{v:.2f}"


def _spread(r: dict, key: str) -> str:
    """A ratio and its per-round spread: "0.82 (0.79–0.85)"; "" if not measured."""
    if r.get(key) is None:
        return ""
    low, high = r.get("spread", {}).get(key, (None, None))
    return f"{r[key]:.2f}" + (f" ({low:.2f}–{high:.2f})" if low is not None and high != low else "")


def _threads(n) -> str:
    return f"{n} thread{'' if n == 1 else 's'}"


def _method(res: dict) -> list[str]:
    """How the run measured, in words: processes, rounds, warm-up, threads, BLAS kernel, load."""
    m, how = res["machine"], res["method"]
    blas = "; ".join(f"{b.get('internal_api')} {b.get('version')}" + (f" of {b['of']}" if b.get("of") else "")
                     + f", {b.get('architecture')} kernel, {_threads(b.get('num_threads'))}"
                     for b in m.get("blas", [])) or "not known (no threadpoolctl)"
    clean = [n for n, imported in how.get("torch_imported", {}).items() if n != "torch" and not imported]
    dirty = [n for n, imported in how.get("torch_imported", {}).items() if n != "torch" and imported]
    torch_free = "; PyTorch imported in none but its own" if clean and not dirty else \
        f"; PyTorch imported in {', '.join(dirty)}'s" if dirty else ""
    torch = f"; PyTorch {_threads(res['torch_threads'][0])}" if len(res.get("torch_threads", [])) == 1 else ""
    env = "".join(f", {k}={v}" for k, v in m.get("env", {}).items())
    load = res["load_average"]
    return [
        f"Each contender in its own process ({how['processes']} processes in all{torch_free}): a warm-up of "
        f"{how['warmup_examples']:,} examples, then {how['epochs']} timed "
        f"epoch{'s' if how['epochs'] > 1 else ''} of {res['examples_timed']:,} examples scaled to {EPOCH:,}; "
        f"{how['rounds']} round{'s' if how['rounds'] > 1 else ''}, contenders in an order rotated every round. "
        f"Seconds are medians over rounds; a ratio is the median of the per-round ratios (each contender "
        f"against the reference of the same round), in brackets their spread, min–max over rounds.",
        f"BLAS: {blas}{torch}{env}. Load average (1 min) at the start "
        f"{load['start'][0]:.2f}, in the workers {load['during'][0]:.2f}–{load['during'][1]:.2f}, at the end "
        f"{load['end'][0]:.2f}.",
    ]


def format_report(res: dict) -> str:
    """The result of :func:`~chainrule.bench.benchmark` as text: the machine and how it measured, then
    Markdown tables of seconds per epoch with their ratios (to the optimized NumPy loop and PyTorch with
    their per-round spread, to the straightforward loop, the roofline, the GEMMs alone), inference
    throughput and training memory. For example::

        print(format_report(benchmark(["784-200tanh-10"], [100], ["numpy-opt", "fast"], 1, 2000, 0.05, "random", 1)))
    """
    m = res["machine"]
    lines = [
        f"chainrule bench, {res['date']}: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy {m['numpy']}"
        + (f", PyTorch {m['torch']}" if "torch" in m else "") + (f", scikit-learn {m['sklearn']}" if "sklearn" in m
                                                                else "")
        + (f", SciPy {m['scipy']}" if "scipy" in m else ", no SciPy") + ".",
        *_method(res),
        f"Data: {res['data']}; SGD lr {res['lr']}, float32. Roofline: the epoch's matrix-multiply FLOPs at the best "
        f"float32 GEMM rate measured in the run, {res['gemm_gflops']:.0f} GFLOP/s. GEMMs only: the same matrix "
        f"products at the same shapes, nothing else (× GEMMs is each contender against it).",
        "",
        "| net | batch | contender | s / epoch | × optimized NumPy | × PyTorch | × NumPy | × roofline | × GEMMs |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["results"]:
        label = LABELS.get(r["contender"], "roofline (GEMM FLOPs / peak)")
        lines.append(f"| {r['net']} | {r['batch']} | {label} | {r['seconds_per_epoch']:.3f} | "
                     f"{_spread(r, 'x_numpy_opt')} | {_spread(r, 'x_torch')} | {_ratio(r.get('x_numpy'))} | "
                     f"{_ratio(r['x_roofline'])} | {_ratio(r.get('x_gemm'))} |")
    if res["skipped"]:
        lines += [""] + [f"Skipped {n}: {why}." for n, why in res["skipped"].items()]
    if res["inference_examples_per_s"]:
        lines += ["", "Inference at batch 1000 (examples / s):", "", "| net | " + " | ".join(
            LABELS[n] for n in dict.fromkeys(t["contender"] for t in res["inference_examples_per_s"])) + " |"]
        nets = list(dict.fromkeys(t["net"] for t in res["inference_examples_per_s"]))
        lines.append("|---|" + "---:|" * (len(lines[-1].split("|")) - 3))
        for net in nets:
            row = [f"{t['examples_per_s']:,.0f}" for t in res["inference_examples_per_s"] if t["net"] == net]
            lines.append(f"| {net} | " + " | ".join(row) + " |")
    mem = res["memory"]
    if mem["peak_bytes"]:
        need = mem["strictly_needed_bytes"]
        parts = ", ".join(f"{k} {v / 2**20:.2f}" for k, v in mem["strictly_needed_parts"].items())
        lines += ["", f"Training memory, {mem['net']} at batch {mem['batch']} (tracemalloc peak of NumPy "
                      f"allocations; strictly needed {need / 2**20:.2f} MiB = {parts}):", "",
                  "| contender | peak MiB | × needed |", "|---|---:|---:|"]
        for n, peak in mem["peak_bytes"].items():
            lines.append(f"| {LABELS[n]} | {peak / 2**20:.2f} | {peak / need:.2f} |")
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; works without a display
    import matplotlib.pyplot as plt

    return plt


def plot_bench(res: dict[str, Any], path: str | os.PathLike) -> None:
    """A :func:`~chainrule.bench.benchmark` result as bars, written to ``path`` (atomically): one panel per
    net, a group of bars per batch size (median seconds per epoch of each contender), the roofline dashed
    across each group. For example: ``plot_bench(json.loads(Path("bench.json").read_text()), "bench.png")``.
    """
    plt = _pyplot()
    rows = [r for r in res["results"] if r["contender"] != "roofline"]
    if not rows:
        raise ValueError("no results to draw")
    nets = list(dict.fromkeys(r["net"] for r in res["results"]))
    names = list(dict.fromkeys(r["contender"] for r in rows))
    fig, axes = plt.subplots(1, len(nets), figsize=(max(6.2 * len(nets), 9), 4.8), squeeze=False)
    try:
        width, drawn = 0.8 / max(len(names), 1), []
        for ax, net in zip(axes[0], nets):
            batches = list(dict.fromkeys(r["batch"] for r in res["results"] if r["net"] == net))
            secs = {(r["batch"], r["contender"]): r["seconds_per_epoch"] for r in res["results"] if r["net"] == net}
            for k, name in enumerate(names):
                xs = [i - 0.4 + (k + 0.5) * width for i in range(len(batches))]
                ax.bar(xs, [secs.get((b, name), np.nan) for b in batches], width, label=LABELS.get(name, name),
                       color=f"C{k}")
            for i, b in enumerate(batches):
                roof, torch = secs.get((b, "roofline")), secs.get((b, "torch"))
                if roof is not None:
                    ax.hlines(roof, i - 0.45, i + 0.45, colors="black", linestyles="dashed",
                              label="roofline (GEMM FLOPs at peak)" if i == 0 else None)
                # the fast path's goals against PyTorch below batch 1000 (benchmarks/targets.py checks them)
                goal = TORCH_GOALS.get((net, b))
                if torch is not None and goal is not None:
                    ax.hlines(goal * torch, i - 0.45, i + 0.45, colors="C4", linestyles="dotted",
                              label="goals: fast path at 0.6x (small net, 32), 0.7x (100), 0.75x (large net, 32) "
                                    "of PyTorch" if not drawn else None)
                    drawn.append(goal)
            ax.set_xticks(range(len(batches)))
            ax.set_xticklabels([f"batch {b}" for b in batches])
            ax.set(ylabel=f"seconds per epoch of {EPOCH:,} (median)", title=net)
            ax.grid(axis="y", alpha=0.3)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)  # below: covers no bar
        m = res.get("machine", {})
        env = "".join(f", {k}={v}" for k, v in m.get("env", {}).items())
        blas = "".join(f", {b.get('architecture')} kernel, {_threads(b.get('num_threads'))} of BLAS"
                       for b in m.get("blas", [])[:1]) or f", {res.get('threads', '?')} BLAS threads"
        fig.suptitle(f"chainrule bench, {res.get('date', '')}: {m.get('cpu', '')}{blas}{env}", fontsize=9)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        # through atomic_write: a reader never sees half a picture
        with atomic_write(path) as f:
            fig.savefig(f, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=110)
    finally:
        plt.close(fig)

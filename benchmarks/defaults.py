"""Choose `chainrule train`'s defaults by measurement: a small grid of candidate default sets, every data set.

    python benchmarks/defaults.py --phase coarse --json coarse.json      # cheap floors, seed 0, every candidate
    python benchmarks/defaults.py --phase full --candidates adam-b64-cos,today --seeds 0,1 --json full.json
    python benchmarks/defaults.py --from-json coarse.json,full.json --phase full --seeds 0,1   # tables only
    python benchmarks/defaults.py --from-json full.json --phase full --seeds 0,1 --wide --candidates today,...
    python benchmarks/defaults.py --list                                # candidates and tasks

The runs behind docs/results.md's "Defaults" section: the coarse pass, then seeds
0, 1, 2 for the survivors (--seeds 0,1,2 --phase full), about 40 minutes on a
busy 2-core machine with --jobs 2.

A candidate is a whole set of defaults (model, optimizer, lr, batch size, schedule,
weight decay). A task is what a user types: a data set plus only the options the
task names (`--model 200tanh --epochs 2`); every other option takes the
candidate's value. Each run is `python -m chainrule train ... --out TMP --no-plots
--quiet` in its own process, exactly as results.py runs its rows, and reads the
run's summary.json. Runs whose effective options coincide (a task that names the
model makes candidates differing only in the model the same run) are run once.

Floors (test accuracy, with only the task's options): digits ≥ 97%; Fashion-MNIST
`--model 200tanh --epochs 2` ≥ 84%, `--model linear --epochs 3` ≥ 82%, `--epochs 5`
≥ 86.5%. Digits with `--model linear`, moons, spirals and two tabular .npz files
with unscaled features (scikit-learn's wine and breast-cancer, saved as x / y)
have no floor: they are compared with the previous defaults (`today`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The defaults before this measurement, tuned on digits.
TODAY = {"model": "256relu-dropout0.2", "epochs": 60, "batch_size": 32, "lr": 0.1, "optimizer": "momentum",
         "weight_decay": 5e-4, "patience": 20, "val_split": 0.1, "schedule": "cosine"}


def _cand(*bases: dict, **changes) -> dict:
    out = dict(TODAY)
    for base in bases:
        out.update(base)
    return {**out, **changes}


ADAM = dict(optimizer="adam", lr=1e-3, weight_decay=0.0)
CANDIDATES = {
    "today": _cand(),
    "mom-b64-lr0.05": _cand(batch_size=64, lr=0.05),
    "adam-b64-cos": _cand(ADAM, batch_size=64),
    "adam-b64-none": _cand(ADAM, batch_size=64, schedule="none"),
    "adam-b32-cos": _cand(ADAM, batch_size=32),
    "adam-b128-cos": _cand(ADAM, batch_size=128),
    "adam-b128-lr2e-3-cos": _cand(ADAM, batch_size=128, lr=2e-3),
    "adam-b64-lr2e-3-cos": _cand(ADAM, batch_size=64, lr=2e-3),
    "adam-b64-wd5e-4-cos": _cand(ADAM, batch_size=64, weight_decay=5e-4),
    "adamw-b64-wd1e-2-cos": _cand(ADAM, optimizer="adamw", batch_size=64, weight_decay=1e-2),
    "adam-b64-cos-256relu": _cand(ADAM, batch_size=64, model="256relu"),
    "adam-b64-cos-512relu-d0.2": _cand(ADAM, batch_size=64, model="512relu-dropout0.2"),
    "adam-b32-cos-512relu-d0.2": _cand(ADAM, batch_size=32, model="512relu-dropout0.2"),
    "adam-b64-cos-256relu-d0.5": _cand(ADAM, batch_size=64, model="256relu-dropout0.5"),
    "adam-b32-cos-256relu-d0.5": _cand(ADAM, batch_size=32, model="256relu-dropout0.5"),
    "adam-b64-cos-512relu-d0.5": _cand(ADAM, batch_size=64, model="512relu-dropout0.5"),
    "adam-b64-lr5e-4-cos": _cand(ADAM, batch_size=64, lr=5e-4),
    "adam-b32-none": _cand(ADAM, batch_size=32, schedule="none"),
    "adam-b32-cos-e100": _cand(ADAM, batch_size=32, epochs=100),
    "adam-b64-cos-e100": _cand(ADAM, batch_size=64, epochs=100),
    "adam-b32-lr2e-3-cos": _cand(ADAM, batch_size=32, lr=2e-3),
    "mom-b32-lr0.05": _cand(batch_size=32, lr=0.05),
    "mom-b64-lr0.1": _cand(batch_size=64),
    "today-clip1": _cand(clip_grad=1.0),
    "adam-b32-wd5e-4-cos": _cand(ADAM, batch_size=32, weight_decay=5e-4),
    "adam-b32-wd5e-4-lr2e-3-cos": _cand(ADAM, batch_size=32, weight_decay=5e-4, lr=2e-3),
    "adam-b32-wd5e-4-lr3e-3-cos": _cand(ADAM, batch_size=32, weight_decay=5e-4, lr=3e-3),
    # The winner with one option changed, for the toy sets only: what a user of moons / spirals would type.
    "adam-b32-wd5e-4-cos-e100": _cand(ADAM, batch_size=32, weight_decay=5e-4, epochs=100),
    "adam-b32-wd5e-4-cos-e200": _cand(ADAM, batch_size=32, weight_decay=5e-4, epochs=200),
    "adam-b32-wd5e-4-lr1e-2-cos": _cand(ADAM, batch_size=32, weight_decay=5e-4, lr=1e-2),
    "adamw-b32-wd5e-2-cos": _cand(ADAM, optimizer="adamw", batch_size=32, weight_decay=5e-2),
    "adam-b32-cos-512relu": _cand(ADAM, batch_size=32, model="512relu"),
}

# key: (dataset, the options the task names, floor on test accuracy or None)
TASKS = {
    "digits": ("digits", {}, 0.97),
    "fashion-200tanh-2": ("fashion-mnist", {"model": "200tanh", "epochs": 2}, 0.84),
    "fashion-linear-3": ("fashion-mnist", {"model": "linear", "epochs": 3}, 0.82),
    "fashion-default-5": ("fashion-mnist", {"epochs": 5}, 0.865),
    "digits-linear": ("digits", {"model": "linear"}, None),
    "moons": ("moons", {}, None),
    "spirals": ("spirals", {}, None),
    "wine.npz": ("wine.npz", {}, None),
    "breast-cancer.npz": ("breast-cancer.npz", {}, None),
}
CHEAP = ["fashion-200tanh-2", "fashion-linear-3", "digits"]  # the coarse pass: prunes before the rest


def make_tabular(folder: Path) -> None:
    """scikit-learn's wine (13 features, up to ~1,700) and breast-cancer (30, up to ~4,300) as x / y .npz, unscaled."""
    from sklearn.datasets import load_breast_cancer, load_wine
    import numpy as np

    for name, loader in (("wine", load_wine), ("breast-cancer", load_breast_cancer)):
        path = folder / f"{name}.npz"
        if not path.exists():
            bunch = loader()
            np.savez(path, x=bunch.data.astype(np.float32), y=bunch.target.astype(np.int64))


def argv_for(candidate: dict, task: str, seed: int, data: Path) -> list[str]:
    """The `chainrule train` options of one run: the candidate's values, overridden by the task's."""
    dataset, named, _ = TASKS[task]
    options = {**candidate, **named, "seed": seed}
    if dataset.endswith(".npz"):
        dataset = str(data / dataset)
    argv = ["--dataset", dataset]
    for key, value in options.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


def run_one(argv: list[str], threads: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "chainrule", "train", *argv, "--threads", str(threads), "--out", str(out),
           "--no-plots", "--quiet"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - started
    if proc.returncode != 0:  # a diverged run is a result too: recorded, not raised
        return {"failed": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}",
                "wall": round(wall, 1)}
    s = json.loads((out / "summary.json").read_text())
    return {"test_accuracy": s["test_accuracy"], "epochs": s["epochs"], "best_epoch": s.get("best_epoch"),
            "train_s": s["seconds"], "wall": round(wall, 1)}


def run_grid(candidates: list[str], tasks: list[str], seeds: list[int], threads: int, jobs: int,
             results: dict) -> dict:
    """Fill results[key] for every (candidate, task, seed); key is the run's effective command, so repeats are free."""
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(prefix="chainrule-defaults-") as tmp:
        folder = Path(tmp)
        make_tabular(folder)
        todo = {}
        for task in tasks:
            for seed in seeds:
                for name in candidates:
                    argv = argv_for(CANDIDATES[name], task, seed, folder)
                    key = shlex.join(argv).replace(str(folder) + "/", "")
                    if key not in results and key not in todo:
                        todo[key] = argv
        print(f"{len(todo)} runs to do", file=sys.stderr, flush=True)

        def work(item):
            i, (key, argv) = item
            r = run_one(argv, threads, folder / f"run{i}")
            acc = f"{r['test_accuracy']:.2%}" if "test_accuracy" in r else r["failed"]
            print(f"  {acc:>8} {r['wall']:6.1f}s  {key}", file=sys.stderr, flush=True)
            return key, r

        with ThreadPoolExecutor(jobs) as pool:
            for key, r in pool.map(work, enumerate(todo.items())):
                results[key] = r
    return results


def lookup(results: dict, name: str, task: str, seed: int) -> dict | None:
    key = shlex.join(argv_for(CANDIDATES[name], task, seed, Path(".")))
    return results.get(key)


def table(results: dict, candidates: list[str], tasks: list[str], seeds: list[int]) -> list[str]:
    """Markdown: one row per (task, candidate) measured: accuracy per seed, the worst seed's margin, seconds."""
    lines = ["| task | floor | candidate | " + " | ".join(f"seed {s}" for s in seeds)
             + " | min | margin | wall s (mean) | train s (mean) |",
             "|---|---:|---|" + "---:|" * len(seeds) + "---:|---:|---:|---:|"]
    for task in tasks:
        floor = TASKS[task][2]
        shown: dict[tuple, str] = {}  # the runs of a row -> its candidate: a task naming the model merges candidates
        for name in candidates:
            runs = [lookup(results, name, task, s) for s in seeds]
            if not any(runs):
                continue
            same = tuple(json.dumps(r, sort_keys=True) for r in runs)
            if same in shown:
                continue
            shown[same] = name
            cells, accs, walls, trains = [], [], [], []
            for r in runs:
                if r is None:
                    cells.append("")
                elif "failed" in r:
                    cells.append("failed")
                else:
                    cells.append(f"{r['test_accuracy']:.2%}")
                    accs.append(r["test_accuracy"])
                    walls.append(r["wall"])
                    trains.append(r["train_s"])
            low = min(accs) if accs else None
            margin = f"{(low - floor) * 100:+.2f}" if floor is not None and low is not None else ""
            lines.append(f"| {task} | {f'{floor:.1%}' if floor else '—'} | {name} | " + " | ".join(cells)
                         + f" | {f'{low:.2%}' if low is not None else ''} | {margin} | "
                         f"{statistics.mean(walls) if walls else 0:.1f} | {statistics.mean(trains) if trains else 0:.1f} |")
    return lines


def wide(results: dict, candidates: list[str], tasks: list[str], seeds: list[int]) -> list[str]:
    """Markdown: one row per task, one column per candidate: accuracy at each seed and the mean training seconds."""
    lines = ["| task | floor | " + " | ".join(candidates) + " |", "|---|---:|" + "---|" * len(candidates)]
    for task in tasks:
        floor = TASKS[task][2]
        cells = []
        for name in candidates:
            runs = [lookup(results, name, task, s) for s in seeds]
            done = [r for r in runs if r and "test_accuracy" in r]
            accs = " / ".join(f"{r['test_accuracy']:.2%}" if r and "test_accuracy" in r else "—" for r in runs)
            low = min((r["test_accuracy"] for r in done), default=None)
            mark = "" if floor is None or low is None else (" ✓" if low >= floor else " ✗")
            seconds = f" ({statistics.mean(r['train_s'] for r in done):.1f} s)" if done else ""
            cells.append(accs + mark + seconds)
        lines.append(f"| {task} | {f'{floor:.1%}' if floor else '—'} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["coarse", "full"], default="coarse",
                        help="coarse: the cheap floors only; full: every task")
    parser.add_argument("--candidates", default=None, help="comma-separated names (default: all); see --list")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks (default: the phase's)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads per run (default: 1)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default: 2)")
    parser.add_argument("--json", default=None, help="read earlier results from and write all results to this file")
    parser.add_argument("--from-json", default=None, metavar="FILES",
                        help="comma-separated files written by --json: print the table, training nothing")
    parser.add_argument("--wide", action="store_true",
                        help="print one column per candidate instead of one row per (task, candidate)")
    parser.add_argument("--list", action="store_true", help="print the candidates and tasks and exit")
    args = parser.parse_args(argv)

    names = args.candidates.split(",") if args.candidates else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    tasks = args.tasks.split(",") if args.tasks else (CHEAP if args.phase == "coarse" else list(TASKS))
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown tasks {', '.join(unknown)}; known: {', '.join(TASKS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.list:
        for name, c in CANDIDATES.items():
            print(f"{name:28s} {c}")
        for task, (dataset, named, floor) in TASKS.items():
            print(f"{task:28s} --dataset {dataset} {named} floor {floor}")
        return 0

    results: dict = {}
    if args.from_json:
        for f in args.from_json.split(","):
            results.update(json.loads(Path(f).read_text())["results"])
    else:
        if args.json and Path(args.json).exists():
            results.update(json.loads(Path(args.json).read_text())["results"])
        t0 = time.perf_counter()
        run_grid(names, tasks, seeds, args.threads, args.jobs, results)
        print(f"grid took {(time.perf_counter() - t0) / 60:.1f} minutes", file=sys.stderr)
        if args.json:
            Path(args.json).write_text(json.dumps({"threads": args.threads, "jobs": args.jobs,
                                                   "results": results}, indent=1) + "\n")
    print("\n".join((wide if args.wide else table)(results, names, tasks, seeds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

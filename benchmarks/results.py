"""The results table: every row trained from scratch with the exact `chainrule train` command shown.

    python benchmarks/results.py                 # all rows; prints the table, writes docs/results.md
    python benchmarks/results.py --rows digits-default,fashion-linear   # some rows; writes nothing
    python benchmarks/results.py --list          # the rows and their commands, without running them

Each row runs its command in a fresh process (``python -m chainrule train ...``,
plus ``--out``, ``--no-plots`` and ``--quiet``, which change only what is
written), reads the run's summary.json, and checks the row's target. "train s"
is the training loop as summary.json records it; "wall s" is the whole command,
start-up and data loading included: the number the 5-minute budget is about.

Rows whose data is not on this machine (MNIST, which needs a download) are
listed with their commands and the exercise's expectations, never with made-up
numbers. The exit status is 1 if a row that ran missed its target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "results.md"
FIVE_MINUTES = 300.0


@dataclass(frozen=True)
class Row:
    key: str
    dataset: str  # what load_dataset calls it; checked for availability before running
    label: str  # the model column
    command: str  # exactly what a user types
    target: str = ""  # "acc>=0.97", "err<=0.16", "errors~750"; empty: no target
    note: str = ""
    wall_limit: float | None = None  # seconds the whole command may take

    def check(self, summary: dict, wall: float) -> tuple[bool | None, bool | None]:
        """(accuracy target met, time limit met); None where the row has no such target."""
        accuracy = None
        if self.target.startswith("acc>="):
            accuracy = summary["test_accuracy"] >= float(self.target[5:])
        elif self.target.startswith("err<="):
            accuracy = 1 - summary["test_accuracy"] <= float(self.target[5:])
        return accuracy, (wall <= self.wall_limit if self.wall_limit is not None else None)

    def target_text(self) -> str:
        if self.target.startswith("acc>="):
            text = f"≥ {float(self.target[5:]):.1%} accuracy"
        elif self.target.startswith("err<="):
            text = f"≤ {float(self.target[5:]):.0%} error"
        elif self.target.startswith("errors~"):
            text = f"≈ {self.target[7:]} errors (the exercise)"
        else:
            text = "—"
        if self.wall_limit is not None:
            text += f", ≤ {self.wall_limit / 60:g} min"
        return text


# The exercise's settings for its two models (002_*: lr in [0.01, 0.1], batches of 100-1000,
# inputs / 255, sigma = sqrt(2 / (M + N)) initialisation, which is chainrule's default).
# Plain SGD at lr 0.1 left 200tanh at 87.3% on Fashion-MNIST after 20 epochs; momentum 0.9 at lr 0.05 reached 88.7%.
EXERCISE = ("--epochs 20 --batch-size 100 --optimizer momentum --lr 0.05 --weight-decay 1e-4 --schedule cosine "
            "--patience 0")
BEST = ("--model 512relu-dropout0.2-512relu-dropout0.2 --optimizer momentum --lr 0.05 --batch-size 128 --epochs 80 "
        "--schedule cosine --shift 1 --weight-decay 1e-4 --val-split 0 --patience 0")

ROWS = [
    Row("digits-default", "digits", "default (256relu-dropout0.2)", "chainrule train", "acc>=0.97",
        "the command's defaults: up to 200 epochs of Adam (lr 0.001, batches of 32, L2 weight decay 5e-4), "
        "cosine schedule, early stopping on 10% validation"),
    Row("digits-linear", "digits", "linear", "chainrule train --model linear", "",
        "softmax regression on 8x8 pixels, the same defaults"),
    # The floors the defaults were chosen to meet (benchmarks/defaults.py): only the options written.
    Row("fashion-floor-200tanh", "fashion-mnist", "200tanh, 2 epochs, defaults",
        "chainrule train --dataset fashion-mnist --model 200tanh --epochs 2", "acc>=0.84",
        "a floor of the defaults: the exercise's second model, two epochs, every other option the default"),
    Row("fashion-floor-linear", "fashion-mnist", "linear, 3 epochs, defaults",
        "chainrule train --dataset fashion-mnist --model linear --epochs 3", "acc>=0.82",
        "a floor of the defaults: the exercise's first model, three epochs, every other option the default"),
    Row("fashion-floor-default", "fashion-mnist", "default (256relu-dropout0.2), 5 epochs",
        "chainrule train --dataset fashion-mnist --epochs 5", "acc>=0.865",
        "a floor of the defaults: the default model, five epochs, every other option the default"),
    Row("fashion-linear", "fashion-mnist", "linear",
        f"chainrule train --dataset fashion-mnist --model linear {EXERCISE}", "err<=0.16",
        "the exercise's first model, Linear(784, 10) + softmax"),
    Row("fashion-200tanh", "fashion-mnist", "200tanh",
        f"chainrule train --dataset fashion-mnist --model 200tanh {EXERCISE}", "err<=0.12",
        "the exercise's second model, Linear(784, 200), Tanh, Linear(200, 10) + softmax"),
    Row("fashion-best", "fashion-mnist", "2 × 512relu, dropout 0.2, `--shift 1`",
        f"chainrule train --dataset fashion-mnist {BEST}", "acc>=0.90",
        "the best MLP found for a 5-minute budget on a 2-core CPU; settings chosen on a validation split, "
        "then trained on all 60,000 training images", wall_limit=FIVE_MINUTES),
    Row("mnist-linear", "mnist", "linear", f"chainrule train --dataset mnist --model linear {EXERCISE}", "errors~750",
        "the exercise's first model"),
    Row("mnist-200tanh", "mnist", "200tanh", f"chainrule train --dataset mnist --model 200tanh {EXERCISE}",
        "errors~250", "the exercise's second model"),
]

# The runs behind the best row (validation accuracy decided; their test accuracies played no part).
SELECTION_DATE = "2026-11-22"
SELECTION = [  # model, optimizer and lr, weight decay, shift, epochs, val accuracy (summary.json), CPU seconds
    ("1024relu-dropout0.3", "adam 0.001", "0", 1, 12, 0.8843, None),
    ("1024relu-dropout0.2", "momentum 0.05", "5e-4", 1, 30, 0.8885, None),
    ("1024relu-dropout0.2", "momentum 0.05", "1e-4", 1, 40, 0.8982, 104),
    ("512relu-dropout0.2-512relu-dropout0.2", "momentum 0.05", "1e-4", 1, 40, 0.8945, 99),
    ("1024relu-dropout0.2-512relu-dropout0.2", "momentum 0.05", "1e-4", 1, 50, 0.9030, 237),
    ("512relu-dropout0.2-512relu-dropout0.2", "momentum 0.05", "1e-4", 1, 80, 0.9060, 208),
    ("512relu-dropout0.1-512relu-dropout0.1", "momentum 0.05", "1e-4", 1, 80, 0.9047, 210),
]

DATASET_NAMES = {"digits": "digits", "fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}


def available(dataset: str) -> bool:
    """Whether the data set's files are here (never downloads)."""
    if dataset != "mnist" and dataset != "fashion-mnist":
        return True
    from chainrule.data import DataError
    from chainrule.data import load_fashion_mnist, load_mnist

    try:
        (load_mnist if dataset == "mnist" else load_fashion_mnist)(download=False)
    except (DataError, OSError):
        return False
    return True


def run_row(row: Row, out: Path) -> dict:
    argv = shlex.split(row.command)
    assert argv[:2] == ["chainrule", "train"], row.command
    folder = out / row.key
    cmd = [sys.executable, "-m", "chainrule", *argv[1:], "--out", str(folder), "--no-plots", "--quiet"]
    loads = [os.getloadavg()[0]]  # sampled while it runs: other jobs slow it down, never change its accuracy
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while True:
        try:
            _, stderr = proc.communicate(timeout=5)
            break
        except subprocess.TimeoutExpired:
            loads.append(os.getloadavg()[0])
    wall = time.perf_counter() - started
    loads.append(os.getloadavg()[0])
    if proc.returncode != 0:
        raise RuntimeError(f"{row.key}: {row.command} failed ({proc.returncode}):\n{stderr[-2000:]}")
    summary = json.loads((folder / "summary.json").read_text())
    epochs = [json.loads(line)["seconds"] for line in (folder / "metrics.jsonl").read_text().splitlines() if line]
    accuracy_ok, time_ok = row.check(summary, wall)
    return {"key": row.key, "summary": summary, "wall": round(wall, 1), "accuracy_ok": accuracy_ok, "time_ok": time_ok,
            "median_epoch": round(statistics.median(epochs), 3),
            "load": [round(min(loads), 2), round(max(loads), 2)]}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy as np

    blas = ""
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f", {info.get('name', 'BLAS')} {info.get('version', '')}".rstrip()
    except Exception:  # noqa: BLE001 - older NumPy: no dicts mode
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, NumPy {np.__version__}{blas}")


def table(results: dict[str, dict], rows: list[Row]) -> list[str]:
    lines = ["| data set | model | test accuracy | test errors | target | met | epochs | train s | epoch s "
             "(median) | wall s |", "|---|---|---:|---:|---|:-:|---:|---:|---:|---:|"]
    for row in rows:
        name = DATASET_NAMES.get(row.dataset, row.dataset)
        r = results.get(row.key)
        if r is None or "skipped" in r:
            why = "not measured: no files here" if r else "not run"
            lines.append(f"| {name} | {row.label} | {why} | | {row.target_text()} | | | | | |")
            continue
        s = r["summary"]
        word = {True: "yes", False: "**no**", None: ""}
        met = word[r["accuracy_ok"]]
        if r["time_ok"] is not None:
            met = f"{met}, time {word[r['time_ok']]}"
        lines.append(f"| {name} | {row.label} | {s['test_accuracy']:.2%} | {s['test_errors']:,} / {s['test_size']:,} "
                     f"| {row.target_text()} | {met} | {s['epochs']} | {s['seconds']:.1f} | {r['median_epoch']:.3g} "
                     f"| {r['wall']:.1f} |")
    return lines


def kept_sections(path: Path = DOCS) -> list[str]:
    """The hand-kept sections at the end of the results page, from "## Defaults" on (written by
    benchmarks/defaults.py's measurements, not by this script): carried over when the page is rewritten."""
    try:
        text = path.read_text()
    except OSError:
        return []
    at = text.find("\n## Defaults\n")
    return text[at + 1:].rstrip("\n").split("\n") + [""] if at >= 0 else []


def document(results: dict[str, dict], rows: list[Row], started: str, seconds: float, where: str | None = None) -> str:
    ran = {k: r for k, r in results.items() if "summary" in r}
    loads = [v for r in ran.values() for v in r["load"]]
    text = [
        "# Results",
        "",
        "Every row is trained from scratch by the command below it; `python benchmarks/results.py` runs them "
        "all, prints this table and rewrites this file. The tests in `tests/results/` guard the small rows in CI.",
        "",
        f"Measured {started} on {where or machine()}; the whole table took {seconds / 60:.1f} minutes. "
        f"Load average while it ran: {min(loads, default=0):.1f} to {max(loads, default=0):.1f} "
        f"(2 cores: anything above 2 means other work was competing and the seconds are inflated).",
        "",
        *table(results, rows),
        "",
        "\"train s\" is the training loop (summary.json's `seconds`); \"wall s\" is the whole command, start-up and "
        "data loading included. Accuracies do not depend on the machine's load; seconds do. The median epoch "
        "hardly notices a few epochs slowed by other jobs, so epochs × median epoch estimates the training time "
        "on a quiet machine.",
        "",
        "## Commands",
        "",
    ]
    for row in rows:
        name = DATASET_NAMES.get(row.dataset, row.dataset)
        measured = "" if row.key in ran else " (not measured here)"
        text += [f"**{name}, {row.label}**{measured}: {row.note}.", "", "```sh", row.command, "```", ""]
    text += [
        "## Notes",
        "",
        "- **MNIST.** The exercise (002_*) says Linear(784, 10) + softmax should make about 750 test errors "
        "and Linear(784, 200), Tanh, Linear(200, 10) + softmax about 250, out of 10,000. The data set is "
        "downloaded on first use (`chainrule train --dataset mnist` fetches and checks the four files)"
        + ("." if "mnist-linear" in ran else "; this machine had no copy and no internet access, so those rows "
           "have commands and the exercise's expectations but no measurements."),
        "- **The best MLP** in 5 minutes: two hidden layers of 512 ReLUs, each followed by dropout 0.2; SGD with "
        "momentum 0.9, learning rate 0.05 annealed to 0 by a cosine schedule over 80 epochs, weight decay 1e-4, "
        "batches of 128; and `--shift 1`: each training image is moved by up to one pixel in each direction, a "
        "fresh random shift every time it is seen (`chainrule.data.augment.random_shift`). The settings were "
        "chosen by validation accuracy (`--val-split 0.1`, table below); the row then trains on all 60,000 "
        "training images (`--val-split 0`, keeping the last epoch) and looks at the test set once. Published MLP "
        "results on Fashion-MNIST are about 87-90%; the data set's benchmark lists scikit-learn's MLPClassifier "
        "with 100 ReLUs at 87.1%.",
        "- **Time.** The 5-minute budget is wall clock for the whole command on a 2-core CPU. NumPy's OpenBLAS "
        "uses both cores; when other jobs are running its threads wait for each other and an epoch can take "
        "several times longer (`OPENBLAS_NUM_THREADS=1` is then faster). The load average above says how busy "
        "the machine was.",
        "- `--out DIR --no-plots --quiet` are added when the script runs a command; they change only what is "
        "written, not the training.",
        "",
        "## How the best MLP was chosen",
        "",
        "Runs on Fashion-MNIST with 10% of the training set held out (`--val-split 0.1`; batches of 128, cosine "
        "schedule, as in the row), in the order they were run, with summary.json's validation accuracy (at the "
        f"epoch of lowest validation loss); measured {SELECTION_DATE}, CPU seconds on one BLAS thread with other "
        "jobs on the machine. The last two tie at the last epoch (568 validation errors each); the one with "
        "dropout 0.2 is ahead at its best epoch.",
        "",
        "| model | optimizer, lr | weight decay | shift | epochs | val accuracy | CPU s |",
        "|---|---|---:|---:|---:|---:|---:|",
        *[f"| {m} | {o} | {wd} | {sh} | {e} | {v:.2%} | {c or '—'} |"
          for m, o, wd, sh, e, v, c in SELECTION],
        "",
        *kept_sections(),
    ]
    return "\n".join(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=None, help="comma-separated row keys (default: all); see --list")
    parser.add_argument("--list", action="store_true", help="print the rows and their commands and exit")
    parser.add_argument("--out", default=None, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--docs", default=None,
                        help=f"write the markdown here (default: {DOCS.relative_to(ROOT)} when all rows run)")
    parser.add_argument("--json", default=None, help="also write the raw results as JSON here")
    parser.add_argument("--from-json", default=None, metavar="FILE",
                        help="print the table and write the docs from a file written by --json, training nothing")
    args = parser.parse_args(argv)

    rows = ROWS
    if args.rows:
        keys = [k.strip() for k in args.rows.split(",") if k.strip()]
        unknown = [k for k in keys if k not in {r.key for r in ROWS}]
        if unknown:
            parser.error(f"unknown rows {', '.join(unknown)}; known: {', '.join(r.key for r in ROWS)}")
        rows = [r for r in ROWS if r.key in keys]
    if args.list:
        for row in rows:
            print(f"{row.key:16s} {row.command}")
        return 0

    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        started, where, seconds, results = saved["started"], saved["machine"], saved["seconds"], saved["results"]
        rows = [r for r in rows if r.key in results]
    else:
        started, where = time.strftime("%Y-%m-%d %H:%M %Z"), machine()
        seconds, results = run_rows(rows, args.out)
    report(results, rows, started, where, seconds, args)
    missed = [k for k, r in results.items() if False in (r.get("accuracy_ok"), r.get("time_ok"))]
    if missed:
        print(f"missed targets: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


def run_rows(rows: list[Row], out: str | None) -> tuple[float, dict[str, dict]]:
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="chainrule-results-") as tmp:
        folder = Path(out) if out else Path(tmp)
        for row in rows:
            if not available(row.dataset):
                print(f"{row.key}: skipped, no {row.dataset} files on this machine", file=sys.stderr, flush=True)
                results[row.key] = {"key": row.key, "skipped": f"no {row.dataset} files on this machine"}
                continue
            print(f"{row.key}: {row.command}", file=sys.stderr, flush=True)
            results[row.key] = r = run_row(row, folder)
            s = r["summary"]
            print(f"  test accuracy {s['test_accuracy']:.2%} ({s['test_errors']} errors), {s['epochs']} epochs, "
                  f"train {s['seconds']:.1f}s, wall {r['wall']:.1f}s, load {r['load'][0]}-{r['load'][1]}",
                  file=sys.stderr, flush=True)
    return time.perf_counter() - t0, results


def report(results: dict[str, dict], rows: list[Row], started: str, where: str, seconds: float, args) -> None:
    print("\n".join(table(results, rows)))
    print()
    for row in rows:
        print(f"- {row.key}: `{row.command}`")
    docs = Path(args.docs) if args.docs else (DOCS if rows == ROWS else None)
    if docs is not None:
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(document(results, rows, started, seconds, where))
        print(f"\nwrote {docs}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"started": started, "machine": where, "seconds": round(seconds, 1),
                                               "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())

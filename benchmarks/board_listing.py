"""How long ``chainrule board`` takes to list 1,000 runs: GET /api/runs, timed by the client.

Makes RUNS in a temporary folder: 1,000 run folders as chainrule train writes them (metrics.jsonl of
20 to 50 epochs, summary.json with the config and warnings, a lock file with a pid that has ended,
status.json in half of them; every fifth with diagnostics.jsonl of three layers with their histograms;
every 50th interrupted before its summary, so that its last.safetensors header is read instead),
spread over 10 sub-folders as tune and grouped runs are. Then, each round, starts ``python -m
chainrule board RUNS --port 0`` in its own process and times, from this one:

    cold     the first request: the whole scan, every file parsed (the files are in the OS's page
             cache: they were just written; a disk that must be read first adds its own time)
    warm     the next requests: the folders listed and the files stat-ed, nothing parsed
    live     requests while 10 runs each get a new epoch between two requests (their metrics.jsonl
             appended to, as a training run writes it): the appended lines parsed, nothing else

and prints the median and the spread (min to max) of each, with the scan's own time as the server
reports it (``scanned_seconds``) and the reply's size. The goal: under 1 s.

Run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/board_listing.py`
(this environment pins OpenBLAS's kernels otherwise; see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

MODELS = ("linear", "200tanh", "512relu-256relu", "64relu-dropout0.2-64relu", "100sigmoid")
DATASETS = ("digits", "mnist", "fashion-mnist", "moons")


def _epoch(n: int, epochs: int, rng: random.Random) -> dict:
    loss = 2.3 * (0.9 ** n) + rng.random() * 0.05
    accuracy = min(0.99, 0.3 + 0.6 * n / epochs + rng.random() * 0.02)
    return {"epoch": n, "lr": 0.001 * (0.5 + 0.5 * rng.random()), "train_loss": loss, "train_accuracy": accuracy,
            "train_errors": int((1 - accuracy) * 54000), "val_loss": loss * 1.1, "val_accuracy": accuracy - 0.01,
            "val_errors": int((1.01 - accuracy) * 6000), "seconds": 3 + rng.random()}


def _diagnostics(n: int, rng: random.Random) -> dict:
    layers = []
    for i, units in enumerate((200, 100, 10)):
        layer = {"name": str(2 * i), "kind": "linear", "units": units, "mean": rng.random(), "std": rng.random(),
                 "saturated": rng.random() * 0.1, "dead": 0.0, "grad_norm": rng.random(),
                 "histogram": {"lo": -3.0, "hi": 3.0, "counts": [rng.randrange(1000) for _ in range(30)]},
                 "weight_grad_norm": rng.random(), "weight_norm": 5 + rng.random(), "update_ratio": 1e-3,
                 "update_ratio_mean": 1e-3, "update_steps": 32}
        layers.append(layer)
    return {"epoch": n, "lr": 0.001, "probe_size": 1000, "layers": layers}


def _safetensors_header(info: dict) -> bytes:
    header = {"__metadata__": {"chainrule": json.dumps(info)},
              "model.0.weight": {"dtype": "F32", "shape": [784, 200], "data_offsets": [0, 0]}}
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw  # the tensors' bytes left out: the board reads the header only


def make_runs(root: str, count: int, seed: int = 0) -> None:
    """``count`` run folders under ``root`` (see the module's notes)."""
    rng = random.Random(seed)
    for i in range(count):
        folder = os.path.join(root, f"group-{i % 10}", f"run-{i:04d}")
        os.makedirs(folder)
        epochs = rng.randint(20, 50)
        lines = [_epoch(n, epochs, rng) for n in range(1, epochs + 1)]
        config = {"epochs": epochs, "batch_size": 32, "lr": 0.001, "optimizer": "adam", "momentum": 0.9,
                  "weight_decay": 0.0005, "patience": 20, "val_split": 0.1, "seed": i, "schedule": "cosine",
                  "clip_grad": None, "shift": 0, "diagnostics": i % 5 == 0}
        model, dataset = MODELS[i % len(MODELS)], DATASETS[i % len(DATASETS)]
        with open(os.path.join(folder, "metrics.jsonl"), "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
        if i % 5 == 0:
            with open(os.path.join(folder, "diagnostics.jsonl"), "w") as f:
                f.writelines(json.dumps(_diagnostics(n, rng)) + "\n" for n in range(1, epochs + 1))
        with open(os.path.join(folder, ".chainrule.lock"), "w") as f:
            f.write("999999999\n")  # no such process: the run has ended
        if i % 50 == 7:  # interrupted before its summary
            with open(os.path.join(folder, "last.safetensors"), "wb") as f:
                f.write(_safetensors_header({"spec": model, "dataset": dataset, "train_config": config,
                                             "resume": {"history": lines}}))
            continue
        summary = {"dataset": dataset, "model": model, "parameters": 159010, "epochs": epochs, "best_epoch": epochs,
                   "stopped_early": False, "seconds": sum(m["seconds"] for m in lines),
                   "val_accuracy": lines[-1]["val_accuracy"], "test_accuracy": lines[-1]["val_accuracy"] - 0.005,
                   "test_errors": 500, "test_size": 10000, "config": config,
                   "warnings": [{"kind": "saturated", "epoch": 3, "layer": "1", "value": 0.4,
                                 "message": "layer 1 (sigmoid): 40% of its units saturated"}] if i % 7 == 0 else []}
        with open(os.path.join(folder, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        if i % 2:
            with open(os.path.join(folder, "status.json"), "w") as f:
                json.dump({"status": "finished", "pid": 999999999, "started": "2026-11-29T10:00:00Z",
                           "updated": "2026-11-29T10:05:00Z", "message": None}, f)


def _get(url: str) -> tuple[float, dict, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    seconds = time.perf_counter() - start
    return seconds, json.loads(body), len(body)


def _spread(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:7.1f} ms   spread {min(values) * 1000:7.1f} .. "
            f"{max(values) * 1000:7.1f} ms   ({len(values)} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="run folders to make (default: 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="server processes started, one cold request each")
    parser.add_argument("--warm", type=int, default=10, help="warm requests a round (and as many live ones)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="board-listing-") as tmp:
        root = os.path.join(tmp, "runs")
        start = time.perf_counter()
        make_runs(root, args.runs)
        print(f"made {args.runs} run folders in {time.perf_counter() - start:.1f} s under {root}", flush=True)
        live = [os.path.join(root, f"group-{i % 10}", f"run-{i:04d}", "metrics.jsonl") for i in range(1, 11)]
        cold, warm, appended, scans = [], [], [], {"cold": [], "warm": [], "live": []}
        size = 0
        for _ in range(args.rounds):
            proc = subprocess.Popen([sys.executable, "-m", "chainrule", "board", root, "--port", "0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                if not line.startswith("serving "):
                    raise SystemExit(f"chainrule board did not start: {proc.stderr.read().strip()}")
                url = line.split(" at ")[-1].strip() + "api/runs"
                seconds, reply, size = _get(url)
                assert len(reply["runs"]) == args.runs, len(reply["runs"])
                cold.append(seconds)
                scans["cold"].append(reply["scanned_seconds"])
                for _ in range(args.warm):
                    seconds, reply, _ = _get(url)
                    warm.append(seconds)
                    scans["warm"].append(reply["scanned_seconds"])
                for _ in range(args.warm):
                    for path in live:
                        with open(path, "rb") as f:
                            n = sum(1 for _ in f) + 1
                        with open(path, "a") as f:
                            f.write(json.dumps(_epoch(n, 60, random.Random(n))) + "\n")
                    seconds, reply, _ = _get(url)
                    appended.append(seconds)
                    scans["live"].append(reply["scanned_seconds"])
            finally:
                proc.terminate()
                proc.communicate(timeout=60)
        print(f"GET /api/runs, {args.runs} runs, reply {size / 1024:.0f} kB; python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")
        for name, values in (("cold", cold), ("warm", warm), ("live", appended)):
            print(f"  {name:5} {_spread(values)}   server's scan: median "
                  f"{statistics.median(scans[name]) * 1000:.1f} ms")
        worst = max(cold + warm + appended)
        print(f"slowest request {worst:.3f} s: {'under' if worst < 1 else 'OVER'} the 1 s goal")


if __name__ == "__main__":
    main()

"""What TrainConfig.diagnostics costs: seconds per epoch with and without it on Fashion-MNIST, 784-200tanh-10.

TrainConfig's defaults otherwise (Adam, batch 32, 54,000 training examples: 1,688 steps an epoch).
Each configuration trains in its own process (a fresh interpreter, the same seed), the order rotating
every round so that a drift in the machine's load hits each alike. The figure is a run's wall time
(making the Trainer, its probe set included, and ``Trainer.fit()`` into a temporary run folder: the
epochs, their validation, the layer statistics, the run's files, the final test) over its epochs,
the median over rounds, with each round's overhead beside it, and the share of the run's time spent
inside the Recorder's methods (timed in the run itself, so the machine's load drifts cancel out):

    off     diagnostics=False
    on      diagnostics=True: update ratios on STEPS_MEASURED (32) evenly spaced steps an epoch,
            layer_stats on 1,000 probe examples at each epoch's end (what chainrule does)
    every   the same, measuring the update of every step (the alternative the sample replaced)

Run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/diagnostics_overhead.py`
(this environment pins OpenBLAS's kernels otherwise; see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

CONFIGS = ("off", "on", "every")


def child(config: str, epochs: int, threads: int | None) -> None:
    """One run, in this process: prints {"seconds": the run's wall time, "inside": the part of it spent in
    the Recorder's methods, "epochs": each epoch's seconds, "update_steps": the steps measured}."""
    import chainrule as cr
    from chainrule.diagnostics import DiagnosticsWarning, recorder
    from chainrule.threads import limit_threads
    from chainrule.train import Trainer, TrainConfig

    if config == "every":
        recorder.STEPS_MEASURED = 10**9  # read when a Recorder is made: every step of the epoch
    data = cr.data.load_dataset("fashion-mnist")
    cfg = TrainConfig(epochs=epochs, diagnostics=config != "off", patience=None)
    cr.manual_seed(cfg.seed)
    model = cr.Classifier.from_spec("200tanh", data.num_features, data.classes, data.image_shape)
    inside = [0.0]

    def timed(method):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - start
        return call

    with limit_threads(threads), tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)
        start = time.perf_counter()
        trainer = Trainer(model, data, cfg, out_dir=os.path.join(tmp, "run"))  # writes its files as a run does
        if trainer.recorder is not None:
            for name in ("before_step", "after_step", "end_epoch"):
                setattr(trainer.recorder, name, timed(getattr(trainer.recorder, name)))
        result = trainer.fit()
        seconds = time.perf_counter() - start
    lines = trainer.recorder.lines if trainer.recorder is not None else []
    steps = {row["update_steps"] for line in lines for row in line["layers"] if "update_steps" in row}
    print(json.dumps({"seconds": seconds, "inside": inside[0], "epochs": [m["seconds"] for m in result.history],
                      "update_steps": sorted(steps)}))


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)

    return "; ".join(f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')}, "
                     f"{p.get('num_threads')} threads by default" for p in threadpool_info() if p.get("user_api") == "blas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all cores, as training's)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"which of {', '.join(CONFIGS)}")
    parser.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.epochs, args.threads)
    configs = args.configs.split(",")
    threads = "all cores'" if args.threads is None else str(args.threads)
    print(f"Fashion-MNIST, 784-200tanh-10, TrainConfig defaults (adam, batch 32), {args.epochs} epochs per run, "
          f"{args.rounds} rounds, {threads} BLAS threads; BLAS: {blas_info()}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}; {os.cpu_count()} cores")
    runs: dict[str, list[dict]] = {c: [] for c in configs}
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]  # rotates: each goes first in turn
        for config in order:
            command = [sys.executable, __file__, "--child", config, "--epochs", str(args.epochs)]
            if args.threads is not None:
                command += ["--threads", str(args.threads)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs[config].append(json.loads(out.strip().splitlines()[-1]))
        line = "  ".join(f"{c} {runs[c][-1]['seconds'] / args.epochs:.3f}" for c in configs)
        print(f"round {r + 1}: s/epoch  {line}", flush=True)
    per_epoch = {c: [run["seconds"] / args.epochs for run in runs[c]] for c in configs}
    base = per_epoch.get("off")
    print(f"\n{'config':>7} {'median s/epoch':>15} {'min':>7} {'max':>7} {'overhead':>9} {'inside':>7} "
          f"{'update_steps':>13}  per round")
    for c in configs:
        times = per_epoch[c]
        overhead = rounds = ""
        if base and c != "off":
            overhead = f"{statistics.median(times) / statistics.median(base) - 1:+.1%}"
            rounds = " ".join(f"{t / b - 1:+.1%}" for t, b in zip(times, base))
        # the share of each run's own time spent in the Recorder: steady however the machine's load drifts
        inside = f"{statistics.median(run['inside'] / run['seconds'] for run in runs[c]):.1%}"
        steps = sorted({s for run in runs[c] for s in run["update_steps"]})
        print(f"{c:>7} {statistics.median(times):>15.3f} {min(times):>7.3f} {max(times):>7.3f} {overhead:>9} "
              f"{inside:>7} {','.join(map(str, steps)) or '-':>13}  {rounds}")
    print("overhead: median s/epoch against off's; per round: each round's run against off's in the same round; "
          "inside: the median share of a run's wall time spent in the Recorder's methods")


if __name__ == "__main__":
    main()

"""Data-parallel training on MPI: seconds per epoch at K = 1 and 2 processes, the allreduce's cost, and a model.

    python benchmarks/mpi_scaling.py                       # 8 min here with a core free, 14 with none
    python benchmarks/mpi_scaling.py --rounds 3 --epochs 3 --out /tmp/mpi_scaling.txt
    python benchmarks/mpi_scaling.py --skip-training       # the allreduce part only (~1 minute)
    python benchmarks/mpi_scaling.py --ks 1,2,4            # on a machine with 4 cores to spare

Training. Each run is its own ``mpirun -n K python -m chainrule train --dataset fashion-mnist --model NET
--batch-size 1000 --optimizer sgd --lr 0.05 --schedule none --patience 0 --epochs E --threads 1 --no-plots
--quiet --out TMP`` (K = 1 too, under mpirun, so that all start alike), plus one process with
``--threads 2`` (``--threads-too``): what the same cores give one process instead. The order of the
runs rotates every round so that a drift in the machine's load hits each alike. A run's seconds per
epoch is the mean of its epochs' ``seconds`` in metrics.jsonl after the first (the warm-up); an
epoch's seconds include its validation (6,000 examples, forward only, sharded). Inside every rank
(``--train-rank``: ``chainrule train`` in-process, as ``python -m chainrule`` runs it), threadpoolctl
reports the BLAS, kernel and thread count in the block where ``--threads`` applies, and each call to
``MPICommunicator.allreduce_sum`` is timed, by array size. The children run without
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (as ``env -u`` would): OpenBLAS picks its kernel for this CPU.

Allreduce. ``mpirun -n K python benchmarks/mpi_scaling.py --allreduce`` (K = 2 and 4, with
``--oversubscribe`` beyond the cores) times ``COMM_WORLD.Allreduce(IN_PLACE, buffer)`` on a float32
buffer of P + 3 numbers, a net's P parameters and a few more (train/parallel.py sends P + 5 once a
step: the gradients, the loss sum, the correct count, a count per stop signal): each repeat starts after a
barrier and ends when its slowest rank is done; the median over repeats. Bandwidth as NCCL's tests
define it: algorithm bandwidth = bytes / time, bus bandwidth = algorithm bandwidth x 2(K-1)/K (what
each link carries in a ring allreduce).

Model. One step at K processes: compute(1)/K + allreduce(P, K), with the ring allreduce's
allreduce(P, K) = 2(K-1) alpha + 2(K-1)/K x 4(P+3) bytes / B (Patarasuk and Yuan, "Bandwidth optimal
all-reduce algorithms", 2009): alpha a message's latency, B a link's bandwidth. compute(1) is the
measured seconds per step of one process with one thread; the speedup is compute(1) / step(K). For
this machine alpha is half the 3-number allreduce at K = 2 and B the bandwidth at each net's size
(shared memory is faster for buffers that stay in cache); for the networks both are stated.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mpi_scaling.txt"
BATCH = 1000
# SPEC -> layer sizes on Fashion-MNIST (784 features, 10 classes); the first two are trained.
NETS = {"200tanh": (784, 200, 10), "512relu-256relu": (784, 512, 256, 10), "2048relu-1024relu": (784, 2048, 1024, 10)}
TRAINED = ("512relu-256relu", "200tanh")
EXTRA = 3  # numbers timed with the gradients (the trainer sends 5: loss sum, correct count, 3 stop signals)
KS_MODELLED = (2, 4, 8, 16)
# Interconnects the model is evaluated for: (alpha seconds, B bytes/s). Link rates are the
# nominal ones; the latencies are typical MPI small-message figures, assumed, not measured here.
NETWORKS = {"10 Gb/s Ethernet": (25e-6, 1.25e9), "100 Gb/s InfiniBand": (2e-6, 12.5e9)}
BLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def parameters(sizes) -> int:
    """Weights and biases of an MLP with these layer sizes.

    >>> parameters(NETS["512relu-256relu"]), parameters(NETS["200tanh"])
    (535818, 159010)
    """
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def ring_allreduce(numbers: int, k: int, alpha: float, bandwidth: float) -> float:
    """Seconds for a ring allreduce of ``numbers`` float32 over k processes: 2(k-1) messages of
    latency alpha, and 2(k-1)/k of the buffer through each link at ``bandwidth`` bytes/s.

    >>> ring_allreduce(10**6, 2, 0.0, 4e9)  # 4 MB, half of it out and half in: 1 ms
    0.001
    >>> ring_allreduce(10**6, 1, 1e-6, 4e9)
    0.0
    """
    return 2 * (k - 1) * alpha + 2 * (k - 1) / k * 4 * numbers / bandwidth


def speedup(compute: float, numbers: int, k: int, alpha: float, bandwidth: float) -> float:
    """compute(1) / (compute(1)/k + allreduce): the model's speedup at k processes for a step that
    takes ``compute`` seconds in one.

    >>> round(speedup(0.010, 10**6, 2, 0.0, 4e9), 3)  # 10 ms of work: 5 ms each + 1 ms of allreduce
    1.667
    """
    return compute / (compute / k + ring_allreduce(numbers, k, alpha, bandwidth))


# ------------------------------------------------------------------------- inside the ranks
def blas_pools() -> list[dict]:
    """This process's BLAS libraries as threadpoolctl sees them now."""
    from threadpoolctl import threadpool_info

    return [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for p in threadpool_info() if p.get("user_api") == "blas"]


def rank_of_this_process() -> int:
    return int(os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMI_RANK", "0")))


def train_rank(argv: list[str], record: str) -> None:
    """``chainrule train ARGV`` in this process, as ``python -m chainrule`` runs it, then RECORD/rank<r>.json:
    this rank's BLAS pools (threadpoolctl, read on entering the block where ``--threads`` applies) and
    the calls to MPICommunicator.allreduce_sum by array size (count, seconds inside, waiting included)."""
    import chainrule.cli.train as command
    from chainrule.cli import main
    from chainrule.distributed import MPICommunicator

    seen: dict = {"blas": None, "allreduce": {}}
    limit, allreduce_sum = command.limit_threads, MPICommunicator.allreduce_sum

    @contextlib.contextmanager
    def checked(threads):
        with limit(threads):
            seen["blas"] = blas_pools()
            yield

    def timed(self, array):
        start = time.perf_counter()
        try:
            return allreduce_sum(self, array)
        finally:
            calls = seen["allreduce"].setdefault(str(array.size), {"calls": 0, "seconds": 0.0})
            calls["seconds"] += time.perf_counter() - start
            calls["calls"] += 1

    command.limit_threads, MPICommunicator.allreduce_sum = checked, timed
    status = main(argv)
    Path(record, f"rank{rank_of_this_process()}.json").write_text(json.dumps(seen))
    sys.exit(status)


def allreduce_rank(sizes: list[int], repeats: int, seconds: float) -> None:
    """Times Allreduce(IN_PLACE) of float32 buffers of these sizes; rank 0 prints the result as JSON."""
    import mpi4py
    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    check = np.full(4, comm.rank + 1, np.float32)
    comm.Allreduce(MPI.IN_PLACE, check, op=MPI.SUM)
    assert (check == comm.size * (comm.size + 1) / 2).all(), check
    rows = []
    for n in sizes:
        buffer = np.zeros(n, np.float32)  # zeros: sums of sums stay finite however many repeats
        for _ in range(5):  # warm-up: connections, pages, the shared-memory segments
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(5):
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        each = (time.perf_counter() - start) / 5
        count = comm.bcast(max(10, min(repeats, int(seconds / max(each, 1e-9)))), root=0)  # the same on every rank
        times = np.empty(count)
        for i in range(count):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times[i] = time.perf_counter() - start
        comm.Allreduce(MPI.IN_PLACE, times, op=MPI.MAX)  # a repeat is over when its slowest rank is
        rows.append({"numbers": n, "repeats": count, "median": float(np.median(times)),
                     "p10": float(np.percentile(times, 10)), "p90": float(np.percentile(times, 90))})
    if comm.rank == 0:
        print(json.dumps({"k": comm.size, "rows": rows, "mpi4py": mpi4py.__version__,
                          "mpi": MPI.Get_library_version().replace("\x00", "").splitlines()[0].strip().rstrip(",")}))


# ------------------------------------------------------------------------- the launcher
def mpirun_command(k: int, threads: int = 1) -> list[str]:
    """``mpirun -n k`` (the one next to this Python first), with what root and oversubscription need.
    Open MPI binds each process to one core; a process with more BLAS threads than that is left
    unbound (``--bind-to none``), or its threads would share one core."""
    found = shutil.which("mpirun", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        sys.exit("mpi_scaling: no mpirun next to this Python or on PATH: pip install 'chainrule[mpi]'")
    command = [found, "-n", str(k)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-run-as-root")
    if k > (os.cpu_count() or 1):
        command.append("--oversubscribe")
    if threads > 1:
        command += ["--bind-to", "none"]
    return command


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_PINS}
    src = str(ROOT / "src")  # this checkout's chainrule, whatever the venv has installed
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def train_args(net: str, epochs: int, out: Path, threads: int = 1) -> list[str]:
    return ["train", "--dataset", "fashion-mnist", "--model", net, "--batch-size", str(BATCH), "--optimizer", "sgd",
            "--lr", "0.05", "--schedule", "none", "--patience", "0", "--epochs", str(epochs), "--threads", str(threads),
            "--no-plots", "--quiet", "--out", str(out)]


def train_once(net: str, k: int, epochs: int, threads: int = 1) -> dict:
    """One training run under ``mpirun -n k``: its epochs' seconds, steps per epoch and every rank's BLAS."""
    with tempfile.TemporaryDirectory() as tmp:
        out, record = Path(tmp, "run"), Path(tmp, "blas")
        record.mkdir()
        command = mpirun_command(k, threads) + [sys.executable, __file__, "--train-rank", str(record), "--",
                                       *train_args(net, epochs, out, threads)]
        done = subprocess.run(command, capture_output=True, text=True, env=child_env())
        if done.returncode != 0:
            sys.exit(f"mpi_scaling: {' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
        summary = json.loads((out / "summary.json").read_text())
        ranks = {int(p.stem[4:]): json.loads(p.read_text()) for p in record.glob("rank*.json")}
    if sorted(ranks) != list(range(k)):
        sys.exit(f"mpi_scaling: reports from ranks {sorted(ranks)}, expected 0 to {k - 1}")
    seconds = [m["seconds"] for m in lines]
    return {"epochs": seconds, "per_epoch": statistics.mean(seconds[1:] or seconds), "seconds": sum(seconds),
            "steps": math.ceil(summary["train_size"] / BATCH), "ranks": ranks, "test_accuracy": summary["test_accuracy"]}


def measure_allreduce(k: int, repeats: int, seconds: float) -> dict:
    sizes = [EXTRA] + [parameters(NETS[n]) + EXTRA for n in NETS]
    command = mpirun_command(k) + [sys.executable, __file__, "--allreduce", "--sizes", ",".join(map(str, sizes)),
                                   "--repeats", str(repeats), "--seconds", str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, env=child_env())
    if done.returncode != 0:
        sys.exit(f"mpi_scaling: {' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return f"{model}, {os.cpu_count()} cores"


def load() -> str:
    with contextlib.suppress(OSError):
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3]) + " (1, 5, 15 min)"
    return "load average unknown"


def label(k: int, threads: int) -> str:
    """A training configuration as the tables name it: processes x BLAS threads each."""
    return f"{k} x {threads}"


def fmt_bytes_rate(rate: float) -> str:
    return f"{rate / 1e9:.2f} GB/s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="training runs of each (net, K)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run; the first is dropped as warm-up")
    parser.add_argument("--nets", default=",".join(TRAINED), help=f"SPECs to train, of {', '.join(NETS)}")
    parser.add_argument("--ks", default="1,2", help="process counts to train with, 1 among them (default: %(default)s)")
    parser.add_argument("--threads-too", type=int, default=2,
                        help="also train one process with this many BLAS threads (default: %(default)s; 1: not)")
    parser.add_argument("--out", default=str(RESULTS), help="results file (default: %(default)s)")
    parser.add_argument("--skip-training", action="store_true", help="the allreduce part only")
    parser.add_argument("--repeats", type=int, default=400, help="at most this many allreduces per size")
    parser.add_argument("--seconds", type=float, default=2.0, help="about this long per allreduce size")
    parser.add_argument("--allreduce", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="", help=argparse.SUPPRESS)
    parser.add_argument("--train-rank", metavar="RECORD", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.train_rank:
        return train_rank(args.rest[1:] if args.rest[:1] == ["--"] else args.rest, args.train_rank)
    if args.allreduce:
        return allreduce_rank([int(s) for s in args.sizes.split(",")], args.repeats, args.seconds)
    nets, ks = args.nets.split(","), sorted({int(k) for k in args.ks.split(",")})
    if args.rounds < 1 or args.epochs < 2 or any(n not in NETS for n in nets) or ks[0] != 1:
        parser.error(f"--rounds >= 1, --epochs >= 2, --nets of {', '.join(NETS)}, --ks with 1 among them")
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    say(f"mpi_scaling.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}; Python "
        f"{platform.python_version()}; children without {' and '.join(BLAS_PINS)} (set here: "
        f"{', '.join(f'{k}={os.environ[k]}' for k in BLAS_PINS if k in os.environ) or 'neither'})")
    say(f"at the start: {load()}")

    # ---- allreduce
    reduced = {k: measure_allreduce(k, args.repeats, args.seconds) for k in sorted({2, 4, *ks} - {1})}
    say(f"{reduced[2]['mpi']}; mpi4py {reduced[2]['mpi4py']}; shared memory on one machine")
    say()
    say("Allreduce(IN_PLACE, float32[P + 3]): median of repeats (each after a barrier, until its slowest rank is done)")
    say(f"{'K':>2} {'buffer':>24} {'numbers':>10} {'bytes':>11} {'median us':>10} {'p10-p90 us':>15} "
        f"{'algbw':>11} {'busbw':>11} {'repeats':>8}")
    names = ["(3 numbers)"] + [f"784-{n}-10" for n in NETS]
    for k, res in reduced.items():
        for name, row in zip(names, res["rows"]):
            nbytes = 4 * row["numbers"]
            alg = nbytes / row["median"]
            say(f"{k:>2} {name:>24} {row['numbers']:>10,} {nbytes:>11,} {row['median'] * 1e6:>10.1f} "
                f"{row['p10'] * 1e6:>7.1f}-{row['p90'] * 1e6:<7.1f} {fmt_bytes_rate(alg):>11} "
                f"{fmt_bytes_rate(alg * 2 * (k - 1) / k):>11} {row['repeats']:>8}")
    # This machine's alpha and B at K = 2 (where 2(K-1)/K = 1): the 3-number allreduce is 2 alpha; B at
    # each net's size, latency taken off (shared memory is faster for buffers that stay in cache).
    rows2 = reduced[2]["rows"]
    alpha = rows2[0]["median"] / 2
    bandwidth = {net: 4 * row["numbers"] / max(row["median"] - 2 * alpha, 1e-12) for net, row in zip(NETS, rows2[1:])}
    say(f"this machine at K = 2, fitted to the ring model: alpha = {alpha * 1e6:.1f} us (half the 3-number "
        f"allreduce); B = " + ", ".join(f"{fmt_bytes_rate(b)} at 784-{net}-10's size" for net, b in bandwidth.items()))

    if args.skip_training:
        return finish(args.out, out)

    # ---- training
    # (net, K, BLAS threads a process); K=1 with more threads: what the cores give one process instead
    configs = [(net, k, 1) for net in nets for k in ks] + [(net, 1, t) for net in nets for t in [args.threads_too] if t > 1]
    runs: dict[tuple[str, int, int], list[dict]] = {c: [] for c in configs}
    say()
    say(f"Training: Fashion-MNIST, batch {BATCH} (global), SGD lr 0.05, {args.epochs} epochs per run (the first "
        f"dropped), {args.rounds} rounds; each configuration as processes x BLAS threads (--threads) each; s/epoch per "
        f"run, in the order run")
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]  # rotates: each goes first in turn
        for c in order:
            runs[c].append(train_once(*c[:2], args.epochs, c[2]))
        say(f"round {r + 1}: " + "  ".join(f"{net} {label(k, t)} {runs[(net, k, t)][-1]['per_epoch']:.3f}"
                                            for net, k, t in order))
    blas = {json.dumps(p, sort_keys=True) for c in configs for run in runs[c] for rank in run["ranks"].values()
            for p in rank["blas"]}
    say("every rank's BLAS inside the block of --threads (threadpoolctl): " + "; ".join(
        f"{p['internal_api']} {p['version']} {p['architecture']}, {p['num_threads']} thread(s)"
        for p in map(json.loads, sorted(blas))))
    import numpy

    say(f"NumPy {numpy.__version__}")
    say(f"at the end: {load()}")
    say()
    say(f"{'net':>24} {'processes x threads':>20} {'median s/epoch':>15} {'min':>7} {'max':>7} {'ms/step':>8} "
        f"{'speedup':>8}  per round (1 x 1's s/epoch over this one's, same round)")
    compute: dict[str, float] = {}
    measured: dict[str, dict[int, float]] = {net: {} for net in nets}
    for net, k, t in sorted(configs):
        times = [run["per_epoch"] for run in runs[(net, k, t)]]
        steps = runs[(net, k, t)][0]["steps"]
        ratio = rounds = ""
        if (k, t) == (1, 1):
            compute[net] = statistics.median(times) / steps
        else:
            ratios = [a["per_epoch"] / b["per_epoch"] for a, b in zip(runs[(net, 1, 1)], runs[(net, k, t)])]
            ratio = f"{statistics.median(ratios):.2f}"
            rounds = " ".join(f"{x:.2f}" for x in ratios)
            if t == 1:
                measured[net][k] = statistics.median(ratios)
        say(f"{'784-' + net + '-10':>24} {label(k, t):>20} {statistics.median(times):>15.3f} {min(times):>7.3f} "
            f"{max(times):>7.3f} {statistics.median(times) / steps * 1e3:>8.2f} {ratio:>8}  {rounds}")
    say(f"{steps} steps an epoch; speedup: the median over rounds of 1 x 1's s/epoch over this one's, in the same round")
    if len(ks) > 1:
        say()
        say("Inside training: MPICommunicator.allreduce_sum of the step's buffer (the largest: the gradients and a few "
            "numbers) as each "
            "rank saw it, medians over runs; the rank that arrives last waits least, so the least ms/call is nearest "
            "the transfer itself")
        say(f"{'net':>24} {'K':>2} {'numbers':>10} {'calls/run':>10} {'ms/call, each rank':>22} "
            f"{'share of the epochs, each rank':>31} {'other calls/run':>16}")
        for net in nets:
            for k in ks[1:]:
                rs = runs[(net, k, 1)]
                size = max((n for run in rs for n in run["ranks"][0]["allreduce"]), key=int)
                per = [[run["ranks"][r]["allreduce"].get(size, {"calls": 0, "seconds": 0.0}) for run in rs]
                       for r in range(k)]
                calls = statistics.median(c["calls"] for c in per[0])
                each = " ".join(f"{statistics.median(c['seconds'] / max(c['calls'], 1) for c in per[r]) * 1e3:.2f}"
                                for r in range(k))
                share = " ".join(f"{statistics.median(c['seconds'] / run['seconds'] for c, run in zip(per[r], rs)):.1%}"
                                 for r in range(k))
                other = statistics.median(sum(c["calls"] for n, c in run["ranks"][0]["allreduce"].items() if n != size)
                                          for run in rs)
                say(f"{'784-' + net + '-10':>24} {k:>2} {int(size):>10,} {calls:>10,.0f} {each:>22} {share:>31} "
                    f"{other:>16,.0f}")

    # ---- the model
    say()
    say("Model: speedup(K) = compute(1) / (compute(1)/K + 2(K-1) alpha + 2(K-1)/K x 4(P+3) bytes / B); "
        "compute(1) = the K=1 ms/step above")
    links = {"this machine, shared memory": (alpha, None), **NETWORKS}
    say(f"{'link':>28} {'alpha':>7} {'B':>11} {'net':>24} {'P+3':>9} {'ms/step':>8} "
        + " ".join(f"{'K=' + str(k):>6}" for k in KS_MODELLED) + "  measured")
    for link, (a, b_link) in links.items():
        for net in nets:
            b = bandwidth[net] if b_link is None else b_link
            p = parameters(NETS[net]) + EXTRA
            cells = " ".join(f"{speedup(compute[net], p, k, a, b):>6.2f}" for k in KS_MODELLED)
            seen = " ".join(f"K={k} {x:.2f}" for k, x in measured[net].items()) if b_link is None else ""
            say(f"{link:>28} {a * 1e6:>5.1f}us {fmt_bytes_rate(b):>11} {'784-' + net + '-10':>24} {p:>9,} "
                f"{compute[net] * 1e3:>8.2f} {cells}  {seen}")
    say(f"this machine has {os.cpu_count()} cores: its row is what the model says beyond K={os.cpu_count()}, not "
        f"what it could run; single-threaded processes have a core each only while nothing else runs")
    return finish(args.out, out)


def finish(path: str, out: list[str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(out) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

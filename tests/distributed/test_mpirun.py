"""``mpirun -n K chainrule train`` end to end: the weights equal one process's at K = 1, 2 and 4,
checkpoints resume across K, one process writes and prints, and a failing rank stops the job.

Every run is a subprocess (mpirun, or plain python for the one-process references, which
module-scoped fixtures share). Needs mpi4py and an mpirun next to the interpreter or on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
BIN = os.path.dirname(sys.executable)
MPIRUN = shutil.which("mpirun", path=BIN + os.pathsep + os.environ.get("PATH", ""))
if MPIRUN is None:
    pytest.skip("no mpirun (pip install 'chainrule[mpi]')", allow_module_level=True)

from safetensors.numpy import load_file  # noqa: E402

ENV = {**{k: v for k, v in os.environ.items() if not k.startswith(("OMPI_COMM_WORLD", "PMI_"))},
       "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "CHAINRULE_MIRROR": "http://127.0.0.1:9",  # no downloads from tests
       # one BLAS thread per process, as --threads 1 gives the commands: the scripts' fit() calls too
       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
TIMEOUT = 180  # a hung job fails the test instead of hanging the suite

COMMON = ["--dataset", "digits", "--patience", "0", "--no-plots", "--threads", "1"]
# digits: 1,437 training examples, 144 held out for validation (val_split 0.1), 1,293 trained on.
CASES = {
    # 1,293 = 20 * 64 + 13: the last batch splits 7/6 at K = 2 and 4/3/3/3 at K = 4
    "momentum": ["--model", "32tanh", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "64", "--epochs", "5"],
    "adam-dropout": ["--model", "64relu-dropout0.2-32tanh", "--optimizer", "adam", "--lr", "0.003",
                     "--batch-size", "64", "--epochs", "5"],
    "momentum-dropout-shift": ["--model", "64relu-dropout0.2-32tanh", "--optimizer", "momentum", "--lr", "0.05",
                               "--batch-size", "64", "--epochs", "4", "--shift", "1"],
    # 1,293 = 30 * 43 + 3: the last batch of each epoch is smaller than K = 4, so rank 3 gets no rows
    "adam-empty-rank": ["--model", "32tanh", "--optimizer", "adam", "--lr", "0.003", "--batch-size", "43",
                        "--epochs", "4"],
}
RTOL, ATOL = 1e-3, 1e-5


def command(args, k: int | None = None) -> list[str]:
    """python ARGS, under ``mpirun -n k`` when k is given (k = 1 too)."""
    launcher = [] if k is None else [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-n", str(k)]
    return [*launcher, sys.executable, *map(str, args)]


def run(args, k: int | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(command(args, k), capture_output=True, text=True, timeout=TIMEOUT, env=ENV, cwd=cwd)


def train(out: Path, args, k: int | None = None, status: int = 0, quiet: bool = True, cwd=None):
    proc = run(["-m", "chainrule", "train", *COMMON, *(["--quiet"] if quiet else []), *args, "--out", out], k, cwd)
    assert proc.returncode == status, proc.stdout + proc.stderr
    return proc


def tensors(out: Path) -> dict[str, np.ndarray]:
    """Every tensor of the run's model.safetensors and last.safetensors (weights, best weights, optimizer state)."""
    return {f"{name}:{key}": value for name in ("model", "last")
            for key, value in load_file(out / f"{name}.safetensors").items()}


def compare(got: dict, want: dict) -> tuple[bool, float]:
    """(every tensor allclose at RTOL/ATOL, the largest absolute difference)."""
    assert got.keys() == want.keys()
    for k in got:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        # floats are float32 (weights, optimizer buffers); integers (Adam's step count) are exact
        assert got[k].dtype == np.float32 or (got[k].dtype.kind == "i" and np.array_equal(got[k], want[k])), k
    close = all(np.allclose(got[k], want[k], rtol=RTOL, atol=ATOL) for k in got)
    return close, max(float(np.max(np.abs(got[k] - want[k]), initial=0)) for k in got)


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """one_process(name, args): the one-process run of ``chainrule train`` with args, made once per module."""
    runs = {}

    def get(name, args):
        if name not in runs:
            out = tmp_path_factory.mktemp(name) / "run"
            runs[name] = out, train(out, args)
        return runs[name]
    return get


@pytest.mark.parametrize("case, k", [("momentum", 1), ("momentum", 2), ("momentum", 4), ("adam-dropout", 2),
                                     ("adam-dropout", 4), ("momentum-dropout-shift", 2), ("adam-empty-rank", 4)])
def test_k_processes_end_with_one_process_weights(case, k, one_process, tmp_path):
    want_out, want = one_process(case, CASES[case])
    got = train(tmp_path / "run", CASES[case], k)
    close, worst = compare(tensors(tmp_path / "run"), tensors(want_out))
    print(f"\n{case} K={k}: max |difference| {worst:.3g}")
    if k == 1:  # one process under mpirun is the one-process run: nothing changes
        assert worst == 0
        untimed = [[{**m, "seconds": 0} for m in metrics(out)] for out in (tmp_path / "run", want_out)]
        assert untimed[0] == untimed[1]
    assert close, f"{case} K={k}: max |difference| {worst:.3g}"
    # one final line, from rank 0 only, counting the 360 test examples once
    assert got.stdout == want.stdout and re.fullmatch(r"test errors: \d+ / 360 \(\d+\.\d%\)\n", got.stdout)
    epochs = int(CASES[case][CASES[case].index("--epochs") + 1])
    have, ref = metrics(tmp_path / "run"), metrics(want_out)
    assert [m["epoch"] for m in have] == list(range(1, epochs + 1))
    for m, r in zip(have, ref):
        assert np.allclose([m["train_loss"], m["val_loss"]], [r["train_loss"], r["val_loss"]], rtol=1e-4)
        assert m["lr"] == r["lr"] and abs(m["val_errors"] - r["val_errors"]) <= 1
    sizes = ("train_size", "val_size", "test_size", "test_errors")
    assert [summary(tmp_path / "run")[k] for k in sizes] == [summary(want_out)[k] for k in sizes]
    assert summary(want_out)["train_size"] == 1293


# The negative control. Plain SGD without weight decay updates w <- w - lr * g, with g the mean
# gradient over the global batch. At K = 2 with every batch split in two equal halves, ranks that
# allreduce their local mean gradients and forget to divide by K step by g1 + g2 = 2 * g: exactly
# one process's run with lr * 2 (the schedule multiplies both alike). A val_split of 0.0981
# holds out 141 of digits' 1,437 training examples, leaving 1,296 = 27 batches of 48.
SGD = ["--model", "32tanh", "--optimizer", "sgd", "--weight-decay", "0", "--val-split", "0.0981",
       "--batch-size", "48", "--epochs", "5"]


def test_the_comparison_catches_gradients_summed_but_not_divided(one_process, tmp_path):
    right_out, _ = one_process("sgd", [*SGD, "--lr", "0.1"])
    wrong_out, _ = one_process("sgd-doubled", [*SGD, "--lr", "0.2"])
    assert summary(right_out)["train_size"] == 1296
    train(tmp_path / "run", [*SGD, "--lr", "0.1"], k=2)
    got = tensors(tmp_path / "run")
    close, worst = compare(got, tensors(right_out))
    assert close, worst
    close_to_bug, bug_difference = compare(got, tensors(wrong_out))
    print(f"\nsgd K=2: max |difference| {worst:.3g} from one process, {bug_difference:.3g} from lr * 2")
    assert not close_to_bug


def test_one_process_writes_the_run_folder_and_prints(one_process, tmp_path):
    args = CASES["momentum"]
    want_out, _ = one_process("momentum", args)
    plain = train(tmp_path / "plain", args, quiet=False)
    (tmp_path / "cwd").mkdir()
    got = train(tmp_path / "run", args, k=2, quiet=False, cwd=tmp_path / "cwd")
    assert sorted(os.listdir(tmp_path / "run")) == sorted(os.listdir(want_out))
    assert not os.listdir(tmp_path / "cwd")  # nothing written elsewhere by any rank
    assert [m["epoch"] for m in metrics(tmp_path / "run")] == [1, 2, 3, 4, 5]
    seconds = re.compile(r"\d+\.\ds\b")

    def lines(text):  # the progress lines without their timings and the out folder
        return [seconds.sub("Ts", line).replace(str(tmp_path / "run"), "OUT").replace(str(tmp_path / "plain"), "OUT")
                for line in text.splitlines()]
    assert len(lines(got.stdout)) == len(lines(plain.stdout)) == 5 + 3  # epochs, summary, wrote, test errors
    for g, p in zip(lines(got.stdout), lines(plain.stdout)):
        assert g.split(":")[0] == p.split(":")[0]  # epoch 1/5: ... in the same order, once each
    assert lines(got.stdout)[-3:] == lines(plain.stdout)[-3:]  # the summary line: best epoch, accuracies


# ------------------------------------------------------------------------------- resume across K
# Epochs long enough (about 0.06 s in one process, more under mpirun) for the test to see the first
# epoch's metrics line and send its signal before the run ends.
RESUME = ["--model", "512tanh-256tanh", "--optimizer", "momentum", "--lr", "0.02", "--batch-size", "32",
          "--epochs", "10"]


def rank_pids(launcher: int, k: int, within: float = 60) -> dict[int, int]:
    """{rank: pid} of the processes Open MPI's mpirun started (its children; it forks local ranks itself)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) != launcher:
                    continue
                environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except (OSError, ValueError):
                continue
            for item in environ:
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    found[int(item.split(b"=")[1])] = int(entry)
        if len(found) == k:
            return found
        time.sleep(0.05)
    raise AssertionError(f"mpirun's {k} ranks not found")


def interrupted(out: Path, k: int | None, rank: int = 0, args=RESUME) -> int:
    """Start ``chainrule train args`` (under mpirun -n k if k), SIGTERM one process (the given rank)
    once the first epoch is recorded; returns the job's exit status."""
    proc = subprocess.Popen(command(["-m", "chainrule", "train", *COMMON, "--quiet", *args, "--out", out], k),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        pid = proc.pid if k is None else rank_pids(proc.pid, k)[rank]
        deadline = time.monotonic() + TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if (out / "metrics.jsonl").is_file() and (out / "metrics.jsonl").read_text().count("\n") >= 1:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be interrupted: " + proc.communicate()[1]
        os.kill(pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stdout == "", stdout
    # Rank 0 alone reports the stop, naming the signal whichever rank received it (one line, never K).
    said = [line for line in stderr.splitlines() if "interrupted" in line]
    assert len(said) == 1 and "saved" in said[0] and "(SIGTERM)" in said[0], stderr
    assert (out / "last.safetensors").is_file() and not (out / "summary.json").exists()
    assert 1 <= len(metrics(out)) < 10
    return proc.returncode


def resumed(out: Path, copy: Path, k: int | None) -> dict[str, np.ndarray]:
    shutil.copytree(out, copy)
    proc = run(["-m", "chainrule", "train", "--resume", copy, "--quiet", "--no-plots"], k)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [m["epoch"] for m in metrics(copy)] == list(range(1, 11))
    return tensors(copy)


def test_a_run_stopped_at_k_2_resumes_at_k_1_and_4_with_the_uninterrupted_weights(one_process, tmp_path):
    want_out, _ = one_process("resume", RESUME)
    want = tensors(want_out)
    assert interrupted(tmp_path / "k2", k=2, rank=1) == 128 + signal.SIGTERM
    assert interrupted(tmp_path / "k2-rank0", k=2, rank=0) == 128 + signal.SIGTERM  # every rank exits with it
    for k in (None, 4):
        close, worst = compare(resumed(tmp_path / "k2", tmp_path / f"to{k or 1}", k), want)
        print(f"\nstopped at K=2 after epoch {len(metrics(tmp_path / 'k2'))}, resumed at K={k or 1}: "
              f"max |difference| {worst:.3g}")
        assert close, worst


def test_a_run_stopped_in_one_process_resumes_at_k_2_with_the_uninterrupted_weights(one_process, tmp_path):
    want_out, _ = one_process("resume", RESUME)
    assert interrupted(tmp_path / "k1", k=None) == 128 + signal.SIGTERM
    close, worst = compare(resumed(tmp_path / "k1", tmp_path / "to2", 2), tensors(want_out))
    print(f"\nstopped in one process after epoch {len(metrics(tmp_path / 'k1'))}, resumed at K=2: "
          f"max |difference| {worst:.3g}")
    assert close, worst


def test_an_adam_run_resumes_across_k_with_its_step_counts_intact(one_process, tmp_path):
    # Adam's state holds 0-d step counts: they travel through the broadcasts and are saved as 0-d again.
    args = [*RESUME[:RESUME.index("--optimizer")], "--optimizer", "adam", "--lr", "0.001",
            *RESUME[RESUME.index("--batch-size"):]]
    want_out, _ = one_process("resume-adam", args)
    assert interrupted(tmp_path / "k1", k=None, args=args) == 128 + signal.SIGTERM
    close, worst = compare(resumed(tmp_path / "k1", tmp_path / "to2", 2), tensors(want_out))
    print(f"\nadam stopped in one process after epoch {len(metrics(tmp_path / 'k1'))}, resumed at K=2: "
          f"max |difference| {worst:.3g}")
    assert close, worst


# ------------------------------------------------------------------------------- the replicas
REPLICAS = """
import sys
import numpy as np
import chainrule as cr
from chainrule.data import load_dataset
from chainrule.distributed import world
from chainrule.train import TrainConfig, Trainer

comm = world()
data = load_dataset("digits", seed=0)
cr.manual_seed(0)
clf = cr.Classifier.from_spec("64relu-dropout0.2-32tanh", data.num_features, data.classes, data.image_shape)
for p in clf.net.parameters():  # every rank but 0 starts from other weights: rank 0's broadcast replaces them
    p.data += np.float32(comm.rank)
config = TrainConfig(epochs=3, batch_size=50, optimizer="adam", lr=0.003, patience=None)
result = Trainer(clf, data, config, comm=comm).fit()
np.savez(f"{sys.argv[1]}/{comm.rank}.npz", **clf.net.state_dict(), test=result.summary["test_accuracy"])
"""


@pytest.mark.parametrize("k", [2, 3])
def test_every_rank_starts_from_rank_0s_weights_and_the_replicas_stay_bitwise_equal(k, tmp_path):
    (tmp_path / "replicas.py").write_text(REPLICAS)
    proc = run([tmp_path / "replicas.py", tmp_path], k=k)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = [dict(np.load(tmp_path / f"{rank}.npz")) for rank in range(k)]
    for other in ranks[1:]:
        assert other.keys() == ranks[0].keys()
        for name in ranks[0]:
            assert np.array_equal(other[name], ranks[0][name]), name


DRIFTING = """
import sys
import numpy as np
import chainrule as cr
from chainrule.distributed import world

class Drift(cr.progress.Callback):  # rank 1's replica drifts away after epoch 1
    def on_train_begin(self, trainer):
        self.trainer = trainer

    def on_epoch_end(self, metrics):
        if world().rank == 1 and metrics["epoch"] == 1:
            for p in self.trainer.model.net.parameters():
                p.data += np.float32(0.01)

result = cr.fit("digits", model="32tanh", epochs=3, optimizer="sgd", lr=0.05, patience=None, quiet=True,
                comm=world(), callback=Drift())
np.savez(f"{sys.argv[1]}/{world().rank}.npz", **result.model.net.state_dict())
"""


def test_a_replica_that_drifts_is_brought_back_to_rank_0s_weights_at_the_next_epoch_end(tmp_path):
    (tmp_path / "drifting.py").write_text(DRIFTING)
    proc = run([tmp_path / "drifting.py", tmp_path], k=2)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    zero, one = (dict(np.load(tmp_path / f"{rank}.npz")) for rank in range(2))
    assert all(np.array_equal(zero[name], one[name]) for name in zero)


# ------------------------------------------------------------------------------- stopping together
def test_divergence_stops_every_rank_with_status_3_and_one_message(tmp_path):
    args = ["--model", "32tanh", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "3"]
    plain = train(tmp_path / "plain", args, status=3)
    got = train(tmp_path / "run", args, k=2, status=3)
    # Every rank reaches the divergence at the same step; rank 0 alone reports it, in one line.
    said = [line.replace(str(tmp_path / "run"), "OUT") for line in got.stderr.splitlines() if "diverged" in line]
    assert said == [plain.stderr.strip().replace(str(tmp_path / "plain"), "OUT")], got.stderr
    assert got.stdout == "" and (tmp_path / "run" / "last.safetensors").is_file()


def test_bad_input_stops_every_rank_with_status_2(tmp_path):
    proc = run(["-m", "chainrule", "train", "--dataset", tmp_path / "absent.npz", "--epochs", "1", "--quiet",
                "--out", tmp_path / "run"], k=2)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "absent.npz" in proc.stderr and proc.stdout == ""


def test_a_resume_rank_0_cannot_read_is_reported_once(tmp_path):
    # Rank 0 alone reads the run folder and sends what it found, its error too: every rank raises it, one reports it.
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "absent"):
        proc = run(["-m", "chainrule", "train", "--resume", folder], k=2)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        said = [line for line in proc.stderr.splitlines() if line.startswith("chainrule:")]
        assert said == [f"chainrule: error: {folder}: nothing to resume (no last.safetensors; is this the folder "
                        f"of a training run?)"], proc.stderr
        assert proc.stdout == ""


SIGNALLED_WHILE_READING = """
import os, signal, sys
import chainrule.train
from chainrule.cli import main

if os.environ["OMPI_COMM_WORLD_RANK"] == "1":  # rank 1 alone gets SIGTERM while it reads the data
    read = chainrule.train.load_dataset

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return read(*args, **kwargs)
    chainrule.train.load_dataset = signalled
sys.exit(main(["train", "--dataset", "digits", "--model", "32tanh", "--epochs", "3", "--no-plots", "--quiet",
               "--out", sys.argv[1]]))
"""


def test_a_signal_to_one_rank_before_training_stops_the_whole_job(tmp_path):
    # Before training, no step's allreduce carries the signal to the others: the rank it came to exits at
    # once (a normal exit would wait in MPI_Finalize for rank 0, which waits for it) and mpirun ends the job.
    script = tmp_path / "signalled.py"
    script.write_text(SIGNALLED_WHILE_READING)
    proc = run([script, tmp_path / "run"], k=2)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stdout + proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("chainrule:")] == \
        ["chainrule: interrupted (SIGTERM)"], proc.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


RAISES_AT_STEP_5 = """
import sys
import chainrule
from chainrule.distributed import world

class Raise(chainrule.progress.Callback):
    def __init__(self, rank):
        self.rank, self.steps = rank, 0

    def on_batch_end(self, loss, size):
        self.steps += 1
        if self.rank == 1 and self.steps == 5:
            raise RuntimeError("rank 1 fails at step 5")

comm = world()
chainrule.fit("digits", model="32tanh", epochs=50, patience=0, quiet=True, out=sys.argv[1], comm=comm,
              callback=Raise(comm.rank))
"""


def test_a_rank_that_raises_stops_the_whole_job(tmp_path):
    script = tmp_path / "raises.py"
    script.write_text(RAISES_AT_STEP_5)
    # 50 epochs would take far longer than the job's end; a rank left waiting would hang until TIMEOUT
    proc = run([script, tmp_path / "run"], k=2)
    assert proc.returncode != 0
    assert "RuntimeError: rank 1 fails at step 5" in proc.stderr
    assert "rank 1 of 2 stopped by RuntimeError" in proc.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


SEAM = """
import json, sys
import numpy as np
from chainrule.distributed import MPICommunicator, bcast_arrays, bcast_json, world

comm = world()
assert isinstance(comm, MPICommunicator), comm
total = comm.allreduce_sum(np.array([comm.rank + 0.5, 1.0], np.float32))
counts = comm.allreduce_sum(np.array([comm.rank], np.int64))
got = comm.bcast(np.full(3, comm.rank, np.float64), root=1)
meta = bcast_json(comm, {"from": comm.rank, "text": "α"} if comm.rank == 0 else None)
arrays = bcast_arrays(comm, {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array([9], np.int64)}
                      if comm.rank == 0 else None)
with open(f"{sys.argv[1]}/{comm.rank}.json", "w") as f:
    json.dump({"size": comm.size, "total": total.tolist(), "dtype": str(total.dtype), "counts": counts.tolist(),
               "got": got.tolist(), "meta": meta, "w": arrays["w"].tolist(), "w_dtype": str(arrays["w"].dtype),
               "n": arrays["n"].tolist()}, f)
if comm.rank == 1:
    comm.fail("rank 1 gives up", 7)
comm.allreduce_sum(np.zeros(1))  # the others wait for rank 1, which never comes: the launcher ends them
"""


def test_the_mpi_communicator_sums_broadcasts_and_fails(tmp_path):
    (tmp_path / "seam.py").write_text(SEAM)
    proc = run([tmp_path / "seam.py", tmp_path], k=3)
    assert proc.returncode == 7 and "rank 1 gives up" in proc.stderr, proc.stdout + proc.stderr
    want = {"size": 3, "total": [4.5, 3.0], "dtype": "float32", "counts": [3], "got": [1.0, 1.0, 1.0],
            "meta": {"from": 0, "text": "α"}, "w": [[0, 1, 2], [3, 4, 5]], "w_dtype": "float32", "n": [9]}
    for rank in range(3):
        assert json.loads((tmp_path / f"{rank}.json").read_text()) == want

"""The board's run scanner: which folders are runs, what is read from their files (robustly), the
status rules, and the cache (an unchanged run is not parsed again)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule.board import files as board_files
from chainrule.board.files import JsonlFile, open_inside
from chainrule.board.runs import RunScanner


def epoch(n: int, val_accuracy: float | None = 0.5) -> dict:
    return {"epoch": n, "lr": 0.1, "train_loss": 1.0 / n, "train_accuracy": 0.5, "train_errors": 10,
            "val_loss": 1.0 / n, "val_accuracy": val_accuracy, "val_errors": 5, "seconds": 0.01}


def write_run(folder, epochs=2, *, summary=None, status=None, lock_pid=None, extra: str = "") -> str:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "metrics.jsonl"), "w") as f:
        f.write("".join(json.dumps(epoch(n)) + "\n" for n in range(1, epochs + 1)) + extra)
    if summary is not None:
        with open(os.path.join(folder, "summary.json"), "w") as f:
            json.dump(summary, f)
    if status is not None:
        with open(os.path.join(folder, "status.json"), "w") as f:
            json.dump(status, f)
    if lock_pid is not None:
        with open(os.path.join(folder, ".chainrule.lock"), "w") as f:
            f.write(f"{lock_pid}\n")
    return str(folder)


def rows(root) -> dict[str, dict]:
    return {row["id"]: row for row in RunScanner(root).scan()}


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_real_run_is_listed_from_its_files(tmp_path):
    cr.fit("digits", model="8tanh", epochs=2, quiet=True, out=tmp_path / "runs" / "tanh", diagnostics=True)
    (row,) = RunScanner(tmp_path / "runs").scan()
    assert row["id"] == "tanh" and row["dataset"] == "digits" and row["model"] == "8tanh"
    assert row["parameters"] == 64 * 8 + 8 + 8 * 10 + 10
    assert (row["epochs"], row["epochs_planned"], row["status"], row["diagnostics"]) == (2, 2, "finished", True)
    summary = json.loads((tmp_path / "runs" / "tanh" / "summary.json").read_text())
    assert row["test_accuracy"] == summary["test_accuracy"] and 0 <= row["best_val_accuracy"] <= 1
    assert row["started"].endswith("Z") and row["updated"] > 0


def test_runs_are_found_recursively_and_other_folders_are_not_runs(tmp_path):
    write_run(tmp_path / "a")
    write_run(tmp_path / "tune-x" / "trial-1")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "summary.json").write_text("{}")
    write_run(tmp_path / ".hidden")
    assert sorted(rows(tmp_path)) == ["a", "tune-x/trial-1"]


def test_a_malformed_or_half_written_line_is_skipped(tmp_path):
    folder = write_run(tmp_path / "a", epochs=3)
    path = os.path.join(folder, "metrics.jsonl")
    lines = open(path).read().splitlines()
    lines.insert(1, "garbage {not json")
    lines.insert(2, json.dumps([1, 2]))
    lines.insert(3, json.dumps({"epoch": "two"}))
    with open(path, "w") as f:
        f.write("\n".join(lines) + '\n{"epoch": 4, "train_lo')  # a run killed mid-write
    scanner = RunScanner(tmp_path)
    assert scanner.scan()[0]["epochs"] == 3
    assert [m["epoch"] for m in scanner.get("a").metrics.valid()] == [1, 2, 3]


def test_appended_lines_are_read_and_a_rewritten_file_is_read_again(tmp_path):
    folder = write_run(tmp_path / "a", epochs=2)
    path = os.path.join(folder, "metrics.jsonl")
    scanner = RunScanner(tmp_path)
    assert scanner.scan()[0]["epochs"] == 2
    with open(path, "a") as f:
        f.write(json.dumps(epoch(3, 0.9)))  # no newline yet: read, and read again once it is complete
    assert scanner.scan()[0]["epochs"] == 3
    with open(path, "a") as f:
        f.write("\n" + json.dumps(epoch(4)) + "\n")
    row = scanner.scan()[0]
    assert (row["epochs"], row["best_val_accuracy"]) == (4, 0.9)
    with open(path, "w") as f:  # a resumed run rewrites the file with fewer epochs, then more
        f.write("".join(json.dumps(epoch(n, 0.25)) + "\n" for n in (1, 2, 3, 4, 5)))
    row = scanner.scan()[0]
    assert (row["epochs"], row["best_val_accuracy"]) == (5, 0.25)


def test_a_line_needs_a_positive_integer_epoch(tmp_path):
    write_run(tmp_path / "a", epochs=1, extra='{"epoch": 0}\n{"epoch": true}\n{"epoch": 2.0}\n{"epoch": 2}\n')
    scanner = RunScanner(tmp_path)
    scanner.scan()
    assert [m["epoch"] for m in scanner.get("a").metrics.valid()] == [1, 2]
    assert JsonlFile().valid() == []


def test_an_unchanged_run_is_not_parsed_again(tmp_path, monkeypatch):
    for i in range(5):
        write_run(tmp_path / f"r{i}", summary={"dataset": "digits", "model": "linear", "config": {"epochs": 2}})
    scanner = RunScanner(tmp_path)
    first = scanner.scan()
    calls = []
    monkeypatch.setattr(board_files, "json", None)  # any parse would fail
    monkeypatch.setattr(board_files, "read_json", lambda *a: calls.append(a))
    assert scanner.scan() == first and calls == []


def test_status_rules(tmp_path, dead_pid):
    finished = {"dataset": "digits", "model": "linear", "config": {"epochs": 5}, "test_accuracy": 0.9}
    write_run(tmp_path / "finished", summary=finished)
    write_run(tmp_path / "running", lock_pid=os.getpid())
    write_run(tmp_path / "killed", lock_pid=dead_pid)
    write_run(tmp_path / "no-lock")
    now = "2026-01-02T03:04:05Z"
    write_run(tmp_path / "diverged", status={"status": "diverged", "pid": dead_pid, "started": now, "updated": now,
                                             "message": "training diverged at epoch 2"})
    write_run(tmp_path / "said-running-killed", status={"status": "running", "pid": dead_pid, "started": now,
                                                        "updated": now, "message": None})
    write_run(tmp_path / "said-running", status={"status": "running", "pid": os.getpid(), "started": now,
                                                 "updated": now, "message": None})
    write_run(tmp_path / "said-finished", status={"status": "finished", "pid": dead_pid, "started": now,
                                                  "updated": now, "message": None})
    found = {k: v["status"] for k, v in rows(tmp_path).items()}
    assert found == {"finished": "finished", "running": "running", "killed": "interrupted", "no-lock": "interrupted",
                     "diverged": "diverged", "said-running-killed": "interrupted", "said-running": "running",
                     "said-finished": "finished"}
    scanner = RunScanner(tmp_path)
    scanner.scan()
    assert scanner.get("diverged").status(scanner.root_real()) == ("diverged", "training diverged at epoch 2")
    assert "killed" in scanner.get("said-running-killed").status(scanner.root_real())[1]
    assert rows(tmp_path)["diverged"]["started"] == now


def test_rows_are_sorted_newest_first(tmp_path):
    for name, day in (("old", "01"), ("new", "03"), ("middle", "02")):
        write_run(tmp_path / name, status={"status": "finished", "pid": 1, "started": f"2026-01-{day}T00:00:00Z",
                                           "updated": None, "message": None})
    assert [row["id"] for row in RunScanner(tmp_path).scan()] == ["new", "middle", "old"]


def test_a_running_run_is_described_by_its_checkpoint_header(tmp_path):
    out = tmp_path / "runs" / "a"
    cr.fit("digits", model="8relu", epochs=1, quiet=True, out=out)
    (out / "summary.json").unlink()
    row = rows(tmp_path / "runs")["a"]
    assert (row["dataset"], row["model"], row["parameters"], row["epochs_planned"]) == ("digits", "8relu", 610, 1)
    with open(out / "last.safetensors", "r+b") as f:  # a header length past the file: ignored, not a crash
        f.write((2**40).to_bytes(8, "little"))
    (out / "model.safetensors").write_bytes(b"\x00" * 4)
    row = rows(tmp_path / "runs")["a"]
    assert (row["dataset"], row["parameters"], row["epochs"]) == (None, None, 1)


def test_links_out_of_runs_are_not_followed(tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    write_run(outside / "secret-run", summary={"dataset": "secret"})
    write_run(runs / "a")
    (runs / "linked-run").symlink_to(outside / "secret-run", target_is_directory=True)
    (runs / "a" / "summary.json").symlink_to(outside / "secret-run" / "summary.json")
    write_run(runs / "inner" / "b")
    (runs / "alias").symlink_to(runs / "inner", target_is_directory=True)  # inside RUNS: followed once
    (runs / "inner" / "loop").symlink_to(runs, target_is_directory=True)
    found = rows(runs)
    assert sorted(found) in (["a", "alias/b"], ["a", "inner/b"])
    assert found["a"]["dataset"] is None and found["a"]["status"] == "interrupted"


def test_open_inside_refuses_what_is_not_a_regular_file_inside(tmp_path):
    (tmp_path / "f").write_text("x")
    assert open_inside(str(tmp_path), str(tmp_path / "missing"), 10) is None
    assert open_inside(str(tmp_path), str(tmp_path), 10) is None
    assert open_inside(str(tmp_path / "sub"), str(tmp_path / "f"), 10) is None
    assert open_inside(str(tmp_path), str(tmp_path / "f"), 0) is None
    fd, st = open_inside(str(tmp_path), str(tmp_path / "f"), 10)
    os.close(fd)
    assert st.st_size == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_folder_is_skipped(tmp_path):
    write_run(tmp_path / "a")
    write_run(tmp_path / "locked" / "b")
    os.chmod(tmp_path / "locked", 0)
    try:
        assert sorted(rows(tmp_path)) == ["a"]
    finally:
        os.chmod(tmp_path / "locked", 0o755)


def test_runs_itself_may_be_a_run_folder_and_may_not_exist_yet(tmp_path):
    write_run(tmp_path / "lr-0.1")
    assert list(rows(tmp_path / "lr-0.1")) == ["lr-0.1"]
    scanner = RunScanner(tmp_path / "later")
    assert scanner.scan() == [] and scanner.get("x") is None
    write_run(tmp_path / "later" / "x")
    assert scanner.get("x") is not None


def test_a_jsonl_file_over_the_bound_is_left_unread(tmp_path, monkeypatch):
    """A metrics.jsonl larger than MAX_JSONL_BYTES (a 200 MB one took 1 GB and 4 s to parse) lists its
    run with no epochs instead of being parsed; under the bound it is read."""
    write_run(tmp_path / "a", epochs=3)
    size = (tmp_path / "a" / "metrics.jsonl").stat().st_size
    monkeypatch.setattr(board_files, "MAX_JSONL_BYTES", size - 1)
    assert rows(tmp_path)["a"]["epochs"] == 0
    monkeypatch.setattr(board_files, "MAX_JSONL_BYTES", size)
    assert rows(tmp_path)["a"]["epochs"] == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_link_out_named_metrics_jsonl_is_not_read(tmp_path, no_hang):
    """A FIFO would block a reader until a writer comes; a link to /etc/passwd would be read as a run."""
    os.makedirs(tmp_path / "fifo")
    os.mkfifo(tmp_path / "fifo" / "metrics.jsonl")
    os.makedirs(tmp_path / "link")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.jsonl"
    outside.write_text(json.dumps(epoch(1)) + "\n")
    (tmp_path / "link" / "metrics.jsonl").symlink_to(outside)
    scanner = RunScanner(tmp_path)
    with no_hang(20):
        found = {row["id"]: row for row in scanner.scan()}
        assert found["fifo"]["epochs"] == 0 and found["link"]["epochs"] == 0
        assert scanner.get("fifo").metrics.valid() == [] and scanner.get("link").path("metrics.jsonl") is None

"""The board's HTTP server, through urllib and http.client on 127.0.0.1, port 0: every endpoint's
shape, live updates, and the safety rules (traversal refused, read-only, loopback by default)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.board import make_server
from chainrule.rundir import PICTURES

PNG = b"\x89PNG\r\n\x1a\n" + b"picture" * 10
SECRET = b"the secret outside RUNS"


def epoch_line(n: int, val_accuracy=0.5) -> str:
    return json.dumps({"epoch": n, "lr": 0.1, "train_loss": 1.0, "train_accuracy": 0.5, "train_errors": 3,
                       "val_loss": 1.0, "val_accuracy": val_accuracy, "val_errors": 2, "seconds": 0.01}) + "\n"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """tmp/runs (two real runs, one with diagnostics; hand-written ones) and tmp/outside (a secret)."""
    base = tmp_path_factory.mktemp("board")
    runs, outside = base / "runs", base / "outside"
    cr.fit("digits", model="8tanh", epochs=2, quiet=True, out=runs / "tanh")
    cr.fit("digits", model="8relu", epochs=2, quiet=True, out=runs / "group" / "relu", diagnostics=True)
    for name in ("curves.png", "confusion.png"):
        (runs / "tanh" / name).write_bytes(PNG)
    outside.mkdir()
    (outside / "secret.png").write_bytes(SECRET)
    (outside / "run").mkdir()
    (outside / "run" / "metrics.jsonl").write_text(epoch_line(1))
    (outside / "run" / "curves.png").write_bytes(SECRET)
    (runs / "linked").symlink_to(outside / "run", target_is_directory=True)
    (runs / "group" / "relu" / "weights.png").symlink_to(outside / "secret.png")
    (runs / "broken").mkdir()
    (runs / "broken" / "metrics.jsonl").write_text(
        epoch_line(1) + "garbage\n" + epoch_line(2).replace("0.5", "Infinity", 1) + '{"epoch": 3, "tra')
    return base


@pytest.fixture
def server(tree):
    with make_server(tree / "runs", port=0).start() as s:
        yield s


def get(server, path: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request sent as is (http.client does not clean the path)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=bool(headers and "Host" in headers), skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def api(server, path: str) -> dict:
    with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


def test_binds_loopback_by_default(server):
    assert server.server_address[0] == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")


def test_the_runs_list(server, tree):
    listing = api(server, "/api/runs")
    assert listing["root"] == str(tree / "runs") and listing["scanned_seconds"] >= 0
    runs = {run["id"]: run for run in listing["runs"]}
    assert sorted(runs) == ["broken", "group/relu", "tanh"]  # not the link out of RUNS
    keys = {"id", "dataset", "model", "parameters", "epochs", "epochs_planned", "best_val_accuracy", "test_accuracy",
            "status", "started", "updated", "diagnostics", "warnings"}
    assert all(keys <= set(run) for run in runs.values())
    relu = runs["group/relu"]
    assert (relu["dataset"], relu["model"], relu["epochs"], relu["status"], relu["diagnostics"]) == (
        "digits", "8relu", 2, "finished", True)
    assert runs["tanh"]["diagnostics"] is False and isinstance(runs["tanh"]["warnings"], int)
    assert runs["broken"]["epochs"] == 2 and runs["broken"]["status"] == "interrupted"


def test_one_run(server):
    run = api(server, "/api/run?id=group/relu")
    assert {"id", "status", "message", "summary", "config", "command", "pictures", "metrics", "diagnostics",
            "warnings"} <= set(run)
    assert run["summary"]["model"] == "8relu" and run["config"]["diagnostics"] is True
    assert run["command"].startswith("chainrule train --dataset digits --model 8relu --epochs 2 ")
    assert "--diagnostics" in run["command"].split()
    assert [m["epoch"] for m in run["metrics"]] == [1, 2] and [d["epoch"] for d in run["diagnostics"]] == [1, 2]
    layer = run["diagnostics"][0]["layers"][0]
    assert "histogram" not in layer and {"name", "kind", "grad_norm"} <= set(layer)
    assert run["pictures"] == [] and run["warnings"] == []  # weights.png links out of RUNS: not listed
    assert api(server, "/api/run?id=tanh")["pictures"] == ["curves.png", "confusion.png"]


def test_metrics_after_an_epoch(server):
    assert [m["epoch"] for m in api(server, "/api/metrics?id=tanh&after=1")["metrics"]] == [2]
    reply = api(server, "/api/metrics?id=group/relu&after=0")
    assert set(reply) == {"id", "status", "metrics", "diagnostics", "updated"}
    assert len(reply["metrics"]) == len(reply["diagnostics"]) == 2
    assert api(server, "/api/metrics?id=tanh&after=2")["metrics"] == []
    assert get(server, "/api/metrics?id=tanh&after=x")[0] == 400


def test_malformed_lines_are_skipped_and_infinity_is_null(server):
    run = api(server, "/api/run?id=broken")
    assert [m["epoch"] for m in run["metrics"]] == [1, 2] and run["metrics"][1]["train_accuracy"] is None
    assert run["summary"] is None and run["config"] is None and run["command"] is None


def test_pictures_and_the_page(server):
    status, headers, body = get(server, "/files/tanh/curves.png")
    assert (status, headers["Content-Type"], body) == (200, "image/png", PNG)
    status, headers, body = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"<html" in body.lower()
    assert get(server, "/static/index.html")[2] == body
    assert get(server, "/files/tanh/weights.png")[0] == 404


@pytest.mark.parametrize("path", [
    "/files/../../etc/passwd", "/static/../../../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2E%2E/%2E%2E/board/runs.py", "/files/tanh/..%2f..%2f..%2foutside%2fsecret.png",
    "/files/%2e%2e/outside/secret.png", "/files/%2fetc/passwd", "/files//etc/passwd/curves.png",
    "/files/linked/curves.png", "/files/group/relu/weights.png", "/files/tanh/metrics.jsonl",
    "/files/tanh/summary.json", "/files/tanh/model.safetensors", "/files/tanh/curves.png%00.txt",
    "/static/index.html%00", "/static/..\\..\\runs.py", "/files/tanh\\..\\..\\outside/secret.png",
    "/api/run?id=/etc", "/api/run?id=../outside/run", "/api/run?id=linked", "/api/run?id=%2Fetc%2Fpasswd",
    "/api/metrics?id=..&after=0", "/api/run?id=tanh%00", "/api/run", "/nothing", "/static/", "/files/tanh",
    "/static/nothing.js", "//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/static/%ff",
])
def test_traversal_and_unknown_paths_are_refused(server, path):
    status, headers, body = get(server, path)
    assert status in (400, 403, 404), (path, status)
    assert SECRET not in body and b"root:" not in body
    assert headers["Content-Type"] == "application/json" and json.loads(body)["error"]


def test_another_host_name_is_refused_on_loopback(server):
    """A page on another site whose name resolves to 127.0.0.1 (DNS rebinding) can't read the runs."""
    assert get(server, "/api/runs", headers={"Host": "evil.example:80"})[0] == 403
    for host in ("localhost:8008", "127.0.0.1", "[::1]:8008"):
        assert get(server, "/api/runs", headers={"Host": host})[0] == 200


def _snapshot(folder: Path) -> dict:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            found[str(path)] = (st.st_mtime_ns, st.st_size, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            found[str(path)] = path.is_dir()
    return found


def test_only_get_is_allowed_and_nothing_changes(server, tree):
    before = _snapshot(tree)
    targets = ["/", "/api/runs", "/api/run?id=tanh", "/api/metrics?id=tanh&after=0", "/files/tanh/curves.png",
               "/static/index.html", "/files/tanh/metrics.jsonl"]
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        for target in targets:
            status, headers, body = get(server, target, method=method)
            assert status == 405 and headers["Allow"] == "GET, HEAD", (method, target, status)
    for target in targets:  # GETs, including one that writes nothing even for a cache, and HEADs: GET's answer
        status, headers, body = get(server, target)
        head_status, head_headers, head_body = get(server, target, method="HEAD")
        assert (head_status, head_body) == (status, b"") and head_headers["Server"] == "chainrule-board", target
        assert head_headers["Content-Type"] == headers["Content-Type"], target
        if "/api/" not in target:  # the runs' JSON carries the time of its scan
            assert head_headers["Content-Length"] == str(len(body)), target
    assert _snapshot(tree) == before


def test_a_run_created_while_serving_is_listed_and_an_appended_epoch_served(server, tree):
    new = tree / "runs" / "later"
    try:
        assert "later" not in {r["id"] for r in api(server, "/api/runs")["runs"]}
        new.mkdir()
        (new / ".chainrule.lock").write_text(f"{os.getpid()}\n")
        (new / "metrics.jsonl").write_text(epoch_line(1))
        listed = {r["id"]: r for r in api(server, "/api/runs")["runs"]}
        assert listed["later"]["status"] == "running" and listed["later"]["epochs"] == 1
        assert [m["epoch"] for m in api(server, "/api/metrics?id=later&after=0")["metrics"]] == [1]
        with open(new / "metrics.jsonl", "a") as f:
            f.write(epoch_line(2, 0.75))
        reply = api(server, "/api/metrics?id=later&after=1")
        assert [m["epoch"] for m in reply["metrics"]] == [2] and reply["metrics"][0]["val_accuracy"] == 0.75
    finally:
        for name in ("metrics.jsonl", ".chainrule.lock"):
            (new / name).unlink(missing_ok=True)
        new.rmdir()


def test_an_id_unknown_to_the_scan_is_404(server):
    status, _, body = get(server, "/api/run?id=nope")
    assert status == 404 and "nope" in json.loads(body)["error"]


def test_stop_frees_the_port_and_leaves_no_thread(tree, no_hang):
    threads = set(threading.enumerate())
    server = make_server(tree / "runs", port=0).start()
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a browser's kept-alive connection
    conn.request("GET", "/api/runs")
    assert conn.getresponse().read()
    with no_hang(60):
        server.stop()
    conn.close()
    assert set(threading.enumerate()) <= threads
    make_server(tree / "runs", port=port).server_close()  # the port is free for the next board


def test_a_port_in_use_is_an_os_error(server, tree):
    with pytest.raises(OSError):
        make_server(tree / "runs", port=server.server_address[1])


@pytest.mark.parametrize("name", PICTURES)
def test_every_picture_name_is_served_when_present(tree, name, tmp_path):
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    (runs / "a" / "metrics.jsonl").write_text(epoch_line(1))
    (runs / "a" / name).write_bytes(PNG)
    with make_server(runs, port=0).start() as server:
        assert get(server, f"/files/a/{name}")[:1] == (200,)
        assert api(server, "/api/run?id=a")["pictures"] == [name]


def test_a_training_run_is_followed_live(tmp_path):
    """A real run, watched through the API at each epoch's end (the metrics and state are saved by then):
    listed as running with its epochs so far, every new epoch served by /api/metrics; finished at the end."""
    runs = tmp_path / "runs"
    seen = []

    class Watch(cr.progress.Callback):
        def on_epoch_end(self, metrics):
            row = {r["id"]: r for r in api(server, "/api/runs")["runs"]}["live"]
            after = api(server, f"/api/metrics?id=live&after={metrics['epoch'] - 1}")
            seen.append((row["status"], row["epochs"], row["epochs_planned"], [m["epoch"] for m in after["metrics"]],
                         [d["epoch"] for d in after["diagnostics"]]))

    with make_server(runs, port=0).start() as server:
        assert api(server, "/api/runs")["runs"] == []  # RUNS does not exist yet
        cr.fit("digits", model="8tanh", epochs=3, out=runs / "live", diagnostics=True, callback=Watch())
        final = api(server, "/api/run?id=live")
    assert seen == [("running", n, 3, [n], [n]) for n in (1, 2, 3)]
    assert final["status"] == "finished" and final["message"] is None and len(final["metrics"]) == 3


def test_the_status_rules_through_the_api(tmp_path):
    """finished (summary.json), running (a live pid: this process's), interrupted (a pid that has ended),
    diverged (status.json), and a status.json saying running whose process has ended: interrupted."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    now = "2026-11-29T14:00:00Z"
    folders = {"finished": {"summary.json": json.dumps({"dataset": "digits", "test_accuracy": 0.9})},
               "running": {".chainrule.lock": f"{os.getpid()}\n"},
               "interrupted": {".chainrule.lock": f"{ended.pid}\n"},
               "diverged": {"status.json": json.dumps({"status": "diverged", "pid": ended.pid, "started": now,
                                                       "updated": now, "message": "training diverged at epoch 1"})},
               "killed": {"status.json": json.dumps({"status": "running", "pid": ended.pid, "started": now,
                                                     "updated": now, "message": None})},
               "stopped": {"status.json": json.dumps({
                   "status": "interrupted", "pid": ended.pid, "started": now, "updated": now,
                   "message": "interrupted at epoch 1, step 3; saved runs/a b/last.safetensors; continue with: "
                              "chainrule.train.resume('runs/a b')"})}}
    for name, files in folders.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.jsonl").write_text(epoch_line(1))
        for file, text in files.items():
            (tmp_path / name / file).write_text(text)
    with make_server(tmp_path, port=0).start() as server:
        statuses = {run["id"]: run["status"] for run in api(server, "/api/runs")["runs"]}
        diverged, killed = api(server, "/api/run?id=diverged"), api(server, "/api/metrics?id=killed&after=0")
        stopped = api(server, "/api/run?id=stopped")
    assert statuses == {"finished": "finished", "running": "running", "interrupted": "interrupted",
                        "diverged": "diverged", "killed": "interrupted", "stopped": "interrupted"}
    # the library's hint for continuing, as the command that does it (as the command line says it)
    assert stopped["message"].endswith("continue with: chainrule train --resume 'runs/a b'")
    assert (diverged["status"], diverged["message"]) == ("diverged", "training diverged at epoch 1")
    assert killed["status"] == "interrupted"


def test_a_metrics_file_over_the_bound_is_said_so(tmp_path, monkeypatch):
    from chainrule.board import files as board_files

    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "metrics.jsonl").write_text(epoch_line(1) + epoch_line(2))
    (tmp_path / "big" / "diagnostics.jsonl").write_text(epoch_line(1))
    monkeypatch.setattr(board_files, "MAX_JSONL_BYTES", len(epoch_line(1)) + 1)
    with make_server(tmp_path, port=0).start() as server:
        detail = api(server, "/api/run?id=big")
    assert detail["metrics"] == [] and [d["epoch"] for d in detail["diagnostics"]] == [1]
    size = 2 * len(epoch_line(1))
    assert detail["message"].startswith(f"metrics.jsonl is {size:,} bytes, more than the board reads")

"""``chainrule board`` in a subprocess: the address as the first line, a stop signal's exit status
(128 + the signal, as every command), and the one-line mistakes (RUNS a file, a port in use)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from chainrule.cli import build_parser


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chainrule", "board", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def first_line(proc: subprocess.Popen, no_hang) -> str:
    with no_hang(120):
        return proc.stdout.readline().rstrip("\n")


def stop(proc: subprocess.Popen, signum: int) -> tuple[int, str, str]:
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serves_and_stops_on_a_signal(tmp_path, no_hang, signum):
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    (runs / "a" / "metrics.jsonl").write_text('{"epoch": 1, "val_accuracy": 0.5}\n')
    proc = start(runs, "--port", 0)
    try:
        line = first_line(proc, no_hang)
        match = re.fullmatch(rf"serving {re.escape(str(runs))}/ at (http://127\.0\.0\.1:(\d+)/)", line)
        assert match and int(match.group(2)) > 0, line
        with urllib.request.urlopen(match.group(1) + "api/runs", timeout=30) as response:
            assert [run["id"] for run in json.loads(response.read())["runs"]] == ["a"]
        code, out, err = stop(proc, signum)
    finally:
        proc.kill()
        proc.wait()
    assert code == 128 + signum, (code, err)
    assert out == "" and err == f"chainrule: stopped serving {runs}/\n"
    with socket.socket() as s:  # the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(match.group(2))))


def test_a_missing_runs_folder_is_served_and_said_so(tmp_path, no_hang):
    proc = start(tmp_path / "runs", "--port", 0)
    try:
        assert first_line(proc, no_hang).startswith(f"serving {tmp_path / 'runs'}/ at http://127.0.0.1:")
        assert "does not exist yet" in first_line(proc, no_hang)
        code, _, _ = stop(proc, signal.SIGINT)
    finally:
        proc.kill()
        proc.wait()
    assert code == 130


def test_another_host_is_warned_of(tmp_path, no_hang):
    proc = start(tmp_path, "--port", 0, "--host", "127.0.0.2")  # loopback, but not a name the board knows as such
    try:
        assert first_line(proc, no_hang).startswith("serving ")
        with no_hang(60):
            warning = proc.stderr.readline()
        code, _, _ = stop(proc, signal.SIGINT)
    finally:
        proc.kill()
        proc.wait()
    assert warning.startswith("chainrule: warning: --host 127.0.0.2: the board is reachable from other machines")
    assert "read-only but unauthenticated" in warning and code == 130


def run_board(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", "board", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_runs_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    done = run_board(tmp_path / "runs", "--port", 0)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"chainrule: error: {tmp_path / 'runs'}: is a file, not a folder of runs (give the " \
                          f"folder chainrule train writes into)\n"


def test_a_port_in_use_is_one_line_naming_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_board(tmp_path, "--port", port)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"chainrule: error: port {port} is in use on 127.0.0.1: choose another with --port")
    assert len(done.stderr.splitlines()) == 1


def test_a_port_out_of_range_is_one_line(tmp_path):
    done = run_board(tmp_path, "--port", 70000)
    assert (done.returncode, done.stderr) == (2, "chainrule: error: --port must be 0 to 65535, got 70000\n")


def test_the_parser():
    args = build_parser().parse_args(["board"])
    assert (args.runs, args.port, args.host) == ("runs", 8008, "127.0.0.1")
    assert "board" in build_parser().format_help()

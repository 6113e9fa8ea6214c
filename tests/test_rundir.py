"""Run folders: no file of the user's is ever touched, and one run holds a folder at a time."""

from __future__ import annotations

import concurrent.futures
import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import rundir
from chainrule.cli import main
from chainrule.atomic import stale_temporaries, temporary_name
from chainrule.plots import plot_curves

TINY = ["--dataset", "xor", "--model", "4tanh", "--val-split", "0", "--quiet"]


def _err_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def _users_folder(tmp_path: Path) -> Path:
    """The folder of the report's repro: a hidden .tmp note, a picture's name, a link out of the folder."""
    d = tmp_path / "d"
    d.mkdir()
    (d / ".notes.tmp").write_text("keep")
    (d / "confusion.png").write_text("mine")
    (tmp_path / "victim.txt").write_text("victim")
    (d / "curves.png").symlink_to("../victim.txt")
    return d


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: os.readlink(p) if p.is_symlink() else p.read_text() for p in folder.iterdir()}


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_a_folder_of_other_files_is_refused_and_left_as_it_was(tmp_path, capsys, extra):
    d = _users_folder(tmp_path)
    before = _snapshot(d)
    assert main(["train", "--out", str(d), "--epochs", "2", *TINY, *extra]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1 and str(d) in err[0] and "not a chainrule run" in err[0] and ".notes.tmp" in err[0], err
    assert _snapshot(d) == before  # not even a lock file is left behind
    assert (tmp_path / "victim.txt").read_text() == "victim"
    with pytest.raises(rundir.RunFolderError, match="not a chainrule run"):  # the Python API too
        cr.fit("xor", model="4tanh", epochs=1, val_split=0, out=d, quiet=True)
    assert _snapshot(d) == before


def _save_foreign_model(path: Path) -> None:
    """A model.safetensors as another program (Hugging Face's) writes one: no chainrule metadata."""
    from safetensors.numpy import save_file

    save_file({"w": np.ones((3, 3), np.float32)}, str(path), metadata={"format": "pt"})


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_another_programs_model_safetensors_is_not_a_run_to_overwrite(tmp_path, capsys, overwrite):
    """A Hugging Face model folder (model.safetensors, config.json) was taken for a chainrule run by
    the name of its model file, and --overwrite deleted the model."""
    hf = tmp_path / "hf"
    hf.mkdir()
    _save_foreign_model(hf / "model.safetensors")
    (hf / "config.json").write_text("{}")
    before = _snapshot_bytes(hf)
    assert main(["train", *TINY, "--out", str(hf), *overwrite]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1 and "not a chainrule run (config.json, model.safetensors)" in err[0], err
    assert _snapshot_bytes(hf) == before


@pytest.mark.parametrize("name", ["summary.json", "metrics.jsonl", "tune.json"])
def test_a_json_file_of_a_run_files_name_alone_does_not_make_a_run(tmp_path, capsys, name):
    """A folder of one's own with a summary.json and a curves.png was taken for a run by the names,
    and --overwrite deleted both; a run's folder holds chainrule's lock file or a checkpoint too."""
    mine = tmp_path / "analysis"
    mine.mkdir()
    (mine / name).write_text('{"total": 3}\n')
    (mine / "curves.png").write_text("mine")
    before = _snapshot_bytes(mine)
    assert main(["train", *TINY, "--out", str(mine), "--overwrite"]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1 and f"not a chainrule run (curves.png, {name})" in err[0], err
    assert _snapshot_bytes(mine) == before


def test_a_link_named_as_a_checkpoint_does_not_make_a_run_of_ones_files(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text("{}")
    (mine / "weights.bin").write_text("mine")
    (mine / "model.safetensors").symlink_to("weights.bin")
    before = _snapshot(mine)
    assert main(["train", *TINY, "--out", str(mine), "--overwrite"]) == 2
    assert "not a chainrule run" in _err_lines(capsys)[0]
    assert _snapshot(mine) == before


def test_a_run_without_its_lock_file_is_still_a_run_to_overwrite(tmp_path, capsys):
    """A run written before lock files (or copied without hidden files) is known by its checkpoints."""
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out), "--no-plots"]) == 0
    (out / rundir.LOCK).unlink()
    assert rundir.survey(out)[0] == [rundir.BEST, rundir.LAST, rundir.METRICS, rundir.SUMMARY, rundir.STATUS]
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out), "--no-plots", "--overwrite"]) == 0


def test_a_foreign_model_beside_a_run_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out), "--no-plots"]) == 0
    _save_foreign_model(out / "model.safetensors")
    before = _snapshot_bytes(out)
    capsys.readouterr()
    assert main(["train", *TINY, "--out", str(out), "--overwrite"]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1 and "model.safetensors there is not chainrule's" in err[0], err
    assert _snapshot_bytes(out) == before


def _snapshot_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_run_that_fails_before_writing_anything_leaves_no_folder_behind(tmp_path, capsys):
    out = tmp_path / "runs" / "r"
    assert main(["train", "--out", str(out), "--dataset", str(tmp_path / "missing.npz"), "--quiet"]) == 2
    assert "missing.npz" in _err_lines(capsys)[0] and not out.exists()


def test_overwrite_removes_only_chainrules_files_and_replaces_links_not_their_targets(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--epochs", "2", *TINY, "--no-plots"]) == 0
    (out / "notes.txt").write_text("mine")
    (out / ".notes.tmp").write_text("keep")
    (tmp_path / "victim.txt").write_text("victim")
    (out / "weights.png").symlink_to("../victim.txt")
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--epochs", "2", *TINY, "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / ".notes.tmp").read_text() == "keep"
    assert (tmp_path / "victim.txt").read_text() == "victim"
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG" and not (out / "weights.png").exists()


def test_pictures_replace_a_symbolic_link_instead_of_writing_through_it(tmp_path):
    (tmp_path / "victim.txt").write_text("victim")
    link = tmp_path / "curves.png"
    link.symlink_to(tmp_path / "victim.txt")
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "train_accuracy": 0.5, "val_accuracy": 0.5}
               for e in (1, 2)]
    plot_curves(history, link)
    assert (tmp_path / "victim.txt").read_text() == "victim"
    assert not link.is_symlink() and link.read_bytes()[:4] == b"\x89PNG"


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_only_chainrules_own_temporary_files_of_dead_writers_are_cleaned_up(tmp_path):
    out = tmp_path / "run"
    cr.fit("xor", model="4tanh", epochs=1, val_split=0, out=out, quiet=True)
    users = [out / ".notes.tmp", out / ".last.safetensors.123.abcd1234.tmp", out / ".chainrule-notes.tmp"]
    for path in users:
        path.write_text("keep")
    cut_off = out / f".chainrule-last.safetensors.{_dead_pid()}.0123abcd.tmp"  # a write a crash cut off
    in_flight = temporary_name(out / "curves.png")  # this process is alive: its write is in progress
    cut_off.write_text("x")
    in_flight.write_text("x")
    assert stale_temporaries(out) == [cut_off]
    cr.train.resume(out, quiet=True)
    assert not cut_off.exists() and in_flight.exists()
    assert all(path.read_text() == "keep" for path in users)


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_untouched(tmp_path, capsys):
    out = tmp_path / "run"
    cr.fit("xor", model="4tanh", epochs=1, val_split=0, out=out, quiet=True)
    (tmp_path / "victim.txt").write_text("victim")
    (out / rundir.LOCK).unlink()
    (out / rundir.LOCK).symlink_to("../victim.txt")
    assert main(["train", "--resume", str(out), "--quiet", "--no-plots"]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1 and rundir.LOCK in err[0] and "symbolic link" in err[0], err
    assert (tmp_path / "victim.txt").read_text() == "victim"


def test_a_thread_that_holds_the_folder_may_take_it_again_and_no_other_may(tmp_path):
    """flock belongs to an open file: the command line holds the folder, then calls fit() on it."""
    out = tmp_path / "run"
    with rundir.claim(out):
        result = cr.fit("xor", model="4tanh", epochs=1, val_split=0, out=out, quiet=True)  # no self-refusal
        assert result.summary["epochs"] == 1
        refused = []

        def other():
            try:
                with rundir.lock(out):
                    pass
            except rundir.RunFolderBusy as e:
                refused.append(str(e))
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert len(refused) == 1 and f"pid {os.getpid()}" in refused[0] and str(out) in refused[0]
    with rundir.lock(out):  # released at the end
        pass


@pytest.mark.parametrize("how", ["a file in the way of a parent", "a read-only file system"])
def test_an_out_folder_that_cannot_be_made_is_one_line_naming_the_option(tmp_path, capsys, monkeypatch, how):
    out = tmp_path / "file" / "run"
    if how == "a file in the way of a parent":
        (tmp_path / "file").write_text("mine")
    else:
        def read_only(self, *args, **kwargs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["train", *TINY, "--out", str(out)]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1 and err[0].startswith(f"chainrule: error: --out {out}: "), err


def test_a_lock_file_removed_between_its_opening_and_its_locking_is_not_the_lock_held(tmp_path, monkeypatch):
    """A run that made the folder and wrote nothing removes its lock file as it ends; a process that
    had just opened that file must not go on holding it while a third one locks a new one."""
    out = tmp_path / "run"
    out.mkdir()
    (out / rundir.LOCK).write_text("")
    real_flock, calls = rundir.fcntl.flock, []

    def flock_after_removal(fd, operation):
        if not calls:  # the first attempt: the other run removes the file just before this one locks it
            (out / rundir.LOCK).unlink()
        calls.append(fd)
        return real_flock(fd, operation)
    monkeypatch.setattr(rundir.fcntl, "flock", flock_after_removal)
    with rundir.lock(out):
        held = rundir._holds[rundir._key(out)][0]
        assert (out / rundir.LOCK).exists()
        assert os.fstat(held).st_ino == os.stat(out / rundir.LOCK).st_ino
        monkeypatch.setattr(rundir.fcntl, "flock", real_flock)
        with pytest.raises(BlockingIOError), open(out / rundir.LOCK, "rb") as other:  # a third process's try
            real_flock(other.fileno(), rundir.fcntl.LOCK_EX | rundir.fcntl.LOCK_NB)


class _DiskFull:
    """os.open that fails with ENOSPC for the n-th temporary file of a given run file."""

    def __init__(self, monkeypatch, target: str, nth: int):
        self.real, self.target, self.left, self.before = os.open, target, nth, None
        monkeypatch.setattr(os, "open", self)

    def __call__(self, path, *args, **kwargs):
        name = os.path.basename(os.fspath(path))
        if name.startswith(f".chainrule-{self.target}."):
            self.left -= 1
            if self.left == 0:
                final = Path(os.fspath(path)).with_name(self.target)
                self.before = final.read_bytes() if final.exists() else None
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real(path, *args, **kwargs)


@pytest.mark.parametrize("target,nth,state", [
    ("last.safetensors", 2, "the initial weights"),  # the end of epoch 1 (the first is written at the start)
    ("last.safetensors", 3, "epoch 1"),
    ("metrics.jsonl", 3, "epoch 1"),  # rewritten at the start and after every epoch
])
def test_a_full_disk_names_the_file_and_the_intact_last_good_state(tmp_path, capsys, monkeypatch, target, nth,
                                                                  state):
    out = tmp_path / "run"
    disk = _DiskFull(monkeypatch, target, nth)
    assert main(["train", "--out", str(out), "--epochs", "4", *TINY, "--no-plots"]) == 2
    err = _err_lines(capsys)
    assert len(err) == 1, err
    assert f"cannot write {out / target} (No space left on device)" in err[0], err
    assert f"the last good state ({state}) is intact in {out / 'last.safetensors'}" in err[0], err
    assert (out / target).read_bytes() == disk.before  # the previous version, untouched
    assert not stale_temporaries(out) and not list(out.glob(".chainrule-*"))  # the cut-off write is gone
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--quiet", "--no-plots"]) == 0  # and it continues from there


def test_a_full_disk_while_drawing_says_the_run_is_saved(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    _DiskFull(monkeypatch, "curves.png", 1)
    assert main(["train", "--out", str(out), "--epochs", "2", *TINY]) == 2
    assert _err_lines(capsys) == [f"chainrule: error: cannot write {out / 'curves.png'} (No space left on device); "
                                  f"the run is complete and saved in {out}; chainrule plot {out} draws the pictures"]
    assert (out / "summary.json").is_file() and not (out / "curves.png").exists()


def test_library_messages_name_the_folder_and_the_remedies_not_options(tmp_path, capsys):
    """The library names the folder (``out X:``) and what would free it; the command line names its options."""
    out = tmp_path / "run"
    out.mkdir()
    (out / rundir.LOCK).write_text("")
    (out / rundir.SUMMARY).write_text("{}")
    with pytest.raises(rundir.RunFolderError) as e:
        rundir.prepare_out(out)
    assert str(e.value) == f"out {out}: already holds a run (summary.json): choose another folder, or overwrite it"
    assert e.value.folder == out and e.value.remedies == ("overwrite",)
    (tmp_path / "file").write_text("mine")
    with pytest.raises(rundir.RunFolderError, match=r"^out .*file: a file is in the way") as e:
        rundir.prepare_out(tmp_path / "file")
    assert "--" not in str(e.value)
    assert main(["train", *TINY, "--out", str(out)]) == 2
    assert _err_lines(capsys) == [f"chainrule: error: --out {out}: already holds a run (summary.json): choose another "
                                  f"folder, or overwrite it (--overwrite replaces it)"]


def test_one_default_run_folder_name_for_train_and_tune(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rundir.time, "time", lambda: 1767268800.25)
    monkeypatch.setattr(rundir.time, "strftime", lambda fmt, t=None: "20260101-120000")
    assert rundir.default_run_folder("digits", "256relu") == Path("runs/digits-256relu-20260101-120000-250")
    assert rundir.default_run_folder("data/My.CSV", "linear") == Path("runs/My-linear-20260101-120000-250")
    assert rundir.default_run_folder("moons", kind="tune") == Path("runs/tune-moons-20260101-120000-250")
    # the same millisecond again: the next free name, each folder made
    assert rundir.default_run_folder("digits", "256relu") == Path("runs/digits-256relu-20260101-120000-250-2")
    assert rundir.default_run_folder("digits", "256relu") == Path("runs/digits-256relu-20260101-120000-250-3")
    assert sorted(os.listdir("runs")) == ["My-linear-20260101-120000-250", "digits-256relu-20260101-120000-250",
                                          "digits-256relu-20260101-120000-250-2",
                                          "digits-256relu-20260101-120000-250-3", "tune-moons-20260101-120000-250"]


def test_default_run_folders_are_unique_across_threads(monkeypatch, tmp_path):
    """Threads started at once, all in the same (frozen) millisecond: a folder each, none shared."""
    monkeypatch.setattr(rundir.time, "time", lambda: 1767268800.25)
    start = threading.Barrier(16)

    def one(_):
        start.wait()
        return rundir.default_run_folder("moons", "linear", root=tmp_path / "runs")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        folders = list(pool.map(one, range(16)))
    assert len(set(folders)) == 16 and all(f.is_dir() for f in folders)
    assert sorted(os.listdir(tmp_path / "runs")) == sorted(f.name for f in folders)


_CHILD = """
import sys, time
from chainrule import rundir
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together
for _ in range(5):
    print(rundir.default_run_folder("moons", "linear", root=sys.argv[1]))
"""


def test_default_run_folders_are_unique_across_processes(tmp_path):
    """Processes started in the same second (the old names had seconds only and collided)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(rundir.__file__).parents[1]),
                                                                      os.environ.get("PYTHONPATH")]))}
    at = str(time.time() + 3)
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "runs"), at], stdout=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    names = [line for p in procs for line in p.communicate(timeout=120)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    assert len(names) == 20 and len(set(names)) == 20
    assert len(os.listdir(tmp_path / "runs")) == 20


def test_a_default_run_folder_that_gets_no_run_is_removed_by_claim(tmp_path):
    """claim removes a folder it made if nothing was written; one default_run_folder made counts as its own."""
    folder = rundir.default_run_folder("moons", root=tmp_path)
    with rundir.claim(folder):
        pass
    assert not folder.exists()
    folder = rundir.default_run_folder("moons", root=tmp_path)
    with rundir.claim(folder):
        (folder / rundir.SUMMARY).write_text("{}")
    assert folder.is_dir()


def test_train_without_out_three_times_in_a_row(tmp_path, monkeypatch, capsys):
    """for s in 1 2 3; do chainrule train --dataset moons --epochs 1 --seed $s --quiet; done"""
    monkeypatch.chdir(tmp_path)
    for seed in ("1", "2", "3"):
        assert main(["train", "--dataset", "moons", "--epochs", "1", "--seed", seed, "--quiet", "--no-plots"]) == 0
    assert len(os.listdir("runs")) == 3


def test_checkpoint_in_a_run_folder(tmp_path):
    assert rundir.checkpoint_in(tmp_path / "m.safetensors") == str(tmp_path / "m.safetensors")
    with pytest.raises(rundir.RunFolderError, match=r"^.*: no model\.safetensors in this folder \(expected a run "
                                                    r"folder chainrule train wrote, or a checkpoint file\)$"):
        rundir.checkpoint_in(tmp_path)
    (tmp_path / rundir.LAST).write_bytes(b"")
    with pytest.raises(rundir.RunFolderError, match="it holds last.safetensors, a training state"):
        rundir.checkpoint_in(tmp_path)
    (tmp_path / rundir.BEST).write_bytes(b"")
    assert rundir.checkpoint_in(tmp_path) == str(tmp_path / rundir.BEST)

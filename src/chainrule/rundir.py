"""A run folder: the files chainrule writes in it, the lock that keeps it to one run, preparing it.

A run's folder (``out``) must be absent, empty, or a chainrule run (one that holds
chainrule's lock file or a checkpoint with chainrule's metadata; see ``survey``). chainrule never writes
into a folder of other files, deletes only the temporary files it named itself, and
holds an exclusive lock on ``.chainrule.lock`` for as long as a run uses the folder,
so that two runs can't mix their files.

>>> import os, tempfile
>>> out = os.path.join(tempfile.mkdtemp(), "run")
>>> with claim(out) as folder:     # free: absent, so it is created and locked
...     sorted(os.listdir(folder))
['.chainrule.lock']
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .data.registry import USER_FILE_SUFFIXES, canonical_name
from .atomic import TEMP_PREFIX, TEMP_SUFFIX, stale_temporaries

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; the folder checks still apply
    fcntl = None

__all__ = ["LAST", "BEST", "METRICS", "SUMMARY", "TUNE", "DIAGNOSTICS", "STATUS", "RUN_FILES", "PICTURES", "LOCK", "RunFolderError",
           "RunFolderBusy", "RunFileError", "survey", "lock", "claim", "prepare_out", "default_run_folder",
           "checkpoint_in"]

LAST = "last.safetensors"  # the whole training state, written every epoch and on Ctrl-C
BEST = "model.safetensors"  # the best-validation weights, a Classifier checkpoint
METRICS, SUMMARY, TUNE = "metrics.jsonl", "summary.json", "tune.json"
DIAGNOSTICS = "diagnostics.jsonl"  # per-epoch layer statistics, with diagnostics on
STATUS = "status.json"  # running, finished, diverged or interrupted: what a viewer of the folder shows
RUN_FILES = (BEST, LAST, METRICS, SUMMARY, TUNE, DIAGNOSTICS, STATUS)  # what a run writes (see survey for what makes a folder one)
PICTURES = ("curves.png", "confusion.png", "weights.png", "diagnostics.png")  # chainrule's only in a folder that holds a run
LOCK = ".chainrule.lock"


class RunFolderError(ValueError):
    """A folder that can't take this run (someone else's files, a file in the way).

    ``folder`` is the folder; ``remedies`` what would let the run use it, among "resume" (continue
    the run in it) and "overwrite" (replace it), for a caller to name its own way of doing so.
    """

    def __init__(self, message: str, folder: str | os.PathLike | None = None, remedies: tuple[str, ...] = ()):
        super().__init__(message)
        self.folder, self.remedies = folder, tuple(remedies)


class RunFolderBusy(RunFolderError):
    """Another chainrule run (another process, or another thread) holds the folder's lock."""


class RunFileError(OSError):
    """Writing a run file failed (a full disk, say); the message names the file and the last good state."""


def _is_own_temporary(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _chainrule_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a regular file with chainrule's metadata (``model.safetensors`` is also
    the name other programs, Hugging Face's among them, give their models)."""
    if path.is_symlink():
        return False
    from .io import CheckpointError, read_header  # (io does not import this module)

    try:
        read_header(path)  # the header only, checked before anything is allocated
    except CheckpointError:
        return False
    return True


def survey(folder: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(the run files in ``folder``, the files that are not chainrule's), by name (a ``.safetensors``
    file also by chainrule's metadata in it; the others only beside chainrule's lock file or
    checkpoint), without following links; ``([], [])`` for an absent folder.

    >>> import tempfile
    >>> survey(tempfile.mkdtemp())
    ([], [])
    """
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return [], []
    checkpoints = [name for name in (BEST, LAST) if name in names and _chainrule_checkpoint(Path(folder) / name)]
    # The JSON files' names are common ones (a summary.json of one's own): they, and a link with a
    # checkpoint's name (removing it removes only the link), are a run's only in a folder chainrule
    # has marked as its own, by its lock file or a checkpoint of its own.
    marked = bool(checkpoints) or LOCK in names
    run = [name for name in RUN_FILES if name in checkpoints or (marked and name in names and (
        name not in (BEST, LAST) or os.path.islink(os.path.join(folder, name))))]
    own = set(run) | {LOCK} | (set(PICTURES) if run else set())
    return run, [name for name in names if name not in own and not _is_own_temporary(name)]


def _check(folder: Path, overwrite: bool) -> list[str]:
    """Refuse a folder a new run must not use; returns the old run's files (to remove with overwrite)."""
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        raise RunFolderError(f"out {folder}: a file is in the way; the run needs a folder there", folder)
    try:
        run, others = survey(folder)
    except OSError as e:  # a file where a parent folder should be (ENOTDIR), no permission to list it
        raise RunFolderError(f"out {folder}: cannot use this folder ({e.strerror or e})", folder) from None
    foreign = [name for name in others if name in RUN_FILES]  # e.g. another program's model.safetensors
    if run and foreign:
        raise RunFolderError(f"out {folder}: {', '.join(foreign)} there is not chainrule's (no chainrule metadata "
                             f"in it), beside a run's {', '.join(run)}: choose another folder", folder)
    if run and not overwrite:
        remedies = ("resume", "overwrite") if LAST in run else ("overwrite",)
        hint = ", continue it from its last.safetensors" if LAST in run else ""
        raise RunFolderError(f"out {folder}: already holds a run ({', '.join(run)}): choose another folder{hint}, "
                             f"or overwrite it", folder, remedies)
    if others and not run:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise RunFolderError(f"out {folder}: holds files that are not a chainrule run ({shown}): choose a new or "
                             f"empty folder (chainrule writes a run only into one of those, or into an old run's)",
                             folder)
    return run


# ------------------------------------------------------------------------ the lock
# flock belongs to an open file description, not to a process (flock(2)): opening the lock file a
# second time in the same process and locking it again would refuse (or deadlock) the process that
# already holds it. So each process keeps its holds here, re-entrant within the thread that took them.
_holds: dict[tuple[int, int], list] = {}  # (st_dev, st_ino) of a folder -> [fd, depth, thread id]
_holds_guard = threading.Lock()


def _key(folder: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _busy(folder: Path, pid: int | None) -> RunFolderBusy:
    who = f"another chainrule run (pid {pid})" if pid else "another chainrule run"
    return RunFolderBusy(f"{folder}: {who} is using this folder; wait for it to end, or choose another folder")


def _acquire(folder: Path) -> int:
    # A run that made the folder and wrote nothing in it removes the lock file (and the folder) as it
    # ends (see claim). A process that opened the file just before that would lock a file no longer
    # in the folder, while a third one creates and locks a new one: so the lock held is checked to
    # be the file at the path, and taken again if it is not.
    for _ in range(10):
        fd = _lock_file(folder)
        try:
            st = os.fstat(fd)
            try:
                now = os.stat(folder / LOCK, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) and st.st_nlink == 1:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # for the message another process prints
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        folder.mkdir(parents=True, exist_ok=True)  # it may have gone with its lock file
    raise RunFolderBusy(f"{folder}: its lock file keeps being replaced; another program is using this folder")


def _lock_file(folder: Path) -> int:
    """An open, flock-ed ``folder/.chainrule.lock``; RunFolderBusy while another run holds it."""
    path = folder / LOCK
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as e:
        why = "it is a symbolic link" if e.errno == errno.ELOOP else (e.strerror or str(e))
        raise RunFolderError(f"{path}: cannot open the run folder's lock file ({why})") from None
    try:
        st = os.fstat(fd)
        # a hard link would let the pid overwrite another file (0 links: removed since it was opened)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
            raise RunFolderError(f"{path}: not a lock file chainrule made (a special file or a hard link); remove it")
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                raise _busy(folder, int(text) if text.isdigit() else None) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def lock(folder: str | os.PathLike) -> Iterator[bool]:
    """Hold ``folder/.chainrule.lock`` exclusively for the block (creating the folder if need be);
    yields True for the outermost hold. A thread that holds the folder may take it again; another
    process or thread gets RunFolderBusy, naming the folder and the holder's pid. The lock file
    stays when the block ends (removing it would race with a process about to lock it).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with lock(folder) as outer, lock(folder) as inner:
    ...     outer, inner
    (True, False)
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a read-only file system, no permission, a file where a parent folder should be
        raise RunFolderError(f"out {folder}: cannot create the folder ({e.strerror or e})", folder) from None
    key = _key(folder)
    with _holds_guard:
        hold = _holds.get(key)
        if hold is not None:
            if hold[2] != threading.get_ident():
                raise _busy(folder, os.getpid())
            hold[1] += 1
    if hold is not None:
        try:
            yield False
        finally:
            with _holds_guard:
                hold[1] -= 1
        return
    fd = _acquire(folder)
    with _holds_guard:
        _holds[key] = [fd, 1, threading.get_ident()]
    try:
        yield True
    finally:
        with _holds_guard:
            del _holds[key]
        os.close(fd)  # releases the flock


def _held_here(folder: Path) -> bool:
    key = _key(folder)
    with _holds_guard:
        hold = _holds.get(key) if key is not None else None
        return hold is not None and hold[2] == threading.get_ident()


@contextlib.contextmanager
def claim(folder: str | os.PathLike, *, overwrite: bool = False, resume: bool = False) -> Iterator[Path]:
    """Hold ``folder`` for one run, from the check that it is free to the block's end.

    A new run needs the folder absent, empty, or (with ``overwrite``) an old run, whose files
    are removed first; a folder of other files is refused before anything is created in it.
    ``resume`` keeps the run's files. Temporary files of writes a crash cut off are removed, and
    a folder made here in which nothing was written is removed at the end.
    Within a claim of the same thread, a nested claim only holds (the outer one checked).
    Raises RunFolderError, or RunFolderBusy while another run holds the folder.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "notes.txt"), "w").write("mine")
    >>> with claim(folder):  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    chainrule.rundir.RunFolderError: out ...: holds files that are not a chainrule run (notes.txt): ...
    """
    folder = Path(folder)
    if _held_here(folder):
        with lock(folder):
            yield folder
        return
    if resume and not (folder / LAST).is_file():  # nothing to hold: the caller reports the missing state
        yield folder
        return
    if not resume:  # someone else's folder is refused before the lock file is made in it; an old
        _check(folder, overwrite=True)  # run, once the lock is held (a running one is busy, not old)
    made = _made_here(folder)  # by default_run_folder, for this run
    created = made or not folder.exists()
    try:
        with lock(folder):
            try:
                old_run = [] if resume else _check(folder, overwrite)
                for name in old_run + list(PICTURES) if old_run else []:  # overwrite: chainrule's own files only
                    (folder / name).unlink(missing_ok=True)
                for leftover in stale_temporaries(folder):
                    leftover.unlink(missing_ok=True)
                yield folder
            finally:  # a folder made here and left empty (the data failed to load, say) goes again
                with contextlib.suppress(OSError):
                    if created and os.listdir(folder) == [LOCK]:
                        (folder / LOCK).unlink()  # while still holding it: no other run can have it
    finally:
        if created:
            with contextlib.suppress(OSError):  # not empty: it holds a run now
                folder.rmdir()


def prepare_out(out: str | os.PathLike, overwrite: bool = False) -> None:
    """Check (under the lock, released at the end) that a new run may use ``out``; with
    ``overwrite``, remove the old run's files. ``claim`` does this and holds the folder.

    >>> import tempfile
    >>> prepare_out(tempfile.mkdtemp())
    """
    with claim(out, overwrite=overwrite):
        pass


def default_run_folder(dataset: str | os.PathLike, model: str | None = None, *, kind: str | None = None,
                       root: str | os.PathLike = "runs") -> Path:
    """A new folder for a run given none, created here: ``runs/[KIND-]DATASET[-MODEL]-YYYYmmdd-HHMMSS-mmm``
    (local time to the millisecond), with ``-2``, ``-3``, ... added when that name is taken; a data
    file (.npz, .csv, .tsv) is named by its stem, a built-in set by its canonical name. Each call gets a folder of its own, even from processes
    started in the same millisecond (``os.mkdir`` either creates the folder or fails: the next name is
    tried). The folder is empty; ``claim`` removes it again if the run writes nothing in it.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> a, b = default_run_folder("data/shapes.npz", "linear", root=root), default_run_folder("moons", kind="tune", root=root)
    >>> a.name[:14], b.name[:11], a.is_dir()
    ('shapes-linear-', 'tune-moons-', True)
    """
    dataset = os.fspath(dataset)
    name = Path(dataset).stem if dataset.lower().endswith(USER_FILE_SUFFIXES) else canonical_name(dataset)
    now = time.time()
    stamp = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{int(now * 1000) % 1000:03d}"
    base = "-".join(p for p in (kind, name, model, stamp) if p)
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunFolderError(f"out {root}: cannot create the folder ({e.strerror or e})", root) from None
    for n in range(1, 10_000):
        folder = root / (base if n == 1 else f"{base}-{n}")
        try:
            os.mkdir(folder)
        except FileExistsError:
            continue
        except OSError as e:
            raise RunFolderError(f"out {folder}: cannot create the folder ({e.strerror or e})", folder) from None
        with _made_guard:
            _made.add(os.path.abspath(folder))
        return folder
    raise RunFolderError(f"out {root / base}: 10,000 runs of that name already; choose a folder", root)


# Folders default_run_folder made, not yet claimed: claim treats them as made by itself (removed
# again if the run writes nothing).
_made: set[str] = set()
_made_guard = threading.Lock()


def _made_here(folder: Path) -> bool:
    with _made_guard:
        key = os.path.abspath(folder)
        if key in _made:
            _made.discard(key)
            return True
        return False


def checkpoint_in(path: str | os.PathLike) -> str:
    """The checkpoint ``path`` names: the path itself, or for a run folder its ``model.safetensors``.
    Raises RunFolderError for a folder without one.

    >>> import tempfile
    >>> checkpoint_in("runs/a/model.safetensors")
    'runs/a/model.safetensors'
    >>> checkpoint_in(tempfile.mkdtemp())   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.rundir.RunFolderError: ...: no model.safetensors in this folder (expected a run folder ...
    """
    name = os.fspath(path)
    if not os.path.isdir(name):
        return name
    best = os.path.join(name, BEST)
    if os.path.lexists(best):
        return best
    hint = (f"; it holds {LAST}, a training state: the run ended before its first epoch's model was saved"
            if os.path.lexists(os.path.join(name, LAST)) else "")
    raise RunFolderError(f"{name}: no {BEST} in this folder (expected a run folder chainrule train wrote, or a "
                         f"checkpoint file){hint}", name)

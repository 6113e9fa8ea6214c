"""What bitwise resume depends on, recorded in last.safetensors and checked on resume: the data's
SHA-256 (refused if it changed), the BLAS thread count (the recorded one is used; another is
refused), chainrule's and NumPy's versions (a warning)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule.cli import main
from chainrule.data import load_dataset
from chainrule.io import CheckpointError, load_weights, save_weights
from chainrule.threads import blas_threads
from chainrule.train import ResumeWarning, data_sha256


def _images(path, seed=0, n=200):
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.integers(0, 256, (n, 4, 4)).astype(np.uint8), y=np.arange(n) % 2)
    return path


class _Interrupt(cr.progress.Callback):
    """Ctrl-C after the first step of epoch 2, as the SIGINT handler would."""

    def on_train_begin(self, trainer):
        self.trainer = trainer

    def on_epoch_begin(self, epoch, steps):
        self.epoch = epoch

    def on_batch_end(self, loss, size):
        if self.epoch == 2:
            self.trainer._interrupted = True


def _cut_run(tmp_path, dataset):
    out = tmp_path / "run"
    with pytest.raises(cr.train.TrainingInterrupted):
        cr.fit(str(dataset), model="4relu", epochs=3, batch_size=16, out=out, callback=_Interrupt(), quiet=True)
    return out


def _edit_fingerprint(out, **changes):
    arrays, info = load_weights(out / "last.safetensors")
    if changes.get("drop"):
        del info["resume"]["fingerprint"]
    else:
        info["resume"]["fingerprint"].update(changes)
    save_weights(arrays, out / "last.safetensors", info)


def test_the_fingerprint_is_recorded(tmp_path):
    data_file = _images(tmp_path / "d.npz")
    out = _cut_run(tmp_path, data_file)
    saved = load_weights(out / "last.safetensors")[1]["resume"]["fingerprint"]
    assert saved == {"threads": blas_threads(), "data_sha256": data_sha256(load_dataset(data_file)),
                     "chainrule": cr.__version__, "numpy": np.__version__}
    assert saved["threads"] == 1  # the tests run NumPy with one BLAS thread (conftest.py)


def test_data_rewritten_with_the_same_shapes_is_refused_as_changed_data(tmp_path, capsys):
    data_file = _images(tmp_path / "d.npz")
    out = _cut_run(tmp_path, data_file)
    _images(data_file, seed=1)  # same shapes, other pixels
    with pytest.raises(CheckpointError, match=r"last.safetensors: the data changed since this run was saved"):
        cr.train.resume(out, quiet=True)
    assert main(["train", "--resume", str(out), "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the data changed" in err[0] and "damaged" not in err[0]


def test_fewer_examples_in_an_old_state_without_fingerprint_is_changed_data_too(tmp_path):
    data_file = _images(tmp_path / "d.npz")
    out = _cut_run(tmp_path, data_file)
    _edit_fingerprint(out, drop=True)
    _images(data_file, n=150)
    with pytest.raises(CheckpointError, match="the data changed since this run was saved"), \
            pytest.warns(ResumeWarning, match="does not record"):
        cr.train.resume(out, quiet=True)


class _Threads(cr.progress.Callback):
    def on_train_begin(self, trainer):
        self.threads = blas_threads()


def test_resume_uses_the_recorded_thread_count_and_refuses_another(tmp_path, capsys):
    out = _cut_run(tmp_path, _images(tmp_path / "d.npz"))  # trained with 1 BLAS thread
    _edit_fingerprint(out, threads=2)  # as if trained with 2 (the machine may have only 1 core)
    with pytest.raises(CheckpointError, match="trained with 2 BLAS threads; resuming with 1 would not give bitwise"):
        cr.train.resume(out, quiet=True, threads=1)
    assert main(["train", "--resume", str(out), "--threads", "1", "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "with 2 BLAS threads" in err[0] and "resuming with 1" in err[0]
    seen = _Threads()
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.train.resume(out, callback=seen)
    can = [w for w in caught if issubclass(w.category, ResumeWarning)]
    if seen.threads == 2:  # applied: no warning
        assert not can
    else:  # a one-core machine cannot run 2 threads: says so
        assert len(can) == 1 and "not be bitwise" in str(can[0].message)
    assert blas_threads() == 1  # the run's own count was for the run only


def test_another_version_continues_with_a_one_line_warning(tmp_path, capsys):
    out = _cut_run(tmp_path, _images(tmp_path / "d.npz"))
    _edit_fingerprint(out, numpy="1.0.0")
    assert main(["train", "--resume", str(out), "--quiet", "--no-plots"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule: warning: ") and "NumPy 1.0.0" in err[0]
    assert "will not be bitwise" in err[0]


def test_a_state_without_fingerprint_resumes_with_a_warning(tmp_path):
    out = _cut_run(tmp_path, _images(tmp_path / "d.npz"))
    _edit_fingerprint(out, drop=True)
    with pytest.warns(ResumeWarning, match="does not record the data, BLAS threads and versions"):
        result = cr.train.resume(out, quiet=True)
    assert result.summary["epochs"] == 3
    # from here on the run is checked: its state records the conditions it continued under
    assert load_weights(out / "last.safetensors")[1]["resume"]["fingerprint"]["numpy"] == np.__version__


def test_resume_without_threadpoolctl_continues_with_a_warning(tmp_path, capsys, monkeypatch):
    """The core install (no extras) resumes a run trained where threadpoolctl recorded the count."""
    import sys

    out = _cut_run(tmp_path, _images(tmp_path / "d.npz"))
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    assert main(["train", "--resume", str(out), "--quiet", "--no-plots"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule: warning: ") and "with 1 BLAS thread," in err[0], err
    assert "threadpoolctl is not installed" in err[0] and "--" not in err[0]
    assert load_weights(out / "model.safetensors")[1] is not None

"""Fixtures for the data tests: an isolated environment, small IDX datasets, a local HTTP mirror."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import write_idx
from chainrule.data.mnist import IDX_FILES


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Keep the tests away from the user's cache, data folder, mirror and proxies."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.delenv("CHAINRULE_MIRROR", raising=False)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


def make_idx_arrays(n_train: int = 30, n_test: int = 10, shape=(4, 5), seed: int = 0) -> dict[str, np.ndarray]:
    """Small MNIST-like arrays: uint8 images of `shape`, labels 0..9, keyed by IDX file stem."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }


def write_idx_set(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True, only=IDX_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in only:
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[stem])
    return folder


@pytest.fixture
def idx_arrays():
    """The default small MNIST-like arrays (30 training, 10 test images of 4x5)."""
    return make_idx_arrays()


@pytest.fixture
def idx_array_factory():
    """make_idx_arrays(n_train=30, n_test=10, shape=(4, 5), seed=0) -> arrays by file stem."""
    return make_idx_arrays


@pytest.fixture
def write_idx_files():
    """write_idx_files(folder, arrays, gz=True, only=IDX_FILES) -> folder (test modules
    get helpers as fixtures: importing conftest could pick up another folder's)."""
    return write_idx_set


def _assert_well_formed(data):
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and x.ndim == 2 and x.flags.c_contiguous
        assert y.dtype == np.int64 and y.shape == (len(x),)
        assert np.isfinite(x).all()
        assert y.min() >= 0 and y.max() < data.num_classes
    assert data.num_features == data.x_train.shape[1] == data.x_test.shape[1]


def _check_matches(data, arrays, name="mnist"):
    _assert_well_formed(data)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    assert data.name == name and data.image_shape == images.shape[1:]
    assert data.x_train.shape == (len(images), images[0].size)
    np.testing.assert_array_equal(data.x_train, images.reshape(len(images), -1).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(data.y_train, labels)
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert data.x_train.min() >= 0 and data.x_train.max() <= 1


@pytest.fixture
def assert_well_formed():
    """assert_well_formed(data): float32 C-contiguous finite inputs, int64 labels in range, matching widths."""
    return _assert_well_formed


@pytest.fixture
def check_matches():
    """check_matches(data, arrays, name="mnist"): `data` is the IDX arrays, scaled to [0, 1]."""
    return _check_matches


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def http_root(tmp_path):
    """(folder, base URL): a ThreadingHTTPServer on 127.0.0.1 serving `folder`."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

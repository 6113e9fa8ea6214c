"""Downloads against a local HTTP server: kept only when the SHA-256 matches, atomically."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from chainrule.data import DataError, download, load_mnist, sha256sum
from chainrule.data.mnist import IDX_FILES
from chainrule.data.download import DownloadFailed


@pytest.fixture
def mirror(http_root, idx_arrays, write_idx_files):
    """(folder served, base URL, {file name: sha256}) with the four small .gz files."""
    root, url = http_root
    write_idx_files(root, idx_arrays, gz=True)
    hashes = {f"{stem}.gz": sha256sum(root / f"{stem}.gz") for stem in IDX_FILES}
    return root, url, hashes


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


def test_download_with_right_checksums_fills_the_cache(mirror, isolated_env, idx_arrays):
    root, url, hashes = mirror
    data = load_mnist(mirror=url, hashes=hashes)
    assert data.x_train.shape == (30, 20)
    assert (data.y_train == idx_arrays["train-labels-idx1-ubyte"]).all()
    cache = isolated_env / "chainrule" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(hashes)
    assert all(sha256sum(cache / name) == h for name, h in hashes.items())
    # The cache is used from now on: no server needed.
    for name in hashes:
        (root / name).unlink()
    assert load_mnist(mirror=url, hashes=hashes, download=False).x_test.shape == (10, 20)


def test_checksum_mismatch_deletes_the_file_and_says_so(mirror, isolated_env):
    root, url, hashes = mirror
    wrong = dict(hashes, **{"train-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(DataError) as info:
        load_mnist(mirror=url, hashes=wrong)
    text = str(info.value)
    assert "SHA-256 mismatch" in text and "deleted" in text and "train-labels-idx1-ubyte.gz" in text
    assert hashes["train-labels-idx1-ubyte.gz"] in text  # what was actually received
    cache = isolated_env / "chainrule" / "mnist"
    assert not (cache / "train-labels-idx1-ubyte.gz").exists()
    assert leftovers(cache) == []
    # Only the verified file before it was kept; a retry with the right hashes completes.
    assert [p.name for p in cache.iterdir()] == ["train-images-idx3-ubyte.gz"]
    assert load_mnist(mirror=url, hashes=hashes).x_train.shape == (30, 20)


def test_mirror_from_environment_uses_dataset_subfolder(http_root, idx_arrays, write_idx_files, monkeypatch):
    root, url = http_root
    write_idx_files(root / "mnist", idx_arrays)
    hashes = {f"{s}.gz": sha256sum(root / "mnist" / f"{s}.gz") for s in IDX_FILES}
    monkeypatch.setenv("CHAINRULE_MIRROR", url)
    assert load_mnist(hashes=hashes).x_train.shape == (30, 20)


def test_falls_back_to_the_next_mirror(mirror):
    root, url, hashes = mirror
    assert load_mnist(mirror=[f"{url}/missing/", url], hashes=hashes).y_test.shape == (10,)


def test_http_error_is_reported_as_failed_download(http_root, tmp_path):
    _, url = http_root
    with pytest.raises(DataError, match=r"download failed \(.*HTTP 404") as info:
        load_mnist(data_dir=tmp_path, mirror=url, hashes={f"{s}.gz": "a" * 64 for s in IDX_FILES})
    assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)


def test_only_missing_files_are_downloaded(mirror, isolated_env, idx_arrays, write_idx_files):
    root, url, hashes = mirror
    cache = isolated_env / "chainrule" / "mnist"
    write_idx_files(cache, idx_arrays, gz=False, only=IDX_FILES[:1])
    (root / "train-images-idx3-ubyte.gz").unlink()  # the server lacks it: it must not be asked for
    load_mnist(mirror=url, hashes=hashes)
    assert not (cache / "train-images-idx3-ubyte.gz").exists()


def test_refuses_to_download_without_a_known_hash(mirror):
    _, url, hashes = mirror
    del hashes["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError, match="no SHA-256 known for t10k-labels-idx1-ubyte.gz"):
        load_mnist(mirror=url, hashes=hashes)


def test_download_function_checks(mirror, tmp_path):
    root, url, hashes = mirror
    name = "train-labels-idx1-ubyte.gz"
    target = tmp_path / "sub" / name
    assert download(f"{url}/{name}", target, hashes[name].upper()) == target
    assert target.read_bytes() == (root / name).read_bytes()
    with pytest.raises(DataError, match="larger than 10 bytes"):
        download(f"{url}/{name}", tmp_path / "big", hashes[name], max_bytes=10)
    with pytest.raises(DataError, match="not a SHA-256"):
        download(f"{url}/{name}", tmp_path / "x", "abc")
    with pytest.raises(DownloadFailed, match="only http and https"):
        download(f"file://{root / name}", tmp_path / "y", hashes[name])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "www"]
    assert leftovers(tmp_path / "sub") == []


class _CutShort(http.server.BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 500, closes: what a dropped connection looks like."""

    body = bytes(range(250)) * 4

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body[:500])

    def log_message(self, *args):
        pass


def test_a_body_cut_short_is_a_failed_download_not_a_bad_file(tmp_path):
    """So the next mirror gets its turn, and nothing is left behind."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        target = tmp_path / "f.gz"
        url = f"http://127.0.0.1:{server.server_address[1]}/f.gz"
        with pytest.raises(DownloadFailed):
            download(url, target, hashlib.sha256(_CutShort.body).hexdigest())
        assert list(tmp_path.iterdir()) == []
    finally:
        server.shutdown()

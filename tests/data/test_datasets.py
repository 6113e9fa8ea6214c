"""Named datasets: digits, MNIST-style IDX folders, the real Fashion-MNIST, toy sets, load_dataset."""

from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

import chainrule.data.datasets as datasets
from chainrule.data import (
    DATASETS,
    Data,
    DataError,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    make_moons,
    make_spirals,
    make_xor,
    write_idx,
)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def assert_well_formed(data: Data):
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and x.ndim == 2 and x.flags.c_contiguous
        assert y.dtype == np.int64 and y.shape == (len(x),)
        assert np.isfinite(x).all()
        assert y.min() >= 0 and y.max() < data.num_classes
    assert data.num_features == data.x_train.shape[1] == data.x_test.shape[1]


# --- digits -----------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_shapes_ranges_dtypes(digits):
    assert_well_formed(digits)
    assert digits.x_train.shape == (1437, 64) and digits.x_test.shape == (360, 64)
    assert digits.image_shape == (8, 8) and digits.classes == [str(i) for i in range(10)]
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    # pixel counts 0..16 become multiples of 1/16 exactly
    assert np.array_equal(digits.x_train * 16, np.round(digits.x_train * 16))


def test_digits_split_is_stratified_and_fixed(digits):
    from sklearn.datasets import load_digits as sk_digits

    all_counts = np.bincount(sk_digits().target, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    # each class holds out its share of 360/1797, give or take one
    assert np.all(np.abs(test_counts - all_counts * 360 / 1797) <= 1)
    assert np.array_equal(np.bincount(digits.y_train, minlength=10) + test_counts, all_counts)
    again = load_digits()
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(digits, name), getattr(again, name))


# --- MNIST-style folders ----------------------------------------------------


def check_matches(data: Data, arrays, name="mnist"):
    assert_well_formed(data)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    assert data.name == name and data.image_shape == images.shape[1:]
    assert data.x_train.shape == (len(images), images[0].size)
    np.testing.assert_array_equal(data.x_train, images.reshape(len(images), -1).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(data.y_train, labels)
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert data.x_train.min() >= 0 and data.x_train.max() <= 1


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_data_dir(tmp_path, idx_arrays, write_idx_files, gz):
    write_idx_files(tmp_path, idx_arrays, gz=gz)
    check_matches(load_mnist(data_dir=tmp_path, download=False), idx_arrays)


def test_data_dir_subfolder_named_after_dataset(tmp_path, idx_arrays, write_idx_files):
    write_idx_files(tmp_path / "fashion-mnist", idx_arrays)
    data = load_fashion_mnist(data_dir=tmp_path, download=False)
    check_matches(data, idx_arrays, name="fashion-mnist")
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"


def test_mixed_raw_and_gz_files(tmp_path, idx_arrays, write_idx_files):
    write_idx_files(tmp_path, idx_arrays, gz=True, only=datasets.IDX_FILES[:2])
    write_idx_files(tmp_path, idx_arrays, gz=False, only=datasets.IDX_FILES[2:])
    check_matches(load_mnist(data_dir=tmp_path, download=False), idx_arrays)


def test_search_order_data_dir_then_env_then_cache(
    tmp_path, monkeypatch, isolated_env, write_idx_files, idx_array_factory
):
    first, second, third = (idx_array_factory(seed=s) for s in (1, 2, 3))
    write_idx_files(tmp_path / "arg", first)
    write_idx_files(tmp_path / "env" / "mnist", second)
    write_idx_files(isolated_env / "chainrule" / "mnist", third)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    check_matches(load_mnist(data_dir=tmp_path / "arg", download=False), first)
    check_matches(load_mnist(download=False), second)
    monkeypatch.delenv("CHAINRULE_DATA")
    check_matches(load_mnist(download=False), third)


def test_incomplete_folder_is_skipped(tmp_path, idx_arrays, write_idx_files):
    write_idx_files(tmp_path, idx_arrays, only=datasets.IDX_FILES[:3])
    with pytest.raises(DataError, match="not found"):
        load_mnist(data_dir=tmp_path, download=False)


@pytest.mark.parametrize(
    "stem, array, message",
    [
        ("train-labels-idx1-ubyte", np.zeros(29, np.uint8), "29 labels for 30 images"),
        ("train-labels-idx1-ubyte", np.full(30, 10, np.uint8), "label 10 out of range"),
        ("train-images-idx3-ubyte", np.zeros((30, 20), np.uint8), "expected uint8 images"),
        ("t10k-labels-idx1-ubyte", np.zeros((10, 1), np.uint8), "expected uint8 labels"),
        ("t10k-images-idx3-ubyte", np.zeros((10, 4, 5), np.float32), "expected uint8 images"),
        ("t10k-images-idx3-ubyte", np.zeros((10, 5, 4), np.uint8), r"training images are \(4, 5\)"),
    ],
)
def test_inconsistent_files_are_named(tmp_path, idx_arrays, write_idx_files, stem, array, message):
    write_idx_files(tmp_path, idx_arrays)
    write_idx(tmp_path / f"{stem}.gz", array)
    with pytest.raises(DataError, match=message):
        load_mnist(data_dir=tmp_path, download=False)


def test_corrupt_file_is_named(tmp_path, idx_arrays, write_idx_files):
    write_idx_files(tmp_path, idx_arrays)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist(data_dir=tmp_path, download=False)


def test_offline_message_lists_places_and_remedies(tmp_path, monkeypatch, isolated_env):
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    monkeypatch.setitem(datasets.SYSTEM_DIRS, "fashion-mnist", (str(system),))
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError) as info:
        load_fashion_mnist(data_dir=tmp_path / "mine", download=False)
    text = str(info.value)
    assert "\n" not in text
    for place in (
        tmp_path / "mine",
        tmp_path / "mine" / "fashion-mnist",
        tmp_path / "env",
        system,
        isolated_env / "chainrule" / "fashion-mnist",
    ):
        assert str(place) in text
    assert "apt-get install dataset-fashion-mnist" in text and "--data-dir" in text
    assert "download=False" in text


def test_offline_download_failure_is_one_line(tmp_path):
    # A loopback port that was just free: nothing listens, the connection is refused at once.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match="download failed") as info:
        load_mnist(data_dir=tmp_path, mirror=f"http://127.0.0.1:{port}/")
    text = str(info.value)
    assert "\n" not in text and "$CHAINRULE_DATA (unset)" in text and "apt-get" not in text


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="needs `apt-get install dataset-fashion-mnist`")
def test_real_fashion_mnist_from_debian_location():
    data = load_fashion_mnist(download=False)
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert set(np.unique(data.y_train)) == set(range(10))
    assert np.array_equal(np.bincount(data.y_train), [6000] * 10)
    assert np.array_equal(np.bincount(data.y_test), [1000] * 10)
    assert data.image_shape == (28, 28) and len(data.classes) == 10


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="needs `apt-get install dataset-fashion-mnist`")
def test_debian_labels_are_the_published_data():
    # Debian recompressed the .gz files (so their SHA-256 differs from the mirrors'), but
    # the contents are the published ones: torchvision lists these MD5s of the raw files.
    raw_md5 = {"train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
               "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"}
    for stem, md5 in raw_md5.items():
        content = gzip.decompress((DEBIAN_FASHION / f"{stem}.gz").read_bytes())
        assert hashlib.md5(content).hexdigest() == md5


def test_known_hashes_are_well_formed():
    for name in ("mnist", "fashion-mnist"):
        table = datasets.SHA256[name]
        assert set(table) == {f"{stem}.gz" for stem in datasets.IDX_FILES}
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in table.values())
        assert all(url.startswith("https://") for url in datasets.MIRRORS[name])


# --- toy sets ---------------------------------------------------------------


def test_xor_points():
    x, y = make_xor()
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    xn, yn = make_xor(400, noise=0.1, seed=1)
    assert xn.shape == (400, 2) and xn.dtype == np.float32
    assert np.array_equal(yn, np.tile([0, 1, 1, 0], 100))
    assert 0.05 < np.std(xn - np.tile(x, (100, 1))) < 0.2


@pytest.mark.parametrize("make", [make_moons, make_spirals])
def test_toy_sets_are_float32_seeded_and_balanced(make):
    x, y = make(301, noise=0.1, seed=3)
    assert x.shape == (301, 2) and x.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    x2, y2 = make(301, noise=0.1, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, make(301, noise=0.1, seed=4)[0])
    assert not np.array_equal(y[:20], np.sort(y[:20])) or len(set(y[:20])) > 1  # shuffled
    assert np.abs(x).max() < 3


def test_spirals_classes_and_noise_free_radius():
    x, y = make_spirals(200, classes=2, noise=0.0)
    assert set(y.tolist()) == {0, 1}
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1 + 1e-6


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_xor(3),
        lambda: make_xor(4, noise=-1),
        lambda: make_moons(1),
        lambda: make_moons(10, noise=float("nan")),
        lambda: make_spirals(10, classes=1),
        lambda: make_spirals(2, classes=3),
        lambda: make_spirals(10.5),
    ],
)
def test_toy_argument_errors(call):
    with pytest.raises(DataError):
        call()


# --- load_dataset -----------------------------------------------------------


@pytest.mark.parametrize("name", ["xor", "moons", "spirals", "Moons"])
def test_load_dataset_toys(name):
    data = load_dataset(name)
    assert_well_formed(data)
    assert data.name == name.lower()
    if name != "xor":
        assert len(data.x_test) * 4 == len(data.x_train)


def test_load_dataset_digits_and_idx(tmp_path, idx_arrays, write_idx_files):
    assert load_dataset("digits").x_train.shape == (1437, 64)
    write_idx_files(tmp_path / "mnist", idx_arrays)
    check_matches(load_dataset("mnist", data_dir=tmp_path, download=False), idx_arrays)


def test_load_dataset_unknown_name_lists_known():
    with pytest.raises(DataError) as info:
        load_dataset("cifar-10")
    for name in DATASETS:
        assert name in str(info.value)
    assert ".npz" in str(info.value) and ".csv" in str(info.value)


def test_data_validates_and_reprs():
    x = np.zeros((3, 2), np.float32)
    data = Data(x, np.array([0, 1, 2], np.uint8), x, np.array([0, 0, 1]), name="t")
    assert data.y_train.dtype == np.int64 and data.classes == ["0", "1", "2"]
    assert repr(data) == "Data(name='t', train=(3, 2), test=(3, 2), classes=3, image_shape=None)"
    with pytest.raises(DataError, match="float32"):
        Data(x.astype(np.float64), np.zeros(3, int), x, np.zeros(3, int))
    with pytest.raises(DataError, match="rows"):
        Data(x, np.zeros(2, int), x, np.zeros(3, int))
    with pytest.raises(DataError, match="outside"):
        Data(x, np.array([0, 1, 5]), x, np.zeros(3, int), classes=["a", "b"])
    with pytest.raises(DataError, match="image_shape"):
        Data(x, np.zeros(3, int), x, np.zeros(3, int), image_shape=(3, 3))

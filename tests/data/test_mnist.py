"""MNIST and Fashion-MNIST: IDX folders, the search order, downloads refused offline, the real
Fashion-MNIST, and telling the two apart by their label files."""

from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import DataError, load_fashion_mnist, load_mnist, write_idx
from chainrule.data import mnist

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_data_dir(tmp_path, idx_arrays, write_idx_files, check_matches, gz):
    write_idx_files(tmp_path, idx_arrays, gz=gz)
    check_matches(load_mnist(data_dir=tmp_path, download=False), idx_arrays)


def test_data_dir_subfolder_named_after_dataset(tmp_path, idx_arrays, write_idx_files, check_matches):
    write_idx_files(tmp_path / "fashion-mnist", idx_arrays)
    data = load_fashion_mnist(data_dir=tmp_path, download=False)
    check_matches(data, idx_arrays, name="fashion-mnist")
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"


def test_mixed_raw_and_gz_files(tmp_path, idx_arrays, write_idx_files, check_matches):
    write_idx_files(tmp_path, idx_arrays, gz=True, only=mnist.IDX_FILES[:2])
    write_idx_files(tmp_path, idx_arrays, gz=False, only=mnist.IDX_FILES[2:])
    check_matches(load_mnist(data_dir=tmp_path, download=False), idx_arrays)


def test_search_order_data_dir_then_env_then_cache(
    tmp_path, monkeypatch, isolated_env, write_idx_files, idx_array_factory, check_matches
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
    write_idx_files(tmp_path, idx_arrays, only=mnist.IDX_FILES[:3])
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
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion-mnist", (str(system),))
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
    # the library names its argument; the command line may add its own flag
    assert "apt-get install dataset-fashion-mnist" in text and "data_dir=FOLDER" in text and "--data-dir" not in text
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
    assert mnist.LABEL_MD5["fashion-mnist"] == raw_md5


def test_known_hashes_are_well_formed():
    for name in ("mnist", "fashion-mnist"):
        table = mnist.SHA256[name]
        assert set(table) == {f"{stem}.gz" for stem in mnist.IDX_FILES}
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in table.values())
        assert all(url.startswith("https://") for url in mnist.MIRRORS[name])
    for name in ("mnist", "fashion-mnist"):
        table = mnist.LABEL_MD5[name]
        assert set(table) == {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"}
        assert all(len(h) == 32 and int(h, 16) >= 0 for h in table.values())
    assert not set(mnist.LABEL_MD5["mnist"].values()) & set(mnist.LABEL_MD5["fashion-mnist"].values())


# --- MNIST or Fashion-MNIST? -----------------------------------------------


def _closed_port_url() -> str:
    """A loopback URL nothing listens on: a download tried there fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="needs `apt-get install dataset-fashion-mnist`")
@pytest.mark.parametrize("how", ["data_dir", "env", "load_dataset"])
def test_real_fashion_mnist_is_not_loaded_as_mnist(monkeypatch, how):
    from chainrule.data import load_dataset

    mirror = _closed_port_url()  # had it tried to download, the message would say so
    with pytest.raises(DataError) as info:
        if how == "data_dir":
            load_mnist(data_dir=DEBIAN_FASHION, mirror=mirror)
        elif how == "env":
            monkeypatch.setenv("CHAINRULE_DATA", str(DEBIAN_FASHION))
            load_mnist(mirror=mirror)
        else:
            load_dataset("mnist", data_dir=DEBIAN_FASHION, download=False)
    text = str(info.value)
    assert text.startswith(f"{DEBIAN_FASHION} holds Fashion-MNIST, not MNIST (train-labels-idx1-ubyte.gz ")
    assert "'fashion-mnist'" in text and "\n" not in text and "--" not in text


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="needs `apt-get install dataset-fashion-mnist`")
def test_real_label_files_are_identified_gzipped_or_raw(tmp_path):
    from chainrule.data import read_idx

    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        raw = tmp_path / stem
        raw.write_bytes(gzip.decompress((DEBIAN_FASHION / f"{stem}.gz").read_bytes()))
        assert mnist.identify(stem, read_idx(DEBIAN_FASHION / f"{stem}.gz")) == "fashion-mnist"
        assert mnist.identify(stem, read_idx(raw)) == "fashion-mnist"
    # each file is known by its own name only: the test labels are not training labels
    assert mnist.identify("train-labels-idx1-ubyte", read_idx(tmp_path / "t10k-labels-idx1-ubyte")) is None


@pytest.fixture
def two_sets(tmp_path, monkeypatch, idx_array_factory):
    """Small stand-ins for MNIST and Fashion-MNIST: arrays whose label files' MD5s are put in
    LABEL_MD5 (hashed from the files write_idx writes, not from identify's rebuilt content)."""
    sets, tables = {}, {}
    for shift, name in enumerate(("mnist", "fashion-mnist")):
        arrays = idx_array_factory(seed=shift)
        tables[name] = {}
        for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
            arrays[stem] = ((arrays[stem].astype(int) + 3 * shift) % 10).astype(np.uint8)
            raw = tmp_path / f"{name}-{stem}"
            write_idx(raw, arrays[stem])
            tables[name][stem] = hashlib.md5(raw.read_bytes()).hexdigest()
        sets[name] = arrays
    monkeypatch.setattr(mnist, "LABEL_MD5", tables)
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion-mnist", ())  # the real one would be found there
    return sets


TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("wanted, other", [("mnist", "fashion-mnist"), ("fashion-mnist", "mnist")])
def test_a_folder_of_the_other_set_is_refused_naming_what_it_holds(
    tmp_path, two_sets, write_idx_files, wanted, other, gz
):
    folder = write_idx_files(tmp_path / "mine", two_sets[other], gz=gz)
    with pytest.raises(DataError) as info:
        LOADERS[wanted](data_dir=folder, mirror=_closed_port_url())
    labels = "train-labels-idx1-ubyte" + (".gz" if gz else "")
    assert str(info.value) == (
        f"{folder} holds {TITLES[other]}, not {TITLES[wanted]} ({labels} has the MD5 of "
        f"{TITLES[other]}'s training labels); it loads as {other!r}"
    )
    # the same folder loads under its own name
    assert LOADERS[other](data_dir=folder, download=False).name == other


def test_test_labels_of_the_other_set_are_refused_too(tmp_path, two_sets, write_idx_files):
    mixed = dict(two_sets["mnist"], **{"t10k-labels-idx1-ubyte": two_sets["fashion-mnist"]["t10k-labels-idx1-ubyte"]})
    folder = write_idx_files(tmp_path / "mixed", mixed)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz has the MD5 of Fashion-MNIST's test labels"):
        load_mnist(data_dir=folder, download=False)


def test_the_other_set_is_passed_over_for_a_later_folder(
    tmp_path, monkeypatch, isolated_env, two_sets, write_idx_files, check_matches
):
    # $CHAINRULE_DATA holds Fashion-MNIST's files at its top and MNIST's in its subfolder
    write_idx_files(tmp_path / "data", two_sets["fashion-mnist"])
    write_idx_files(tmp_path / "data" / "mnist", two_sets["mnist"])
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    check_matches(load_mnist(download=False), two_sets["mnist"])
    check_matches(load_fashion_mnist(download=False), two_sets["fashion-mnist"], name="fashion-mnist")


def test_files_of_neither_set_load_under_either_name(tmp_path, two_sets, write_idx_files, idx_array_factory,
                                                     check_matches):
    own = idx_array_factory(seed=7)
    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        own[stem] = ((own[stem].astype(int) + 5) % 10).astype(np.uint8)  # neither stand-in's labels
    folder = write_idx_files(tmp_path / "own", own)
    check_matches(load_mnist(data_dir=folder, download=False), own)
    check_matches(load_fashion_mnist(data_dir=folder, download=False), own, name="fashion-mnist")



def test_the_command_line_names_its_option_for_the_folder(tmp_path, monkeypatch, isolated_env, capsys):
    from chainrule.cli import main

    with socket.socket() as s:  # a loopback port that was just free: the download is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CHAINRULE_MIRROR", f"http://127.0.0.1:{port}")
    (tmp_path / "empty").mkdir()
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "empty"), "--quiet", "--no-plots",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pass --data-dir FOLDER or set $CHAINRULE_DATA=FOLDER" in err[0], err
    assert "data_dir" not in err[0]

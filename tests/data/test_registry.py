"""load_dataset: every name it knows (however spelled), the files it reads, and the error for what it does not."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import DATASETS, DataError, load_dataset
from chainrule.data.registry import canonical_name



@pytest.mark.parametrize("name", ["xor", "moons", "spirals", "Moons"])
def test_load_dataset_toys(name, assert_well_formed):
    data = load_dataset(name)
    assert_well_formed(data)
    assert data.name == name.lower()
    if name != "xor":
        assert len(data.x_test) * 4 == len(data.x_train)


def test_load_dataset_digits_and_idx(tmp_path, idx_arrays, write_idx_files, check_matches):
    assert load_dataset("digits").x_train.shape == (1437, 64)
    write_idx_files(tmp_path / "mnist", idx_arrays)
    check_matches(load_dataset("mnist", data_dir=tmp_path, download=False), idx_arrays)


def test_load_dataset_unknown_name_lists_known():
    with pytest.raises(DataError) as info:
        load_dataset("cifar-10")
    for name in DATASETS:
        assert name in str(info.value)
    assert ".npz" in str(info.value) and ".csv" in str(info.value) and ".tsv" in str(info.value)


@pytest.mark.parametrize("spelling", ["fashion-mnist", "fashion_mnist", "Fashion-MNIST", "FASHION_MNIST",
                                      "fashion mnist", "FashionMNIST"])
def test_spellings_of_a_name_map_to_the_canonical_one(spelling):
    assert canonical_name(spelling) == "fashion-mnist"
    assert "fashion-mnist" in DATASETS


@pytest.mark.parametrize("text", ["data/mine.csv", "fashion-mnist.npz", "cifar-10", "mnist2"])
def test_anything_else_is_left_as_written(text):
    assert canonical_name(text) == text


def test_loaded_data_carries_the_canonical_name(tmp_path, idx_arrays, write_idx_files):
    write_idx_files(tmp_path / "mnist", idx_arrays)
    data = load_dataset("M_NIST", data_dir=tmp_path, download=False)
    assert (data.name, data.source) == ("mnist", "mnist")
    moons = load_dataset("Moons")
    assert (moons.name, moons.source) == ("moons", "moons")


@pytest.mark.parametrize("suffix", [".tsv", ".tab", ".TSV"])
def test_tab_separated_files_read_like_csv(tmp_path, suffix):
    rows = [f"{i}\t{i * i}\t{i % 2}" for i in range(10)]
    path = tmp_path / f"pts{suffix}"
    path.write_text("a\tb\tlabel\n" + "\n".join(rows) + "\n")
    (tmp_path / "pts.csv").write_text("a,b,label\n" + "\n".join(r.replace("\t", ",") for r in rows) + "\n")
    data, same = load_dataset(path), load_dataset(tmp_path / "pts.csv")
    assert data.name == "pts" and data.source == str(path) and data.x_train.shape == (8, 2)
    for split in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(data, split), getattr(same, split))

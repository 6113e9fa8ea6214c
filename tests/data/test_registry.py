"""load_dataset: every name it knows, and the error for one it does not."""

from __future__ import annotations

import pytest

from chainrule.data import DATASETS, DataError, load_dataset



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
    assert ".npz" in str(info.value) and ".csv" in str(info.value)

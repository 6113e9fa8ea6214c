"""Data for chainrule: the IDX format, datasets as float32/int64 arrays, and mini-batches.

Needs only NumPy (scikit-learn for the digits set, imported when it is loaded).

>>> from chainrule.data import load_dataset, DataLoader
>>> data = load_dataset("moons")
>>> xb, yb = next(iter(DataLoader(data.x_train, data.y_train, batch_size=32)))
>>> xb.shape, xb.dtype, yb.dtype
((32, 2), dtype('float32'), dtype('int64'))
"""

from .datasets import (
    DATASETS,
    Data,
    load_csv,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    make_moons,
    make_spirals,
    make_xor,
    train_val_split,
)
from .download import cache_dir, download, sha256sum
from .errors import DataError
from .idx import read_idx, write_idx
from .loader import DataLoader, Dataset, TensorDataset, default_collate

__all__ = [
    "DATASETS",
    "Data",
    "DataError",
    "DataLoader",
    "Dataset",
    "TensorDataset",
    "cache_dir",
    "default_collate",
    "download",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_npz",
    "make_moons",
    "make_spirals",
    "make_xor",
    "read_idx",
    "sha256sum",
    "train_val_split",
    "write_idx",
]

"""Data for chainrule: datasets as float32/int64 arrays, the files they come from, and mini-batches.

One module per family:

    dataset.py    Data, the container every loader returns
    split.py      stratified splits: train_val_split
    digits.py     the 8x8 digits (UCI optdigits), shipped as package data
    mnist.py      MNIST and Fashion-MNIST: search folders, mirrors, hashes, telling the two apart
    idx.py        the IDX file format: read_idx, write_idx
    inputs.py     what `chainrule predict` reads: PNG/JPEG images, .npz, IDX
    toy.py        xor, moons, spirals
    userfiles.py  the user's own .npz and .csv
    registry.py   DATASETS and load_dataset, by name or path
    loader.py     DataLoader, Dataset, TensorDataset
    augment.py    random shifts of training images
    download.py   checked downloads and the cache folder
    files.py      regular files only, with size limits; .npz without pickle
    errors.py     DataError

Needs only NumPy (Pillow for reading images, imported when one is read).

>>> from chainrule.data import load_dataset, DataLoader
>>> data = load_dataset("moons")
>>> xb, yb = next(iter(DataLoader(data.x_train, data.y_train, batch_size=32)))
>>> xb.shape, xb.dtype, yb.dtype
((32, 2), dtype('float32'), dtype('int64'))
"""

from .dataset import Data
from .digits import load_digits
from .download import cache_dir, download, sha256sum
from .errors import DataError
from .idx import read_idx, write_idx
from .inputs import read_inputs
from .loader import DataLoader, Dataset, TensorDataset, default_collate
from .mnist import load_fashion_mnist, load_mnist
from .registry import DATASETS, USER_FILE_SUFFIXES, canonical_name, load_dataset
from .split import train_val_split
from .toy import make_moons, make_spirals, make_xor
from .userfiles import load_csv, load_npz

__all__ = [
    "DATASETS",
    "USER_FILE_SUFFIXES",
    "Data",
    "DataError",
    "DataLoader",
    "Dataset",
    "TensorDataset",
    "cache_dir",
    "canonical_name",
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
    "read_inputs",
    "sha256sum",
    "train_val_split",
    "write_idx",
]

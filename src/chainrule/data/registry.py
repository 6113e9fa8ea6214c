"""One entry point: a data set by name, or the user's own file by its path.

>>> load_dataset("xor")
Data(name='xor', train=(4, 2), test=(4, 2), classes=2, image_shape=None)
"""

from __future__ import annotations

import os

from .dataset import Data
from .digits import load_digits
from .errors import DataError
from .mnist import load_fashion_mnist, load_mnist
from .toy import TOY_SETS, load_toy
from .userfiles import load_csv, load_npz

__all__ = ["DATASETS", "load_dataset"]

DATASETS = ("digits", "fashion-mnist", "mnist", *TOY_SETS)


def load_dataset(
    name_or_path: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    seed: int = 0,
) -> Data:
    """Load a dataset by name (digits, fashion-mnist, mnist, xor, moons, spirals) or a .npz/.csv path.

    Toy sets are generated with `seed` (xor: the 4 points, tested on themselves;
    moons: 1,000 points; spirals: 3 arms of 100) and, like user files without a
    test split, have a stratified 20% held out for testing.

    >>> load_dataset("moons")
    Data(name='moons', train=(800, 2), test=(200, 2), classes=2, image_shape=None)
    """
    if data_dir is not None and not os.path.isdir(data_dir):  # a typo would silently fall back to other folders
        raise DataError(f"data folder {os.fspath(data_dir)}: no such folder")
    text = os.fspath(name_or_path)
    key = text.lower()
    if key == "digits":
        return load_digits()
    if key in ("fashion-mnist", "fashion_mnist"):
        return load_fashion_mnist(data_dir, download)
    if key == "mnist":
        return load_mnist(data_dir, download)
    if key in TOY_SETS:
        return load_toy(key, seed)
    if key.endswith((".npz", ".csv")):
        data = (load_npz if key.endswith(".npz") else load_csv)(text, seed=seed)
        data.source = os.path.abspath(text)
        return data
    raise DataError(
        f"unknown dataset {text!r}: expected one of {', '.join(DATASETS)}, or a path to a .npz or .csv file"
    )

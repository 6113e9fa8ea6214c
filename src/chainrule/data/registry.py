"""One entry point: a data set by name, or the user's own file by its path.

Names are matched whatever their case and whether words are joined by '-', '_',
a space or nothing (``Fashion_MNIST`` is ``fashion-mnist``); the data then
carries the canonical name, so run folders and checkpoints spell it one way.

>>> load_dataset("xor")
Data(name='xor', train=(4, 2), test=(4, 2), classes=2, image_shape=None)
"""

from __future__ import annotations

import os
import re

from .dataset import Data
from .digits import load_digits
from .errors import DataError
from .mnist import load_fashion_mnist, load_mnist
from .toy import TOY_SETS, load_toy
from .userfiles import load_csv, load_npz

__all__ = ["DATASETS", "USER_FILE_SUFFIXES", "canonical_name", "load_dataset"]

DATASETS = ("digits", "fashion-mnist", "mnist", *TOY_SETS)
# the user's own files, read by these suffixes (any case): arrays, comma- and tab-separated text
USER_FILE_SUFFIXES = (".npz", ".csv", ".tsv", ".tab")
_SEPARATORS = re.compile(r"[-_ ]")
_SPELLINGS = {_SEPARATORS.sub("", name): name for name in DATASETS}


def canonical_name(name_or_path: str | os.PathLike) -> str:
    """A data set's name as chainrule spells it, or the text unchanged if it names no data set (a path).

    >>> canonical_name("Fashion_MNIST"), canonical_name("data/mine.csv")
    ('fashion-mnist', 'data/mine.csv')
    """
    text = os.fspath(name_or_path)
    return _SPELLINGS.get(_SEPARATORS.sub("", text.lower()), text)


def load_dataset(
    name_or_path: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    seed: int = 0,
) -> Data:
    """Load a dataset by name (digits, fashion-mnist, mnist, xor, moons, spirals) or a .npz/.csv/.tsv path.

    Toy sets are generated with `seed` (xor: the 4 points, tested on themselves;
    moons: 1,000 points; spirals: 3 arms of 100) and, like user files without a
    test split, have a stratified 20% held out for testing. A .tsv or .tab file is
    read as a .csv whose cells are separated by tabs.

    >>> load_dataset("moons")
    Data(name='moons', train=(800, 2), test=(200, 2), classes=2, image_shape=None)
    """
    if data_dir is not None and not os.path.isdir(data_dir):  # a typo would silently fall back to other folders
        raise DataError(f"data folder {os.fspath(data_dir)}: no such folder")
    text = os.fspath(name_or_path)
    key = canonical_name(text)
    if key == "digits":
        data = load_digits()
    elif key == "fashion-mnist":
        data = load_fashion_mnist(data_dir, download)
    elif key == "mnist":
        data = load_mnist(data_dir, download)
    elif key in TOY_SETS:
        data = load_toy(key, seed)
    elif text.lower().endswith(USER_FILE_SUFFIXES):
        suffix = text.lower()[text.rindex("."):]
        if suffix == ".npz":
            data = load_npz(text, seed=seed)
        else:
            data = load_csv(text, delimiter="," if suffix == ".csv" else "\t", seed=seed)
        data.source = os.path.abspath(text)
        return data
    else:
        raise DataError(
            f"unknown dataset {text!r}: expected one of {', '.join(DATASETS)}, "
            "or a path to a .npz, .csv or .tsv (tab-separated) file"
        )
    data.source = key
    return data

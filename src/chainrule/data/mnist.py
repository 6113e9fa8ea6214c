"""MNIST and Fashion-MNIST: where their IDX files are looked for, how they are fetched, and
which of the two a folder holds. The IDX format itself is read by `idx.read_idx`.

Where the files are looked for, in order (each folder also with a subfolder named
after the dataset): the `data_dir` argument, $CHAINRULE_DATA, the Debian location
/usr/share/datasets/fashion-mnist (Fashion-MNIST only, `apt-get install
dataset-fashion-mnist`), then the cache $XDG_CACHE_HOME/chainrule/<name> (default
~/.cache/chainrule/<name>), into which missing files are downloaded and checked
against known SHA-256 hashes.

The two data sets have the same file names and shapes; their label files tell them
apart (`identify`). A folder that holds the other one is passed over, and if no other
folder has the files, loading stops with a DataError that says which data set it holds.
Files that match neither (your own data in MNIST's layout) load as they are.

>>> import numpy as np
>>> identify("t10k-labels-idx1-ubyte", np.zeros(10, np.uint8)) is None
True
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .dataset import Data, describe, scale_uint8
from .download import DownloadFailed, cache_dir, download as _download
from .errors import DataError
from .idx import read_idx

__all__ = ["IDX_FILES", "SHA256", "LABEL_MD5", "MIRRORS", "SYSTEM_DIRS", "identify",
           "load_mnist", "load_fashion_mnist"]

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# SHA-256 of the .gz files as the mirrors serve them. Each set agrees across several
# independent projects (e.g. tensorflow-datasets' url checksums and torchvision-based
# loaders for MNIST; TFDS and torchvision's prototype datasets for Fashion-MNIST).
# The Debian package's .gz files hash differently: they were recompressed (their gzip
# headers carry a 2020 timestamp), yet their decompressed contents match the published
# hashes of the raw IDX files (torchvision's raw MD5s), checked on this machine. Files
# found on disk are therefore validated by their IDX headers, not by these hashes, and
# told apart by the MD5s of their decompressed label files (LABEL_MD5).
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

# MD5 of the decompressed label files, as published: Fashion-MNIST's in torchvision's
# datasets/mnist.py (FashionMNIST.raw_data, in the versions that listed raw files) and
# checked here against Debian's dataset-fashion-mnist; MNIST's agree across independent
# loaders (e.g. secml's CDataLoaderMNIST, Hasktorch's MNIST dataset, several fetch
# scripts that verify yann.lecun.com's files after gunzip), not checked here: this
# machine has no copy of MNIST. MD5 only recognises the files; downloads are still
# verified by SHA-256 above.
LABEL_MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

# Tried in order. The Fashion-MNIST bucket's website endpoint
# (http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/) speaks plain HTTP
# only, so its HTTPS REST endpoint comes first; the GitHub copy is the same files.
# These URLs could not be fetched from the machine this was written on (offline).
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# Folders where a system package installs the files (Debian: dataset-fashion-mnist).
SYSTEM_DIRS: dict[str, tuple[str, ...]] = {
    "mnist": (),
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
}

_INSTALL_HINTS = {"fashion-mnist": "install them with `apt-get install dataset-fashion-mnist`, or "}

_CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}

_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def _search_dirs(name: str, data_dir) -> list[tuple[Path | None, str]]:
    """(folder, how to name it in a message), in search order; None for an unset variable."""
    places: list[tuple[Path | None, str]] = []
    if data_dir is not None:
        base = Path(data_dir).expanduser()
        places += [(base, str(base)), (base / name, str(base / name))]
    env = os.environ.get("CHAINRULE_DATA")
    if env:
        base = Path(env).expanduser()
        places += [(base, f"$CHAINRULE_DATA={base}"), (base / name, str(base / name))]
    else:
        places.append((None, "$CHAINRULE_DATA (unset)"))
    places += [(Path(p), p) for p in SYSTEM_DIRS.get(name, ())]
    cache = cache_dir(name)
    places.append((cache, str(cache)))
    return places


def _find_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in `folder` (raw preferred to .gz: no decompression), or None."""
    found = {}
    for stem in IDX_FILES:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                found[stem] = candidate
                break
        else:
            return None
    return found


def _mirrors(name: str, mirror) -> list[str]:
    if mirror:
        return [mirror] if isinstance(mirror, str) else list(mirror)
    env = os.environ.get("CHAINRULE_MIRROR")
    if env:
        return [f"{env.rstrip('/')}/{name}/"]
    return list(MIRRORS[name])


def _fetch(name: str, places, mirror, hashes) -> dict[str, Path]:
    """Download the missing files into the cache; DataError on failure or mismatch."""
    folder = cache_dir(name)
    hashes = SHA256[name] if hashes is None else hashes
    urls = _mirrors(name, mirror)
    for stem in IDX_FILES:
        if (folder / stem).is_file() or (folder / f"{stem}.gz").is_file():
            continue  # kept from an earlier, interrupted run
        filename = f"{stem}.gz"
        if filename not in hashes:
            raise DataError(f"{name}: no SHA-256 known for {filename}; refusing an unverified download")
        failures = []
        for base in urls:
            try:
                _download(f"{base.rstrip('/')}/{filename}", folder / filename, hashes[filename])
                break
            except DownloadFailed as e:
                failures.append(str(e))
        else:
            raise DataError(_not_found(name, places, f"download failed ({'; '.join(failures)})"))
    found = _find_files(folder)
    assert found is not None  # every file was present or has just been downloaded
    return found


def _not_found(name: str, places, why: str) -> str:
    looked = ", ".join(label for _, label in places)
    names = ", ".join(f"{stem}.gz" for stem in IDX_FILES)
    return (
        f"{name}: IDX files not found (looked in {looked}) and {why}; "
        f"{_INSTALL_HINTS.get(name, '')}put {names} in a folder and pass data_dir=FOLDER "
        f"or set $CHAINRULE_DATA=FOLDER"
    )


def identify(stem: str, labels: np.ndarray) -> str | None:
    """The data set ("mnist" or "fashion-mnist") whose file `stem` holds exactly these labels, else None.

    `labels` is the array read_idx returned; the file's content is rebuilt from it
    and its MD5 compared with LABEL_MD5, so a gzipped and a raw copy are the same.

    >>> import numpy as np
    >>> identify("train-labels-idx1-ubyte", np.arange(10, dtype=np.uint8)) is None
    True
    """
    if not isinstance(labels, np.ndarray) or labels.dtype != np.uint8 or labels.ndim != 1:
        return None
    # read_idx checked that the data fill the file exactly, so a 1-D uint8 IDX file is
    # its magic number 0x00000801, the count as a big-endian uint32, then the labels
    content = b"\x00\x00\x08\x01" + len(labels).to_bytes(4, "big") + labels.tobytes()
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    for name, table in LABEL_MD5.items():
        if table.get(stem) == digest:
            return name
    return None


def _other_set(name: str, files: dict[str, Path]) -> tuple[str, Path] | None:
    """(the other data set, the label file that shows it) if `files` are not `name`'s, else None."""
    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        found = identify(stem, read_idx(files[stem]))
        if found is not None and found != name:
            return found, files[stem]
    return None


def _wrong_set(name: str, other: str, labels_file: Path) -> str:
    split = "training" if labels_file.name.startswith("train") else "test"
    return (
        f"{labels_file.parent} holds {_TITLES[other]}, not {_TITLES[name]} ({labels_file.name} has the "
        f"MD5 of {_TITLES[other]}'s {split} labels); it loads as {other!r}"
    )


def _load_idx_dataset(name: str, data_dir, download: bool, mirror, hashes) -> Data:
    places = _search_dirs(name, data_dir)
    files, wrong = None, None
    for folder, _ in places:
        if folder is None or (candidate := _find_files(folder)) is None:
            continue
        if (other := _other_set(name, candidate)) is None:
            files = candidate
            break
        wrong = wrong or other  # the first folder of the other data set is the one to name
    if files is None:
        if wrong is not None:
            raise DataError(_wrong_set(name, *wrong))
        if not download:
            raise DataError(_not_found(name, places, "download=False"))
        files = _fetch(name, places, mirror, hashes)

    arrays = {stem: read_idx(path) for stem, path in files.items()}
    splits = []
    for prefix in ("train", "t10k"):
        images_file, labels_file = files[f"{prefix}-images-idx3-ubyte"], files[f"{prefix}-labels-idx1-ubyte"]
        images, labels = arrays[f"{prefix}-images-idx3-ubyte"], arrays[f"{prefix}-labels-idx1-ubyte"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{images_file}: expected uint8 images of shape (n, rows, cols), got {describe(images)}")
        if 0 in images.shape[1:]:
            raise DataError(f"{images_file}: images of shape {images.shape[1:]} have no pixels")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise DataError(f"{labels_file}: expected uint8 labels of shape (n,), got {describe(labels)}")
        if len(images) != len(labels):
            raise DataError(f"{labels_file}: {len(labels)} labels for {len(images)} images in {images_file.name}")
        if labels.size and labels.max() >= len(_CLASSES[name]):
            raise DataError(f"{labels_file}: label {int(labels.max())} out of range 0..{len(_CLASSES[name]) - 1}")
        splits.append((images, labels))
    (train_images, train_labels), (test_images, test_labels) = splits
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{name}: training images are {train_images.shape[1:]} but test images {test_images.shape[1:]}"
        )
    return Data(
        scale_uint8(train_images.reshape(len(train_images), -1)),
        train_labels.astype(np.int64),
        scale_uint8(test_images.reshape(len(test_images), -1)),
        test_labels.astype(np.int64),
        name=name,
        classes=list(_CLASSES[name]),
        image_shape=train_images.shape[1:],
        pixel_max=255.0,
    )


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirror: str | Sequence[str] | None = None,
    hashes: Mapping[str, str] | None = None,
) -> Data:
    """Fashion-MNIST: 60,000 training and 10,000 test 28x28 images of 10 kinds of clothing.

    Looks for the four IDX files (gzipped or not) in data_dir, $CHAINRULE_DATA, the
    Debian folder /usr/share/datasets/fashion-mnist and the cache, then downloads
    missing ones into the cache. `mirror` (or $CHAINRULE_MIRROR/fashion-mnist/)
    replaces the download URLs; `hashes` maps file names to SHA-256 hex digests.
    A folder that holds MNIST instead (told by its label files) is passed over; if
    no other folder has the files, DataError says what that folder holds.

    >>> d = load_fashion_mnist(download=False)  # doctest: +SKIP
    >>> d.x_train.shape, d.classes[0]  # doctest: +SKIP
    ((60000, 784), 'T-shirt/top')
    """
    return _load_idx_dataset("fashion-mnist", data_dir, download, mirror, hashes)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirror: str | Sequence[str] | None = None,
    hashes: Mapping[str, str] | None = None,
) -> Data:
    """MNIST: 60,000 training and 10,000 test 28x28 handwritten digits.

    Same search and download rules as load_fashion_mnist, without a Debian folder;
    a folder that holds Fashion-MNIST is passed over in the same way.

    >>> d = load_mnist(data_dir="~/data")  # doctest: +SKIP
    >>> d.x_train.shape, d.y_train.dtype  # doctest: +SKIP
    ((60000, 784), dtype('int64'))
    """
    return _load_idx_dataset("mnist", data_dir, download, mirror, hashes)



"""Datasets as plain arrays: digits, MNIST, Fashion-MNIST, toy sets and the user's own files.

Every loader returns a `Data`: float32 inputs of shape (examples, features) and
int64 class labels, for a training and a test split. Image datasets are flattened
for fully connected networks; `image_shape` says how to fold a row back.

>>> data = load_dataset("xor")
>>> data.x_train.dtype, data.y_train.dtype, data.x_train.shape
(dtype('float32'), dtype('int64'), (4, 2))

Where MNIST-style files are looked for, in order (each folder also with a
subfolder named after the dataset): the `data_dir` argument, $CHAINRULE_DATA,
the Debian location /usr/share/datasets/fashion-mnist (Fashion-MNIST only,
`apt-get install dataset-fashion-mnist`), then the cache
$XDG_CACHE_HOME/chainrule/<name> (default ~/.cache/chainrule/<name>), into which
missing files are downloaded and checked against known SHA-256 hashes.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import files
from .download import DownloadFailed, cache_dir, download as _download
from .errors import DataError
from .files import NpzReader, open_regular
from .idx import read_idx

__all__ = [
    "Data",
    "DATASETS",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "load_npz",
    "load_csv",
    "make_xor",
    "make_moons",
    "make_spirals",
    "train_val_split",
]

DATASETS = ("digits", "fashion-mnist", "mnist", "xor", "moons", "spirals")
MAX_CLASSES = 100_000  # labels must be dense class indices below this

# ---------------------------------------------------------------------------
# The container


@dataclass(repr=False, eq=False)
class Data:
    """A dataset split into training and test arrays, with what is needed to read them.

    x_* are float32 of shape (n, features); y_* are int64 class indices of shape (n,).
    `classes` names each class index; `image_shape` is e.g. (28, 28) for images, else None.

    >>> import numpy as np
    >>> x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 1, 0])
    >>> Data(x, y, x, y, name="tiny", classes=["no", "yes"])
    Data(name='tiny', train=(4, 2), test=(4, 2), classes=2, image_shape=None)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "data"
    classes: list[str] = field(default_factory=list)
    image_shape: tuple[int, ...] | None = None
    # what load_dataset needs to read it again (a data set's name, a file's absolute path):
    # checkpoints record it, so that evaluate, plot and --resume find the data
    source: str | None = None
    # integer pixels were divided by this (16 for digits, 255 for 8-bit images): predict
    # divides integer inputs by it too, so raw pixels meet the model on its own scale
    pixel_max: float | None = None

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2:
                raise DataError(f"{self.name}: x_{split} must be a 2-D float32 array, got {_describe(x)}")
            if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
                raise DataError(f"{self.name}: y_{split} must be a 1-D integer array, got {_describe(y)}")
            if len(x) != len(y):
                raise DataError(f"{self.name}: x_{split} has {len(x)} rows but y_{split} has {len(y)}")
            # Labels are always int64, so downstream code never meets uint8 arithmetic.
            setattr(self, f"y_{split}", y.astype(np.int64, copy=False))
        if self.x_train.shape[1] == 0:  # the loaders say which file; this catches arrays built by hand
            raise DataError(f"{self.name}: examples have no features (x_train has shape {self.x_train.shape})")
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise DataError(
                f"{self.name}: {self.x_train.shape[1]} training features but {self.x_test.shape[1]} test features"
            )
        self.classes = [str(c) for c in self.classes]
        if not self.classes:
            top = max((int(y.max()) for y in (self.y_train, self.y_test) if y.size), default=-1)
            if top >= MAX_CLASSES:
                raise DataError(f"{self.name}: label {top} is not a class index below {MAX_CLASSES}")
            self.classes = [str(i) for i in range(top + 1)]
        for split, y in (("train", self.y_train), ("test", self.y_test)):
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DataError(
                    f"{self.name}: y_{split} holds labels outside 0..{len(self.classes) - 1} "
                    f"({len(self.classes)} classes)"
                )
        if self.image_shape is not None:
            self.image_shape = tuple(int(d) for d in self.image_shape)
            if math.prod(self.image_shape) != self.x_train.shape[1]:
                raise DataError(
                    f"{self.name}: image_shape {self.image_shape} does not hold "
                    f"{self.x_train.shape[1]} features"
                )

    @property
    def num_classes(self) -> int:
        """The number of classes, len(classes)."""
        return len(self.classes)

    @property
    def num_features(self) -> int:
        """The number of input features per example (columns of x_train)."""
        return self.x_train.shape[1]

    def __repr__(self) -> str:
        return (
            f"Data(name={self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
            f"classes={len(self.classes)}, image_shape={self.image_shape})"
        )


def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__


def _scale_uint8(images: np.ndarray) -> np.ndarray:
    # Cast first, then divide by a float32 255: uint8 arithmetic would wrap, a Python
    # float would not upcast (NEP 50) but np.float32 says what we mean; 255/255 is
    # exactly 1.0, which multiplying by a rounded 1/255 would not guarantee.
    out = images.astype(np.float32)
    out /= np.float32(255)
    return out


# ---------------------------------------------------------------------------
# Stratified splits


def _split_counts(counts: np.ndarray, fraction: float) -> np.ndarray:
    """How many of each class go to the held-out part.

    Each class gives the floor or the ceiling of its exact share, never all its
    examples (one always stays for training); the largest remainders get the
    ceilings, so the total is round(n * fraction) whenever those limits allow.
    """
    exact = counts * fraction
    cap = np.minimum(np.ceil(exact).astype(np.int64), np.maximum(counts - 1, 0))
    take = np.minimum(np.floor(exact).astype(np.int64), cap)
    target = min(math.floor(counts.sum() * fraction + 0.5), int(cap.sum()))
    short = target - int(take.sum())
    # Stable sort: ties go to the lower class index, so the result is deterministic.
    for c in np.argsort(-(exact - take), kind="stable"):
        if short <= 0:
            break
        if take[c] < cap[c]:
            take[c] += 1
            short -= 1
    return take


def _stratified_indices(y: np.ndarray, fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held_out) index arrays, each sorted: a seeded permutation within each class."""
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    take = _split_counts(counts, fraction)
    rng = np.random.default_rng(seed)
    by_class = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    held = [rng.permutation(members)[:k] for members, k in zip(by_class, take)]
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[held_out] = False
    return np.flatnonzero(mask), held_out


def _check_fraction(fraction, what: str) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 <= fraction < 1:
        raise DataError(f"{what} must be a number with 0 <= {what} < 1, got {fraction!r}")
    return float(fraction)


def train_val_split(x, y, val_fraction: float = 0.1, seed: int = 0):
    """Split a TRAINING set into (x_train, y_train, x_val, y_val), stratified by class.

    Each class is permuted with np.random.default_rng(seed) and its share is held
    out; the same seed always gives the same split. val_fraction == 0 returns the
    inputs and empty validation arrays. Never split the test set for validation.

    >>> import numpy as np
    >>> x, y = np.zeros((10, 3), np.float32), np.array([0] * 5 + [1] * 5)
    >>> xt, yt, xv, yv = train_val_split(x, y, val_fraction=0.2, seed=0)
    >>> xt.shape, xv.shape, np.bincount(yv).tolist()
    ((8, 3), (2, 3), [1, 1])
    """
    f = _check_fraction(val_fraction, "val_fraction")
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"train_val_split: y must be 1-D class labels, got shape {y.shape}")
    if len(x) != len(y):
        raise DataError(f"train_val_split: x has {len(x)} rows but y has {len(y)}")
    if len(y) == 0:
        raise DataError("train_val_split: no examples to split")
    if f == 0:
        return x, y, x[:0], y[:0]
    keep, val = _stratified_indices(y, f, seed)
    if len(val) == 0:
        raise DataError(
            f"train_val_split: val_fraction={f} of {len(y)} examples leaves no validation examples"
        )
    return x[keep], y[keep], x[val], y[val]


# ---------------------------------------------------------------------------
# scikit-learn's digits


def load_digits() -> Data:
    """The 1,797 8x8 handwritten digits bundled with scikit-learn (no download).

    Pixels 0..16 are scaled to [0, 1]. The test split is fixed: 360 examples,
    stratified, sklearn's train_test_split with random_state=0.

    >>> d = load_digits()
    >>> d.x_train.shape, d.x_test.shape, d.image_shape
    ((1437, 64), (360, 64), (8, 8))
    """
    try:
        # Imported here: scikit-learn is optional and slow to import.
        from sklearn.datasets import load_digits as sk_load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise DataError(
            "digits: the digits data comes with scikit-learn: pip install scikit-learn "
            "(or chainrule[cli])"
        ) from e
    bunch = sk_load_digits()
    x = bunch.data.astype(np.float32)
    x /= np.float32(16)  # pixel values are counts 0..16 of a 4x4 block
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=360, stratify=y, random_state=0
    )
    return Data(
        np.ascontiguousarray(x_train),
        y_train,
        np.ascontiguousarray(x_test),
        y_test,
        name="digits",
        classes=[str(i) for i in range(10)],
        image_shape=(8, 8),
        pixel_max=16.0,
    )


# ---------------------------------------------------------------------------
# MNIST and Fashion-MNIST

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
# found on disk are therefore validated by their IDX headers, not by these hashes.
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
        f"{_INSTALL_HINTS.get(name, '')}put {names} in a folder and pass data_dir "
        f"(--data-dir DIR on the command line) or set $CHAINRULE_DATA"
    )


def _load_idx_dataset(name: str, data_dir, download: bool, mirror, hashes) -> Data:
    places = _search_dirs(name, data_dir)
    files = None
    for folder, _ in places:
        if folder is not None and (files := _find_files(folder)) is not None:
            break
    if files is None:
        if not download:
            raise DataError(_not_found(name, places, "download=False"))
        files = _fetch(name, places, mirror, hashes)

    arrays = {stem: read_idx(path) for stem, path in files.items()}
    splits = []
    for prefix in ("train", "t10k"):
        images_file, labels_file = files[f"{prefix}-images-idx3-ubyte"], files[f"{prefix}-labels-idx1-ubyte"]
        images, labels = arrays[f"{prefix}-images-idx3-ubyte"], arrays[f"{prefix}-labels-idx1-ubyte"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{images_file}: expected uint8 images of shape (n, rows, cols), got {_describe(images)}")
        if 0 in images.shape[1:]:
            raise DataError(f"{images_file}: images of shape {images.shape[1:]} have no pixels")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise DataError(f"{labels_file}: expected uint8 labels of shape (n,), got {_describe(labels)}")
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
        _scale_uint8(train_images.reshape(len(train_images), -1)),
        train_labels.astype(np.int64),
        _scale_uint8(test_images.reshape(len(test_images), -1)),
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

    Same search and download rules as load_fashion_mnist, without a Debian folder.

    >>> d = load_mnist(data_dir="~/data")  # doctest: +SKIP
    >>> d.x_train.shape, d.y_train.dtype  # doctest: +SKIP
    ((60000, 784), dtype('int64'))
    """
    return _load_idx_dataset("mnist", data_dir, download, mirror, hashes)


# ---------------------------------------------------------------------------
# Toy sets, written with NumPy alone, all float32


def _check_count(n, least: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < least:
        raise DataError(f"{what}: n must be an integer >= {least}, got {n!r}")
    return int(n)


def _check_noise(noise, what: str) -> np.float32:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < math.inf:
        raise DataError(f"{what}: noise must be a finite number >= 0, got {noise!r}")
    return np.float32(noise)


def make_xor(n: int = 4, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the corners of the unit square, labelled 1 where exactly one coordinate is 1.

    n=4 gives the four corners once; larger n cycles through them, each copy moved
    by Gaussian noise of standard deviation `noise`.

    >>> x, y = make_xor()
    >>> x.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    n = _check_count(n, 4, "make_xor")
    scale = _check_noise(noise, "make_xor")
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    which = np.arange(n) % 4
    x = corners[which]
    y = np.array([0, 1, 1, 0], dtype=np.int64)[which]
    if scale:
        x += scale * np.random.default_rng(seed).standard_normal(x.shape, dtype=np.float32)
    return x, y


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top, class 1 below), shuffled.

    >>> x, y = make_moons(100, noise=0.1, seed=0)
    >>> x.shape, x.dtype, np.bincount(y).tolist()
    ((100, 2), dtype('float32'), [50, 50])
    """
    n = _check_count(n, 2, "make_moons")
    scale = _check_noise(noise, "make_moons")
    rng = np.random.default_rng(seed)
    n_top = n // 2
    t_top = np.linspace(0, np.pi, n_top, dtype=np.float32)
    t_bottom = np.linspace(0, np.pi, n - n_top, dtype=np.float32)
    x = np.concatenate([
        np.stack([np.cos(t_top), np.sin(t_top)], axis=1),
        np.stack([1 - np.cos(t_bottom), np.float32(0.5) - np.sin(t_bottom)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_top, np.int64), np.ones(n - n_top, np.int64)])
    order = rng.permutation(n)
    x, y = x[order], y[order]
    if scale:
        x += scale * rng.standard_normal(x.shape, dtype=np.float32)
    return x, y


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n set), shuffled; inputs in about [-1, 1].

    Arm k has radius r from 0 to 1 and angle 4(k + r) radians plus Gaussian noise
    of standard deviation `noise`. Classes share n as evenly as possible.

    >>> x, y = make_spirals(300, classes=3, seed=0)
    >>> x.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 2:
        raise DataError(f"make_spirals: classes must be an integer >= 2, got {classes!r}")
    n = _check_count(n, int(classes), "make_spirals")
    scale = _check_noise(noise, "make_spirals")
    rng = np.random.default_rng(seed)
    sizes = [n // classes + (k < n % classes) for k in range(classes)]
    radius = np.concatenate([np.linspace(0, 1, m, dtype=np.float32) for m in sizes])
    y = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    angle = np.float32(4) * (y.astype(np.float32) + radius)
    angle += scale * rng.standard_normal(n, dtype=np.float32)
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    order = rng.permutation(n)
    return x[order], y[order]


def _toy(name: str, x, y, seed, classes: int) -> Data:
    keep, test = _stratified_indices(y, 0.2, seed)
    return Data(x[keep], y[keep], x[test], y[test], name=name, classes=[str(i) for i in range(classes)])


# ---------------------------------------------------------------------------
# The user's own files
#
# Scaling rule: uint8 inputs are taken to be pixels and divided by 255; every other
# numeric type is cast to float32 unchanged (standardise them yourself if needed).


def _inputs(x: np.ndarray, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Validated float32 (n, features) inputs and the shape of one example if it had >1 axis."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: expected numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise DataError(f"{where}: expected shape (examples, features...), got {x.shape}")
    if len(x) == 0:
        raise DataError(f"{where}: no examples")
    if 0 in x.shape[1:]:
        raise DataError(f"{where}: examples have no features (shape {x.shape})")
    shape = x.shape[1:] if x.ndim > 2 else None
    flat = x.reshape(len(x), -1)
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below, as a DataError
        # copy=False: float32 arrays fresh from a file need no second copy
        out = _scale_uint8(flat) if x.dtype == np.uint8 else flat.astype(np.float32, copy=False)
    # After the cast, so that float64 values beyond float32's range are caught too; the full
    # mask is built only when something is wrong.
    if not np.isfinite(out).all():
        bad = ~np.isfinite(out)
        raise DataError(
            f"{where}: {int(bad.sum())} values are NaN, infinite or too large for float32 "
            f"(first in row {int(np.argwhere(bad)[0][0])})"
        )
    return out, shape


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    """Validated int64 class labels: 1-D, integral, non-negative."""
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D class indices, got shape {y.shape}")
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError(f"{where}: labels contain NaN or infinity")
        if (y != np.round(y)).any():
            value = y[np.flatnonzero(y != np.round(y))[0]].item()
            raise DataError(f"{where}: labels must be whole numbers, found {value!r}")
    elif y.dtype.kind not in "iu":
        raise DataError(f"{where}: labels must be integers, got dtype {y.dtype}")
    # compared as Python numbers: MAX_CLASSES cast to a float16 label array overflows (with a warning)
    if y.size and (y.min().item() < 0 or y.max().item() >= MAX_CLASSES):
        # A huge label is almost always an id, not a class index; it would also
        # make a class list (and any one-hot matrix) of that length.
        bad = (y.min() if y.min() < 0 else y.max()).item()
        raise DataError(
            f"{where}: labels must be class indices 0, 1, ..., K-1 with K <= {MAX_CLASSES}, found {bad!r}"
        )
    return y.astype(np.int64)


def _user_data(
    name: str, where: str, x, y, x_test, y_test, classes, test_fraction, seed
) -> Data:
    pixel_max = 255.0 if getattr(x, "dtype", None) == np.uint8 else None  # _inputs divides uint8 by 255
    x, image_shape = _inputs(x, f"{where}: x")
    y = _labels(y, f"{where}: y")
    if len(x) != len(y):
        raise DataError(f"{where}: x has {len(x)} examples but y has {len(y)}")
    if x_test is not None:
        x_test, test_shape = _inputs(x_test, f"{where}: x_test")
        y_test = _labels(y_test, f"{where}: y_test")
        if x_test.shape[1] != x.shape[1] or test_shape != image_shape:
            raise DataError(
                f"{where}: x_test examples have shape {test_shape or x_test.shape[1:]}, "
                f"x examples {image_shape or x.shape[1:]}"
            )
        if len(x_test) != len(y_test):
            raise DataError(f"{where}: x_test has {len(x_test)} examples but y_test has {len(y_test)}")
    if y.size and (y == y[0]).all():  # one output unit's softmax is 1 whatever the input: nothing to learn
        raise DataError(f"{where}: every training label is {int(y[0])}; a classifier needs at least two classes")
    top = int(max(y.max(), y_test.max() if y_test is not None and y_test.size else 0))
    if classes is None:
        classes = [str(i) for i in range(top + 1)]
    elif len(classes) <= top:
        raise DataError(f"{where}: label {top} but only {len(classes)} class names")
    if x_test is None:
        f = _check_fraction(test_fraction, "test_fraction")
        keep, test = _stratified_indices(y, f, seed)
        if len(test) == 0:
            raise DataError(
                f"{where}: too few examples ({len(y)}) to hold out a test split of {f:g}; "
                "add x_test and y_test"
            )
        x, y, x_test, y_test = x[keep], y[keep], x[test], y[test]
    return Data(x, y, x_test, y_test, name=name, classes=list(classes), image_shape=image_shape,
                pixel_max=pixel_max)


_NPZ_KEYS = ("x", "y", "x_test", "y_test", "classes")


def load_npz(path: str | os.PathLike, *, test_fraction: float = 0.2, seed: int = 0) -> Data:
    """Load your own data from a .npz with arrays x, y and optionally x_test, y_test, classes.

    x: numbers of shape (n, features) or (n, *image_shape) (flattened, shape kept in
    image_shape); y: (n,) class indices 0, 1, ... (whole-number floats accepted).
    uint8 x is divided by 255, other types are cast to float32 unchanged. Without
    x_test, a stratified seeded test_fraction of x is held out. Never unpickles.

    >>> import tempfile, os, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "mine.npz")
    >>> np.savez(p, x=np.eye(10, dtype=np.float32), y=np.arange(10) % 2)
    >>> load_npz(p)
    Data(name='mine', train=(8, 10), test=(2, 10), classes=2, image_shape=None)
    """
    where = os.fspath(path)
    with NpzReader(where) as archive:
        keys = set(archive.names)
        unexpected = sorted(keys - set(_NPZ_KEYS))
        if unexpected:
            raise DataError(
                f"{where}: unexpected arrays {', '.join(unexpected)} "
                "(expected x, y and optionally x_test, y_test, classes)"
            )
        missing = [k for k in ("x", "y") if k not in keys]
        if missing:
            raise DataError(
                f"{where}: missing array {' and '.join(missing)} (found: {', '.join(sorted(keys)) or 'none'})"
            )
        if ("x_test" in keys) != ("y_test" in keys):
            raise DataError(f"{where}: x_test and y_test must come together")
        arrays = {k: archive.read(k) for k in _NPZ_KEYS if k in keys}
    classes = arrays.get("classes")
    if classes is not None:
        if classes.ndim != 1 or classes.dtype.kind not in "US":
            raise DataError(f"{where}: classes must be a 1-D array of strings, got {_describe(classes)}")
        classes = [c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in classes.tolist()]
    # popped, not looked up: once converted to float32, the arrays as read can be freed
    return _user_data(
        Path(where).stem, where, arrays.pop("x"), arrays.pop("y"), arrays.pop("x_test", None),
        arrays.pop("y_test", None), classes, test_fraction, seed,
    )


def _is_number(cell: str) -> bool:
    try:
        np.float64(cell)
    except ValueError:
        return False
    return True


# Cells converted to numbers at a time: as Python strings a cell costs some 50 bytes, so the
# text in memory stays a few MB, and what grows with the file is the float32 numbers.
_CSV_BATCH_CELLS = 1 << 16


class _Records:
    """A text file's lines for csv.reader, none longer than MAX_CSV_RECORD_CHARS, and no record
    (the lines one quoted field spans) longer in all: a file without line ends, or a quote
    that is never closed, is refused at the line where the record began."""

    def __init__(self, f, where: str):
        self.f, self.where = f, where
        self.line = 0  # the last line handed to csv
        self.start = 1  # the line where the current record began
        self.chars = 0  # its length so far
        self.ended = False  # whether csv has asked past the last line

    def __iter__(self):
        return self

    def __next__(self) -> str:
        limit = files.MAX_CSV_RECORD_CHARS
        try:
            text = self.f.readline(limit + 1)
        except UnicodeDecodeError as e:
            # decoded a block at a time, so the bad byte may lie a little past this line
            raise DataError(f"{self.where}: not UTF-8 text (near line {self.line + 1}: {e.reason})") from None
        except OSError as e:
            raise DataError(f"{self.where}: cannot read ({e.strerror or e})") from None
        if not text:
            self.ended = True
            raise StopIteration
        self.line += 1
        self.chars += len(text)
        if self.chars > limit:
            if self.start == self.line:
                raise DataError(f"{self.where}: line {self.line} is longer than {limit:,} characters")
            raise DataError(f"{self.where}: line {self.start}: a quoted field opened here runs on for more than "
                            f"{limit:,} characters (a quote that is never closed?)")
        return text

    def next_record(self) -> None:
        self.start, self.chars = self.line + 1, 0


def _csv_rows(records: _Records, delimiter: str, where: str):
    """(stripped cells, line number) of each non-blank record, numbered by the line it began on."""
    reader = csv.reader(records, delimiter=delimiter)
    while True:
        start = records.start
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(f"{where}: line {start}: cannot read as CSV ({' '.join(str(e).split())})") from None
        if records.ended:
            # csv.reader (not strict) hands back what it holds when the file ends inside a quoted
            # field; a record that is complete never needs to look past its own last line.
            raise DataError(f"{where}: line {start}: a quote opened on this line is never closed")
        records.next_record()
        if row and any(cell.strip() for cell in row):  # skip blank lines
            yield [cell.strip() for cell in row], start


def _label_index(label_column, names, width: int, where: str) -> int:
    if isinstance(label_column, str):
        if names is None:
            raise DataError(f"{where}: label_column={label_column!r} names a column, but the file has no header")
        if label_column not in names:
            raise DataError(f"{where}: no column {label_column!r} (columns: {', '.join(names)})")
        return names.index(label_column)
    integral = isinstance(label_column, numbers.Integral) and not isinstance(label_column, bool)
    if integral and -width <= label_column < width:
        return int(label_column) % width
    raise DataError(f"{where}: label_column={label_column!r} is not a column of {width}")


def _cell(text: str, most: int = 40) -> str:
    """A cell for a message: repr, cut to `most` characters."""
    return repr(text) if len(text) <= most else repr(text[:most]) + f"... ({len(text):,} characters)"


def _append_numbers(batch, label: int, names, where: str, xs: list, ys: list) -> None:
    """Convert a batch of (cells, line) to float32 features and float64 labels, appended to xs and ys."""
    # dtype=object holds references to the cells: a dtype=str array would pad every cell to the
    # longest one in the batch (4 bytes a character), so one 100,000-character cell among 65,536
    # would ask for 26 GB. The conversion gives the same float32 bits (both go through float()).
    cells = np.array([row for row, _ in batch], dtype=object)
    try:
        # Features straight to float32; labels through float64 so large integers stay exact.
        # A value too large for float32 becomes inf, reported below as not finite: no warning.
        with np.errstate(over="ignore"):
            x = np.delete(cells, label, axis=1).astype(np.float32)
        y = cells[:, label].astype(np.float64)
    except ValueError:
        for row, line in batch:
            for c, cell in enumerate(row):
                if not _is_number(cell):
                    column = f"column {c + 1}" + (f" ({names[c]!r})" if names else "")
                    raise DataError(f"{where}: line {line}, {column}: {_cell(cell)} is not a number") from None
        raise
    for arr, offset in ((x, None), (y, label)):
        bad = np.argwhere(~np.isfinite(arr))
        if len(bad):
            r = int(bad[0][0])
            c = offset if offset is not None else int(bad[0][1]) + (int(bad[0][1]) >= label)
            row, line = batch[r]
            raise DataError(f"{where}: line {line}, column {c + 1}: {_cell(row[c])} is not a finite float32 number")
    xs.append(x)
    ys.append(y)


def load_csv(
    path: str | os.PathLike,
    label_column: int | str = -1,
    *,
    delimiter: str = ",",
    header: bool | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Data:
    """Load your own data from a CSV file: one example per line, one column of class labels.

    label_column is an index (-1: the last) or a column name from the header. The
    header is detected (a first line with any non-number) unless `header` says.
    Features are cast to float32 unchanged; a stratified seeded test_fraction is
    held out. A cell that is not a number is a DataError naming its line and column.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "pts.csv")
    >>> _ = open(p, "w").write("a,b,label\\n" + "".join(f"{i},{i * i},{i % 2}\\n" for i in range(10)))
    >>> load_csv(p, label_column="label")
    Data(name='pts', train=(8, 2), test=(2, 2), classes=2, image_shape=None)
    """
    where = os.fspath(path)
    with open_regular(where, limit=files.MAX_CSV_BYTES) as raw:
        # -sig: Excel's byte-order mark is not data; newline="": csv handles line ends itself
        records = _Records(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), where)
        rows = _csv_rows(records, delimiter, where)
        first = next(rows, None)
        if first is None:
            raise DataError(f"{where}: empty file")
        if header is None:
            header = not all(_is_number(cell) for cell in first[0])
        names = first[0] if header else None
        width = len(first[0])
        if width < 2:
            raise DataError(f"{where}: needs at least one feature column and a label column, found {width} column")
        label = _label_index(label_column, names, width, where)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        batch = [] if header else [first]
        for row in rows:
            if len(row[0]) != width:
                raise DataError(f"{where}: line {row[1]} has {len(row[0])} fields, expected {width}")
            batch.append(row)
            if len(batch) * width >= _CSV_BATCH_CELLS:
                _append_numbers(batch, label, names, where, xs, ys)
                batch = []
        if batch:
            _append_numbers(batch, label, names, where, xs, ys)
    if not xs:
        raise DataError(f"{where}: no data lines after the header")
    x, y = np.concatenate(xs), np.concatenate(ys)
    del xs, ys
    y = _labels(y, f"{where}: label column {label + 1}")
    return _user_data(Path(where).stem, where, x, y, None, None, None, test_fraction, seed)


# ---------------------------------------------------------------------------
# One entry point


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
    if key == "xor":
        x, y = make_xor()
        return Data(x, y, x.copy(), y.copy(), name="xor", classes=["0", "1"])
    if key == "moons":
        return _toy("moons", *make_moons(1000, noise=0.1, seed=seed), seed, 2)
    if key == "spirals":
        return _toy("spirals", *make_spirals(300, classes=3, noise=0.2, seed=seed), seed, 3)
    if key.endswith((".npz", ".csv")):
        data = (load_npz if key.endswith(".npz") else load_csv)(text, seed=seed)
        data.source = os.path.abspath(text)
        return data
    raise DataError(
        f"unknown dataset {text!r}: expected one of {', '.join(DATASETS)}, or a path to a .npz or .csv file"
    )

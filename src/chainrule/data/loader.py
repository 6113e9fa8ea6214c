"""Mini-batches: the Dataset protocol, TensorDataset and DataLoader, with PyTorch's defaults
(in order, every batch a new array; shuffling and buffer reuse are asked for).

>>> import numpy as np
>>> loader = DataLoader(TensorDataset(np.zeros((5, 2)), np.arange(5)), batch_size=2)
>>> len(loader), [yb.tolist() for _, yb in loader]
(3, [[0, 1], [2, 3], [4]])
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..random import default_generator
from .errors import DataError

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate"]


class Dataset:
    """A map-style data set (PyTorch's protocol): ``len(ds)`` examples, ``ds[i]`` the i-th,
    usually a tuple such as (x, y). Any object with ``__len__`` and ``__getitem__`` will do;
    subclassing this one only documents the intent.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return float(i), i * i
    >>> [yb.tolist() for _, yb in DataLoader(Squares(), batch_size=3)]
    [[0, 1, 4], [9]]
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError


def _as_array(value: Any) -> np.ndarray:
    """An array as chainrule keeps it: floating point as float32, anything else unchanged."""
    arr = np.asarray(value)
    return arr.astype(np.float32) if arr.dtype.kind == "f" and arr.dtype != np.float32 else arr


class TensorDataset(Dataset):
    """Arrays (or tensors) sharing their first axis; example i is the tuple of their i-th rows.

    Floating-point arrays are kept as float32 (converted once, here); others as given.

    >>> import numpy as np
    >>> ds = TensorDataset(np.ones((3, 2)), np.array([0, 1, 0]))
    >>> len(ds), ds[1][0].dtype, int(ds[1][1])
    (3, dtype('float32'), 1)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise DataError("TensorDataset: needs at least one array")
        self.tensors = tuple(np.ascontiguousarray(_as_array(t)) for t in tensors)
        if any(t.ndim < 1 for t in self.tensors):
            raise DataError(f"TensorDataset: arrays need a first (example) axis, got shapes "
                            f"{[t.shape for t in self.tensors]}")
        if len({len(t) for t in self.tensors}) > 1:
            raise DataError(f"TensorDataset: the arrays hold different numbers of examples: "
                            f"{[len(t) for t in self.tensors]}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index) -> tuple[np.ndarray, ...]:
        return tuple(t[index] for t in self.tensors)


def default_collate(items: list) -> Any:
    """Stack a list of examples into a batch, as PyTorch's default_collate: tuples and lists
    position by position (giving a tuple), dicts key by key, arrays and numbers along a new
    first axis. Floating point becomes float32.

    >>> import numpy as np
    >>> xb, yb = default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
    >>> xb.shape, xb.dtype, yb.tolist()
    ((2, 2), dtype('float32'), [1, 0])
    """
    first = items[0]
    if isinstance(first, (tuple, list)):
        if any(len(item) != len(first) for item in items):
            raise DataError("DataLoader: the data set's examples have different lengths")
        return tuple(default_collate(list(column)) for column in zip(*items))
    if isinstance(first, dict):
        return {key: default_collate([item[key] for item in items]) for key in first}
    return _as_array(np.stack([np.asarray(item) for item in items]))


def _integer(value: Any) -> bool:
    """An integer, as a batch size is (bool is not one)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class DataLoader:
    """Batches from a data set, one pass over it per ``for`` loop (PyTorch's DataLoader).

    ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, generator=None)``:
    the dataset is a TensorDataset or anything with ``__len__`` and ``__getitem__``; its
    examples are stacked by ``default_collate``. ``DataLoader(x, y, batch_size)`` is the
    same as ``DataLoader(TensorDataset(x, y), batch_size)`` with x made float32 and y int64
    (integer labels) or float32: the second positional argument tells the two forms apart,
    an integer being a batch size and an array a set of labels.

    As in PyTorch, batches come in order unless ``shuffle=True``, and each batch is a new
    array that stays valid. ``shuffle=True`` draws a fresh permutation every epoch from
    ``generator`` (a NumPy Generator, used and advanced in place), or from
    ``np.random.default_rng(seed)``, or else from a generator seeded once here by
    chainrule's global one (``chainrule.manual_seed``).

    ``reuse_buffers=True`` (arrays and TensorDatasets only) is the fast path of a training
    loop: batches are gathered into buffers allocated once (or, unshuffled, are read-only
    views of the data), so a batch is only valid until the next one is requested; copy it
    to keep it.

    state_dict() returns plain JSON-able data (the generator state, the epoch counter and
    the position within an unfinished epoch); load_state_dict() on a loader over the same
    number of examples, with the same batch size, continues exactly from there.

    >>> import numpy as np
    >>> x, y = np.zeros((7, 3), np.float32), np.arange(7)
    >>> [yb.tolist() for _, yb in DataLoader(x, y, batch_size=3)]
    [[0, 1, 2], [3, 4, 5], [6]]
    >>> loader = DataLoader(x, y, batch_size=3, shuffle=True, seed=0)
    >>> state = loader.state_dict()
    >>> first = [yb for _, yb in loader]
    >>> loader.load_state_dict(state)
    >>> all((a == yb).all() for a, (_, yb) in zip(first, loader))
    True
    """

    def __init__(self, *args: Any, batch_size: int | None = None, shuffle: bool | None = None,
                 drop_last: bool = False, generator: np.random.Generator | None = None, seed: int | None = None,
                 reuse_buffers: bool = False, collate_fn=None) -> None:
        if not args:
            raise TypeError("DataLoader: missing the dataset (or the arrays x, y)")
        if len(args) >= 2 and not _integer(args[1]):
            if np.ndim(args[1]) < 1:  # neither a batch size nor labels with an example axis
                raise TypeError(f"DataLoader: the second argument is batch_size (an integer) or labels y "
                                f"(an array), got {args[1]!r}")
            x, y, rest = args[0], args[1], args[2:]
            if isinstance(x, Dataset):
                raise TypeError("DataLoader: a Dataset comes alone; put the labels in it: "
                                "DataLoader(TensorDataset(x, y), batch_size)")
            dataset = self._arrays(x, y)
        else:
            dataset, rest = args[0], args[1:]
        if len(rest) > 2:
            raise TypeError(f"DataLoader: too many positional arguments ({len(args)}); "
                            f"give drop_last, generator, seed by keyword")
        given = dict(zip(("batch_size", "shuffle"), rest))
        for name, value in (("batch_size", batch_size), ("shuffle", shuffle)):
            if name in given and value is not None:
                raise TypeError(f"DataLoader: {name} given both by position and by keyword")
            given.setdefault(name, value)
        batch_size = 1 if given["batch_size"] is None else given["batch_size"]
        shuffle = False if given["shuffle"] is None else given["shuffle"]
        if not _integer(batch_size) or batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        batch_size = int(batch_size)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"DataLoader: shuffle must be True or False, got {shuffle!r}")
        if generator is not None and seed is not None:
            raise TypeError("DataLoader: give generator or seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator "
                            f"(chainrule.default_generator() is one), got {type(generator).__name__}")
        if not (callable(getattr(dataset, "__len__", None)) and callable(getattr(dataset, "__getitem__", None))):
            raise TypeError(f"DataLoader: the dataset needs __len__ and __getitem__, got {type(dataset).__name__}")
        self.num_examples = len(dataset)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn or default_collate
        self.seed = seed
        if generator is not None:
            self._rng = generator
        elif seed is not None or not self.shuffle:
            self._rng = np.random.default_rng(seed)
        else:  # as PyTorch's sampler, which seeds itself from the global generator
            self._rng = np.random.default_rng(int(default_generator().integers(2**63)))
        # The fast path: arrays indexed directly (and, if asked, gathered into reused buffers).
        self._arrays_in = dataset.tensors if isinstance(dataset, TensorDataset) and collate_fn is None else None
        if reuse_buffers and self._arrays_in is None:
            raise TypeError("DataLoader: reuse_buffers needs arrays or a TensorDataset (and no collate_fn)")
        self.reuse_buffers = bool(reuse_buffers)
        if self.reuse_buffers:
            n_rows = min(batch_size, self.num_examples)
            self._buffers = tuple(np.empty((n_rows, *t.shape[1:]), dtype=t.dtype) for t in self._arrays_in)
        self._epoch = 0  # epochs started
        self._resume_at = 0  # batches to skip at the start of the next epoch (after a load)
        # The epoch in progress: the generator state before its permutation, and how
        # many of its batches were handed out. None between epochs.
        self._current: dict | None = None
        self._token = 0  # tells a stale, abandoned iterator from the current one

    @staticmethod
    def _arrays(x: Any, y: Any) -> TensorDataset:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim < 1 or y.ndim < 1:
            raise DataError(f"DataLoader: x and y need a first (example) axis, got shapes {x.shape} and {y.shape}")
        if len(x) != len(y):
            raise DataError(f"DataLoader: x has {len(x)} examples but y has {len(y)}")
        return TensorDataset(x.astype(np.float32, copy=False), y.astype(np.int64 if y.dtype.kind in "biu" else np.float32,
                                                                       copy=False))

    @property
    def x(self) -> np.ndarray:
        """The inputs of the array form (the first array of a TensorDataset)."""
        return self.dataset.tensors[0]

    @property
    def y(self) -> np.ndarray:
        """The labels of the array form (the second array of a TensorDataset)."""
        return self.dataset.tensors[1]

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = self.num_examples
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def epoch(self) -> int:
        """How many epochs have been started (the first `for` loop makes it 1)."""
        return self._epoch

    def __iter__(self):
        # The permutation is drawn here, not at the first next(), so that
        # state_dict() always describes what has actually been drawn.
        start_state = copy.deepcopy(self._rng.bit_generator.state)
        order = self._rng.permutation(self.num_examples) if self.shuffle else None
        self._epoch += 1
        self._token += 1
        skip, self._resume_at = self._resume_at, 0
        self._current = {"state": start_state, "position": skip}
        return self._batches(order, skip, self._token)

    def _batch(self, order: np.ndarray | None, lo: int, hi: int) -> Any:
        arrays = self._arrays_in
        if arrays is None:
            indices = range(lo, hi) if order is None else order[lo:hi].tolist()
            return self.collate_fn([self.dataset[i] for i in indices])
        if order is None:
            if not self.reuse_buffers:
                return tuple(a[lo:hi].copy() for a in arrays)
            views = tuple(a[lo:hi] for a in arrays)
            for v in views:
                v.flags.writeable = False  # a view: writing would change the data
            return views
        idx = order[lo:hi]
        if not self.reuse_buffers:
            return tuple(np.take(a, idx, axis=0) for a in arrays)
        # mode="clip": indices are valid, and mode="raise" would gather into a temporary
        # and copy it into `out` (NumPy buffers it).
        return tuple(np.take(a, idx, axis=0, out=buf[: hi - lo], mode="clip") for a, buf in zip(arrays, self._buffers))

    def _batches(self, order, skip: int, token: int):
        n, size = self.num_examples, self.batch_size
        try:
            for b in range(skip, len(self)):
                batch = self._batch(order, b * size, min((b + 1) * size, n))
                if token == self._token:
                    self._current["position"] = b + 1
                yield batch
        finally:
            if token == self._token and self._current is not None and self._current["position"] >= len(self):
                self._current = None  # the epoch is complete

    def state_dict(self) -> dict:
        """Where the loader is, as plain JSON-able data: generator state, epoch, position.

        >>> import json, numpy as np
        >>> s = DataLoader(np.zeros((4, 1)), np.zeros(4), batch_size=2).state_dict()
        >>> sorted(s), json.loads(json.dumps(s)) == s
        (['batch_size', 'bit_generator', 'epoch', 'num_examples', 'position', 'shuffle'], True)
        """
        if self._current is not None and self._current["position"] < len(self):
            # Mid-epoch: rewind to this epoch's start and remember how far it got.
            state, epoch, position = self._current["state"], self._epoch - 1, self._current["position"]
        else:
            state, epoch, position = self._rng.bit_generator.state, self._epoch, self._resume_at
        return {
            "bit_generator": copy.deepcopy(state),
            "epoch": epoch,
            "position": position,
            "batch_size": self.batch_size,
            "num_examples": self.num_examples,
            "shuffle": self.shuffle,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a state_dict(): the next `for` loop resumes where it was saved.

        Raises DataError if the state was saved by a loader over different data sizes.
        """
        try:
            expected = {"batch_size": self.batch_size, "num_examples": self.num_examples, "shuffle": self.shuffle}
            for key, value in expected.items():
                if state[key] != value:
                    raise DataError(
                        f"DataLoader.load_state_dict: saved {key}={state[key]!r}, this loader has {value!r}"
                    )
            position, epoch = int(state["position"]), int(state["epoch"])
            if not 0 <= position <= len(self) or epoch < 0:
                raise DataError(f"DataLoader.load_state_dict: bad epoch {epoch} or position {position}")
            self._rng.bit_generator.state = copy.deepcopy(state["bit_generator"])
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, DataError):
                raise
            raise DataError(f"DataLoader.load_state_dict: not a DataLoader state ({e!r})") from None
        self._epoch = epoch
        self._resume_at = position
        self._current = None
        self._token += 1  # detach any iterator still running

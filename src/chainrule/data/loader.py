"""Mini-batches over in-memory arrays, shuffled reproducibly, without per-batch allocation.

>>> import numpy as np
>>> loader = DataLoader(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5), batch_size=2)
>>> len(loader), [yb.tolist() for _, yb in loader]
(3, [[2, 4], [3, 0], [1]])
"""

from __future__ import annotations

import copy
import math
import operator

import numpy as np

from .errors import DataError

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over (x_batch, y_batch) pairs, one pass over the data per `for` loop.

    Each pass (epoch) visits every example exactly once, in a fresh permutation
    drawn from one np.random.default_rng(seed) created here: the same seed gives
    the same sequence of epochs. The last, smaller batch is kept unless drop_last.

    Batches are gathered into two buffers allocated once, so a yielded batch is
    only valid until the next one is requested: copy it (xb.copy()) to keep it.
    x is converted to float32 once, here (no copy if it already is float32);
    integer y is kept as int64, float y as float32. With shuffle=False batches
    are read-only views of the data, in order.

    state_dict() returns plain JSON-able data (the bit generator state, the epoch
    counter and the position within an unfinished epoch); load_state_dict() on a
    loader built with the same data and batch size continues exactly from there.

    >>> import numpy as np
    >>> x, y = np.zeros((7, 3), np.float32), np.arange(7)
    >>> loader = DataLoader(x, y, batch_size=3, seed=0)
    >>> [xb.shape[0] for xb, _ in loader]
    [3, 3, 1]
    >>> state = loader.state_dict()
    >>> first = [yb.copy() for _, yb in loader]
    >>> loader.load_state_dict(state)
    >>> all((a == yb).all() for a, (_, yb) in zip(first, loader))
    True
    """

    def __init__(
        self,
        x,
        y,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = 0,
        drop_last: bool = False,
    ) -> None:
        try:
            if isinstance(batch_size, bool):  # True is an int to Python, not a batch size
                raise TypeError
            batch_size = operator.index(batch_size)
        except TypeError:
            raise DataError(f"DataLoader: batch_size must be an integer, got {batch_size!r}") from None
        if batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be >= 1, got {batch_size!r}")
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim < 1 or y.ndim < 1:
            raise DataError(f"DataLoader: x and y need a first (example) axis, got shapes {x.shape} and {y.shape}")
        if len(x) != len(y):
            raise DataError(f"DataLoader: x has {len(x)} examples but y has {len(y)}")
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        y_dtype = np.int64 if y.dtype.kind in "biu" else np.float32
        self.y = np.ascontiguousarray(y, dtype=y_dtype)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._epoch = 0  # epochs started
        self._resume_at = 0  # batches to skip at the start of the next epoch (after a load)
        # The epoch in progress: the generator state before its permutation, and how
        # many of its batches were handed out. None between epochs.
        self._current: dict | None = None
        self._token = 0  # tells a stale, abandoned iterator from the current one
        n_rows = min(batch_size, len(self.x))
        self._xbuf = np.empty((n_rows, *self.x.shape[1:]), dtype=np.float32)
        self._ybuf = np.empty((n_rows, *self.y.shape[1:]), dtype=self.y.dtype)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def epoch(self) -> int:
        """How many epochs have been started (the first `for` loop makes it 1)."""
        return self._epoch

    def __iter__(self):
        # The permutation is drawn here, not at the first next(), so that
        # state_dict() always describes what has actually been drawn.
        start_state = copy.deepcopy(self._rng.bit_generator.state)
        order = self._rng.permutation(len(self.x)) if self.shuffle else None
        self._epoch += 1
        self._token += 1
        skip, self._resume_at = self._resume_at, 0
        self._current = {"state": start_state, "position": skip}
        return self._batches(order, skip, self._token)

    def _batches(self, order, skip: int, token: int):
        n, size = len(self.x), self.batch_size
        try:
            for b in range(skip, len(self)):
                lo, hi = b * size, min((b + 1) * size, n)
                if order is None:
                    xb, yb = self.x[lo:hi], self.y[lo:hi]
                    xb.flags.writeable = False  # a view: writing would change the data
                    yb.flags.writeable = False
                else:
                    idx = order[lo:hi]
                    # mode="clip": indices are valid, and mode="raise" would gather
                    # into a temporary and copy it into `out` (NumPy buffers it).
                    xb = np.take(self.x, idx, axis=0, out=self._xbuf[: hi - lo], mode="clip")
                    yb = np.take(self.y, idx, axis=0, out=self._ybuf[: hi - lo], mode="clip")
                if token == self._token:
                    self._current["position"] = b + 1
                yield xb, yb
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
            "num_examples": len(self.x),
            "shuffle": self.shuffle,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a state_dict(): the next `for` loop resumes where it was saved.

        Raises DataError if the state was saved by a loader over different data sizes.
        """
        try:
            expected = {"batch_size": self.batch_size, "num_examples": len(self.x), "shuffle": self.shuffle}
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

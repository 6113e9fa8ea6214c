"""One seeded NumPy generator for the whole library, so one seed reproduces a run.

>>> import chainrule as cr
>>> _ = cr.manual_seed(0)
>>> a = cr.randn(3).numpy(); _ = cr.manual_seed(0); bool((a == cr.randn(3).numpy()).all())
True
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["manual_seed", "default_generator", "initial_seed", "batch_part", "draw_rows"]

_state = {"seed": None, "generator": np.random.default_rng()}


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed chainrule's generator (initialisers, dropout, randn) and return it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _state["seed"] = int(seed)
    _state["generator"] = np.random.default_rng(int(seed))
    return _state["generator"]


def default_generator() -> np.random.Generator:
    """The generator every random draw in chainrule uses unless given another."""
    return _state["generator"]


def initial_seed() -> int | None:
    """The seed last given to manual_seed (None if never seeded)."""
    return _state["seed"]


_part: list[tuple[int, int]] = []  # (rows in the whole batch, first row of this process's part)


@contextlib.contextmanager
def batch_part(total: int, start: int):
    """Inside, per-example random draws (dropout masks) are made for a whole batch of ``total``
    rows, and the arrays at hand are its rows ``start:start+len``. Data-parallel training
    sets it, so that every process draws what one process would and keeps its own rows.

    >>> import numpy as np
    >>> _ = manual_seed(0); whole = draw_rows(lambda shape: default_generator().random(shape), (4, 2))
    >>> with batch_part(4, 1):
    ...     _ = manual_seed(0); rows = draw_rows(lambda shape: default_generator().random(shape), (2, 2))
    >>> bool((rows == whole[1:3]).all())
    True
    """
    _part.append((int(total), int(start)))
    try:
        yield
    finally:
        _part.pop()


def draw_rows(draw, shape: tuple[int, ...]) -> np.ndarray:
    """``draw(shape)``, or inside batch_part the rows of this process's part of a draw for the whole batch."""
    if not _part:
        return draw(shape)
    total, start = _part[-1]
    return draw((total, *shape[1:]))[start:start + shape[0]]

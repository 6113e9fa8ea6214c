"""One seeded NumPy generator for the whole library, so one seed reproduces a run.

>>> import chainrule as cr
>>> _ = cr.manual_seed(0)
>>> a = cr.randn(3).numpy(); _ = cr.manual_seed(0); bool((a == cr.randn(3).numpy()).all())
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["manual_seed", "default_generator", "initial_seed"]

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

"""NumPy's BLAS thread count: read it, and limit it inside a block (threadpoolctl, an optional extra).

>>> from chainrule.threads import blas_threads, limit_threads
>>> with limit_threads(None):  # None leaves the count as it is
...     pass
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["blas_threads", "limit_threads"]


def blas_threads() -> int | None:
    """The BLAS thread count in effect for NumPy (threadpoolctl), None if it cannot be told."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with the cli extra
        return None
    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts) if counts else None


@contextlib.contextmanager
def limit_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` BLAS threads in NumPy (and PyTorch) inside the block; None changes nothing."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ModuleNotFoundError("limiting BLAS threads needs threadpoolctl: pip install 'chainrule[cli]'",
                                  name="threadpoolctl") from None
    with threadpool_limits(limits=threads, user_api="blas"):
        yield

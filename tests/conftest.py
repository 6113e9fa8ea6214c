"""Shared test setup."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    """The networks in the tests are small: a second BLAS thread only adds waiting, and when other
    jobs share the cores OpenBLAS's threads spin-wait for each other (one example ran 100x slower).
    Results don't depend on it; subprocess tests (the command line) keep the default."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield

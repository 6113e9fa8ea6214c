"""Shared test setup."""

from __future__ import annotations

import contextlib
import signal
import tracemalloc

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


@pytest.fixture
def no_hang():
    """no_hang(seconds=60): a context that interrupts a blocked call with TimeoutError (SIGALRM), so a
    regression fails instead of hanging. Not a speed test: what it guards returns at once or never."""
    @contextlib.contextmanager
    def within(seconds: float = 60):
        def expired(signum, frame):
            raise TimeoutError(f"still blocked after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return within


@pytest.fixture
def peak_memory():
    """peak_memory(): a context yielding a list that holds, on exit, the peak bytes traced by
    tracemalloc (NumPy reports its array buffers to it)."""
    @contextlib.contextmanager
    def traced():
        result: list[int] = []
        tracemalloc.start()
        try:
            yield result
        finally:
            result.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    return traced


@pytest.fixture
def figures(monkeypatch):
    """The figures chainrule.plots would save, kept open for inspection instead (closed afterwards)."""
    from chainrule import plots

    kept = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: kept.append(fig))
    yield kept
    import matplotlib.pyplot as plt

    for fig in kept:
        plt.close(fig)

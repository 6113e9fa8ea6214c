"""The floors the training defaults were chosen to meet (benchmarks/defaults.py, docs/results.md "Defaults").

Each test passes only the options its floor names; every other option is the
default, so a change of defaults that breaks a floor fails here. The
Fashion-MNIST floors are skipped where the data set is not installed.
"""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.data import DataError
from chainrule.data import load_fashion_mnist


def _fashion_installed() -> bool:
    try:
        load_fashion_mnist(download=False)
    except (DataError, OSError):
        return False
    return True


needs_fashion = pytest.mark.skipif(not _fashion_installed(), reason="Fashion-MNIST is not installed (never downloaded)")


def test_digits_with_every_default_reaches_97_percent():
    s = cr.fit(quiet=True).summary
    assert s["dataset"] == "digits" and s["test_size"] == 360
    assert s["test_accuracy"] >= 0.97


@needs_fashion
@pytest.mark.parametrize("options, floor", [
    ({"model": "200tanh", "epochs": 2}, 0.84),
    ({"model": "linear", "epochs": 3}, 0.82),
    ({"epochs": 5}, 0.865),  # the default model
], ids=["200tanh-2-epochs", "linear-3-epochs", "default-model-5-epochs"])
def test_fashion_mnist_floor_with_default_options(options, floor):
    s = cr.fit("fashion-mnist", quiet=True, **options).summary
    assert s["test_size"] == 10_000 and s["epochs"] == options["epochs"]
    assert s["test_accuracy"] >= floor

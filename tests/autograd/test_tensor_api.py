"""The Tensor methods and top-level functions a PyTorch user types first, and their edge cases.

(The same names are checked against torch itself, on the same numbers, in tests/parity/test_tensor.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_max_over_a_dim_returns_values_and_indices_so_unpacking_gives_predictions():
    """``_, pred = out.max(1)`` is PyTorch's accuracy idiom: it must give the indices, not unpack rows."""
    out = cr.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.0, 0.6, 0.4]])
    _, pred = out.max(1)
    assert pred.tolist() == [1, 0, 2, 1] and pred.dtype == np.int64
    values, indices = out.max(dim=1, keepdim=True)
    assert values.shape == (4, 1) and indices.shape == (4, 1)
    result = out.min(0)
    assert result.values.tolist() == pytest.approx([0.0, 0.1, 0.0]) and result.indices.tolist() == [3, 1, 0]
    assert out.max().shape == () and out.max().item() == pytest.approx(0.9)
    # NumPy's axis= keeps NumPy's meaning: the values only
    assert out.max(axis=1).shape == (4,) and out.min(axis=0, keepdims=True).shape == (1, 3)
    values, indices = cr.max(out, 1)
    assert indices.tolist() == [1, 0, 2, 1]

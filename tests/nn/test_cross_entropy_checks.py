"""CrossEntropyLoss's checks and its plain-label path (one reduction checks the labels, the
per-example losses are summed once, a scalar gradient scales without reshaping)."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.autograd.ops import NonFiniteError


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_logits_raise_naming_the_index(bad, reduction):
    z = np.zeros((3, 4), np.float32)
    z[2, 1] = bad
    with pytest.raises(NonFiniteError, match=r"at index \(2, 1\)"):
        nn.CrossEntropyLoss(reduction=reduction).fprop(z, np.array([0, 1, 3]))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_labels_out_of_range_at_either_end_raise(dtype):
    z = np.zeros((3, 4), np.float32)
    ce = nn.CrossEntropyLoss()
    assert ce.fprop(z, np.array([0, 3, 2], dtype)) == pytest.approx(np.log(4))
    with pytest.raises(ValueError, match="label 4 is out of range for 4 classes"):
        ce.fprop(z, np.array([0, 4, 2], dtype))
    if np.dtype(dtype).kind == "i":
        with pytest.raises(ValueError, match="label -1 is out of range for 4 classes"):
            ce.fprop(z, np.array([0, -1, 2], dtype))


def test_loss_and_gradient_match_a_float64_reference_at_every_reduction():
    rng = np.random.default_rng(0)
    z, t = rng.standard_normal((7, 5)).astype(np.float32), rng.integers(0, 5, 7)
    z64 = z.astype(np.float64)
    logp = z64 - z64.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    per = -logp[np.arange(7), t]
    onehot = np.eye(5)[t]
    for reduction, loss, grad in (("mean", per.mean(), (np.exp(logp) - onehot) / 7),
                                  ("sum", per.sum(), np.exp(logp) - onehot)):
        ce = nn.CrossEntropyLoss(reduction=reduction)
        assert ce.fprop(z, t) == pytest.approx(loss, rel=1e-6)
        g = ce.bprop()
        assert g.dtype == np.float32 and np.allclose(g, grad, atol=1e-7)
    ce = nn.CrossEntropyLoss(reduction="none")
    assert np.allclose(ce.fprop(z, t), per, rtol=1e-6)
    w = np.arange(7, dtype=np.float32)
    assert np.allclose(ce.bprop(w), (np.exp(logp) - onehot) * w[:, None], atol=1e-6)

"""Initialisers: the exercise's Glorot rule and the others, seeded, float32."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init

SHAPE = (400, 300)


@pytest.mark.parametrize("fn,std", [
    (init.glorot_normal, np.sqrt(2 / 700)), (init.glorot_uniform, np.sqrt(2 / 700)),
    (init.he_normal, np.sqrt(2 / 400)), (init.he_uniform, np.sqrt(2 / 400)),
])
def test_spread_dtype_and_seed(fn, std):
    cr.manual_seed(0)
    w = fn(SHAPE)
    assert w.dtype == np.float32 and w.shape == SHAPE
    assert w.std() == pytest.approx(std, rel=0.02) and abs(w.mean()) < 0.01 * std * 10
    cr.manual_seed(0)
    assert (fn(SHAPE) == w).all()
    assert fn(SHAPE, dtype=np.float64).dtype == np.float64


def test_uniform_bounds_and_pytorch_names():
    cr.manual_seed(1)
    bound = np.sqrt(6 / 700)
    assert np.abs(init.glorot_uniform(SHAPE)).max() <= bound
    p = cr.nn.Parameter(np.zeros(SHAPE, np.float32))
    for fn in (init.xavier_normal_, init.xavier_uniform_, init.kaiming_normal_, init.kaiming_uniform_):
        fn(p)
        assert p.dtype == np.float32 and p.numpy().std() > 0
    init.zeros_(p)
    assert (p.numpy() == 0).all()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.glorot_normal((5,))

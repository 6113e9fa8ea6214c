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


def test_pytorch_signatures_gain_mode_and_distributions():
    """torch.nn.init's arguments: xavier's gain, kaiming's mode and nonlinearity (fans read the
    (in, out) layout: fan_in = 300 inputs here), normal_/uniform_/constant_/ones_ in place, float32 kept."""
    cr.manual_seed(2)
    p = cr.nn.Parameter(np.zeros((300, 500), np.float32))
    cases = [
        (lambda: init.xavier_normal_(p, gain=2.0), 2.0 * np.sqrt(2 / 800)),
        (lambda: init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu"), np.sqrt(2 / 500)),
        (lambda: init.kaiming_normal_(p, a=0.5), np.sqrt(2 / 1.25 / 300)),
        (lambda: init.kaiming_uniform_(p, nonlinearity="tanh"), 5 / 3 / np.sqrt(300)),
        (lambda: init.normal_(p, mean=1.0, std=0.02), 0.02),
        (lambda: init.uniform_(p, -2.0, 3.0), 5 / np.sqrt(12)),
    ]
    for fill, std in cases:
        assert fill() is p and p.dtype == np.float32
        assert p.numpy().std() == pytest.approx(std, rel=0.02)
    assert p.numpy().min() >= -2.0 and p.numpy().max() < 3.0
    init.normal_(p, mean=1.0, std=0.02)
    assert p.numpy().mean() == pytest.approx(1.0, abs=1e-3)
    assert (init.ones_(p).numpy() == 1).all() and (init.constant_(p, 0.25).numpy() == 0.25).all()
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(p, mode="fan")
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")

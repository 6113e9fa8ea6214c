"""Layers: the fprop/bprop contract checked by finite differences, and equal to autodiff."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _layers():
    return [
        ("Linear", lambda: nn.Linear(4, 3)),
        ("Linear_nobias", lambda: nn.Linear(4, 3, bias=False)),
        ("Tanh", nn.Tanh),
        ("Sigmoid", nn.Sigmoid),
        ("ReLU", nn.ReLU),
        ("LeakyReLU", lambda: nn.LeakyReLU(0.2)),
        ("Identity", nn.Identity),
        ("Softmax", nn.Softmax),
        ("LogSoftmax", nn.LogSoftmax),
        ("Dropout", lambda: nn.Dropout(0.3)),
        ("Sequential", lambda: nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3), nn.LogSoftmax())),
    ]


def _input(batch, rng):
    # values away from 0 so ReLU/LeakyReLU kinks stay out of the finite differences
    x = rng.normal(size=(batch, 4))
    return np.where(np.abs(x) < 0.05, 0.1, x)


@pytest.mark.parametrize("name,make", _layers(), ids=[n for n, _ in _layers()])
@pytest.mark.parametrize("batch", [1, 7])
def test_check_module_passes(name, make, batch):
    cr.manual_seed(1)
    layer = make()
    assert cr.check_module(layer, _input(batch, np.random.default_rng(batch)))
    # the module is back in float32 afterwards
    assert all(p.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("name,make", _layers(), ids=[n for n, _ in _layers()])
def test_fprop_bprop_equals_autodiff(name, make):
    cr.manual_seed(2)
    layer = make()
    x = _input(7, np.random.default_rng(0)).astype(np.float32)
    g = np.random.default_rng(1).normal(size=(7, 3) if name not in {"Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Identity",
                                                                   "Dropout", "Softmax", "LogSoftmax"} else (7, 4))
    g = g.astype(np.float32)

    state = cr.default_generator().bit_generator.state
    y = layer.fprop(x)
    gx = layer.bprop(g)
    module_grads = [a.copy() for a in layer.grads()]
    layer.zero_grad()

    cr.default_generator().bit_generator.state = state  # same dropout mask
    xt = cr.tensor(x, requires_grad=True)
    yt = layer(xt)
    yt.backward(g)
    np.testing.assert_allclose(yt.numpy(), y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(xt.grad, gx, rtol=1e-5, atol=1e-6)
    for p, mg in zip(layer.parameters(), module_grads):
        np.testing.assert_allclose(p.grad, mg, rtol=1e-5, atol=1e-6)
    for a in [y, gx, *module_grads]:
        assert a.dtype == np.float32


@pytest.mark.parametrize("batch", [1, 7])
def test_linear_bias_gradient_sums_over_the_batch(batch):
    layer = nn.Linear(3, 2)
    x = np.ones((batch, 3), np.float32)
    layer.fprop(x)
    layer.bprop(np.ones((batch, 2), np.float32))
    np.testing.assert_allclose(layer.bias.grad, [batch, batch])
    np.testing.assert_allclose(layer.weight.grad, np.full((3, 2), batch))


def test_linear_shapes_and_defaults():
    cr.manual_seed(0)
    layer = nn.Linear(784, 200)
    assert layer.weight.shape == (784, 200) and layer.bias.shape == (200,)
    assert (layer.bias.numpy() == 0).all()
    assert layer.weight.numpy().std() == pytest.approx(np.sqrt(2 / (784 + 200)), rel=0.02)
    assert repr(layer) == "Linear(784, 200)"


def test_a_wrong_bprop_is_caught_by_check_module():
    class WrongTanh(nn.Module):
        function = cr.autograd.ops.Tanh

        def bprop(self, grad_output, input_grad=True):
            return grad_output  # forgets tanh'

    with pytest.raises(cr.GradcheckError, match=r"check_module\(WrongTanh\).*input"):
        cr.check_module(WrongTanh(), np.random.default_rng(0).normal(size=(2, 3)))


def test_dropout_is_identity_in_eval_and_scales_in_train():
    cr.manual_seed(0)
    d = nn.Dropout(0.5)
    x = np.ones((1000, 10), np.float32)
    y = d.fprop(x)
    assert set(np.unique(y)) == {0.0, 2.0} and abs(y.mean() - 1) < 0.05
    d.eval()
    assert (d.fprop(x) == x).all() and (d(cr.tensor(x)).numpy() == x).all()
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.0)

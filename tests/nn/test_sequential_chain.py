"""Sequential on tensors records one ops.Chain node; gradients equal the per-layer tape and bprop."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import ops


def _layers(seed=0):
    cr.manual_seed(seed)
    return [nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)]


def _per_layer_grads(layers, x, y, wrt_x=False):
    """The tape with one node per layer (no Sequential)."""
    xt = cr.tensor(x, requires_grad=wrt_x)
    z = xt
    for m in layers:
        z = m(z)
    nn.CrossEntropyLoss()(z, y).backward()
    return [p.grad.copy() for m in layers for p in m.parameters()], (xt.grad if wrt_x else None)


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 5)).astype(np.float32), rng.integers(0, 3, 6)


def test_sequential_is_one_chain_node_with_the_same_gradients():
    x, y = _data()
    want, want_x = _per_layer_grads(_layers(), x, y, wrt_x=True)
    net = nn.Sequential(*_layers())
    xt = cr.tensor(x, requires_grad=True)
    z = net(xt)
    assert z.grad_fn is ops.Chain
    nn.CrossEntropyLoss()(z, y).backward()
    for g, w in zip([p.grad for p in net.parameters()], want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(xt.grad, want_x, rtol=1e-6, atol=1e-7)


def test_chain_matches_fprop_bprop_after_zero_grad_and_accumulates():
    x, y = _data()
    tape, fast = nn.Sequential(*_layers()), nn.Sequential(*_layers())
    loss = nn.CrossEntropyLoss()
    loss(tape(cr.tensor(x)), y).backward()
    tape.zero_grad()
    out = loss(tape(cr.tensor(x)), y)
    out.backward()
    loss.fprop(fast.fprop(x), y)
    fast.bprop(loss.bprop(), input_grad=False)
    for a, b in zip(tape.grads(), fast.grads()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    out.backward()  # the graph is kept
    for a, b in zip(tape.grads(), fast.grads()):
        np.testing.assert_allclose(a, 2 * b, rtol=1e-6, atol=1e-7)


def test_shared_and_frozen_layers_in_a_chain():
    cr.manual_seed(1)
    shared = nn.Linear(4, 4)
    frozen = nn.Linear(4, 4)
    for p in frozen.parameters():
        p.requires_grad = False
    net = nn.Sequential(shared, nn.Tanh(), frozen, nn.Tanh(), shared)
    x = cr.tensor(np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32))
    net(x).sum().backward()
    got = [p.grad.copy() for p in shared.parameters()]
    assert all(p.grad is None for p in frozen.parameters())
    shared.zero_grad()
    z = x
    for m in net:  # the same, one node per layer
        z = m(z)
    z.sum().backward()
    for g, p in zip(got, shared.parameters()):
        np.testing.assert_allclose(g, p.grad, rtol=1e-6, atol=1e-7)


def test_two_calls_before_backward_keep_their_own_contexts():
    x, y = _data()
    net = nn.Sequential(*_layers())
    a, b = net(cr.tensor(x)), net(cr.tensor(2 * x))
    (a.sum() + b.sum()).backward()
    got = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net(cr.tensor(x)).sum().backward()
    net(cr.tensor(2 * x)).sum().backward()
    for g, p in zip(got, net.parameters()):
        np.testing.assert_allclose(g, p.grad, rtol=1e-5, atol=1e-6)


def test_chain_passes_gradcheck_in_float64():
    net = nn.Sequential(*_layers()).double()
    x = cr.tensor(np.random.default_rng(3).normal(size=(2, 5)), dtype=np.float64)
    params = net.parameters()
    assert cr.gradcheck(lambda x, *ps: net(x), [cr.tensor(x.data, requires_grad=True, dtype=np.float64), *params])


def test_errors_name_the_failing_child_and_non_plain_children_fall_back():
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"Sequential\[2\] \(Linear\) with input shape \(6, 4\)"):
        net(cr.tensor(_data()[0]))
    class Halve(nn.Module):  # a forward of its own, no Function: not a plain layer
        def forward(self, x):
            return x * 0.5

    mixed = nn.Sequential(nn.Linear(5, 4), Halve(), nn.Linear(4, 2))
    assert mixed(cr.tensor(_data()[0])).grad_fn is ops.Linear  # one node per layer
    plain = nn.Sequential(nn.Linear(5, 4), nn.Identity(), nn.Flatten(), nn.Linear(4, 2))
    assert plain(cr.tensor(_data()[0])).grad_fn is ops.Chain  # Identity and Flatten are Functions too

"""zero_grad() is lazy and lends the zeroed .grad arrays to backward to write into.

What must not change: .grad reads as zeros after zero_grad(), the arrays keep their
identity (the exercise's loop over params()/grads() trains in place), and gradients
accumulate with += whichever path wrote them.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.function import Function


def _net(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((7, 5), dtype=np.float32), rng.integers(0, 3, 7)


def _fprop_grads(net, x, y, input_grad=False):
    loss = nn.CrossEntropyLoss()
    loss.fprop(net.fprop(x), y)
    net.bprop(loss.bprop(), input_grad=input_grad)
    return [g.copy() for g in net.grads()]


def test_grad_reads_as_zeros_after_zero_grad_and_keeps_its_identity():
    net = _net()
    x, y = _data()
    _fprop_grads(net, x, y)
    arrays = net.grads()
    assert any(np.any(a != 0) for a in arrays)
    net.zero_grad()
    assert all(p.grad is a for p, a in zip(net.parameters(), arrays))
    assert all(np.all(p.grad == 0) for p in net.parameters())
    assert all(g is a and np.all(g == 0) for g, a in zip(net.grads(), arrays))


def test_a_fresh_grad_is_written_where_it_was_and_equals_the_eager_result():
    net, ref = _net(), _net()
    x, y = _data()
    _fprop_grads(net, *_data(1))  # some other gradient first
    arrays = net.grads()
    net.zero_grad()
    got = _fprop_grads(net, x, y)
    want = _fprop_grads(ref, x, y)  # grads start as None there: no lending at all
    for a, g, w in zip(arrays, net.grads(), want):
        assert g is a
        np.testing.assert_array_equal(g, w)
    assert all(np.array_equal(a, b) for a, b in zip(got, want))


def test_bprop_twice_after_zero_grad_accumulates():
    net = _net()
    x, y = _data()
    once = _fprop_grads(net, x, y)
    net.zero_grad()
    _fprop_grads(net, x, y)
    twice = _fprop_grads(net, x, y)
    for a, b in zip(once, twice):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-6)


def test_exercise_loop_trains_in_place_with_lazy_zeroing():
    net = _net()
    x, y = _data()
    params, grads = net.params(), net.grads()
    loss = nn.CrossEntropyLoss()
    losses = []
    for _ in range(60):
        net.zero_grad()
        losses.append(loss.fprop(net.fprop(x), y))
        net.bprop(loss.bprop())
        for theta, dtheta in zip(params, grads):  # the lists taken once, before the loop
            theta -= 0.5 * dtheta
    assert losses[-1] < 0.6 * losses[0]
    assert all(p is q for p, q in zip(params, net.params())) and all(g is h for g, h in zip(grads, net.grads()))


def test_tape_after_zero_grad_matches_fresh_gradients_and_accumulates():
    net, ref = _net(), _net()
    x, y = _data()
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(net(cr.tensor(x)), y).backward()
    arrays = [p.grad for p in net.parameters()]
    net.zero_grad()
    loss = loss_fn(net(cr.tensor(x)), y)
    loss.backward()
    loss_fn(ref(cr.tensor(x)), y).backward()
    for a, p, q in zip(arrays, net.parameters(), ref.parameters()):
        assert p.grad is a
        np.testing.assert_array_equal(p.grad, q.grad)
    loss.backward()  # the graph is kept: the same gradient again, added
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, 2 * q.grad, rtol=1e-6)


def test_a_weight_used_twice_gets_the_sum_after_zero_grad():
    lin = nn.Linear(3, 3)
    x = cr.tensor(np.random.default_rng(0).random((2, 3), dtype=np.float32))

    def loss():
        return (lin(lin(x).tanh()) * lin(x)).sum()  # three uses of the same weight

    loss().backward()
    fresh = [p.grad.copy() for p in lin.parameters()]
    lin.zero_grad()
    loss().backward()
    for p, f in zip(lin.parameters(), fresh):
        np.testing.assert_allclose(p.grad, f, rtol=1e-6)


def test_one_leaf_twice_in_one_op_after_zero_grad():
    w = cr.tensor(np.arange(4, dtype=np.float32).reshape(2, 2), requires_grad=True)
    (w @ w).sum().backward()
    fresh = w.grad.copy()
    w.zero_grad()
    (w @ w).sum().backward()
    np.testing.assert_array_equal(w.grad, fresh)


def test_backward_writes_into_the_lent_buffer_and_others_still_work():
    seen = []

    class Scale(Function):  # writes into the buffer when lent one
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x)
            return x * w

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            buf = ctx.grad_buffer(1)
            seen.append(buf is not None)
            return None, np.multiply(g, x, out=buf)

    x = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    Scale.apply(x, w).sum().backward()
    first = w.grad
    Scale.apply(x, w).sum().backward()
    w.zero_grad()
    Scale.apply(x, w).sum().backward()
    assert seen == [False, False, True]  # lent only right after zero_grad
    assert w.grad is first and w.grad.tolist() == [1.0, 2.0]
    w.zero_grad()
    (w * x).sum().backward()  # Mul ignores the buffer: its result is copied in
    assert w.grad is first and w.grad.tolist() == [1.0, 2.0]


def test_a_parameter_the_loss_does_not_reach_stays_zero():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    x = cr.tensor(np.ones((1, 2), np.float32))
    (a(x).sum() + b(x).sum()).backward()
    a.zero_grad()
    b.zero_grad()
    a(x).sum().backward()
    assert all(np.all(p.grad == 0) for p in b.parameters())
    assert np.all(a.bias.grad == 1) and np.all(a.weight.grad == 1)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.01),
])
def test_optimizer_steps_match_eager_zeroing(make):
    """Training with the lazy zero_grad gives bitwise the same weights as filling zeros eagerly."""
    lazy, eager = _net(), _net()
    opt_lazy, opt_eager = make(lazy.parameters()), make(eager.parameters())
    loss = nn.CrossEntropyLoss()
    for step in range(5):
        x, y = _data(step)
        opt_lazy.zero_grad()
        for p in eager.parameters():  # what zero_grad used to do
            if p.grad is not None:
                p.grad.fill(0)
        for net in (lazy, eager):
            loss.fprop(net.fprop(x), y)
            net.bprop(loss.bprop(), input_grad=False)
        opt_lazy.step()
        opt_eager.step()
    for p, q in zip(lazy.parameters(), eager.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad, q.grad)


def test_step_right_after_zero_grad_sees_zero_gradients():
    net = _net()
    x, y = _data()
    _fprop_grads(net, x, y)
    before = [p.copy() for p in net.params()]
    opt = optim.SGD(net.parameters(), lr=0.1)
    opt.zero_grad()
    opt.step()
    assert all(np.array_equal(a, b) for a, b in zip(before, net.params()))


def test_the_gradient_protocol_is_public():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    assert w.current_grad() is None and w.grad_buffer() is None
    (w * w).sum().backward()
    grad = w.current_grad()
    assert grad.tolist() == [2.0, 4.0] and w.grad_buffer() is None
    w.zero_grad()
    assert w.current_grad() is None  # not part of the next step until a backward writes it
    assert w.grad_buffer() is grad  # lent to that backward to write into
    w.accumulate_grad(np.array([1.0, 1.0], np.float32))  # overwrites the zeroed array, in place
    assert w.current_grad() is grad and grad.tolist() == [1.0, 1.0]
    w.accumulate_grad(np.array([1.0, 1.0], np.float32))  # then adds
    assert grad.tolist() == [2.0, 2.0]


def test_a_buffer_is_lent_to_one_slot_and_only_by_a_zeroed_leaf_without_hooks():
    from chainrule.autograd.engine import lend_grad_buffers

    a, b, h = (cr.tensor([1.0], requires_grad=True) for _ in range(3))
    for t in (a, b, h):
        (t * 2).sum().backward()
        t.zero_grad()
    h.register_hook(lambda g: g)
    non_leaf = a * 1
    buffers = lend_grad_buffers([a, None, a, non_leaf, h, b])
    assert [x is None for x in buffers] == [False, True, True, True, True, False]
    assert buffers[0] is a.grad_buffer() and buffers[5] is b.grad_buffer()
    assert lend_grad_buffers([None, non_leaf, h]) is None


def test_bprop_lends_a_parameter_used_twice_in_one_module_once():
    class Twice(nn.Module):
        function = _AddTwo

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones(3, np.float32))
            self._parameters["v"] = self.w  # the same Parameter under a second name

    m = Twice()
    for _ in range(2):
        m.zero_grad()
        m.fprop(np.zeros(3, np.float32))
        m.bprop(np.ones(3, np.float32))
        assert m.w.grad.tolist() == [3.0, 3.0, 3.0]  # 1 from the first slot, 2 from the second


class _AddTwo(Function):
    """x + a + 2b: input gradients 1, 1 and 2, each written into its lent buffer when there is one."""

    @staticmethod
    def forward(ctx, x, a, b):
        return x + a + 2 * b

    @staticmethod
    def backward(ctx, g):
        ga = np.multiply(g, 1, out=ctx.grad_buffer(1))
        gb = np.multiply(g, 2, out=ctx.grad_buffer(2))
        return g, ga, gb

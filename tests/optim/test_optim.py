"""Optimizers: the update rules against hand-written references, float32 kept."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _param(values):
    p = nn.Parameter(np.array(values, np.float32))
    return p


def _run(opt_factory, grads, start):
    p = _param(start)
    opt = opt_factory([p])
    history = []
    for g in grads:
        p.grad = np.array(g, np.float32)
        opt.step()
        history.append(p.numpy().copy())
    return p, opt, history


GRADS = [[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]]


def test_sgd_plain_momentum_nesterov_and_weight_decay():
    lr, mu, wd = 0.1, 0.9, 0.01
    for kind in ("plain", "momentum", "nesterov", "decay"):
        theta, v = np.array([1.0, 2.0]), np.zeros(2)
        factory = {
            "plain": lambda ps: optim.SGD(ps, lr=lr),
            "momentum": lambda ps: optim.SGD(ps, lr=lr, momentum=mu),
            "nesterov": lambda ps: optim.SGD(ps, lr=lr, momentum=mu, nesterov=True),
            "decay": lambda ps: optim.SGD(ps, lr=lr, weight_decay=wd),
        }[kind]
        _, _, history = _run(factory, GRADS, [1.0, 2.0])
        for g, got in zip(GRADS, history):
            g = np.array(g)
            if kind == "decay":
                g = g + wd * theta
            if kind in ("momentum", "nesterov"):
                v = mu * v + g
                g = g + mu * v if kind == "nesterov" else v
            theta = theta - lr * g
            np.testing.assert_allclose(got, theta, rtol=1e-6)


def _adam_reference(grads, theta, lr=0.01, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    m = v = np.zeros_like(theta)
    out = []
    for t, g in enumerate(grads, 1):
        g = np.array(g)
        if decoupled:
            theta = theta * (1 - lr * wd)
        elif wd:
            g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - lr * mhat / (np.sqrt(vhat) + eps)
        out.append(theta)
    return out


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_and_adamw_match_the_reference(wd):
    _, _, got = _run(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=wd), GRADS, [1.0, 2.0])
    for a, b in zip(got, _adam_reference(GRADS, np.array([1.0, 2.0]), wd=wd)):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    _, _, got = _run(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=wd), GRADS, [1.0, 2.0])
    for a, b in zip(got, _adam_reference(GRADS, np.array([1.0, 2.0]), wd=wd, decoupled=True)):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_bad_hyperparameters_raise():
    p = _param([1.0])
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(1.0, 0.9))


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-4),
    lambda ps: optim.AdamW(ps, lr=1e-3),
])
@pytest.mark.parametrize("path", ["autodiff", "fprop"])
def test_everything_stays_float32_after_a_training_step(make_opt, path):
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Dropout(0.1), nn.Linear(5, 3))
    loss_fn = nn.CrossEntropyLoss()
    opt = make_opt(net.parameters())
    x = np.random.default_rng(0).random((4, 6), dtype=np.float32)
    y = np.array([0, 1, 2, 1])
    activations = []
    if path == "autodiff":
        out = net(cr.tensor(x))
        loss = loss_fn(out, y)
        loss.backward()
        activations += [out.numpy(), loss.numpy()]
    else:
        out = net.fprop(x)
        loss_fn.fprop(out, y)
        g = loss_fn.bprop()
        activations += [out, g, net.bprop(g)]
    opt.step()
    arrays = activations + net.params() + net.grads()
    arrays += [b for s in opt.state for k, b in s.items() if k != "step"]
    assert arrays and all(a.dtype == np.float32 for a in arrays), [a.dtype for a in arrays]
    # Adam's per-parameter step count is a count, not a float buffer
    assert all(b.dtype == np.int64 and b.shape == () for s in opt.state for k, b in s.items() if k == "step")


def test_optimizer_state_dict_round_trip():
    p1, opt1, _ = _run(lambda ps: optim.Adam(ps, lr=0.01), GRADS[:2], [1.0, 2.0])
    p2 = _param(p1.numpy())
    opt2 = optim.Adam([p2], lr=0.01)
    opt2.load_state_dict(opt1.state_dict())
    for o, p in ((opt1, p1), (opt2, p2)):
        p.grad = np.array(GRADS[2], np.float32)
        o.step()
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())


def test_adam_counts_steps_per_parameter_and_unused_parameters_stay_put():
    """A parameter first used at step 3 starts its bias correction at t = 1 (as PyTorch);
    one without a gradient since zero_grad() is not moved, momentum and weight decay included."""
    late, unused = _param([1.0, -2.0]), _param([3.0, 4.0])
    opt = optim.Adam([late, unused], lr=0.1, weight_decay=0.1)
    for step in range(3):
        opt.zero_grad()
        if step == 2:
            late._accumulate(np.array([0.5, 0.5], np.float32))
        opt.step()
    # Adam's first step is lr · ĝ/|ĝ| with ĝ = g + wd·θ = (0.6, 0.3): exactly lr per element
    np.testing.assert_allclose(late.numpy(), [0.9, -2.1], rtol=1e-6)
    np.testing.assert_array_equal(unused.numpy(), [3.0, 4.0])
    assert int(opt.state[0]["step"]) == 1 and "step" not in opt.state[1]
    sgd_param = _param([1.0, 1.0])
    sgd = optim.SGD([sgd_param], lr=0.1, momentum=0.9, weight_decay=0.5)
    sgd_param._accumulate(np.array([1.0, 1.0], np.float32))
    sgd.step()
    moved = sgd_param.numpy().copy()
    sgd.zero_grad()
    cr.nn.utils.clip_grad_norm_([sgd_param], 1.0)  # clipping does not conjure a zero gradient either
    sgd.step()  # no gradient this step: no momentum carry-over, no decay
    np.testing.assert_array_equal(sgd_param.numpy(), moved)

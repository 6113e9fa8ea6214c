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
    lambda ps: optim.RMSprop(ps, momentum=0.9, centered=True, weight_decay=1e-4),
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
            late.accumulate_grad(np.array([0.5, 0.5], np.float32))
        opt.step()
    # Adam's first step is lr · ĝ/|ĝ| with ĝ = g + wd·θ = (0.6, 0.3): exactly lr per element
    np.testing.assert_allclose(late.numpy(), [0.9, -2.1], rtol=1e-6)
    np.testing.assert_array_equal(unused.numpy(), [3.0, 4.0])
    assert int(opt.state[0]["step"]) == 1 and "step" not in opt.state[1]
    sgd_param = _param([1.0, 1.0])
    sgd = optim.SGD([sgd_param], lr=0.1, momentum=0.9, weight_decay=0.5)
    sgd_param.accumulate_grad(np.array([1.0, 1.0], np.float32))
    sgd.step()
    moved = sgd_param.numpy().copy()
    sgd.zero_grad()
    cr.nn.utils.clip_grad_norm_([sgd_param], 1.0)  # clipping does not conjure a zero gradient either
    sgd.step()  # no gradient this step: no momentum carry-over, no decay
    np.testing.assert_array_equal(sgd_param.numpy(), moved)


# ------------------------------------------------------------------ param groups
def test_param_groups_take_their_own_options_and_the_defaults():
    a, b = _param([1.0, 1.0]), _param([2.0])
    opt = optim.SGD([{"params": [a]}, {"params": (p for p in [b]), "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.5] and opt.param_groups[1]["params"] == [b]
    for p in (a, b):
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.9, 0.9], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [1.99], rtol=1e-6)
    c = _param([0.0])
    opt.add_param_group({"params": c, "lr": 1.0})
    c.grad = np.ones(1, np.float32)
    opt.step()
    assert c.numpy().tolist() == [-1.0] and len(opt.state) == 3


def test_optimizers_accept_a_generator_of_parameters():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    for make in (optim.SGD, optim.Adam, optim.RMSprop):
        opt = make(p for p in net.parameters())
        assert len(opt.params) == 4


@pytest.mark.parametrize("make, message", [
    (lambda a, b: optim.SGD([{"params": [a]}, {"params": [a, b]}], lr=0.1), "more than once"),
    (lambda a, b: optim.SGD([a, a], lr=0.1), "more than once"),
    (lambda a, b: optim.SGD([{"params": [a], "lr": -1.0}], lr=0.1), "lr must be"),
    (lambda a, b: optim.SGD([{"params": [a], "momentum": -1.0}], lr=0.1), "momentum"),
    (lambda a, b: optim.Adam([{"params": [a], "betas": (0.9, 1.5)}]), "betas"),
    (lambda a, b: optim.RMSprop([a], alpha=1.5), "alpha"),
    (lambda a, b: optim.SGD([{"lr": 0.1}], lr=0.1), "'params'"),
    (lambda a, b: optim.SGD([np.zeros(2)], lr=0.1), "expected Parameters"),
])
def test_bad_param_groups_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(_param([1.0]), _param([2.0]))


def test_zero_grad_set_to_none_skips_and_false_steps_on_zeros():
    """As PyTorch: after zero_grad() a parameter without a new gradient is skipped; after
    zero_grad(set_to_none=False) it is updated with a zero gradient (here: its weight decay)."""
    for set_to_none, expected in ((True, [1.0]), (False, [0.95])):
        p = _param([1.0])
        opt = optim.SGD([p], lr=0.1, weight_decay=0.5)
        p.grad = np.zeros(1, np.float32)
        opt.zero_grad(set_to_none=set_to_none)
        opt.step()
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6)
        assert p.grad.tolist() == [0.0]


def test_step_returns_the_closures_loss():
    p = _param([3.0])
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        p.grad = 2 * p.numpy()  # d(p²)/dp
        return float(p.numpy()[0] ** 2)

    assert opt.step(closure) == 9.0 and p.numpy().tolist() == [pytest.approx(2.4)]


def test_state_dict_has_pytorchs_layout_and_survives_json_for_the_options():
    import json

    a, b = _param([1.0, 2.0]), _param([3.0])
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.01)
    a.grad = np.ones(2, np.float32)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"] and list(sd["state"]) == [0]  # b has no state yet
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]] and sd["param_groups"][1]["lr"] == 0.5
    groups = json.loads(json.dumps(sd["param_groups"]))
    a2, b2 = _param(a.numpy()), _param(b.numpy())
    opt2 = optim.Adam([{"params": [a2]}, {"params": [b2]}])
    opt2.load_state_dict({"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": groups})
    assert opt2.param_groups[1]["lr"] == 0.5 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for o, p in ((opt, a), (opt2, a2)):
        p.grad = np.full(2, -1.0, np.float32)
        o.step()
    assert a.numpy().tobytes() == a2.numpy().tobytes()
    with pytest.raises(ValueError, match="param groups do not match"):
        optim.Adam([a2, b2]).load_state_dict(sd)
    with pytest.raises(ValueError, match="does not fit parameter 0"):
        optim.Adam([{"params": [_param([1.0])]}, {"params": [b2]}]).load_state_dict(sd)


# ------------------------------------------------------------------ schedulers
def _sgd(lr=1.0, groups=1):
    return optim.SGD([{"params": [_param([0.0])], "lr": lr * (i + 1)} for i in range(groups)], lr=lr,
                     momentum=0.9)


@pytest.mark.parametrize("make, lrs", [
    (lambda o: optim.ExponentialLR(o, gamma=0.5), [1.0, 0.5, 0.25, 0.125]),
    (lambda o: optim.StepLR(o, step_size=2, gamma=0.1), [1.0, 1.0, 0.1, 0.1]),
    (lambda o: optim.LambdaLR(o, lambda e: e + 1), [1.0, 2.0, 3.0, 4.0]),
    (lambda o: optim.ConstantLR(o, factor=0.5, total_iters=2), [0.5, 0.5, 1.0, 1.0]),
])
def test_schedules_set_every_group_and_get_last_lr_lists_them(make, lrs):
    opt = _sgd(groups=2)
    sched = make(opt)
    got = [sched.get_last_lr()]
    for _ in range(3):
        sched.step()
        got.append(sched.get_last_lr())
    np.testing.assert_allclose(got, [[lr, 2 * lr] for lr in lrs], rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == got[-1]


def test_scheduler_state_dict_round_trip_continues_identically():
    opt_a, opt_b = _sgd(), _sgd()
    a = optim.OneCycleLR(opt_a, max_lr=1.0, total_steps=20)
    for _ in range(7):
        a.step()
    b = optim.OneCycleLR(opt_b, max_lr=1.0, total_steps=20)
    b.load_state_dict(a.state_dict())
    opt_b.load_state_dict(opt_a.state_dict())
    for _ in range(5):
        a.step()
        b.step()
        assert a.get_last_lr() == b.get_last_lr() and opt_a.param_groups[0]["momentum"] == opt_b.param_groups[0]["momentum"]
    with pytest.raises(ValueError, match="past total_steps"):
        for _ in range(20):
            a.step()


def test_lambda_lr_state_dict_leaves_the_function_out():
    sched = optim.LambdaLR(_sgd(), lambda e: 0.5 ** e)
    assert "lr_lambdas" not in sched.state_dict() and sched.state_dict()["base_lrs"] == [1.0]


def test_reduce_lr_on_plateau_patience_cooldown_and_floor():
    opt = _sgd(lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.3)
    lrs = []
    for loss in (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1):
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]
    with pytest.raises(ValueError, match="factor"):
        optim.ReduceLROnPlateau(opt, factor=1.0)


def test_one_cycle_needs_momentum_to_cycle():
    p = _param([1.0])

    class Plain(optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

    with pytest.raises(ValueError, match="cycle_momentum"):
        optim.OneCycleLR(Plain([p], 0.1), max_lr=1.0, total_steps=10)
    adam = optim.Adam([p])
    optim.OneCycleLR(adam, max_lr=1.0, total_steps=10)
    assert adam.param_groups[0]["betas"] == (0.95, 0.999)  # Adam's beta1 is its momentum

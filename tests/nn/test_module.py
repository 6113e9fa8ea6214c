"""Module bookkeeping, Sequential errors, state_dict, criteria edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_parameters_registered_in_order_with_dotted_names():
    net = _mlp()
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert net.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3
    assert [p.shape for p in net.params()] == [g.shape for g in net.grads()]


def test_params_grads_are_live_arrays_for_the_exercise_update():
    net = _mlp()
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    before = [p.copy() for p in net.params()]
    net.fprop(x)
    net.bprop(np.ones((5, 3), np.float32))
    for theta, dtheta in zip(net.params(), net.grads()):
        theta -= 0.1 * dtheta
    for b, p, g in zip(before, net.parameters(), net.grads()):
        np.testing.assert_allclose(p.numpy(), b - 0.1 * g, rtol=1e-6)


def test_state_dict_round_trip_and_one_error_listing_every_problem():
    a, b = _mlp(), _mlp()
    b.load_state_dict(a.state_dict())
    for pa, pb in zip(a.params(), b.params()):
        assert (pa == pb).all() and pa is not pb
    bad = dict(a.state_dict())
    bad.pop("0.bias")
    bad["extra"] = np.zeros(2)
    bad["2.weight"] = np.zeros((3, 8))
    with pytest.raises(nn.StateDictError) as err:
        b.load_state_dict(bad)
    message = str(err.value)
    assert "missing 0.bias" in message and "unexpected extra" in message and "2.weight" in message
    assert "(3, 8)" in message and "(8, 3)" in message


def test_sequential_error_names_the_child_and_the_shapes():
    net = _mlp()
    with pytest.raises(ValueError, match=r"Sequential\[0\] \(Linear\) with input shape \(5, 6\).*6 features, expected 4"):
        net.fprop(np.zeros((5, 6), np.float32))
    with pytest.raises(ValueError, match=r"Sequential\[0\] \(Linear\)"):
        net(cr.zeros(5, 6))


def test_train_eval_propagates():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    net.eval()
    assert not net.training and not net[1].training
    net.train()
    assert net[1].training


def test_criteria_fprop_bprop_match_autodiff_and_pass_check_module():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    binary = rng.integers(0, 2, size=(6, 4)).astype(np.float64)
    real = rng.normal(size=(6, 4))
    cases = [
        (nn.CrossEntropyLoss(), z, labels),
        (nn.CrossEntropyLoss(reduction="sum"), z, labels),
        (nn.NLLLoss(), z - np.log(np.exp(z).sum(1, keepdims=True)), labels),
        (nn.BCEWithLogitsLoss(), z, binary),
        (nn.MSELoss(), z, real),
        (nn.MSELoss(reduction="sum"), z, real),
    ]
    for crit, inp, target in cases:
        assert cr.check_module(crit, inp, target)
        loss = crit.fprop(inp.astype(np.float32), target)
        grad = crit.bprop()
        zt = cr.tensor(inp.astype(np.float32), requires_grad=True)
        lt = crit(zt, target)
        lt.backward()
        assert lt.dtype == np.float32 and grad.dtype == np.float32
        assert lt.item() == pytest.approx(loss, rel=1e-6)
        np.testing.assert_allclose(zt.grad, grad, rtol=1e-5, atol=1e-7)


def test_cross_entropy_matches_the_definition():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    t = np.array([2, 0])
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    expected = -np.log(p[[0, 1], t]).mean()
    assert nn.CrossEntropyLoss().fprop(z, t) == pytest.approx(expected, rel=1e-6)


def test_bce_is_softplus_of_1_minus_2y_times_z():
    z = np.array([[2.0], [-1.0]], np.float32)
    y = np.array([[1.0], [0.0]], np.float32)
    expected = np.mean(np.log1p(np.exp((1 - 2 * y) * z)))
    assert nn.BCEWithLogitsLoss().fprop(z, y) == pytest.approx(expected, rel=1e-6)


def test_losses_stay_finite_at_logits_of_1e4():
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    ce = nn.CrossEntropyLoss()
    assert ce.fprop(z, np.array([0, 1])) == 0.0
    assert ce.fprop(z, np.array([1, 0])) == pytest.approx(2e4)
    assert np.isfinite(ce.bprop()).all()
    bce = nn.BCEWithLogitsLoss()
    assert bce.fprop(z, np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)) == pytest.approx(1e4)
    assert np.isfinite(bce.bprop()).all()


def test_criteria_reject_bad_targets_with_one_line_messages():
    z = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match="label 5 is out of range for 2 classes"):
        nn.CrossEntropyLoss().fprop(z, np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="label -1"):
        nn.NLLLoss().fprop(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="integer class labels"):
        nn.CrossEntropyLoss().fprop(z, np.array([0.5, 1, 0]))
    with pytest.raises(ValueError, match=r"target shape \(3, 1\)"):
        nn.CrossEntropyLoss().fprop(z, np.zeros((3, 1), int))
    # (n, 1) against (n,) must raise, not broadcast to (n, n)
    with pytest.raises(ValueError, match=r"input shape \(3, 1\) and target shape \(3,\) differ"):
        nn.MSELoss().fprop(np.zeros((3, 1), np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="differ"):
        nn.BCEWithLogitsLoss()(cr.zeros(3, 1), np.zeros(3))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\], got values in \[0.5, 2.0\]"):
        nn.BCEWithLogitsLoss().fprop(np.zeros((2, 1), np.float32), np.array([[0.5], [2.0]]))
    z[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"non-finite value \(nan\) at index \(1, 0\)"):
        nn.CrossEntropyLoss().fprop(z, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    for err in (ValueError,):
        try:
            nn.CrossEntropyLoss().fprop(np.zeros((2, 2), np.float32), np.array([0, 9]))
        except err as e:
            assert "\n" not in str(e)


def test_criterion_bprop_takes_per_example_weights_as_the_exercise_writes():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 1, 0])
    for crit, target in ((nn.CrossEntropyLoss(), t), (nn.MSELoss(), rng.normal(size=(5, 3)).astype(np.float32)),
                         (nn.BCEWithLogitsLoss(), (rng.random((5, 3)) > 0.5).astype(np.float32))):
        crit.fprop(z, target)
        mean_grad = crit.bprop()
        np.testing.assert_allclose(crit.bprop(np.full(5, 1 / 5, np.float32)) * (1 if crit.reduction == "mean" else 1),
                                   mean_grad * (z.size // 5 if not isinstance(crit, nn.CrossEntropyLoss) else 1),
                                   rtol=1e-5)
        weights = np.array([1, 0, 0, 0, 0], np.float32)  # only the first example counts
        g = crit.bprop(weights)
        assert (g[1:] == 0).all() and (g[0] != 0).any()
        with pytest.raises(ValueError, match=r"per-example weights of shape \(5,\)"):
            crit.bprop(np.ones(3))


def test_integer_inputs_where_floats_are_needed_raise():
    with pytest.raises(ValueError, match=r"Linear\(4, 8\): input must be floating point, got dtype int64"):
        _mlp().fprop(np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match="input must be floating point"):
        _mlp()(cr.tensor(np.zeros((2, 4), np.int64)))
    with pytest.raises(ValueError, match="CrossEntropyLoss: input must be floating point"):
        nn.CrossEntropyLoss().fprop(np.zeros((2, 3), np.int64), np.array([0, 1]))


def test_a_layer_used_twice_is_one_set_of_parameters_with_right_gradients():
    """Lua Torch needs clones that share weights for this; here the same layer may simply repeat."""
    cr.manual_seed(0)
    lin = nn.Linear(3, 3)
    net = nn.Sequential(lin, nn.Tanh(), lin)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"] and net.num_parameters() == 12
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert nn.check_module(net.double(), x)  # fprop/bprop: each position gets its own context back
    net = net.float()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    before = lin.weight.data.copy()
    opt.zero_grad()
    nn.CrossEntropyLoss()(net(cr.tensor(x.astype(np.float32))), np.array([0, 1, 2, 0])).backward()
    opt.step()
    np.testing.assert_allclose(lin.weight.data, before - 0.1 * lin.weight.grad, rtol=1e-6)  # one update, not two

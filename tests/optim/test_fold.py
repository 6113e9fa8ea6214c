"""The weight update folded into the gradient's GEMM (optim/fold.py): the same weights as the
unfused step to float32 rounding, bitwise today's path without a BLAS to fold with, and off by
itself wherever something reads the gradient."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_dataset
from chainrule.optim import fold
from chainrule.optim.fold import FoldedUpdate, blas_functions
from chainrule.train import TrainConfig, Trainer

if blas_functions(np.dtype(np.float32)) is None:  # NumPy built without its bundled OpenBLAS
    pytest.skip("NumPy's BLAS offers no CBLAS GEMM to fold with", allow_module_level=True)

CASES = {"sgd": dict(), "sgd+wd": dict(weight_decay=1e-2), "momentum": dict(momentum=0.9),
         "momentum+wd": dict(momentum=0.9, weight_decay=1e-2)}


@pytest.fixture
def no_blas(monkeypatch):
    """No BLAS to fold with (as where NumPy was built without its bundled OpenBLAS)."""
    blas_functions.cache_clear()
    monkeypatch.setattr(fold, "_numpy_openblas", lambda: None)
    yield
    blas_functions.cache_clear()


@pytest.fixture(autouse=True)
def fresh_blas_lookup():
    blas_functions.cache_clear()
    yield
    blas_functions.cache_clear()


def _net(dtype=np.float32, sizes=(64, 32, 10)):
    rng = np.random.default_rng(0)
    net = cr.nn.Sequential(cr.nn.Linear(sizes[0], sizes[1]), cr.nn.Tanh(), cr.nn.Linear(sizes[1], sizes[2]))
    for p in net.parameters():
        p.data = (rng.standard_normal(p.shape) * 0.2).astype(dtype)
    return net


def _batches(source, steps, batch=16, dtype=np.float32):
    rng = np.random.default_rng(1)
    if source == "digits":
        data = load_dataset("digits")
        x, y = data.x_train.astype(dtype), data.y_train
    else:
        x, y = rng.standard_normal((400, 64)).astype(dtype), rng.integers(0, 10, 400)
    for _ in range(steps):
        idx = rng.integers(0, len(y), batch)
        yield x[idx], y[idx]


def _train(fold, options, source="digits", steps=30, dtype=np.float32, read_grad=False):
    net = _net(dtype)
    opt = cr.optim.SGD(net.parameters(), lr=0.05, **options)
    criterion = cr.nn.CrossEntropyLoss()
    for x, y in _batches(source, steps, dtype=dtype):
        opt.zero_grad(fold=fold)
        if read_grad:
            [p.grad for p in net.parameters()]  # reading the gradient takes the sink back
        criterion.fprop(net.fprop(x), y)
        net.bprop(criterion.bprop(), input_grad=False)
        opt.step()
    return net, opt


@pytest.mark.parametrize("source", ["digits", "random"])
@pytest.mark.parametrize("case", list(CASES))
def test_folded_weights_equal_the_unfused_steps(case, source):
    plain, _ = _train(False, CASES[case], source)
    folded, opt = _train(True, CASES[case], source)
    weights = [m.weight for m in folded if isinstance(m, cr.nn.Linear)]
    assert all(w.grad_folded for w in weights)  # the weights really were folded, the biases were not
    assert not any(m.bias.grad_folded for m in folded if isinstance(m, cr.nn.Linear))
    for a, b in zip(plain.parameters(), folded.parameters()):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(b.data, a.data, rtol=1e-5, atol=2e-6)
    if "momentum" in case:
        for s_plain, s_folded in zip(_train(False, CASES[case], source)[1].state, opt.state):
            np.testing.assert_allclose(s_folded["momentum_buffer"], s_plain["momentum_buffer"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_float64_folds_with_dgemm(case):
    plain, _ = _train(False, CASES[case], "random", dtype=np.float64)
    folded, _ = _train(True, CASES[case], "random", dtype=np.float64)
    assert folded[0].weight.grad_folded and folded[0].weight.dtype == np.float64
    for a, b in zip(plain.parameters(), folded.parameters()):
        np.testing.assert_allclose(b.data, a.data, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", list(CASES))
def test_without_a_blas_nothing_folds_and_the_steps_are_bitwise_todays(case, no_blas):
    plain, _ = _train(False, CASES[case])
    unfolded, _ = _train(True, CASES[case])
    assert not any(p.grad_folded for p in unfolded.parameters())
    for a, b in zip(plain.parameters(), unfolded.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_update_happens_in_place():
    net = _net()
    opt = cr.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    arrays = [p.data for p in net.parameters()]
    before = [a.copy() for a in arrays]
    criterion = cr.nn.CrossEntropyLoss()
    buffers = None
    for x, y in _batches("random", 3):
        opt.zero_grad(fold=True)
        criterion.fprop(net.fprop(x), y)
        net.bprop(criterion.bprop(), input_grad=False)
        opt.step()
        if buffers is None:
            buffers = [s["momentum_buffer"] for s in opt.state]
    assert all(p.data is a for p, a in zip(net.parameters(), arrays))
    assert all(s["momentum_buffer"] is b for s, b in zip(opt.state, buffers))
    assert all(not np.array_equal(a, b) for a, b in zip(arrays, before))


def test_reading_grad_before_backward_turns_the_fold_off_bitwise():
    plain, _ = _train(False, CASES["momentum+wd"])
    read, _ = _train(True, CASES["momentum+wd"], read_grad=True)
    assert not any(p.grad_folded for p in read.parameters())
    for a, b in zip(plain.parameters(), read.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_reading_a_folded_gradient_raises():
    net, _ = _train(True, CASES["sgd"], steps=2)
    w = net[0].weight
    with pytest.raises(RuntimeError, match="folded into the optimizer's update"):
        w.grad
    with pytest.raises(RuntimeError, match="folded"):
        w.current_grad()
    with pytest.raises(RuntimeError, match="folded"):
        cr.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    assert net[0].bias.grad is not None  # the bias took the ordinary path
    w.zero_grad()
    assert w.current_grad() is None and not w.grad_folded


def test_a_parameter_used_twice_in_one_step_raises():
    layer = cr.nn.Linear(4, 4)
    net = cr.nn.Sequential(layer, cr.nn.Tanh(), layer)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    opt.zero_grad(fold=True)
    net.fprop(np.ones((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="folded"):
        net.bprop(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("make", [
    lambda ps: cr.optim.Adam(ps, lr=0.01),
    lambda ps: cr.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: cr.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1),
])
def test_updates_that_need_the_gradient_take_the_ordinary_path(make):
    results = []
    for fold in (False, True):
        net = _net()
        opt = make(net.parameters())
        criterion = cr.nn.CrossEntropyLoss()
        for x, y in _batches("random", 5):
            opt.zero_grad(fold=fold)
            criterion.fprop(net.fprop(x), y)
            net.bprop(criterion.bprop(), input_grad=False)
            opt.step()
        assert not any(p.grad_folded for p in net.parameters())
        results.append([p.data for p in net.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_the_autodiff_path_is_unchanged():
    results = []
    for fold in (False, True):
        net = _net()
        opt = cr.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        for x, y in _batches("random", 5):
            opt.zero_grad(fold=fold)
            cr.nn.functional.cross_entropy(net(cr.tensor(x)), y).backward()
            opt.step()
        results.append([p.data for p in net.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_backward_that_only_knows_buffers_gets_the_gradient_array():
    w = cr.nn.Parameter(np.ones((2, 2), np.float32))
    w.grad = buffer = np.full((2, 2), 5.0, np.float32)
    w.zero_grad()
    sink = FoldedUpdate(w, {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0}, {})
    w.lend_update(sink)
    ctx = cr.autograd.Context((True, True))
    ctx.grad_buffers = cr.autograd.engine.lend_grad_buffers([None, w], sinks=True)
    assert ctx.grad_buffers[1] is sink and ctx.grad_buffer(1) is buffer


# ------------------------------------------------------------------ the Trainer arms it
def _fit(**options):
    data = load_dataset("digits")
    cr.manual_seed(0)
    model = cr.Classifier.from_spec("32tanh", data.num_features, data.classes)
    config = TrainConfig(epochs=2, lr=0.05, batch_size=32, val_split=0.2, seed=0, **options)
    Trainer(model, data, config).fit()
    return model.net.params()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_the_trainer_folds_and_matches_the_unfused_run(optimizer, monkeypatch):
    folded = _fit(optimizer=optimizer)
    monkeypatch.setattr(cr.optim.SGD, "can_fold", lambda self, group: False)
    plain = _fit(optimizer=optimizer)
    assert any(not np.array_equal(a, b) for a, b in zip(folded, plain))  # it did fold: rounding differs
    for a, b in zip(folded, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("options", [dict(clip_grad=100.0), dict(diagnostics=True)], ids=["clip_grad", "diagnostics"])
def test_clipping_and_diagnostics_keep_the_fold_off(options, monkeypatch):
    present = _fit(optimizer="momentum", **options)
    monkeypatch.setattr(cr.optim.SGD, "can_fold", lambda self, group: False)
    hidden = _fit(optimizer="momentum", **options)
    for a, b in zip(present, hidden):
        np.testing.assert_array_equal(a, b)


def test_data_parallel_training_keeps_the_fold_off(monkeypatch):
    from chainrule.distributed import Communicator

    class Mirror(Communicator):
        """Rank 0 of two identical processes: every sum is twice this process's part."""
        rank, size = 0, 2

        def allreduce_sum(self, array):
            array *= 2
            return array

        def bcast(self, array, root=0):
            return array

    armed = []
    original = cr.optim.Optimizer.zero_grad
    def zero_grad(self, set_to_none=True, fold=False):
        armed.append(fold)
        original(self, set_to_none, fold)

    monkeypatch.setattr(cr.optim.Optimizer, "zero_grad", zero_grad)
    data = load_dataset("digits")
    cr.manual_seed(0)
    model = cr.Classifier.from_spec("32tanh", data.num_features, data.classes)
    Trainer(model, data, TrainConfig(epochs=1, lr=0.05, batch_size=32, val_split=0.2, seed=0), comm=Mirror()).fit()
    assert armed and not any(armed)


def test_autograd_grad_leaves_a_folded_step_alone():
    net, _ = _train(True, CASES["sgd"], steps=2)
    w = net[0].weight
    x = cr.tensor(np.ones((1, 64), np.float32))
    (gw,) = cr.autograd.grad(net(x).sum(), [w])
    assert gw.shape == w.shape and w.grad_folded

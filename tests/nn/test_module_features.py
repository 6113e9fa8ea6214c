"""Module features PyTorch users reach for: containers, buffers, apply, freezing, strict loading, to("cpu")."""

from __future__ import annotations

import types
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_parameters_is_a_generator_and_every_consumer_takes_it():
    net = _mlp()
    params = net.parameters()
    assert isinstance(params, types.GeneratorType)
    assert next(iter(params)) is net[0].weight
    assert len(list(net.parameters())) == 4
    for make in (lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: cr.optim.Adam(ps)):
        opt = make(net.parameters())  # a generator, consumed once
        assert len(opt.params) == 4
    from chainrule.train import TrainConfig, make_optimizer

    for kind in ("sgd", "momentum", "nesterov", "adam", "adamw"):
        assert len(make_optimizer(net.parameters(), TrainConfig(optimizer=kind)).params) == 4
    assert cr.check_module(_mlp(), np.random.default_rng(0).normal(size=(2, 4)))
    assert cr.nn.utils.grad_norm(net.parameters()) == 0.0


def test_sequential_from_an_ordered_dict_keeps_names_and_slices_keep_them():
    net = nn.Sequential(OrderedDict([("fc1", nn.Linear(4, 8)), ("act", nn.ReLU()), ("fc2", nn.Linear(8, 2))]))
    assert [n for n, _ in net.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert net.fc2 is net[2] and net[-1] is net.fc2
    head = net[1:]
    assert isinstance(head, nn.Sequential) and list(head.state_dict()) == ["fc2.weight", "fc2.bias"]
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(net.fprop(x), net(cr.tensor(x)).numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="child 'bad' is int"):
        nn.Sequential(OrderedDict(bad=3))


def test_module_dict_registers_by_name_and_behaves_as_a_dict():
    heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
    heads["b"] = nn.Linear(3, 1)
    heads.update([("c", nn.Tanh())])
    assert list(heads) == ["a", "b", "c"] and len(heads) == 3 and "b" in heads
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    popped = heads.pop("a")
    assert isinstance(popped, nn.Linear) and "a" not in heads and not hasattr(heads, "a")
    assert [n for n, _ in heads.named_parameters()] == ["b.weight", "b.bias"]
    assert [k for k, _ in heads.items()] == ["b", "c"] and list(heads.values())[0] is heads["b"]
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []
    with pytest.raises(NotImplementedError, match="ModuleDict has no forward"):
        heads(cr.zeros(1))


def test_add_module_modules_named_modules_children_and_apply():
    net = nn.Module()
    net.add_module("body", _mlp())
    net.add_module("head", nn.Linear(3, 1))
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "body.2", "head"]
    assert len(list(net.modules())) == 6 and [n for n, _ in net.named_children()] == ["body", "head"]
    assert isinstance(net.children(), types.GeneratorType)
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Tanh", "Linear", "Sequential", "Linear", "Module"]  # children first, as PyTorch
    with pytest.raises(KeyError, match="without '.'"):
        net.add_module("a.b", nn.Tanh())
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        net.add_module("training", nn.Tanh())
    with pytest.raises(TypeError, match="is not a Module"):
        net.add_module("x", 3)
    shared = nn.Linear(2, 2)
    twice = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in twice.named_modules()] == ["", "0", "1"]  # a module reached twice is listed once


def test_register_buffer_is_saved_converted_and_never_optimized():
    m = nn.Linear(2, 2)
    m.register_buffer("count", np.zeros((), np.int64))
    m.register_buffer("scale", cr.ones(2))
    m.register_buffer("scratch", cr.zeros(2), persistent=False)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert list(m.state_dict()) == ["weight", "bias", "count", "scale"]
    assert [n for n, _ in m.named_buffers()] == ["count", "scale", "scratch"]
    opt = cr.optim.SGD(m.parameters(), lr=1.0)
    m(cr.ones(1, 2)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(m.scale.numpy(), [1, 1])
    m.scale = np.full(2, 3.0, np.float32)  # assigning to a buffer's name replaces the buffer
    assert m.state_dict()["scale"].tolist() == [3.0, 3.0] and isinstance(m.scale, cr.Tensor)
    m.double()
    assert m.scale.dtype == np.float64 and m.count.dtype == np.int64  # a count stays an integer
    with pytest.raises(TypeError, match="buffer 'bad' must be a Tensor"):
        m.register_buffer("bad", [1, 2])
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", np.zeros(2))


def test_requires_grad_false_freezes_parameters_on_both_paths():
    net = _mlp()
    net[0].requires_grad_(False)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    net(cr.tensor(x)).sum().backward()
    assert net[0].weight.grad is None and net[2].weight.grad is not None
    fresh = _mlp()
    fresh[0].requires_grad_(False)
    fresh.fprop(x)
    fresh.bprop(np.ones((5, 3), np.float32))
    assert fresh[0].weight.grad is None and fresh[0].bias.grad is None and fresh[2].weight.grad is not None
    assert all(p.requires_grad for p in net.requires_grad_().parameters())


def test_load_state_dict_strict_false_returns_missing_and_unexpected_keys():
    a, b = _mlp(), _mlp()
    state = dict(a.state_dict())
    state.pop("2.bias")
    state["extra.weight"] = np.zeros(1)
    result = b.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra.weight"]
    assert result == (["2.bias"], ["extra.weight"])
    np.testing.assert_array_equal(b[0].weight.numpy(), a[0].weight.numpy())
    assert b.load_state_dict(a.state_dict()) == ([], [])
    assert repr(b.load_state_dict(a.state_dict())) == "<All keys matched successfully>"  # PyTorch's repr
    state["0.weight"] = np.zeros((8, 4))  # mis-shaped still raises, as in PyTorch
    with pytest.raises(nn.StateDictError, match=r"0.weight.*transposed"):
        b.load_state_dict(state, strict=False)


def test_to_cpu_is_accepted_and_other_devices_refused_in_one_line():
    net = _mlp()
    assert net.to("cpu") is net and net.cpu() is net and net.to(device="cpu") is net
    assert net.to("cpu", np.float64)[0].weight.dtype == np.float64
    assert net.to(dtype=np.float32)[0].weight.dtype == np.float32
    assert net.to("float64")[0].weight.dtype == np.float64 and net.float()[0].weight.dtype == np.float32
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises(ValueError, match=r"chainrule has no devices, only 'cpu'") as err:
            net.to(device)
        assert "\n" not in str(err.value)
    with pytest.raises(TypeError, match="floating point"):
        net.to(np.int32)


def test_train_and_eval_reach_every_descendant():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert not any(m.training for m in net.eval().modules())
    assert all(m.training for m in net.train().modules())

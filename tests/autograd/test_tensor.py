"""The tape: accumulation, reuse, no_grad, deep graphs, dtypes, custom Functions."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_float_data_defaults_to_float32_and_ints_stay_ints():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(np.zeros(3, np.float64)).dtype == np.float32
    assert cr.tensor([1, 2]).dtype.kind == "i"
    assert cr.tensor([1.0], dtype=np.float64).dtype == np.float64
    t = cr.tensor([[1.0, 2.0]], requires_grad=True)
    assert t.shape == (1, 2) and t.requires_grad and t.grad is None
    assert cr.tensor(3.5).item() == 3.5 and isinstance(t.numpy(), np.ndarray)


def test_python_scalars_and_float64_arrays_never_upcast_float32():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    for out in (t * 0.5, 0.5 * t, t + np.ones(2), np.ones(2) + t, t / np.float64(3), 2 ** t, t - 1):
        assert out.dtype == np.float32
        assert isinstance(out, cr.Tensor)


def test_reused_node_receives_the_sum_of_its_gradients():
    a = cr.tensor(3.0, requires_grad=True)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a.grad = None
    c = a * a * a  # a used three times: d/da a³ = 3a² = 27
    c.backward()
    assert a.grad == pytest.approx(27.0)


def test_backward_twice_accumulates_and_zero_grad_resets():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    first = w.grad.copy()
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * first)
    w.zero_grad()
    loss.backward()
    np.testing.assert_allclose(w.grad, first)


def test_backward_on_non_scalar_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [3.0, 30.0])
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing():
    w = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = w * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert (w * 2).grad_fn is cr.autograd.ops.Mul


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(ValueError, match="floating"):
        cr.tensor([1, 2], requires_grad=True)


class WrongSquare(cr.autograd.Function):
    """x² with a deliberately wrong backward (forgets the factor 2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * x,)


class RightSquare(WrongSquare):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (2 * g * x,)


def test_custom_function_on_the_tape():
    x = cr.tensor([3.0, -1.0], requires_grad=True)
    RightSquare.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, -2.0])
    assert cr.gradcheck(RightSquare.apply, [cr.tensor([0.3, 2.0], requires_grad=True)])


def test_gradcheck_catches_a_wrong_backward_and_names_it():
    x = cr.tensor([0.3, 2.0, -1.5], requires_grad=True)
    with pytest.raises(cr.GradcheckError, match=r"input 0 \[\d\].*analytic.*finite differences"):
        cr.gradcheck(WrongSquare.apply, [x])
    assert cr.gradcheck(WrongSquare.apply, [x], raise_exception=False) is False


def test_gradcheck_refuses_float32_computation():
    with pytest.raises(TypeError, match="float64"):
        cr.gradcheck(lambda a: cr.tensor(a.numpy(), requires_grad=True).sum(), [cr.randn(2, requires_grad=True)])


def test_retain_grad_keeps_intermediate_gradients():
    x = cr.tensor(2.0, requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).backward()
    assert h.grad == pytest.approx(12.0) and x.grad == pytest.approx(36.0)


def test_pytorch_habits_work():
    """What a PyTorch user types first: dim=, transpose(0, 1), ==, argmax, in-place updates under no_grad."""
    x = cr.tensor([[1.0, 5.0], [7.0, 2.0], [0.0, 3.0]], requires_grad=True)
    assert x.transpose(0, 1).shape == (2, 3) and x.permute(1, 0).shape == (2, 3) and x.T.shape == (2, 3)
    assert x.sum(dim=0).tolist() == [8.0, 10.0] and x.mean(dim=1, keepdim=True).shape == (3, 1)
    assert x.softmax(dim=1).shape == (3, 2) and cr.nn.Softmax(dim=1).axis == 1
    assert x.argmax(1).tolist() == [1, 0, 1] and x.argmax(1).dtype == np.int64
    assert (x.argmax(1) == cr.tensor([1, 1, 1])).sum().item() == 2 and (x > 2.5).tolist() == [[False, True],
                                                                                               [True, False],
                                                                                               [False, True]]
    assert {x: 1}[x] == 1  # still hashable, by identity
    assert cr.zeros(2, dtype=np.float64).dtype == np.float64 and cr.randn(2, dtype=np.float64).dtype == np.float64
    assert np.asarray(x).dtype == np.float32 and float(x.sum()) == 18.0 and x.numel() == 6 and x.dim() == 2
    (x * x).sum().backward(retain_graph=True)
    before = x.data.copy()
    with cr.no_grad():
        x -= 0.1 * x.grad  # the hand-written SGD step changes x itself
    np.testing.assert_allclose(x.data, before * 0.8, rtol=1e-6)
    with pytest.raises(RuntimeError, match="in place"):
        x -= 1.0  # on the tape it would corrupt backward
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        cr.nn.functional.cross_entropy(cr.tensor(np.zeros((2, 3), np.float32)), np.array([0, 1]), reduction="avg")


def test_module_list_registers_its_modules_and_clipping_takes_one_parameter():
    blocks = cr.nn.ModuleList([cr.nn.Linear(3, 3), cr.nn.Linear(3, 2)])
    assert len(blocks) == 2 and blocks.num_parameters() == 3 * 3 + 3 + 3 * 2 + 2
    w = blocks[0].weight
    w.grad = np.full(w.shape, 10.0, np.float32)
    assert cr.nn.utils.clip_grad_norm_(w, 1.0).item() == pytest.approx(30.0)
    assert np.linalg.norm(w.grad) == pytest.approx(1.0, rel=1e-5)


def test_pytorch_reshape_names_carry_gradients():
    x = cr.tensor(np.arange(6.0).reshape(2, 3, 1), requires_grad=True)
    assert x.view(3, 2).shape == (3, 2) and x.flatten(1).shape == (2, 3) and x.flatten().shape == (6,)
    assert x.squeeze().shape == (2, 3) and x.squeeze(2).shape == (2, 3) and x.squeeze(0).shape == (2, 3, 1)
    assert x.squeeze(-1).unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1, 1)
    (x.flatten() * cr.tensor(np.arange(6.0))).sum().backward()
    assert x.grad.reshape(-1).tolist() == list(range(6))
    t = cr.tensor([1.0, 2.0]).requires_grad_()
    assert t.requires_grad
    with pytest.raises(ValueError, match="floating-point"):
        cr.tensor([1, 2]).requires_grad_()


def test_integer_tensors_meeting_floats_give_float32_as_torch_default_dtype():
    """NumPy would give float64 here (int64 * 0.5, int64 / 2); torch gives its default float32."""
    t = cr.tensor(np.arange(3))
    assert (t * 0.5).dtype == np.float32
    assert (0.5 * t).dtype == np.float32
    assert (t / 2).dtype == np.float32
    assert (t * np.float32(0.5)).dtype == np.float32
    assert t.clamp(0.5).dtype == np.float32
    assert (t + 1).dtype == np.int64  # integers stay integers
    assert (cr.tensor(np.ones(3), dtype=np.float64) * 0.5).dtype == np.float64  # asked for, kept


def test_every_name_tensor_py_lists_stays_importable_from_it():
    import importlib

    from chainrule.autograd import factories

    # importlib: the attribute chainrule.autograd.tensor is the function cr.tensor (as torch.tensor)
    tensor_module = importlib.import_module("chainrule.autograd.tensor")

    for name in tensor_module.__all__:
        assert getattr(tensor_module, name) is not None, name
    assert tensor_module.arange is factories.arange and tensor_module.zeros_like is factories.zeros_like
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        tensor_module.nonexistent  # noqa: B018

"""The Tensor methods and top-level functions a PyTorch user types first, and their edge cases.

(The same names are checked against torch itself, on the same numbers, in tests/parity/test_tensor.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_max_over_a_dim_returns_values_and_indices_so_unpacking_gives_predictions():
    """``_, pred = out.max(1)`` is PyTorch's accuracy idiom: it must give the indices, not unpack rows."""
    out = cr.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.0, 0.6, 0.4]])
    _, pred = out.max(1)
    assert pred.tolist() == [1, 0, 2, 1] and pred.dtype == np.int64
    values, indices = out.max(dim=1, keepdim=True)
    assert values.shape == (4, 1) and indices.shape == (4, 1)
    result = out.min(0)
    assert result.values.tolist() == pytest.approx([0.0, 0.1, 0.0]) and result.indices.tolist() == [3, 1, 0]
    assert out.max().shape == () and out.max().item() == pytest.approx(0.9)
    # NumPy's axis= keeps NumPy's meaning: the values only
    assert out.max(axis=1).shape == (4,) and out.min(axis=0, keepdims=True).shape == (1, 3)
    values, indices = cr.max(out, 1)
    assert indices.tolist() == [1, 0, 2, 1]


def test_max_and_min_refuse_ambiguous_arguments_and_route_gradients_as_pytorch():
    x = cr.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    with pytest.raises(TypeError, match="not both"):
        x.max(1, axis=1)
    with pytest.raises(TypeError, match="dim must be an int"):
        x.max((0, 1))
    x.max(1).values.sum().backward()  # over a dim: all to the index returned (the first)
    assert x.grad.tolist() == [[0.0, 1.0, 0.0]]
    x.grad = None
    x.max().backward()  # over everything: ties share
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([1.0, 5.0], requires_grad=True)
    cr.max(a, b).sum().backward()  # torch.max(a, b) is maximum; a tie splits the gradient
    assert a.grad.tolist() == [0.5, 0.0] and b.grad.tolist() == [0.5, 1.0]
    assert cr.minimum(cr.tensor([1, 7]), cr.tensor([3, 2])).tolist() == [1, 2]  # integers stay integers


def test_size_is_numpys_count_and_pytorchs_shape():
    t = cr.zeros(2, 3)
    assert t.size == 6 and t.size() == (2, 3) and t.size(-1) == 3 and t.numel() == 6
    assert t.t().shape == (3, 2) and cr.zeros(4).t().shape == (4,)
    with pytest.raises(ValueError, match="at most 2 dims"):
        cr.zeros(1, 2, 3).t()


def test_clamp_passes_the_gradient_inside_the_range_bounds_included():
    x = cr.tensor([-2.0, 0.0, 0.5, 1.0, 3.0], requires_grad=True)
    y = x.clamp(0.0, 1.0)
    assert y.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0] and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert cr.tensor([0.0, 5.0]).clamp(min=3, max=1).tolist() == [1.0, 1.0]  # min > max: all max, as torch
    with pytest.raises(ValueError, match="min or max"):
        x.clamp()


def test_prod_and_norm_gradients_are_exact_at_zero():
    x = cr.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0]], requires_grad=True, dtype=np.float64)
    assert cr.gradcheck(lambda t: t.prod(1), [x]) and cr.gradcheck(lambda t: t.prod(), [x])
    x.prod(1).sum().backward()
    assert x.grad.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]
    z = cr.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]  # 0, not NaN, as PyTorch
    with pytest.raises(TypeError, match="prod: dim"):
        x.prod((0, 1))


def test_var_and_std_are_unbiased_unless_told():
    x = cr.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert x.var().item() == pytest.approx(5 / 3) and x.var(unbiased=False).item() == pytest.approx(1.25)
    assert x.var(1, correction=0).tolist() == pytest.approx([1.25]) and x.std(dim=1, keepdim=True).shape == (1, 1)
    assert x.var(axis=1).tolist() == pytest.approx([5 / 3])  # axis= names the dim; still PyTorch's N − 1
    assert x.var(False).item() == pytest.approx(1.25)  # PyTorch's older var(unbiased)
    with pytest.raises(TypeError, match="not both"):
        x.var(unbiased=True, correction=0)


def test_dtype_conversions_return_tensors_and_keep_gradients_in_the_source_dtype():
    x = cr.tensor([1.5, -2.0], requires_grad=True)
    d = x.double()
    assert d.dtype == np.float64 and d.requires_grad and x.float() is x and x.to(cr.float32) is x
    (d * d).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, -4.0]
    n = x.long()
    assert n.dtype == np.int64 and n.tolist() == [1, -2] and not n.requires_grad
    assert x.to("cpu") is x and x.to(cr.zeros(1, dtype=np.float64)).dtype == np.float64
    assert x.to(dtype="float16").dtype == np.float16 and cr.tensor([1, 0]).bool().tolist() == [True, False]
    assert float(cr.tensor([2.5])) == 2.5 and cr.tensor(2.5).item() == 2.5  # the builtin still gives a number
    with pytest.raises(ValueError, match="CPU only"):
        x.to("cuda")
    c = x.clone()
    assert c.data is not x.data and c.grad_fn is cr.autograd.ops.Cast
    assert x.detach().data is x.data and not x.detach().requires_grad


def test_in_place_methods_change_the_tensor_and_are_refused_on_the_tape():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: w.zero_(), lambda: w.fill_(3), lambda: w.add_(1), lambda: w.mul_(2),
                   lambda: w.copy_(np.zeros(2))):
        with pytest.raises(RuntimeError, match="in place"):
            change()
    with cr.no_grad():
        assert w.add_(cr.tensor([1.0, 1.0]), alpha=-0.5) is w
        assert w.tolist() == [0.5, 1.5]
        assert w.mul_(2).tolist() == [1.0, 3.0] and w.sub_(1).tolist() == [0.0, 2.0]
        assert w.fill_(7).tolist() == [7.0, 7.0] and w.zero_().tolist() == [0.0, 0.0]
        assert w.copy_(np.array([4, 5])).tolist() == [4.0, 5.0] and w.dtype == np.float32
    t = cr.zeros(3)
    t.copy_(cr.tensor([1.0]))  # broadcast
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_register_hook_sees_the_whole_gradient_once_and_may_replace_it():
    seen = []
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: seen.append(g.copy()))
    (x * 3 + x * x).sum().backward()  # x used twice: the hook sees the sum, once
    assert len(seen) == 1 and seen[0].tolist() == [5.0, 7.0] and x.grad.tolist() == [5.0, 7.0]
    handle.remove()
    x.grad = None
    h = x * 2
    h.register_hook(lambda g: g * 0)  # a non-leaf's hook replaces what flows on
    (h * h + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and len(seen) == 1
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).register_hook(print)
    y = cr.tensor([1.0], requires_grad=True)
    y.register_hook(lambda g: np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        (y * 2).sum().backward()


def test_register_hook_on_a_leaf_after_zero_grad_and_on_the_root():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.zero_grad()  # backward would write into .grad directly: a hooked leaf must still be hooked
    w.register_hook(lambda g: g + 1)
    (w * w).sum().backward()
    assert w.grad.tolist() == [3.0, 5.0]
    out = (w * 1.0).sum()
    out.register_hook(lambda g: g * 10)
    w.grad = None
    out.backward()
    assert w.grad.tolist() == [11.0, 11.0]


def test_set_grad_enabled_and_inference_mode():
    w = cr.tensor([1.0], requires_grad=True)
    cr.set_grad_enabled(False)
    try:
        assert not (w * 2).requires_grad
    finally:
        cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
        with cr.set_grad_enabled(True):
            assert (w * 2).requires_grad
    assert cr.is_grad_enabled()

    @cr.set_grad_enabled(False)
    def predict(t):
        return t * 2

    assert cr.is_grad_enabled() and not predict(w).requires_grad and cr.is_grad_enabled()

    @cr.inference_mode
    def bare(t):
        return t * 2

    @cr.no_grad()
    def called(t):
        return t * 2

    assert not bare(w).requires_grad and not called(w).requires_grad
    with cr.inference_mode():
        assert not cr.is_grad_enabled()
    with cr.inference_mode(False):
        assert cr.is_grad_enabled()
    with pytest.raises(TypeError, match="True or False"):
        cr.set_grad_enabled("no")


def test_creation_functions_follow_pytorchs_dtypes_and_chainrules_seed():
    assert cr.arange(3).dtype == np.int64 and cr.arange(0, 1, 0.5).dtype == np.float32
    assert cr.arange(1, 4).tolist() == [1, 2, 3] and cr.arange(1.0, 2.0, 0.5).tolist() == [1.0, 1.5]
    assert cr.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0] and cr.linspace(0, 1, 3).dtype == np.float32
    assert cr.full((2,), 0.5).dtype == np.float32 and cr.full(2, 7).dtype == np.int64 and cr.full((1,), True).dtype == bool
    assert cr.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]] and cr.eye(2).dtype == np.float32
    x = cr.tensor([[1, 2]], dtype=cr.float64)
    assert cr.zeros_like(x).dtype == np.float64 and cr.ones_like(x, dtype=cr.int64).tolist() == [[1, 1]]
    assert cr.full_like(x, 3).tolist() == [[3.0, 3.0]] and cr.zeros(2, dtype=cr.long).dtype == np.int64
    cr.manual_seed(3)
    a, i = cr.rand(2, 3), cr.randint(10, (4,))
    cr.manual_seed(3)
    assert (cr.rand((2, 3)).numpy() == a.numpy()).all() and (cr.randint(0, 10, (4,)).numpy() == i.numpy()).all()
    assert a.dtype == np.float32 and i.dtype == np.int64 and 0 <= a.numpy().min() and a.numpy().max() < 1
    with pytest.raises(TypeError, match="randint"):
        cr.randint(5)
    array = np.zeros(2)
    t = cr.from_numpy(array)
    array[1] = 4.0
    assert t.tolist() == [0.0, 4.0] and t.dtype == np.float64  # shares memory, keeps the dtype
    with pytest.raises(TypeError, match="NumPy array"):
        cr.from_numpy([1.0])


def test_top_level_functions_are_the_methods():
    x = cr.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    assert cr.sum(x, 1).tolist() == [-1.0, 3.5] and cr.mean(x, dim=0, keepdim=True).shape == (1, 2)
    assert cr.argmax(x, 1).tolist() == [0, 0] and cr.argmin(x, dim=1, keepdim=True).tolist() == [[1], [1]]
    assert cr.matmul(x, x).shape == (2, 2) and cr.exp(x).shape == (2, 2) and cr.max(x).item() == 3.0
    assert cr.where(x > 0, x, 0.0).tolist() == [[1.0, 0.0], [3.0, 0.5]]
    assert [i.tolist() for i in cr.where(x > 0.7)] == [[0, 1], [0, 0]]
    assert cr.where(np.array([True, False]), 1.0, 0.0).dtype == np.float32
    with pytest.raises(TypeError, match="boolean"):
        cr.where(np.array([1, 0]), x, x)
    assert cr.float32 is np.float32 and cr.float is np.float32 and cr.long is np.int64


def test_tensor_copies_its_data_as_torch_tensor_does():
    """An in-place change to the tensor must not reach the caller's array (nor the reverse)."""
    array = np.ones(3, np.float32)
    t = cr.tensor(array)
    with cr.no_grad():
        t.mul_(5)
    array[0] = 9
    assert array.tolist() == [9.0, 1.0, 1.0] and t.tolist() == [5.0, 5.0, 5.0]
    u = cr.tensor(t)
    u.zero_()
    assert t.tolist() == [5.0, 5.0, 5.0]


def test_every_exported_name_exists_and_nn_functional_star_import_keeps_pythons_builtins():
    assert len(set(cr.__all__)) == len(cr.__all__) and all(hasattr(cr, name) for name in cr.__all__)
    namespace: dict = {}
    exec("from chainrule.nn.functional import *", namespace)
    assert not {"sum", "max", "min", "pow", "float", "int", "bool"} & set(namespace)
    assert cr.sum is cr.autograd.functional.sum and cr.max(cr.tensor([1.0, 3.0])).item() == 3.0


def test_a_parameter_hook_runs_inside_sequential_after_zero_grad():
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    x = cr.randn(5, 3)
    net(x).sum().backward()
    plain = net[0].weight.grad.copy()
    net.zero_grad()
    net[0].weight.register_hook(lambda g: g * 2)
    net(x).sum().backward()
    np.testing.assert_allclose(net[0].weight.grad, 2 * plain, rtol=1e-6)

"""Parity catalogue, tensors and top-level functions: each idiom as a PyTorch user writes it, run in
torch and in chainrule on the same numbers. Most idioms are one function run with ``m`` = torch and
then ``m`` = chainrule: the very same code must give the same values, gradients, shapes and dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from .conftest import Idiom, run_idiom, text, to_numpy

_rng = np.random.default_rng(11)
_x = _rng.standard_normal((4, 3)).astype(np.float32)
_y = _rng.standard_normal((4, 3)).astype(np.float32)
_tie = _y.copy()
_tie[0] = _x[0]  # a row where the two are equal: maximum/minimum split the gradient there
INPUTS = {
    "x": _x,
    "y": _y,
    "tie": _tie,
    "w": _rng.standard_normal((3, 2)).astype(np.float32),
    "p": (np.abs(_x) + 0.5).astype(np.float32),
    # zeros and ties: prod's gradient at 0, max's choice among equals
    "z": np.array([[1, 0, 2], [0, 0, 3], [2, 2, 1], [4, -1, 4]], np.float32),
    "labels": np.array([1, 0, 2, 2], np.int64),
}


def grads(m, fn, *arrays):
    """fn of tensors (requiring grad) made from arrays; backward of a weighted sum of its
    (first) output, so each element's gradient counts differently. Returns outputs, then grads."""
    tensors = [m.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    outs = tuple(out) if isinstance(out, tuple) else (out,)
    first = outs[0]
    weight = (np.arange(first.numel()) % 5 + 1).reshape(tuple(first.shape)).astype(np.float32)
    (first * m.tensor(weight)).sum().backward()
    return [*outs, *[t.grad for t in tensors]]


def dtype(t):
    """A tensor's dtype as comparable numbers: (kind, bytes), e.g. float32 → ('f', 4)."""
    d = to_numpy(t).dtype
    return np.array([ord(d.kind), d.itemsize])


def raises(error, fn):
    try:
        fn()
    except error:
        return np.array(True)
    return np.array(False)


def same(name, fn, **tolerance):
    """One idiom, written once, for both libraries."""
    return Idiom(name, fn, fn, **tolerance)


def accuracy(m, x, labels, **_):
    logits = m.tensor(x)
    _, pred = logits.max(1)  # the idiom that used to unpack rows silently
    return pred, (pred == m.tensor(labels)).sum().item()


def in_place_under_no_grad(m, x, y, **_):
    w = m.tensor(x, requires_grad=True)
    with m.no_grad():
        w.add_(m.tensor(y), alpha=-0.1)
        after_add = w.detach().clone()
        w.mul_(2)
        after_mul = w.detach().clone()
        w.copy_(m.tensor(y))
        after_copy = w.detach().clone()
        w.fill_(1.5)
        after_fill = w.detach().clone()
        w.zero_()
    return after_add, after_mul, after_copy, after_fill, w


def in_place_on_the_tape(m, x, **_):
    w = m.tensor(x, requires_grad=True)
    return [raises(RuntimeError, lambda: w.add_(1)), raises(RuntimeError, lambda: w.zero_()),
            raises(RuntimeError, lambda: w.mul_(2))]


def hook_on_intermediate(m, x, **_):
    xt = m.tensor(x, requires_grad=True)
    h = xt * 2
    h.register_hook(lambda g: g * 3)  # replaces the gradient flowing on
    (h * h).sum().backward()
    return xt.grad


def hook_on_leaf_used_twice(m, x, **_):
    xt = m.tensor(x, requires_grad=True)
    seen = []
    xt.register_hook(lambda g: seen.append(g * 1))
    handle = xt.register_hook(lambda g: g * 0.5)
    (xt * xt + xt.exp()).sum().backward()
    first = xt.grad * 1
    handle.remove()
    (xt * 3).sum().backward()
    return len(seen), seen[0], first, xt.grad


def clone_detach(m, x, **_):
    xt = m.tensor(x, requires_grad=True)
    c = xt.clone()
    d = xt.detach()
    (c * c * d).sum().backward()
    return c, d.requires_grad, c.requires_grad, xt.grad


def conversions(m, x, **_):
    xt = m.tensor(x, requires_grad=True)
    d = xt.double()
    (d * d).sum().backward()
    as_int = xt.long()
    return [d, dtype(d), d.requires_grad, xt.grad, dtype(xt.grad), as_int, dtype(as_int), as_int.requires_grad,
            dtype(xt.float()), dtype(xt.to(m.float64)), dtype(xt.int()), dtype(m.tensor([1, 0]).bool())]


def scalars(m, x, **_):
    t = m.tensor(x)
    one = t[1:2, 2:3]
    return float(one), one.item(), int(m.tensor([7])), t.sum().item()


def from_numpy_shares(m, x, **_):
    array = x.astype(np.float64)
    t = m.from_numpy(array)
    array[0, 0] = 42.0  # a change to the array shows in the tensor
    return t, dtype(t)


def creation(m, **_):
    made = [m.arange(5), m.arange(1, 4), m.arange(0, 1, 0.25), m.arange(2.0, 4.0), m.linspace(-1, 1, 5),
            m.full((2, 3), 0.5), m.full((2,), 7), m.eye(3), m.eye(2, 3), m.zeros(2, 3), m.ones(2, dtype=m.float64)]
    return [[t, dtype(t)] for t in made]


def likes(m, x, **_):
    t = m.tensor(x)
    made = [m.zeros_like(t), m.ones_like(t), m.zeros_like(m.tensor([1, 2])), m.ones_like(t, dtype=m.float64)]
    return [[u, dtype(u)] for u in made]


def random_draws(m, **_):
    m.manual_seed(0)
    u, k, k2 = m.rand(3, 4), m.randint(0, 10, (50,)), m.randint(3, (2, 2))
    return [np.array(u.shape), dtype(u), (u >= 0).all().item() and (u < 1).all().item(),
            np.array(k.shape), dtype(k), (k >= 0).all().item() and (k < 10).all().item(), np.array(k2.shape)]


def grad_modes(m, x, **_):
    xt = m.tensor(x, requires_grad=True)
    with m.set_grad_enabled(False):
        off = (xt * 2).requires_grad
    with m.set_grad_enabled(True):
        on = (xt * 2).requires_grad
    m.set_grad_enabled(False)
    try:
        called_off = (xt * 2).requires_grad
    finally:
        m.set_grad_enabled(True)
    with m.inference_mode():
        inference = (xt * 2).requires_grad
    return off, on, called_off, inference, m.is_grad_enabled()


def sizes(m, x, **_):
    t = m.tensor(x)
    return tuple(t.size()), t.size(0), t.size(-1), t.shape, t.numel(), t.dim()


def more_in_place(m, p, **_):
    w = m.tensor(p)
    w.sub_(m.tensor(p) * 0.5, alpha=2)
    after_sub = w.clone()
    w.add_(3).div_(m.tensor(p))
    return after_sub, w


def grad_mode_basics(m, x, **_):
    xt = m.tensor(x, requires_grad=True)
    with m.no_grad():
        inside = m.is_grad_enabled()
        with m.enable_grad():
            again = (xt * 2).requires_grad
        off = (xt * 2).requires_grad
    return inside, again, off, m.is_grad_enabled(), xt.numpy() if m.__name__ == "chainrule" else xt.detach().numpy()


def where_indices(m, z, **_):
    return m.where(m.tensor(z) > 1)


def quickstart_accuracy(m, x, labels, **_):
    """PyTorch's quickstart test loop: ``(pred.argmax(1) == y).type(torch.float).sum().item()``."""
    pred, y = m.tensor(x), m.tensor(labels)
    hits = (pred.argmax(1) == y).type(m.float)
    return [hits.sum().item(), dtype(hits), dtype(m.tensor(labels).type(m.float64))]


def formatted(m, x, **_):
    """Printing a loss as PyTorch users do: ``f"{loss:>7f}"`` on a 0-d tensor formats its number."""
    loss = (m.tensor(x) ** 2).mean()
    return text([f"{loss:>7f}", f"{loss:.3e}", f"{m.tensor(3)}", "{:.2f}".format(m.tensor(x).sum()),
                 f"{m.tensor(x)[0, 0]:+.4f}"])


def truth_values(m, x, **_):
    """``if (t > 0).all():`` and ``while loss > tol:``; a tensor of several elements has no truth value."""
    t = m.tensor(x)
    flags = [bool((t > -10).all()), bool(t[0, 0] > 0), bool(t.sum() > 100), "yes" if (t < 10).all() else "no"]
    return [np.array(flags[:3]), text(flags[3]), raises(RuntimeError, lambda: bool(t > 0))]


def clamp_in_place(m, x, **_):
    w = m.tensor(x, requires_grad=True)
    with m.no_grad():
        w.clamp_(-0.5, 0.5)
        first = w.detach().clone()
        w.mul_(3).clamp_(min=-1.0)
        second = w.detach().clone()
        w.clamp_(max=0.2)
    return [first, second, w, raises(RuntimeError, lambda: m.tensor(x, requires_grad=True).clamp_(0, 1))]


def autograd_grad(m, x, y, **_):
    """``torch.autograd.grad``: gradients returned as tensors, ``.grad`` left alone (here one
    from an earlier backward), a non-leaf input, grad_outputs, an unused input refused or None."""
    a, b = m.tensor(x, requires_grad=True), m.tensor(y, requires_grad=True)
    (a * b).sum().backward()
    before = a.grad.clone() if hasattr(a.grad, "clone") else a.grad.copy()
    h = a.tanh()
    out = (h * b).sum(1)
    ga, gh = m.autograd.grad(out, (a, h), grad_outputs=m.tensor(np.arange(4, dtype=np.float32)))
    (gb,) = m.autograd.grad((b ** 3).sum(), b)
    unused = m.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)[1]
    return [ga, gh, gb, a.grad, before, b.grad, unused is None,
            raises(RuntimeError, lambda: m.autograd.grad((a * 2).sum(), [a, b]))]


IDIOMS = [
    # the silent difference: max/min over a dim give (values, indices)
    same("accuracy_unpacks_max_over_dim", accuracy),
    same("max_dim_values_indices_grad", lambda m, z, **_: grads(m, lambda t: m.max(t, 1), z)),
    same("max_dim_keepdim_grad", lambda m, x, **_: grads(m, lambda t: t.max(dim=0, keepdim=True), x)),
    same("max_named_fields", lambda m, x, **_: [m.tensor(x).max(1).values, m.tensor(x).max(1).indices]),
    same("min_dim_grad", lambda m, z, **_: grads(m, lambda t: t.min(dim=1), z)),
    same("max_all_ties_share", lambda m, z, **_: grads(m, lambda t: t.max(), z)),
    same("min_all_grad", lambda m, x, **_: grads(m, lambda t: m.min(t), x)),
    same("max_of_two_tensors_ties_split", lambda m, x, tie, **_: grads(m, m.max, x, tie)),
    same("maximum_minimum_grads", lambda m, x, tie, **_: grads(m, lambda a, b: m.maximum(a, b) * m.minimum(a, b),
                                                                 x, tie)),
    same("amax_amin_dims", lambda m, z, **_: grads(m, lambda t: t.amax(dim=(0, 1)) + m.amin(t, 0).sum(), z)),
    same("argmax_argmin", lambda m, z, **_: [m.argmax(m.tensor(z), dim=1), m.tensor(z).argmin(0),
                                            m.tensor(z).argmax(dim=1, keepdim=True), m.argmax(m.tensor(z))]),
    # Tensor methods
    same("size_method", sizes),
    same("t_grad", lambda m, w, **_: grads(m, lambda t: t.t(), w)),
    same("pow_grad", lambda m, p, **_: grads(m, lambda t: t.pow(3) + m.pow(t, 0.5), p)),
    same("clamp_grad", lambda m, x, **_: grads(m, lambda t: t.clamp(-0.5, 0.5), x)),
    same("clamp_min_only_and_clip", lambda m, x, **_: grads(m, lambda t: t.clamp(min=0) + m.clip(t, max=0.3), x)),
    same("clamp_bounds_inclusive", lambda m, z, **_: grads(m, lambda t: t.clamp(0, 2), z)),
    same("clamp_tensor_bounds", lambda m, x, y, **_: grads(m, lambda t, lo: t.clamp(min=lo), x, y)),
    same("var_unbiased", lambda m, x, **_: grads(m, lambda t: t.var(), x)),
    same("var_dim_keepdim", lambda m, x, **_: grads(m, lambda t: t.var(dim=1, keepdim=True), x)),
    same("var_biased", lambda m, x, **_: [m.tensor(x).var(0, unbiased=False), m.tensor(x).var(dim=1, correction=0),
                                         m.var(m.tensor(x), 1)]),
    same("std_grad", lambda m, x, **_: grads(m, lambda t: t.std(dim=0), x)),
    same("norm_grad", lambda m, x, **_: grads(m, lambda t: t.norm(), x)),
    same("norm_dim", lambda m, x, **_: grads(m, lambda t: t.norm(dim=1, keepdim=True), x)),
    same("norm_p", lambda m, x, **_: [m.tensor(x).norm(p=1), m.tensor(x).norm(p=1, dim=0),
                                     m.tensor(x).norm(float("inf"), dim=1), m.tensor(x).norm(3)]),
    same("norm_of_zeros_grad", lambda m, **_: grads(m, lambda t: t.norm(), np.zeros(3, np.float32))),
    same("clone_and_detach", clone_detach),
    same("float_double_long_to", conversions),
    same("python_numbers", scalars),
    same("in_place_under_no_grad", in_place_under_no_grad),
    same("in_place_refused_on_the_tape", in_place_on_the_tape),
    same("register_hook_intermediate", hook_on_intermediate),
    same("register_hook_leaf_sum_and_remove", hook_on_leaf_used_twice),
    same("sum_dim_keepdim", lambda m, x, **_: grads(m, lambda t: t.sum(dim=1, keepdim=True) + t.sum(0).sum(), x)),
    same("mean_dims", lambda m, x, **_: grads(m, lambda t: t.mean(dim=(0, 1)) + t.mean(1).sum(), x)),
    same("prod_with_zeros", lambda m, z, **_: grads(m, lambda t: t.prod(dim=1), z)),
    same("prod_all_keepdim", lambda m, p, **_: grads(m, lambda t: t.prod() + t.prod(0, keepdim=True).sum(), p),
         rtol=1e-4),
    # top level
    same("from_numpy_shares_memory", from_numpy_shares),
    same("creation_functions", creation),
    same("like_functions", likes),
    same("rand_randint_shape_dtype_range", random_draws),
    same("where_grad", lambda m, x, y, **_: grads(m, lambda a, b: m.where(a > 0, a, b), x, y)),
    same("where_scalar", lambda m, x, **_: grads(m, lambda a: m.where(a > 0, a, 0.0), x)),
    same("where_indices", where_indices),
    same("matmul_grad", lambda m, x, w, **_: grads(m, m.matmul, x, w)),
    same("elementwise_functions", lambda m, p, **_: grads(m, lambda t: m.exp(t) + m.log(t) + m.tanh(t)
                                                                 + m.sigmoid(t), p)),
    same("softmax_log_softmax_functions", lambda m, x, **_: grads(m, lambda t: m.softmax(t, dim=1)
                                                                         * m.log_softmax(t, dim=0), x)),
    same("sum_mean_functions", lambda m, x, **_: grads(m, lambda t: m.sum(t, dim=0) * m.mean(t, 0), x)),
    same("cat_stack_functions", lambda m, x, y, **_: grads(m, lambda a, b: m.cat([a, m.stack([b, a], 1)
                                                                                   .reshape(8, 3)], dim=0), x, y)),
    same("set_grad_enabled_and_inference_mode", grad_modes),
    same("in_place_sub_div_chained", more_in_place),
    same("no_grad_enable_grad", grad_mode_basics),
    same("half_and_full_like", lambda m, x, **_: [dtype(m.tensor(x).half()), m.full_like(m.tensor(x), 2.5),
                                                 dtype(m.full_like(m.tensor(x), 2.5)), m.tensor(x).tolist()]),
    same("randn_shape_dtype", lambda m, **_: [np.array(m.randn(2, 5).shape), dtype(m.randn(3))]),
    same("shape_methods_grad", lambda m, x, **_: grads(m, lambda t: t.transpose(0, 1).permute(1, 0).view(2, 6)
                                                            .reshape(3, 4).unsqueeze(0).squeeze().flatten(), x)),
    same("transpose_flatten_functions", lambda m, x, **_: grads(m, lambda t: m.flatten(m.transpose(t, 0, 1)), x)),
    same("unary_methods_grad", lambda m, p, **_: grads(m, lambda t: (t - 1).relu() + (t - 1).abs() + t.sqrt()
                                                                + t.exp() * t.log() + t.tanh() * t.sigmoid(), p)),
    same("comparisons_all_any", lambda m, x, y, **_: [m.tensor(x) > m.tensor(y), m.tensor(x) == m.tensor(x),
                                                      (m.tensor(x) > -5).all(), (m.tensor(x) > 1).any(dim=0),
                                                      (m.tensor(x) >= 0).all(1)]),
    same("quickstart_accuracy_type_float", quickstart_accuracy),
    same("format_a_0d_tensor", formatted),
    same("truth_value_of_one_element", truth_values),
    same("clamp_in_place_under_no_grad", clamp_in_place),
    same("flatten_start_end_dims_grad", lambda m, x, **_: grads(m, lambda t: t.reshape(2, 2, 3).flatten(1, 2)
                                                                 + m.flatten(t.reshape(2, 2, 3), 0, 1)
                                                                 .reshape(2, 6) * t.reshape(1, 2, 6)
                                                                 .flatten(-2).flatten(0, -1).reshape(2, 6), x)),
    same("autograd_grad", autograd_grad),
    same("operator_methods_grad", lambda m, x, y, **_: grads(
        m, lambda a, b: a.add(b, alpha=2).sub(b).mul(b).div(b.abs() + 1).neg().square()
        + a.matmul(b.t()).sum() + a.view_as(b.t()).reshape_as(b).type_as(b), x, y)),
    same("comparison_methods", lambda m, x, y, **_: [m.tensor(x).eq(m.tensor(y)), m.tensor(x).ne(0.5),
                                                     m.tensor(x).lt(m.tensor(y)), m.tensor(x).le(0),
                                                     m.tensor(x).gt(0), m.tensor(x).ge(m.tensor(y))]),
    same("cpu_numpy_in_an_eval_loop", lambda m, x, labels, **_: [
        np.concatenate([m.tensor(x).argmax(1).cpu().numpy() for _ in range(2)]),
        m.tensor(x).cpu().detach().numpy()]),
    same("randperm_and_random_likes", lambda m, x, **_: [np.sort(to_numpy(m.randperm(7))), dtype(m.randperm(3)),
                                                         dtype(m.rand_like(m.tensor(x))),
                                                         np.array(m.randn_like(m.tensor(x).double()).shape),
                                                         dtype(m.randn_like(m.tensor(x).double()))]),
    same("masked_fill_contiguous_is_tensor_numel", lambda m, x, y, **_: [
        *grads(m, lambda t: t.masked_fill(t > 0.3, -1.0).contiguous().view(-1) * 2, x),
        m.tensor(x).masked_fill(m.tensor(y) < 0, 0.0), m.is_tensor(m.tensor(x)), m.is_tensor(x), m.numel(m.tensor(x))]),
    same("masked_fill_in_place_under_no_grad", lambda m, x, **_: [
        (lambda w: (w.masked_fill_(w < 0, 0.5), w)[1])(m.tensor(x)),
        raises(RuntimeError, lambda: m.tensor(x, requires_grad=True).masked_fill_(m.tensor(x) > 0, 0.0))]),
    same("one_hot", lambda m, labels, **_: [m.nn.functional.one_hot(m.tensor(labels)),
                                            m.nn.functional.one_hot(m.tensor(labels), num_classes=5)]),
    same("dtype_names", lambda m, **_: [dtype(m.zeros(2, dtype=d)) for d in
                                        (m.float32, m.float64, m.float16, m.int64, m.int32, m.long, m.double,
                                         m.float, m.uint8, m.bool)]),
]


@pytest.mark.parametrize("idiom", IDIOMS, ids=[i.name for i in IDIOMS])
def test_idiom_matches_torch(idiom):
    run_idiom(idiom, INPUTS)


def test_catalogue_is_large_and_names_are_unique():
    assert len(IDIOMS) >= 30 and len({i.name for i in IDIOMS}) == len(IDIOMS)

"""One catalogue of ops: each with its NumPy reference, checked forward (float32)
and backward (gradcheck in float64) over shapes with broadcasting and batch 1."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import functional as F


def log_softmax(z, axis=-1):
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _gelu(x):
    return x * 0.5 * np.vectorize(math.erfc)(-x / math.sqrt(2))


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _layer_norm(x, w=None, b=None, k=1, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    xhat = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return xhat * (1 if w is None else w) + (0 if b is None else b)


def _batch_norm(x, w, b, mean=None, var=None, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    if mean is None:
        mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    else:
        mean, var = mean.reshape(shape), var.reshape(shape)
    return (x - mean) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


_RUNNING_MEAN, _RUNNING_VAR = np.array([0.5, -1.0, 0.0]), np.array([2.0, 0.5, 1.0])
_INDICES = np.array([[0, 3, 3], [4, 0, 1]])  # index 3 and 0 twice: their gradients add up


def _bn_eval(x, w, b):
    stats = dict(running_mean=_RUNNING_MEAN.astype(x.dtype), running_var=_RUNNING_VAR.astype(x.dtype))
    return F.batch_norm(x, stats["running_mean"], stats["running_var"], w, b, training=False)


_LABELS7 = np.array([0, 2, 1, 2, 2, 0, 1])
_CLASS_W = np.array([0.5, 2.0, 1.5])
_Y = np.array([[0.2, 1.0, 0.0], [0.7, 0.5, 1.0]])  # BCE targets (probabilities)


def _ce_reference(z, t, w=None, ignore_index=-100, eps=0.0):
    """PyTorch's documented formula, written out: the weighted mean over kept examples."""
    n, c = z.shape
    w = np.ones(c) if w is None else w
    logp = log_softmax(z)
    keep = t != ignore_index
    tk = np.where(keep, t, 0)
    nll = -w[tk] * logp[np.arange(n), tk] * keep
    smooth = -(logp * w).sum(1) * keep / c
    return ((1 - eps) * nll + eps * smooth).sum() / (w[tk] * keep).sum()


def _bce_reference(p, y):
    return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100)).mean()


def _huber_reference(z, y, delta=1.0):
    d = np.abs(z - y)
    return np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)).mean()


positive = "positive"  # inputs drawn away from 0 (log, sqrt, division, pow)
away_from_kinks = "kinks"  # inputs away from 0 (relu, abs) and from ties (max)

# name, tensor function, NumPy reference, input shapes, domain
CATALOGUE = [
    ("add", lambda a, b: a + b, np.add, [(3, 4), (4,)], None),
    ("add_batch1", lambda a, b: a + b, np.add, [(1, 4), (3, 1)], None),
    ("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, [(3,)], None),
    ("sub", lambda a, b: a - b, np.subtract, [(2, 3), (2, 1)], None),
    ("rsub_array", lambda a: np.ones(3) - a, lambda a: 1 - a, [(2, 3)], None),
    ("mul", lambda a, b: a * b, np.multiply, [(2, 3), (3,)], None),
    ("div", lambda a, b: a / b, np.divide, [(2, 3), (2, 3)], positive),
    ("rdiv", lambda a: 1.0 / a, lambda a: 1.0 / a, [(4,)], positive),
    ("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, [(2, 3)], None),
    ("pow_tensor", lambda a, b: a ** b, np.power, [(2, 3), (3,)], positive),
    ("rpow", lambda a: 2.0 ** a, lambda a: 2.0 ** a, [(3,)], None),
    ("neg", lambda a: -a, np.negative, [(2, 3)], None),
    ("matmul", lambda a, b: a @ b, np.matmul, [(3, 4), (4, 2)], None),
    ("matmul_batch1", lambda a, b: a @ b, np.matmul, [(1, 4), (4, 2)], None),
    ("matmul_vec_mat", lambda a, b: a @ b, np.matmul, [(4,), (4, 2)], None),
    ("matmul_mat_vec", lambda a, b: a @ b, np.matmul, [(3, 4), (4,)], None),
    ("matmul_dot", lambda a, b: a @ b, np.matmul, [(4,), (4,)], None),
    ("matmul_batched", lambda a, b: a @ b, np.matmul, [(2, 3, 4), (4, 2)], None),
    ("exp", lambda a: a.exp(), np.exp, [(2, 3)], None),
    ("log", lambda a: a.log(), np.log, [(2, 3)], positive),
    ("tanh", lambda a: a.tanh(), np.tanh, [(2, 3)], None),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), [(2, 3)], None),
    ("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), [(2, 3)], away_from_kinks),
    ("leaky_relu", lambda a: F.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a), [(2, 3)], away_from_kinks),
    ("softplus", lambda a: a.softplus(), lambda a: np.log1p(np.exp(a)), [(2, 3)], None),
    ("abs", lambda a: a.abs(), np.abs, [(2, 3)], away_from_kinks),
    ("sqrt", lambda a: a.sqrt(), np.sqrt, [(2, 3)], positive),
    ("pow_method", lambda a: a.pow(2.5), lambda a: a ** 2.5, [(2, 3)], positive),
    ("where", lambda a, b: cr.where(np.array([True, False, True]), a, b),
     lambda a, b: np.where([True, False, True], a, b), [(2, 3), (2, 1)], None),
    ("where_scalar", lambda a: cr.where(np.array([[True], [False]]), a, 0.5),
     lambda a: np.where([[True], [False]], a, 0.5), [(2, 3)], None),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [(3, 4)], away_from_kinks),
    ("clamp_min_tensor", lambda a, lo: a.clamp(min=lo), np.maximum, [(2, 3), (3,)], away_from_kinks),
    ("clip_max", lambda a: a.clip(max=0.4), lambda a: np.minimum(a, 0.4), [(1, 4)], away_from_kinks),
    ("maximum", lambda a, b: cr.maximum(a, b), np.maximum, [(2, 3), (3,)], away_from_kinks),
    ("minimum", lambda a, b: a.minimum(b), np.minimum, [(1, 3), (2, 1)], away_from_kinks),
    ("clone", lambda a: a.clone() * 2, lambda a: a * 2, [(2, 3)], None),
    ("sum_all", lambda a: a.sum(), np.sum, [(2, 3)], None),
    ("sum_axis0", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), [(2, 3)], None),
    ("sum_axis1_keep", lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(1, keepdims=True), [(2, 3)], None),
    ("sum_axes", lambda a: a.sum(axis=(0, 2)), lambda a: a.sum(axis=(0, 2)), [(2, 3, 2)], None),
    ("mean_all", lambda a: a.mean(), np.mean, [(2, 3)], None),
    ("mean_axis", lambda a: a.mean(axis=-1), lambda a: a.mean(axis=-1), [(2, 3)], None),
    ("mean_keep", lambda a: a.mean(axis=0, keepdims=True), lambda a: a.mean(0, keepdims=True), [(1, 3)], None),
    ("max_all", lambda a: a.max(), np.max, [(2, 3)], away_from_kinks),
    ("max_axis", lambda a: a.max(axis=1), lambda a: a.max(axis=1), [(2, 3)], away_from_kinks),
    ("max_keep", lambda a: a.max(axis=0, keepdims=True), lambda a: a.max(0, keepdims=True), [(2, 3)], away_from_kinks),
    ("max_dim_values", lambda a: a.max(1).values, lambda a: a.max(axis=1), [(2, 3)], away_from_kinks),
    ("max_dim_keepdim", lambda a: a.max(dim=0, keepdim=True)[0], lambda a: a.max(0, keepdims=True), [(1, 3)],
     away_from_kinks),
    ("min_all", lambda a: a.min(), np.min, [(2, 3)], away_from_kinks),
    ("min_dim_values", lambda a: a.min(-1).values, lambda a: a.min(axis=-1), [(3, 2)], away_from_kinks),
    ("min_axis", lambda a: a.min(axis=0), lambda a: a.min(axis=0), [(2, 3)], away_from_kinks),
    ("amax_axes", lambda a: a.amax(dim=(0, 2)), lambda a: a.max(axis=(0, 2)), [(2, 3, 2)], away_from_kinks),
    ("amin_keep", lambda a: a.amin(1, keepdim=True), lambda a: a.min(1, keepdims=True), [(2, 3)], away_from_kinks),
    ("prod_all", lambda a: a.prod(), np.prod, [(2, 3)], None),
    ("prod_dim", lambda a: a.prod(1), lambda a: a.prod(axis=1), [(3, 4)], None),
    ("prod_keepdim_batch1", lambda a: a.prod(dim=0, keepdim=True), lambda a: a.prod(0, keepdims=True), [(1, 3)],
     None),
    ("var_all", lambda a: a.var(), lambda a: a.var(ddof=1), [(2, 3)], None),
    ("var_dim", lambda a: a.var(1, keepdim=True), lambda a: a.var(1, ddof=1, keepdims=True), [(3, 4)], None),
    ("var_biased", lambda a: a.var(dim=0, correction=0), lambda a: a.var(0), [(3, 2)], None),
    ("std_dim", lambda a: a.std(dim=-1), lambda a: a.std(-1, ddof=1), [(2, 5)], None),
    ("norm_all", lambda a: a.norm(), np.linalg.norm, [(2, 3)], None),
    ("norm_dim", lambda a: a.norm(dim=1), lambda a: np.linalg.norm(a, axis=1), [(3, 4)], None),
    ("norm_keepdim_batch1", lambda a: a.norm(dim=0, keepdim=True), lambda a: np.linalg.norm(a, axis=0, keepdims=True),
     [(1, 3)], None),
    ("norm_p1", lambda a: a.norm(p=1, dim=0), lambda a: np.abs(a).sum(0), [(2, 3)], away_from_kinks),
    ("norm_p3", lambda a: a.norm(3), lambda a: (np.abs(a) ** 3).sum() ** (1 / 3), [(2, 3)], away_from_kinks),
    ("reshape", lambda a: a.reshape(3, 2), lambda a: a.reshape(3, 2), [(2, 3)], None),
    ("transpose", lambda a: a.T, lambda a: a.T, [(2, 3)], None),
    ("t", lambda a: a.t(), lambda a: a.T, [(2, 3)], None),
    ("transpose_axes", lambda a: a.transpose(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)], None),
    ("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 4)], None),
    ("getitem_int", lambda a: a[1], lambda a: a[1], [(3, 4)], None),
    ("getitem_fancy_repeat", lambda a: a[np.array([0, 2, 0])], lambda a: a[np.array([0, 2, 0])], [(3, 2)], None),
    ("getitem_rows_cols", lambda a: a[np.arange(3), np.array([1, 0, 1])],
     lambda a: a[np.arange(3), np.array([1, 0, 1])], [(3, 2)], None),
    ("cat", lambda a, b: cr.cat([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1), [(2, 3), (2, 1)], None),
    ("stack", lambda a, b: cr.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), [(2, 3), (2, 3)], None),
    ("softmax", lambda a: a.softmax(axis=-1), lambda a: np.exp(log_softmax(a)), [(2, 4)], None),
    ("softmax_axis0", lambda a: cr.softmax(a, axis=0), lambda a: np.exp(log_softmax(a, 0)), [(3, 2)], None),
    ("log_softmax", lambda a: a.log_softmax(), log_softmax, [(1, 4)], None),
    ("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: x @ w + b, [(3, 4), (4, 2), (2,)], None),
    ("linear_batch1", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: x @ w + b, [(1, 4), (4, 2), (2,)], None),
    ("linear_nobias", lambda x, w: F.linear(x, w), lambda x, w: x @ w, [(7, 4), (4, 2)], None),
    # nn layers (nn.Identity, Flatten, GELU, ELU, Softplus, LayerNorm, BatchNorm1d, Embedding)
    ("identity", lambda a: cr.autograd.ops.Identity.apply(a), lambda a: a, [(7, 3)], None),
    ("flatten", lambda a: cr.autograd.ops.Flatten.apply(a), lambda a: a.reshape(len(a), -1), [(7, 2, 3)], None),
    ("flatten_batch1_dims", lambda a: cr.autograd.ops.Flatten.apply(a, start_dim=0, end_dim=-2),
     lambda a: a.reshape(-1, a.shape[-1]), [(1, 2, 3)], None),
    ("gelu", lambda a: F.gelu(a), _gelu, [(7, 3)], None),
    ("gelu_batch1", lambda a: F.gelu(a * 4), lambda a: _gelu(a * 4), [(1, 5)], None),
    ("gelu_tanh", lambda a: F.gelu(a * 3, approximate="tanh"), lambda a: _gelu_tanh(a * 3), [(7, 3)], None),
    ("elu", lambda a: F.elu(a, alpha=0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(a)), [(7, 3)], away_from_kinks),
    ("elu_batch1", lambda a: F.elu(a), lambda a: np.where(a > 0, a, np.expm1(a)), [(1, 4)], away_from_kinks),
    ("softplus_beta_threshold", lambda a: F.softplus(a, beta=2.0, threshold=1.0),
     lambda a: np.where(2 * a > 1, a, np.log1p(np.exp(2 * a)) / 2), [(7, 3)], None),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, 4, w, b), _layer_norm, [(7, 4), (4,), (4,)], None),
    ("layer_norm_batch1", lambda x, w, b: F.layer_norm(x, 4, w, b), _layer_norm, [(1, 4), (4,), (4,)], None),
    ("layer_norm_2d_shape", lambda x, w: F.layer_norm(x, (2, 3), w), lambda x, w: _layer_norm(x, w, k=2),
     [(7, 2, 3), (2, 3)], None),
    ("layer_norm_no_affine", lambda x: F.layer_norm(x, 3), _layer_norm, [(2, 5, 3)], None),
    ("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), _batch_norm,
     [(7, 3), (3,), (3,)], None),
    ("batch_norm_train_3d_batch1", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), _batch_norm,
     [(1, 3, 4), (3,), (3,)], None),
    ("batch_norm_eval", _bn_eval, lambda x, w, b: _batch_norm(x, w, b, _RUNNING_MEAN, _RUNNING_VAR),
     [(7, 3), (3,), (3,)], None),
    ("batch_norm_eval_batch1", _bn_eval, lambda x, w, b: _batch_norm(x, w, b, _RUNNING_MEAN, _RUNNING_VAR),
     [(1, 3), (3,), (3,)], None),
    ("embedding", lambda w: F.embedding(_INDICES, w), lambda w: w[_INDICES], [(5, 3)], None),
    # criteria (their targets fixed; the logits or probabilities checked)
    ("cross_entropy_none", lambda z: F.cross_entropy(z, _LABELS7, reduction="none"),
     lambda z: -log_softmax(z)[np.arange(7), _LABELS7], [(7, 3)], None),
    ("cross_entropy_weight_ignore_smoothing",
     lambda z: F.cross_entropy(z, _LABELS7, _CLASS_W, ignore_index=1, label_smoothing=0.2),
     lambda z: _ce_reference(z, _LABELS7, _CLASS_W, 1, 0.2), [(7, 3)], None),
    ("cross_entropy_probabilities_batch1", lambda z: F.cross_entropy(z, np.array([[0.2, 0.5, 0.3]])),
     lambda z: -(np.array([[0.2, 0.5, 0.3]]) * log_softmax(z)).sum(), [(1, 3)], None),
    ("nll_weight_ignore", lambda a: F.nll_loss(a, _LABELS7, _CLASS_W, ignore_index=2),
     lambda a: (-(a[np.arange(7), _LABELS7] * _CLASS_W[_LABELS7])[_LABELS7 != 2].sum()
                / _CLASS_W[_LABELS7][_LABELS7 != 2].sum()), [(7, 3)], None),
    ("binary_cross_entropy", lambda a: F.binary_cross_entropy(a.sigmoid(), _Y),
     lambda a: _bce_reference(1 / (1 + np.exp(-a)), _Y), [(2, 3)], None),
    ("binary_cross_entropy_none_batch1", lambda a: F.binary_cross_entropy(a.sigmoid(), _Y[:1], reduction="none"),
     lambda a: -(_Y[:1] * np.log(1 / (1 + np.exp(-a))) + (1 - _Y[:1]) * np.log(1 - 1 / (1 + np.exp(-a)))),
     [(1, 3)], None),
    ("bce_with_logits_soft_pos_weight", lambda a: F.binary_cross_entropy_with_logits(a, _Y, pos_weight=_CLASS_W),
     lambda a: ((1 - _Y) * a + (1 + (_CLASS_W - 1) * _Y) * np.log1p(np.exp(-a))).mean(), [(2, 3)], None),
    ("l1_loss", lambda a: F.l1_loss(a, np.zeros((7, 3))), lambda a: np.abs(a).mean(), [(7, 3)], away_from_kinks),
    ("l1_loss_sum_batch1", lambda a: F.l1_loss(a, np.zeros((1, 3)), reduction="sum"), lambda a: np.abs(a).sum(),
     [(1, 3)], away_from_kinks),
    ("huber_loss", lambda a: F.huber_loss(a * 2, np.zeros((7, 3))), lambda a: _huber_reference(a * 2, 0),
     [(7, 3)], None),
    ("huber_loss_delta_batch1", lambda a: F.huber_loss(a, np.zeros((1, 4)), reduction="none", delta=0.5),
     lambda a: np.where(np.abs(a) < 0.5, 0.5 * a * a, 0.5 * (np.abs(a) - 0.25)), [(1, 4)], None),
    ("mse_loss_none", lambda a, b: F.mse_loss(a, b, reduction="none"), lambda a, b: (a - b) ** 2, [(7, 3), (7, 3)],
     None),
    # padding_idx's row gets no gradient by definition (not a derivative): here an unused row
    ("embedding_batch1_padding", lambda w: F.embedding(_INDICES[:1], w, padding_idx=2),
     lambda w: w[_INDICES[:1]], [(5, 3)], None),
]


def _draw(shape, domain, rng):
    x = rng.normal(size=shape)
    if domain == positive:
        x = np.abs(x) + 0.5
    elif domain == away_from_kinks:
        # distinct values at least 0.1 from zero and from each other
        n = int(np.prod(shape))
        vals = (rng.permutation(n) + 1) * 0.37 * rng.choice([-1, 1], size=n)
        x = vals.reshape(shape) / 2
    return x


@pytest.mark.parametrize("name,fn,ref,shapes,domain", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_op_forward_matches_numpy_and_backward_matches_finite_differences(name, fn, ref, shapes, domain):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [_draw(s, domain, rng) for s in shapes]
    # forward, float32 in, float32 out, against the reference in float64
    out = fn(*[cr.tensor(a.astype(np.float32)) for a in arrays])
    assert out.dtype == np.float32, f"{name} upcast float32 to {out.dtype}"
    np.testing.assert_allclose(out.numpy(), ref(*arrays), rtol=1e-5, atol=1e-5)
    # backward: the whole Jacobian of every input, float64
    inputs = [cr.tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    assert cr.gradcheck(fn, inputs)


@settings(max_examples=25, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.booleans(),
    st.booleans(),
)
def test_broadcast_gradients_reduce_to_operand_shape(shape, drop_row, drop_col):
    rng = np.random.default_rng(0)
    other = (1 if drop_row else shape[0], 1 if drop_col else shape[1])
    a = cr.tensor(rng.normal(size=shape), requires_grad=True, dtype=np.float64)
    b = cr.tensor(rng.normal(size=other), requires_grad=True, dtype=np.float64)
    for fn in (lambda a, b: a * b + b, lambda a, b: (a - b) / (b * b + 1)):
        assert cr.gradcheck(fn, [a, b])
    (a * b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40), st.integers(1, 70), st.sampled_from([np.float32, np.float64]),
    st.sampled_from([None, np.nan, np.inf, -np.inf]), st.integers(0, 2**31),
)
def test_row_max_and_sum_shortcuts_equal_numpys_reductions(rows, cols, dtype, special, seed):
    """The softmax family reduces (batch, classes) rows by a transposed copy and by BLAS:
    the same max bit for bit (NaN and inf included), the same sum to rounding."""
    from chainrule.autograd import ops

    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((rows, cols)) * 10).astype(dtype)
    if special is not None:
        z[rng.integers(rows), rng.integers(cols)] = special
    for axis in (1, -1):
        got = ops._max_over(z, axis)
        assert got.dtype == dtype and got.shape == (rows, 1)
        np.testing.assert_array_equal(got, z.max(axis=axis, keepdims=True))
    if special is None:
        got = ops._sum_over(z, -1)
        assert got.dtype == dtype and got.shape == (rows, 1)
        np.testing.assert_allclose(got, z.sum(axis=-1, keepdims=True), rtol=1e-5, atol=1e-4 * cols)


def test_logits_of_1e4_stay_finite():
    z = cr.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    for out in (z.softmax(), z.log_softmax(), z.softplus(), z.sigmoid()):
        assert np.isfinite(out.numpy()).all()
        out.sum().backward()
        assert np.isfinite(z.grad).all()
    np.testing.assert_allclose(z.softmax().numpy()[0], [1, 0, 0])
    np.testing.assert_allclose(z.log_softmax().numpy()[0], [0, -2e4, -1e4])


def test_transpose_with_negative_axes_sends_gradients_back_to_their_places():
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True, dtype=np.float64)
    for axes in [(0, -1, 1), (-1, -3, -2), (2, 0, -2)]:
        assert cr.gradcheck(lambda t: t.transpose(*axes) * np.arange(24.0).reshape(np.transpose(x.data, axes).shape),
                            [x])


@pytest.mark.parametrize("make", [
    lambda z: z * np.array([1, 2, 3]), lambda z: z * [1, 2, 3], lambda z: z + cr.tensor([1, 2, 3]),
    lambda z: z / np.array([1, 2, 3]), lambda z: z ** np.array([1, 2, 1]), lambda z: z @ np.ones((3, 2), int),
    lambda z: np.array([1, 2, 3]) - z, lambda z: F.cat([z, np.ones((4, 3), np.int64)]),
])
def test_integer_operands_do_not_upcast_float32(make):
    """As in PyTorch, float32 meets int64 as float32: in the result and in the gradient."""
    z = cr.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    out = make(z)
    assert out.dtype == np.float32
    out.sum().backward()
    assert z.grad.dtype == np.float32


def test_mse_with_integer_targets_stays_float32_on_both_paths():
    z = np.random.default_rng(0).random((4, 3), dtype=np.float32)
    y = np.arange(12).reshape(4, 3) % 3
    assert cr.nn.MSELoss()(cr.tensor(z), y).dtype == np.float32
    crit = cr.nn.MSELoss()
    crit.fprop(z, y)
    assert crit.bprop().dtype == np.float32


def test_an_empty_batch_has_loss_zero_for_every_criterion():
    empty = np.zeros((0, 3), np.float32)
    for crit, target in [(cr.nn.CrossEntropyLoss(), np.zeros(0, int)), (cr.nn.NLLLoss(), np.zeros(0, int)),
                         (cr.nn.BCEWithLogitsLoss(), empty), (cr.nn.MSELoss(), empty)]:
        assert crit.fprop(empty, target) == 0.0 and crit.bprop().shape == (0, 3)


def test_sigmoid_keeps_its_digits_far_below_zero():
    x = np.array([-80.0, -30.0, -17.5, -1.0, 0.0, 1.0, 30.0], np.float32)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    got = cr.tensor(x).sigmoid().numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=1e-6)
    t = cr.tensor([-30.0], requires_grad=True)
    log_sigmoid = t.sigmoid().log()  # log σ(x) ≈ x, d/dx = 1 − σ(x) ≈ 1
    log_sigmoid.backward()
    assert log_sigmoid.item() == pytest.approx(-30.0) and t.grad[0] == pytest.approx(1.0)


def test_gradients_at_the_edges_of_pow_div_and_dropout():
    """Where a formula meets 0·∞ or overflows, the gradient is PyTorch's limit, not NaN."""
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])  # x^0 is constant, also at x = 0
    p = cr.tensor([2.0], requires_grad=True)
    (cr.tensor([0.0, 3.0]) ** p).sum().backward()
    np.testing.assert_allclose(p.grad, [9 * np.log(3)], rtol=1e-6)  # the 0^p term adds 0, not NaN
    b = cr.tensor([1e20], requires_grad=True)
    (1 / b).sum().backward()
    np.testing.assert_allclose(b.grad, [-1e-40], rtol=1e-3)  # b·b would overflow float32
    assert (F.dropout(cr.tensor(np.ones(4, np.float32)), p=1.0, training=True).numpy() == 0).all()


def test_clip_grad_norm_scales_float64_gradients_in_float64():
    p = cr.nn.Parameter(np.zeros(2))
    p.grad = np.array([3.0, 4.0])
    cr.nn.utils.clip_grad_norm_([p], 1.0)
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0]) / (5 + 1e-6), rtol=1e-15)

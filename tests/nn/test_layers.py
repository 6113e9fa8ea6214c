"""Layers: the fprop/bprop contract checked by finite differences, and equal to autodiff."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _layers():
    return [
        ("Linear", lambda: nn.Linear(4, 3)),
        ("Linear_nobias", lambda: nn.Linear(4, 3, bias=False)),
        ("Tanh", nn.Tanh),
        ("Sigmoid", nn.Sigmoid),
        ("ReLU", nn.ReLU),
        ("LeakyReLU", lambda: nn.LeakyReLU(0.2)),
        ("Identity", nn.Identity),
        ("Softmax", nn.Softmax),
        ("LogSoftmax", nn.LogSoftmax),
        ("Dropout", lambda: nn.Dropout(0.3)),
        ("Sequential", lambda: nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3), nn.LogSoftmax())),
        ("Flatten", nn.Flatten),
        ("GELU", nn.GELU),
        ("GELU_tanh", lambda: nn.GELU(approximate="tanh")),
        ("ELU", lambda: nn.ELU(0.5)),
        ("Softplus", lambda: nn.Softplus(beta=2.0, threshold=5.0)),
        ("LayerNorm", lambda: _perturbed(nn.LayerNorm(4))),
        ("LayerNorm_no_affine", lambda: nn.LayerNorm(4, elementwise_affine=False)),
        ("BatchNorm1d_eval", lambda: _perturbed(nn.BatchNorm1d(4)).eval()),
        ("Sequential_norms", lambda: nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 3),
                                                   nn.ELU(), nn.Flatten())),
    ]


def _perturbed(layer):
    """Parameters and running statistics away from their defaults (ones, zeros), so a swapped
    weight and bias or a forgotten scale shows in the gradients."""
    rng = np.random.default_rng(5)
    for t in [*layer.parameters(), *layer.buffers()]:
        if t.dtype.kind == "f":
            t.data[...] = rng.uniform(0.5, 1.5, t.shape)
    return layer


def _input(batch, rng):
    # values away from 0 so ReLU/LeakyReLU kinks stay out of the finite differences
    x = rng.normal(size=(batch, 4))
    return np.where(np.abs(x) < 0.05, 0.1, x)


@pytest.mark.parametrize("name,make", _layers(), ids=[n for n, _ in _layers()])
@pytest.mark.parametrize("batch", [1, 7])
def test_check_module_passes(name, make, batch):
    cr.manual_seed(1)
    layer = make()
    assert cr.check_module(layer, _input(batch, np.random.default_rng(batch)))
    # the module is back in float32 afterwards
    assert all(p.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("name,make", _layers(), ids=[n for n, _ in _layers()])
def test_fprop_bprop_equals_autodiff(name, make):
    cr.manual_seed(2)
    layer = make()
    x = _input(7, np.random.default_rng(0)).astype(np.float32)
    g = np.random.default_rng(1).normal(size=layer.fprop(x).shape).astype(np.float32)

    state = cr.default_generator().bit_generator.state
    y = layer.fprop(x)
    gx = layer.bprop(g)
    module_grads = [a.copy() for a in layer.grads()]
    layer.zero_grad()

    cr.default_generator().bit_generator.state = state  # same dropout mask
    xt = cr.tensor(x, requires_grad=True)
    yt = layer(xt)
    yt.backward(g)
    np.testing.assert_allclose(yt.numpy(), y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(xt.grad, gx, rtol=1e-5, atol=1e-6)
    for p, mg in zip(layer.parameters(), module_grads):
        np.testing.assert_allclose(p.grad, mg, rtol=1e-5, atol=1e-6)
    for a in [y, gx, *module_grads]:
        assert a.dtype == np.float32


@pytest.mark.parametrize("batch", [1, 7])
def test_linear_bias_gradient_sums_over_the_batch(batch):
    layer = nn.Linear(3, 2)
    x = np.ones((batch, 3), np.float32)
    layer.fprop(x)
    layer.bprop(np.ones((batch, 2), np.float32))
    np.testing.assert_allclose(layer.bias.grad, [batch, batch])
    np.testing.assert_allclose(layer.weight.grad, np.full((3, 2), batch))


def test_linear_shapes_and_defaults():
    cr.manual_seed(0)
    layer = nn.Linear(784, 200)
    assert layer.weight.shape == (784, 200) and layer.bias.shape == (200,)
    assert (layer.bias.numpy() == 0).all()
    assert layer.weight.numpy().std() == pytest.approx(np.sqrt(2 / (784 + 200)), rel=0.02)
    assert repr(layer) == "Linear(784, 200)"


def test_a_wrong_bprop_is_caught_by_check_module():
    class WrongTanh(nn.Module):
        function = cr.autograd.ops.Tanh

        def bprop(self, grad_output, input_grad=True):
            return grad_output  # forgets tanh'

    with pytest.raises(cr.GradcheckError, match=r"check_module\(WrongTanh\).*input"):
        cr.check_module(WrongTanh(), np.random.default_rng(0).normal(size=(2, 3)))


def test_dropout_is_identity_in_eval_and_scales_in_train():
    cr.manual_seed(0)
    d = nn.Dropout(0.5)
    x = np.ones((1000, 10), np.float32)
    y = d.fprop(x)
    assert set(np.unique(y)) == {0.0, 2.0} and abs(y.mean() - 1) < 0.05
    d.eval()
    assert (d.fprop(x) == x).all() and (d(cr.tensor(x)).numpy() == x).all()
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.0)


@pytest.mark.parametrize("batch", [2, 7])
def test_batchnorm_in_train_mode_passes_check_module(batch):
    layer = _perturbed(nn.BatchNorm1d(4))
    assert cr.check_module(layer, _input(batch, np.random.default_rng(batch)))
    assert cr.check_module(nn.BatchNorm1d(3, affine=False), np.random.default_rng(0).normal(size=(batch, 3, 2)))
    assert layer.running_mean.dtype == np.float32  # buffers back in float32 after the float64 check


def test_batchnorm_statistics_in_train_and_eval():
    bn = nn.BatchNorm1d(3)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(10, 3)).astype(np.float32)
    y = bn.fprop(x)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, rtol=1e-3)  # normalised with the biased variance
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)  # unbiased
    assert bn.num_batches_tracked.numpy() == 1 and bn.num_batches_tracked.dtype == np.int64
    bn.eval()
    mean, var = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    np.testing.assert_allclose(bn.fprop(x), (x - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.running_mean.numpy(), mean)  # eval leaves the statistics alone
    assert bn.num_batches_tracked.numpy() == 1
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3).fprop(x[:1])
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected input of shape \(N, 3\)"):
        bn.fprop(np.zeros((2, 4), np.float32))
    cumulative = nn.BatchNorm1d(3, momentum=None)
    cumulative.fprop(x[:5])
    cumulative.fprop(x[5:])
    np.testing.assert_allclose(cumulative.running_mean.numpy(), (x[:5].mean(0) + x[5:].mean(0)) / 2, rtol=1e-5)


def test_a_net_with_batchnorm_trains_on_both_paths_and_its_checkpoint_round_trips(tmp_path):
    from chainrule.io import load_weights, save_weights

    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    t = np.arange(16) % 3
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
    loss = nn.CrossEntropyLoss()
    for _ in range(3):  # fprop/bprop, then the tape: both move the running statistics
        opt.zero_grad()
        loss.fprop(net.fprop(x), t)
        net.bprop(loss.bprop(), input_grad=False)
        opt.step()
        opt.zero_grad()
        loss(net(cr.tensor(x)), t).backward()
        opt.step()
    assert net[1].num_batches_tracked.numpy() == 6
    path = tmp_path / "bn.safetensors"
    save_weights(net.state_dict(), path)
    arrays, _ = load_weights(path)
    assert list(arrays) == list(net.state_dict()) or sorted(arrays) == sorted(net.state_dict())
    assert arrays["1.num_batches_tracked"].dtype == np.int64 and arrays["1.num_batches_tracked"].shape == ()
    fresh = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    fresh.load_state_dict(arrays)
    net.eval(), fresh.eval()
    np.testing.assert_array_equal(fresh.fprop(x), net.fprop(x))
    assert fresh[1].num_batches_tracked.numpy() == 6


def test_embedding_gathers_rows_and_scatter_adds_gradients():
    cr.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=0)
    assert (emb.weight.numpy()[0] == 0).all() and emb.weight.dtype == np.float32
    idx = np.array([[1, 0, 1], [4, 1, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    out.backward(np.ones((2, 3, 3), np.float32))
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [0, 3, 0, 0, 1])  # row 1 picked 3 times; padding row none
    emb.zero_grad()
    emb.fprop(idx)
    assert emb.bprop(np.ones((2, 3, 3), np.float32), input_grad=False) is None
    np.testing.assert_array_equal(emb.grads()[0][:, 0], [0, 3, 0, 0, 1])
    assert cr.check_module(nn.Embedding(5, 2), idx)
    with pytest.raises(IndexError, match=r"Embedding\(5, 3\): index 5 is out of range for 5 embeddings"):
        emb.fprop(np.array([5]))
    with pytest.raises(ValueError, match="indices must be integers"):
        emb(cr.tensor([0.0, 1.0]))
    frozen = nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert not frozen.weight.requires_grad and frozen.fprop([2]).tolist() == [[0, 0, 1]]


def test_identity_and_flatten_take_pytorchs_arguments():
    assert nn.Identity(54, unused=0.1).fprop(np.ones(2)).tolist() == [1, 1]
    assert nn.Flatten(0, 1).fprop(np.zeros((2, 3, 4))).shape == (6, 4)
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=3, end_dim=-1\): does not fit input shape \(2, 3\)"):
        nn.Flatten(3).fprop(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")


def test_layernorm_normalises_each_example_and_checks_the_shape():
    ln = nn.LayerNorm((2, 3))
    x = np.random.default_rng(0).normal(5, 2, size=(4, 2, 3)).astype(np.float32)
    y = ln.fprop(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.reshape(4, -1).mean(1), 0, atol=1e-5)
    with pytest.raises(ValueError, match=r"LayerNorm\(\(2, 3\)\): input shape \(4, 3, 2\) does not end in \(2, 3\)"):
        ln.fprop(x.reshape(4, 3, 2))
    assert [n for n, _ in nn.LayerNorm(3, bias=False).named_parameters()] == ["weight"]

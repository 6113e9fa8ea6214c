"""layer_stats on networks whose answers are known: hand-set weights checked against a hand
computation, the lectures' anchors on the digits, and the caller's network left as it was."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.diagnostics import layer_stats
from chainrule.model import Classifier


def _set(linear: nn.Linear, weight, bias) -> nn.Linear:
    linear.weight.data[...] = weight
    linear.bias.data[...] = bias
    return linear


@pytest.fixture(scope="module")
def digits():
    data = cr.data.load_dataset("digits")
    return data.x_train[:1000], data.y_train[:1000]


def _mlp(activation, depth: int, width: int = 64, seed: int = 0) -> nn.Sequential:
    cr.manual_seed(seed)
    layers, n = [], 64
    for _ in range(depth):
        layers += [nn.Linear(n, width), activation()]
        n = width
    return nn.Sequential(*layers, nn.Linear(n, 10))


# ---------------------------------------------------------------- a hand computation


# Linear(2, 2) -> Tanh -> Linear(2, 2), weights stored (in, out) as y = x W + b.
W1, B1 = np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.0, 0.5])
W2, B2 = np.array([[1.0, 2.0], [-1.0, 1.0]]), np.array([0.1, -0.1])
X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
Y = np.array([0, 1, 1])
# z = x W1 + b1, row by row:
#   [1, 0] -> [1, -1] + [0, 0.5]        = [1.0, -0.5]
#   [0, 1] -> [0.5, 2] + [0, 0.5]       = [0.5,  2.5]
#   [2, 1] -> [2, -2] + [0.5, 2] + b1   = [2.5,  0.5]
Z = np.array([[1.0, -0.5], [0.5, 2.5], [2.5, 0.5]])
# mean(z) = (1 − 0.5 + 0.5 + 2.5 + 2.5 + 0.5) / 6 = 6.5 / 6; std over the six numbers.
Z_MEAN = 6.5 / 6
Z_STD = math.sqrt(sum((v - Z_MEAN) ** 2 for v in Z.ravel()) / 6)
# a = tanh(z): only tanh(2.5) = 0.9866 is past 0.97 (tanh(1) = 0.76): 2 of 6 activations saturated.
A = np.tanh(Z)
A_SATURATED = 2 / 6


def _hand_gradients():
    """δ of each layer's output, per example, and the weight gradients of the mean loss."""
    o = A @ W2 + B2
    p = np.exp(o - o.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_o = p - np.eye(2)[Y]          # softmax − one-hot: δ of the logits, each example's own loss
    d_a = d_o @ W2.T                # back through W2: δ of the tanh's output
    d_z = d_a * (1 - A ** 2)        # tanh' = 1 − a²: δ of the first Linear's output
    g_w2 = A.T @ d_o / len(X)       # (1/N) Σ aᵀδ
    g_w1 = X.T @ d_z / len(X)
    norms = [np.linalg.norm(d, axis=1).mean() for d in (d_z, d_a, d_o)]
    return norms, np.linalg.norm(g_w1), np.linalg.norm(g_w2)


def test_a_tiny_tanh_net_matches_the_hand_computation():
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)).double()
    _set(net[0], W1, B1)
    _set(net[2], W2, B2)
    rows = layer_stats(net, X, Y)
    assert [(r["name"], r["kind"], r["units"]) for r in rows] == [("0", "linear", 2), ("1", "tanh", 2),
                                                                   ("2", "linear", 2)]
    assert rows[0]["mean"] == pytest.approx(Z_MEAN, abs=1e-12)
    assert rows[0]["std"] == pytest.approx(Z_STD, abs=1e-12)
    assert rows[1]["mean"] == pytest.approx(A.mean(), abs=1e-12)
    assert rows[1]["std"] == pytest.approx(A.std(), abs=1e-12)
    assert rows[1]["saturated"] == A_SATURATED
    assert rows[0]["saturated"] is None and rows[0]["dead"] is None and rows[1]["dead"] is None
    (g_z, g_a, g_o), g_w1, g_w2 = _hand_gradients()
    assert [r["grad_norm"] for r in rows] == pytest.approx([g_z, g_a, g_o], abs=1e-12)
    assert rows[0]["weight_grad_norm"] == pytest.approx(g_w1, abs=1e-12)
    assert rows[2]["weight_grad_norm"] == pytest.approx(g_w2, abs=1e-12)
    assert rows[0]["weight_norm"] == pytest.approx(np.linalg.norm(W1), abs=1e-12)  # sqrt(1 + 1 + 0.25 + 4) = 2.5
    assert rows[0]["weight_norm"] == pytest.approx(2.5, abs=1e-12)
    assert "weight_norm" not in rows[1] and "histogram" not in rows[1]


def test_the_hand_computed_numbers_are_not_trivial():
    """Guards the test above: the three δ norms differ, so a mix-up of layers would show."""
    (g_z, g_a, g_o), g_w1, g_w2 = _hand_gradients()
    assert len({round(g_z, 6), round(g_a, 6), round(g_o, 6)}) == 3
    assert min(g_z, g_a, g_o, g_w1, g_w2) > 0.01


def test_the_histogram_counts_every_activation_in_the_kinds_range():
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)).double()
    _set(net[0], W1, B1)
    _set(net[2], W2, B2)
    rows = layer_stats(net, X, histogram_bins=4)
    tanh = rows[1]["histogram"]
    assert (tanh["lo"], tanh["hi"]) == (-1.0, 1.0)
    # tanh(z): -0.46, 0.76, 0.46, 0.99, 0.99, 0.46 in bins [-1,-.5), [-.5,0), [0,.5), [.5,1]
    assert tanh["counts"] == [0, 1, 2, 3]
    linear = rows[0]["histogram"]
    assert (linear["lo"], linear["hi"]) == (-0.5, 2.5) and sum(linear["counts"]) == 6
    assert "grad_norm" not in rows[0]  # no labels, no gradient figures


# --------------------------------------------------------------- the lectures' anchors


def test_glorot_relu_and_tanh_nets_on_the_digits_are_healthy(digits):
    x, y = digits
    for seed in range(3):
        # measured: dead 0.016–0.078 per ReLU layer; saturated 0.0 per tanh layer
        relu = [r["dead"] for r in layer_stats(_mlp(nn.ReLU, 2, seed=seed), x, y) if r["kind"] == "relu"]
        tanh = [r["saturated"] for r in layer_stats(_mlp(nn.Tanh, 2, seed=seed), x, y) if r["kind"] == "tanh"]
        assert len(relu) == len(tanh) == 2
        assert max(relu) < 0.2 and max(tanh) < 0.2


def test_a_relu_layer_with_bias_minus_1000_is_all_dead(digits):
    x, y = digits
    net = _mlp(nn.ReLU, 2)
    net[0].bias.data[...] = -1000
    rows = layer_stats(net, x, y)
    assert rows[1]["dead"] == 1.0
    assert rows[3]["dead"] == 1.0  # its input is all 0 and its bias 0: z = 0, never positive either
    assert rows[1]["mean"] == 0.0 and rows[1]["std"] == 0.0
    assert rows[0]["weight_grad_norm"] == 0.0  # no gradient reaches the weights below a dead layer


def test_six_sigmoid_layers_make_the_first_layers_delta_vanish(digits):
    x, y = digits
    rows = layer_stats(_mlp(nn.Sigmoid, 6), x, y)
    linear = [r for r in rows if r["kind"] == "linear"]
    assert len(linear) == 7
    # measured: first/last 2.3e-4 (each sigmoid multiplies δ by σ'(z) ≤ 1/4; 4⁻⁶ = 2.4e-4)
    assert linear[0]["grad_norm"] < linear[-1]["grad_norm"] / 10
    norms = [r["grad_norm"] for r in linear]
    assert all(a < b for a, b in zip(norms, norms[1:]))  # falling all the way down


@pytest.mark.parametrize("activation, saturated", [
    # σ(±10) = 0.99995 / 0.00005: saturated; σ(0) = 0.5; σ(±2.5) = 0.924 / 0.076: not yet (the tail is 0.03)
    (nn.Sigmoid, 2 / 6),
    # tanh(±10) = ±1.0 and tanh(±2.5) = ±0.9866: saturated; tanh(0) = 0
    (nn.Tanh, 4 / 6),
])
def test_hand_chosen_pre_activations_give_the_exact_saturated_fraction(activation, saturated):
    # pre-activations: example 1: [10, −10, 0]; example 2: [2.5, −2.5, 0]
    # tanh(2.5) = 0.9866 > 0.97 is in the tail, σ(2.5) = 0.924 is not: 4 of 6 for tanh, 2 of 6 for sigmoid
    net = nn.Sequential(_set(nn.Linear(1, 3), [[10.0, -10.0, 0.0]], 0.0), activation())
    rows = layer_stats(net, np.array([[1.0], [0.25]], np.float32))
    assert rows[1]["saturated"] == saturated
    assert rows[0]["saturated"] is None and rows[1]["dead"] is None


def test_the_tail_limits_are_0_97():
    # just inside and just outside: atanh(0.97) = 2.092; logit(0.97) = 3.476
    net = nn.Sequential(_set(nn.Linear(1, 2), [[2.05, 2.15]], 0.0), nn.Tanh())
    assert layer_stats(net, np.ones((1, 1), np.float32))[1]["saturated"] == 0.5
    net = nn.Sequential(_set(nn.Linear(1, 4), [[3.4, 3.55, -3.4, -3.55]], 0.0), nn.Sigmoid())
    assert layer_stats(net, np.ones((1, 1), np.float32))[1]["saturated"] == 0.5


def test_dead_counts_units_never_positive_on_the_whole_batch():
    # z = x·[1, 0, 1, −1] + [0, 0, 2, 0]; x = 1: [1, 0, 3, −1]; x = −1: [−1, 0, 1, 1]
    # unit 0 fires on the first example, unit 3 on the second, unit 2 on both; unit 1 is 0 on both
    # (0 is not positive): 1 of 4 units is dead
    net = nn.Sequential(_set(nn.Linear(1, 4), [[1.0, 0.0, 1.0, -1.0]], [0.0, 0.0, 2.0, 0.0]), nn.ReLU())
    rows = layer_stats(net, np.array([[1.0], [-1.0]], np.float32))
    assert rows[1]["dead"] == 0.25
    assert rows[1]["saturated"] is None


@pytest.mark.parametrize("activation", [nn.LeakyReLU, nn.ELU, nn.GELU])
def test_the_relu_family_counts_dead_units(activation):
    net = nn.Sequential(_set(nn.Linear(1, 2), [[1.0, 1.0]], [-50.0, 0.0]), activation())
    rows = layer_stats(net, np.array([[1.0], [2.0]], np.float32))
    assert rows[1]["dead"] == 0.5  # unit 0 is at −49 and −48: never positive, whatever its small slope
    assert rows[1]["saturated"] is None


def test_kinds_without_saturation_or_dead_units_have_none():
    net = nn.Sequential(nn.Linear(3, 4), nn.Softplus(), nn.Identity(), nn.Linear(4, 2))
    for row in layer_stats(net, np.ones((2, 3), np.float32), np.array([0, 1])):
        assert row["saturated"] is None and row["dead"] is None
        assert row["grad_norm"] >= 0


# ------------------------------------------------------------- the caller's network


def test_the_callers_network_is_untouched():
    cr.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Dropout(0.5), nn.Linear(6, 3))
    x, y = cr.randn(8, 4).numpy(), np.arange(8) % 3
    before = [p.data.copy() for p in net.parameters()]
    state = cr.default_generator().bit_generator.state

    layer_stats(net, x, y, histogram_bins=10)  # never trained: .grad stays None
    assert all(p.grad is None for p in net.parameters())
    assert cr.default_generator().bit_generator.state == state  # no dropout mask drawn
    assert all(m.training for m in net.modules())

    criterion = nn.CrossEntropyLoss()
    criterion.fprop(net.fprop(x), y)
    net.bprop(criterion.bprop())
    grads = [p.grad.copy() for p in net.parameters()]
    state = cr.default_generator().bit_generator.state
    layer_stats(net, x, y)
    for p, g, q in zip(net.parameters(), grads, before):  # a prior gradient is kept as it was
        np.testing.assert_array_equal(p.grad, g)
        np.testing.assert_array_equal(p.data, q)
    assert cr.default_generator().bit_generator.state == state
    assert all(m.training for m in net.modules())
    net.eval()
    layer_stats(net, x, y)
    assert not any(m.training for m in net.modules())  # eval mode stays eval mode too


def test_bprop_after_layer_stats_gives_the_gradients_it_would_have_given():
    cr.manual_seed(2)
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Dropout(0.3), nn.Linear(7, 3))
    x, y = cr.randn(6, 5).numpy(), np.array([0, 1, 2, 2, 1, 0])
    reference = copy.deepcopy(net)
    cr.manual_seed(9)
    loss = nn.CrossEntropyLoss()
    loss.fprop(reference.fprop(x), y)
    reference.bprop(loss.bprop())
    cr.manual_seed(9)  # the same dropout mask for the second run
    loss = nn.CrossEntropyLoss()
    loss.fprop(net.fprop(x), y)
    layer_stats(net, x[:3], y[:3])  # another batch, in between
    net.bprop(loss.bprop())
    for p, q in zip(net.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_the_stats_are_the_eval_mode_ones_dropout_off():
    cr.manual_seed(3)
    plain = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    dropped = nn.Sequential(copy.deepcopy(plain[0]), nn.ReLU(), nn.Dropout(0.5), copy.deepcopy(plain[2]))
    x, y = cr.randn(10, 4).numpy(), np.arange(10) % 3
    a, b = layer_stats(plain, x, y), layer_stats(dropped, x, y)
    assert [r["kind"] for r in b] == ["linear", "relu", "dropout", "linear"]
    for ra, rb in zip(a, [b[0], b[1], b[3]]):
        assert {k: v for k, v in ra.items() if k != "name"} == {k: v for k, v in rb.items() if k != "name"}
    assert b[2]["mean"] == b[1]["mean"]  # dropout in eval mode passes its input through
    assert dropped.training  # and the caller's net is still training


def test_a_layer_used_twice_has_a_row_at_each_use_and_both_uses_gradient():
    cr.manual_seed(5)
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.Tanh(), shared, nn.Linear(4, 3))
    apart = nn.Sequential(copy.deepcopy(shared), nn.Tanh(), copy.deepcopy(shared), copy.deepcopy(net[3]))
    x, y = cr.randn(12, 4).numpy(), np.arange(12) % 3
    rows, reference = layer_stats(net, x, y), layer_stats(apart, x, y)
    assert [r["name"] for r in rows] == ["0", "1", "2", "3"]
    # the same forward and backward pass as two separate copies: the same activations and δ norms
    assert [(r["mean"], r["grad_norm"]) for r in rows] == [(r["mean"], r["grad_norm"]) for r in reference]
    # the weight's gradient is the sum of its two uses', at both its rows (what the optimizer sees)
    loss = nn.CrossEntropyLoss()
    loss.fprop(apart.fprop(x), y)
    apart.bprop(loss.bprop())
    both = np.linalg.norm((apart[0].weight.grad + apart[2].weight.grad).astype(np.float64))
    assert rows[0]["weight_grad_norm"] == rows[2]["weight_grad_norm"] == pytest.approx(both, rel=1e-6)
    assert both > 1.2 * max(reference[0]["weight_grad_norm"], reference[2]["weight_grad_norm"])  # 0.19 vs 0.15


def test_batchnorm_is_measured_in_eval_mode_as_the_affine_map_of_its_running_statistics():
    """In eval mode BatchNorm is y = (x − running_mean)/√(running_var + eps)·γ + β, per feature: the
    same figures as a Linear with that diagonal, and the caller's running statistics unchanged."""
    cr.manual_seed(6)
    bn = nn.BatchNorm1d(5, dtype=np.float64)
    bn.running_mean.data[...] = [0.5, -1.0, 0.0, 2.0, 0.25]
    bn.running_var.data[...] = [4.0, 0.25, 1.0, 9.0, 0.5]
    bn.weight.data[...] = [1.0, 2.0, -0.5, 1.5, 0.75]
    bn.bias.data[...] = [0.1, 0.0, -0.2, 0.3, 0.0]
    scale = bn.weight.data / np.sqrt(bn.running_var.data + bn.eps)
    diagonal = _set(nn.Linear(5, 5, dtype=np.float64), np.diag(scale), bn.bias.data - bn.running_mean.data * scale)
    first, last = nn.Linear(3, 5, dtype=np.float64), nn.Linear(5, 2, dtype=np.float64)
    net = nn.Sequential(first, bn, nn.Tanh(), last)  # in training mode, as a caller's net is while it trains
    twin = nn.Sequential(copy.deepcopy(first), diagonal, nn.Tanh(), copy.deepcopy(last))
    x, y = cr.randn(16, 3).numpy().astype(np.float64), np.arange(16) % 2
    saved = [b.data.copy() for b in (bn.running_mean, bn.running_var)]
    rows, expected = layer_stats(net, x, y), layer_stats(twin, x, y)
    for key in ("mean", "std", "grad_norm"):
        assert [r[key] for r in rows] == pytest.approx([r[key] for r in expected], rel=1e-9), key
    assert rows[1]["kind"] == "batchnorm1d" and rows[2]["saturated"] == expected[2]["saturated"]
    np.testing.assert_array_equal(bn.running_mean.data, saved[0])
    np.testing.assert_array_equal(bn.running_var.data, saved[1])


# ------------------------------------------------------------------ shapes and errors


def test_nested_sequentials_get_dotted_names():
    net = nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), nn.Sequential(nn.Sequential(nn.Linear(4, 2))))
    rows = layer_stats(net, np.ones((2, 3), np.float32), np.array([0, 1]))
    assert [r["name"] for r in rows] == ["0.0", "0.1", "1.0.0"]
    assert [r["units"] for r in rows] == [4, 4, 2]


def test_a_classifier_works_and_takes_images():
    cr.manual_seed(0)
    data = cr.data.load_dataset("digits")
    model = Classifier.from_spec("16relu", 64, [str(c) for c in range(10)], image_shape=(8, 8))
    images = data.x_train[:20].reshape(20, 8, 8)
    rows = layer_stats(model, images, data.y_train[:20])
    assert [(r["kind"], r["units"]) for r in rows] == [("linear", 16), ("relu", 16), ("linear", 10)]
    assert rows == layer_stats(model.net, data.x_train[:20], data.y_train[:20])


def test_clear_errors():
    with pytest.raises(TypeError, match="expected a Sequential or a Classifier, got Linear"):
        layer_stats(nn.Linear(2, 2), np.ones((1, 2), np.float32))
    net = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="non-empty batch"):
        layer_stats(net, np.ones((0, 2), np.float32))
    with pytest.raises(ValueError, match="3 examples but 2 labels"):
        layer_stats(net, np.ones((3, 2), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\) with input shape \(3, 5\)"):
        layer_stats(net, np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="x must be floating-point features .* got dtype uint8"):
        layer_stats(net, np.full((3, 2), 255, np.uint8))  # raw pixels would go in unscaled
    with pytest.raises(ValueError, match="no layers"):
        layer_stats(nn.Sequential(), np.ones((3, 5), np.float32))


def test_float64_input_into_a_float32_net_is_computed_in_float32():
    cr.manual_seed(4)
    net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    x64 = cr.default_generator().standard_normal((50, 8))
    y = np.arange(50) % 3
    as_float32 = layer_stats(net, x64.astype(np.float32), y)
    assert layer_stats(net, x64, y) == as_float32
    # a float64 computation gives other low-order digits: the equality above is not a coincidence
    assert layer_stats(copy.deepcopy(net).double(), x64, y) != as_float32
    assert next(net.parameters()).dtype == np.float32  # the caller's net stays float32


def test_an_overflowing_network_gives_none_not_a_crash():
    # x = [1, 1], W = 1e30 everywhere: z = 2e30 (fits in float32), then 3 · 2e30 · 1e30 = inf
    big = nn.Sequential(_set(nn.Linear(2, 3), 1e30, 0.0), nn.ReLU(), _set(nn.Linear(3, 2), 1e30, 0.0))
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])

    # the logits overflow: no loss, so no δ; the forward figures that are finite stay
    rows = layer_stats(big, x, y, histogram_bins=5)
    assert rows[0]["mean"] == pytest.approx(2e30, rel=1e-6) and rows[0]["std"] == 0.0
    assert rows[0]["histogram"]["counts"] == [0, 0, 12, 0, 0]  # all one (huge) value, in the middle bin
    assert rows[2]["mean"] is None and rows[2]["std"] is None
    assert rows[2]["histogram"]["counts"] == [0] * 5  # no finite activation to count
    assert [r["grad_norm"] for r in rows] == [None, None, None]
    assert rows[0]["weight_grad_norm"] is None and rows[0]["weight_norm"] == pytest.approx(math.sqrt(6) * 1e30)

    # a tanh after the overflow squashes inf to 1: the logits are finite again, and tanh' = 1 − 1 = 0
    # stops δ, so every layer below it gets exactly 0
    cr.manual_seed(0)
    squashed = nn.Sequential(*big, nn.Tanh(), nn.Linear(2, 2))
    rows = layer_stats(squashed, x, y)
    assert rows[3]["saturated"] == 1.0 and rows[3]["mean"] == 1.0
    assert [r["grad_norm"] for r in rows[:3]] == [0.0, 0.0, 0.0]
    assert rows[4]["grad_norm"] == pytest.approx(math.sqrt(2) / 2)  # two equal logits: softmax − one-hot = ±1/2
    assert rows[2]["mean"] is None and rows[2]["weight_grad_norm"] == 0.0


# ----------------------------------------------------------------- a property


_KINDS = [nn.Tanh, nn.Sigmoid, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softplus, nn.Identity]


@settings(max_examples=40, deadline=None)
@given(widths=st.lists(st.integers(1, 9), min_size=0, max_size=4),
       kinds=st.lists(st.sampled_from(_KINDS), min_size=4, max_size=4),
       n_in=st.integers(1, 6), n_out=st.integers(2, 5), n=st.integers(1, 7), seed=st.integers(0, 1000))
def test_one_row_per_leaf_with_figures_in_range(widths, kinds, n_in, n_out, n, seed):
    cr.manual_seed(seed)
    layers, width = [], n_in
    for units, kind in zip(widths, kinds):
        layers += [nn.Linear(width, units), kind()]
        width = units
    net = nn.Sequential(*layers, nn.Linear(width, n_out))
    rng = np.random.default_rng(seed)
    rows = layer_stats(net, rng.standard_normal((n, n_in)).astype(np.float32), rng.integers(0, n_out, n))
    assert len(rows) == len(layers) + 1
    expected_units = [u for w in widths for u in (w, w)] + [n_out]
    assert [r["units"] for r in rows] == expected_units
    for row, layer in zip(rows, net):
        assert row["kind"] == type(layer).__name__.lower()
        for key in ("saturated", "dead"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
        assert (row["saturated"] is not None) == (row["kind"] in ("tanh", "sigmoid"))
        assert (row["dead"] is not None) == (row["kind"] in ("relu", "leakyrelu", "elu", "gelu"))
        assert row["grad_norm"] >= 0 and math.isfinite(row["grad_norm"])
        assert ("weight_norm" in row) == (row["kind"] == "linear")


def test_a_sum_criterion_gives_the_same_per_example_deltas():
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)).double()
    _set(net[0], W1, B1)
    _set(net[2], W2, B2)
    mean = layer_stats(net, X, Y)
    summed = layer_stats(net, X, Y, criterion=nn.CrossEntropyLoss(reduction="sum"))
    assert [r["grad_norm"] for r in summed] == pytest.approx([r["grad_norm"] for r in mean], abs=1e-12)
    # the weight gradient is the optimizer's, of the loss as given: N = 3 times the mean's
    assert summed[0]["weight_grad_norm"] == pytest.approx(3 * mean[0]["weight_grad_norm"], abs=1e-12)

"""chainrule.diagnose: the training recipe as checks, on the digits and on hand-made data and networks
whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import Data
from chainrule.diagnose import (MODEL_CHECKS, Check, check_baseline, check_data, check_gradients, check_init_loss,
                                check_layer_stats, check_overfit, diagnose, prepare, verdict)
from chainrule.diagnose.datachecks import (check_balance, check_constant, check_duplicates, check_finite,
                                           check_scale, count_duplicates)
from chainrule.train import TrainConfig

DATA_CHECKS = ("data: class balance", "data: constant features", "data: non-finite features",
               "data: train/test duplicates", "data: feature scale")


@pytest.fixture(scope="module")
def digits():
    return cr.data.load_dataset("digits")


@pytest.fixture(scope="module")
def default_checks(digits):
    return diagnose(digits)


def _data(x_train, y_train, x_test=None, y_test=None):
    x_train = np.asarray(x_train, np.float32)
    x_test = x_train[:1] if x_test is None else np.asarray(x_test, np.float32)
    y_test = np.asarray(y_train)[:len(x_test)] if y_test is None else y_test
    return Data(x_train, np.asarray(y_train), x_test, np.asarray(y_test))


def test_the_default_config_passes_every_check_on_the_digits(default_checks):
    assert [c.name for c in default_checks] == [*DATA_CHECKS, *MODEL_CHECKS]
    assert [c.status for c in default_checks] == ["pass"] * 10, [c for c in default_checks if c.status != "pass"]
    assert verdict(default_checks) == "all checks passed"
    by_name = {c.name: c for c in default_checks}
    # the digits' 8x8 images have 4 pixels that are 0 in every training image: said, but a pass
    assert by_name["data: constant features"].figure.startswith("4 of 64 features are constant")
    assert by_name["overfit one batch"].figure.startswith("32/32 right after")


def test_the_checks_repeat_with_the_seed_and_leave_the_network_and_generator_alone(digits, default_checks):
    cr.manual_seed(0)
    clf = cr.Classifier.from_spec("256relu-dropout0.2", digits.num_features, digits.classes)
    before = [p.data.copy() for p in clf.net.parameters()]
    stream = cr.random.default_generator().bit_generator.state
    again = diagnose(digits, clf)
    assert again == default_checks  # the same initial weights (seed 0), the same figures
    assert all(np.array_equal(a, p.data) for a, p in zip(before, clf.net.parameters()))
    assert clf.net.training and cr.random.default_generator().bit_generator.state == stream


def test_a_huge_learning_rate_fails_the_overfit_check(digits):
    checks = {c.name: c for c in diagnose(digits, lr=1e6)}
    overfit = checks["overfit one batch"]
    assert overfit.status == "fail" and overfit.figure.startswith("diverged (loss ") and "at step 2" in overfit.figure
    assert "lr=1e+06" in overfit.advice
    assert checks["loss at init"].status == "pass"  # the lr does not change the untrained network


def test_the_class_balance_check():
    x = np.arange(12, dtype=np.float32)[:, None]
    assert check_balance(_data(x, [0] * 6 + [1] * 6)).figure == "every class 50.0% of the training set"
    skewed = check_balance(_data(x, [0] * 11 + [1]))  # 1 to 11: under a fifth
    assert skewed.status == "warn" and "ratio 0.09" in skewed.figure and "per-class" in skewed.advice
    assert check_balance(_data(x, [0] * 8 + [1] * 4)).status == "pass"  # 1 to 2
    empty = Data(x[:4], np.array([0, 0, 0, 0]), x[:2], np.array([0, 1]))  # class 1 only in the test set
    assert check_balance(empty).status == "warn" and "no training example" in check_balance(empty).advice


def test_one_class_is_a_warning_not_a_crash():
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    checks = {c.name: c for c in diagnose(_data(x, np.zeros(50, np.int64)), "4relu")}
    assert checks["data: class balance"].figure == "one class ('0') only"
    assert checks["loss at init"].figure == "0 on 50 training examples, vs ln(1) = 0"
    assert checks["input-independent baseline"].status == "warn"


def test_constant_features_are_counted_and_pass_unless_most_or_all_are():
    x = np.array([[1, 0, 5, 2], [1, 3, 5, 4], [1, 7, 5, 9]], np.float32)
    check = check_constant(_data(x, [0, 1, 0]))
    assert check.status == "pass" and check.figure.startswith("2 of 4 features are constant")
    assert check_constant(_data(x[:, :3], [0, 1, 0])).status == "warn"  # 2 of 3
    assert check_constant(_data(x[:, [0, 2]], [0, 1, 0])).status == "fail"  # every one


def test_non_finite_features_fail():
    x = np.array([[1, 2], [np.nan, 2], [np.inf, 3]], np.float32)
    check = check_finite(_data(x, [0, 1, 0], x_test=[[0, 0]]))
    assert check.status == "fail" and check.figure == "2 non-finite values in 1 feature of x_train"
    checks = diagnose(_data(x, [0, 1, 0]), "4tanh")
    assert [c.name for c in checks] == list(DATA_CHECKS)  # the model checks need finite data
    assert verdict(checks).startswith("1 check failed")


def test_train_test_duplicates_are_counted_exactly():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(500, 20)).astype(np.float32)
    train[1] = train[0]  # a row twice in the training set: a test copy still counts once
    test = np.concatenate([train[[0, 7, 7, 42]], rng.normal(size=(96, 20)).astype(np.float32)])
    test[50, 3] = train[9, 3]  # one equal feature is not a duplicate
    assert count_duplicates(train, test) == 4
    zero = np.zeros((1, 20), np.float32)
    assert count_duplicates(zero, -zero) == 1  # -0.0 equals 0.0
    check = check_duplicates(_data(train, np.arange(500) % 2, test, np.arange(100) % 2))
    assert check.status == "warn" and check.figure == "4 of 100 test rows (4.0%) are also in the training set"
    assert check_duplicates(_data(train, np.arange(500) % 2, test[4:], np.arange(96) % 2)).status == "pass"


def test_feature_scale(digits):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = np.arange(200) % 2
    assert check_scale(_data(x, y)).status == "pass"
    raw = check_scale(_data(np.round(np.abs(x) * 80), y))  # pixels as 0..255
    assert raw.status == "warn" and "divide pixels by 255" in raw.advice and raw.figure.startswith("max |x| 3")
    tiny = check_scale(_data(x * 1e-3, y))
    assert tiny.status == "warn" and "unit scale" in tiny.advice
    assert check_scale(digits).figure.startswith("max |x| 1,")


def test_the_loss_at_init_is_the_hand_computed_cross_entropy_and_flags_a_large_last_layer(digits):
    cr.manual_seed(0)
    net = cr.Classifier.from_spec("64relu", digits.num_features, digits.classes).net
    x, y = digits.x_train[:500], digits.y_train[:500]
    z = net.fprop(x).astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    hand = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))
    check = check_init_loss(net, x, y, 10)
    assert check.status == "pass" and check.figure.startswith(f"{hand:.3g} on 500 training examples")
    assert abs(hand - math.log(10)) < 0.3 * math.log(10)
    net[-1].weight.data *= 100
    confident = check_init_loss(net, x, y, 10)
    assert confident.status == "warn" and "starts confident" in confident.advice
    assert float(confident.figure.split()[0]) > 3 * math.log(10)


class WrongTanh(nn.Module):
    """tanh whose bprop forgets tanh' (as in tests/nn/test_layers.py)."""

    function = cr.autograd.ops.Tanh

    def bprop(self, grad_output, input_grad=True):
        return grad_output


def test_the_gradient_check_passes_a_correct_network_and_names_a_wrong_layer(digits):
    x, y = digits.x_train[:4], digits.y_train[:4]
    cr.manual_seed(0)
    good = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    check = check_gradients(good, x, y)
    assert check.status == "pass" and "match finite differences" in check.figure
    cr.manual_seed(0)
    bad = nn.Sequential(nn.Linear(64, 16), WrongTanh(), nn.Linear(16, 10))
    check = check_gradients(bad, x, y)
    assert check.status == "fail" and check.figure.startswith("layer 1 (WrongTanh): the gradient w.r.t. its input")
    assert bad[0].weight.dtype == np.float32  # checked on a float64 copy
    row = {c.name: c for c in diagnose(digits, bad)}["gradient check"]  # (on other examples)
    assert row.status == "fail" and row.figure.startswith("layer 1 (WrongTanh): the gradient w.r.t. its input")


class HalfWeightGrad(nn.Linear):
    """A Linear whose bprop halves the weight gradient (the check runs one bprop per zero_grad)."""

    def bprop(self, grad_output, input_grad=True):
        out = super().bprop(grad_output, input_grad)
        self.weight.grad[...] *= 0.5
        return out


def test_the_gradient_check_names_a_wrong_parameter_gradient(digits):
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), HalfWeightGrad(16, 10))
    check = check_gradients(net, digits.x_train[:4], digits.y_train[:4])
    assert check.status == "fail" and check.figure.startswith("layer 2 (HalfWeightGrad): the gradient w.r.t. its weight")


def test_dead_and_saturated_layers_warn(digits):
    x, y = digits.x_train[:1000], digits.y_train[:1000]
    cr.manual_seed(0)
    relu = cr.Classifier.from_spec("64relu", digits.num_features, digits.classes).net
    relu[0].bias.data[...] = -1000  # never active
    check = check_layer_stats(relu, x, y)
    assert check.status == "warn" and "dead up to 100%" in check.figure and "never active" in check.advice
    assert "learning rate" not in check.advice  # at init no learning rate has acted yet
    cr.manual_seed(0)
    tanh = cr.Classifier.from_spec("64tanh", digits.num_features, digits.classes).net
    tanh[0].weight.data *= 30  # pre-activations far into the flat tails
    check = check_layer_stats(tanh, x, y)
    assert check.status == "warn" and "saturated" in check.advice
    assert int(check.figure.split("saturated up to ")[1].split("%")[0]) > 50


def test_a_deep_sigmoid_net_warns_of_vanishing_gradients(digits):
    cr.manual_seed(0)
    spec = "-".join(["64sigmoid"] * 6)
    net = cr.Classifier.from_spec(spec, digits.num_features, digits.classes).net
    check = check_layer_stats(net, digits.x_train[:1000], digits.y_train[:1000])
    assert check.status == "warn" and "vanishing gradients" in check.advice and "lr" not in check.figure
    # each sigmoid passes back at most 1/4 of δ: six of them, under 1/100
    ratio = float(check.figure.split("δ norm first/last layer ")[1].split(",")[0])
    assert ratio < 0.01
    cr.manual_seed(0)
    relu = cr.Classifier.from_spec("-".join(["64relu"] * 6), digits.num_features, digits.classes).net
    assert check_layer_stats(relu, digits.x_train[:1000], digits.y_train[:1000]).status == "pass"


def test_overfitting_one_batch_fails_for_a_network_that_cannot_learn(digits):
    x, y = digits.x_train[:32], digits.y_train[:32]
    cr.manual_seed(0)
    net = cr.Classifier.from_spec("64relu", digits.num_features, digits.classes).net
    for p in net.parameters():
        p.data[...] = 0  # zero init: the ReLUs never open, only the output bias learns
    check = check_overfit(net, x, y, TrainConfig(lr=0.01), steps=100)
    right = int(check.figure.split("/")[0])
    assert check.status == "fail" and right <= 8 and "/32 right after 100 steps" in check.figure
    assert "broken" in check.advice


def test_the_baseline_fails_when_the_labels_do_not_depend_on_the_inputs(digits):
    cr.manual_seed(0)
    net = cr.Classifier.from_spec("64relu", digits.num_features, digits.classes).net
    x, y = digits.x_train, digits.y_train
    real = check_baseline(net, x, y, TrainConfig())
    assert real.status == "pass" and real.figure.startswith("accuracy on 359 held-out training examples")
    accuracy = [float(part.split("%")[0]) for part in real.figure.split("inputs ")[1:]]
    assert accuracy[0] > 90 and accuracy[1] < 20  # zeroed inputs: about the largest class's share, 10%
    shuffled = np.random.default_rng(0).permutation(y)
    check = check_baseline(net, x, shuffled, TrainConfig())
    assert check.status in ("warn", "fail") and "not using its inputs" in check.advice


def test_bad_input_raises_errors_naming_the_problem():
    with pytest.raises(cr.data.DataError, match="unknown dataset 'nonesuch'"):
        diagnose("nonesuch")
    with pytest.raises(cr.spec.SpecError, match="12foo"):
        diagnose("xor", "12foo")
    with pytest.raises(ValueError, match="lr must be a positive number"):
        diagnose("xor", "4tanh", lr=-1)
    with pytest.raises(TypeError, match="unknown options: epoch"):
        diagnose("xor", "4tanh", epoch=3)
    with pytest.raises(TypeError, match="a Subject carries its own config"):
        diagnose(prepare("xor", "4tanh"), lr=0.1)
    with pytest.raises(ValueError, match="the network takes 3 features, digits has 64"):
        diagnose("digits", nn.Sequential(nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="status must be one of"):
        Check("x", "ok", "")


def test_data_checks_return_five_rows_in_order(digits):
    assert [c.name for c in check_data(digits)] == list(DATA_CHECKS)


class PassReLU(nn.ReLU):
    """A ReLU whose bprop forgets the mask: it lets every gradient through."""

    def bprop(self, grad_output, input_grad=True):
        return grad_output


def test_the_gradient_check_skips_directions_across_a_relu_kink_but_still_catches_a_wrong_relu():
    # xor's (0, 0) row with zero biases puts every ReLU input exactly at 0, the kink: a central
    # difference there averages the slopes 0 and 1 and used to fail a correct ReLU
    xor = cr.data.load_dataset("xor")
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    check = check_gradients(net, xor.x_train, xor.y_train)
    assert check.status == "pass", check.figure
    assert "across a ReLU's kink skipped" in check.figure
    cr.manual_seed(0)
    bad = nn.Sequential(nn.Linear(2, 16), PassReLU(), nn.Linear(16, 2))
    check = check_gradients(bad, xor.x_train + 0.5, xor.y_train)
    assert check.status == "fail" and check.figure.startswith("layer 1 (PassReLU)"), check.figure

"""Criteria beyond the basics: reduction='none' everywhere, class weights, ignore_index,
label smoothing, probability targets, BCELoss, L1Loss, HuberLoss; checked by finite differences
(check_module), against autodiff, and against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

rng = np.random.default_rng(0)
Z = rng.normal(size=(6, 4))
LABELS = np.array([0, 3, 1, 1, 2, 3])
PROBS = rng.dirichlet(np.ones(4), size=6)
# targets whose differences z − y stay away from L1's kink at 0 and Huber's switch at ±0.7
REAL = Z - rng.choice([-1, 1], size=(6, 4)) * rng.choice([0.3, 0.5, 1.0, 1.5, 2.0], size=(6, 4))
BINARY = rng.integers(0, 2, size=(6, 4)).astype(np.float64)
SOFT = rng.uniform(0, 1, size=(6, 4))
P = 1 / (1 + np.exp(-Z))
LOGP = Z - np.log(np.exp(Z).sum(1, keepdims=True))
W = np.array([0.5, 2.0, 1.0, 3.0])


def _cases():
    cases = []
    for reduction in ("mean", "sum", "none"):
        cases += [
            (f"ce_{reduction}", lambda r=reduction: nn.CrossEntropyLoss(reduction=r), Z, LABELS),
            (f"ce_weight_ignore_smooth_{reduction}",
             lambda r=reduction: nn.CrossEntropyLoss(W, ignore_index=1, label_smoothing=0.2, reduction=r), Z, LABELS),
            (f"ce_probabilities_{reduction}", lambda r=reduction: nn.CrossEntropyLoss(W, reduction=r,
                                                                                      label_smoothing=0.1), Z, PROBS),
            (f"nll_weight_ignore_{reduction}", lambda r=reduction: nn.NLLLoss(W, ignore_index=3, reduction=r), LOGP,
             LABELS),
            (f"bce_logits_{reduction}", lambda r=reduction: nn.BCEWithLogitsLoss(reduction=r), Z, BINARY),
            (f"bce_logits_soft_weight_pos_weight_{reduction}",
             lambda r=reduction: nn.BCEWithLogitsLoss(W, reduction=r, pos_weight=W[::-1].copy()), Z, SOFT),
            (f"bce_{reduction}", lambda r=reduction: nn.BCELoss(reduction=r), P, SOFT),
            (f"bce_weight_{reduction}", lambda r=reduction: nn.BCELoss(W, reduction=r), P, BINARY),
            (f"mse_{reduction}", lambda r=reduction: nn.MSELoss(reduction=r), Z, REAL),
            (f"l1_{reduction}", lambda r=reduction: nn.L1Loss(reduction=r), Z, REAL),
            (f"huber_{reduction}", lambda r=reduction: nn.HuberLoss(reduction=r, delta=0.7), Z, REAL),
        ]
    return cases


@pytest.mark.parametrize("name,make,z,target", _cases(), ids=[c[0] for c in _cases()])
def test_criterion_passes_check_module_and_equals_autodiff(name, make, z, target):
    crit = make()
    assert cr.check_module(crit, z, target)
    loss = crit.fprop(z.astype(np.float32), target)
    grad = crit.bprop()
    zt = cr.tensor(z.astype(np.float32), requires_grad=True)
    lt = crit(zt, target)
    lt.backward(np.ones(lt.shape, np.float32))
    assert lt.dtype == np.float32 and grad.dtype == np.float32 and zt.grad.dtype == np.float32
    np.testing.assert_allclose(lt.numpy(), loss, rtol=1e-5)
    np.testing.assert_allclose(zt.grad, grad, rtol=1e-5, atol=1e-7)
    if crit.reduction == "none":  # one loss per example (classes) or per element; they add up to 'sum'
        assert loss.shape == ((len(z),) if isinstance(crit, (nn.CrossEntropyLoss, nn.NLLLoss)) else z.shape)
        total = type(crit)(**{**_kwargs(crit), "reduction": "sum"}).fprop(z.astype(np.float32), target)
        assert loss.sum() == pytest.approx(total, rel=1e-5)


def _kwargs(crit):
    out = {}
    for key in ("ignore_index", "label_smoothing", "delta"):
        if hasattr(crit, key):
            out[key] = getattr(crit, key)
    for key in ("weight", "pos_weight"):
        if getattr(crit, key, None) is not None:
            out[key] = getattr(crit, key).numpy()
    return out


def test_cross_entropy_options_match_their_definitions():
    z, t = Z.astype(np.float32), LABELS
    logp = LOGP
    keep = t != 1
    weighted = nn.CrossEntropyLoss(W, ignore_index=1).fprop(z, t)
    assert weighted == pytest.approx(-(W[t] * logp[np.arange(6), t])[keep].sum() / W[t][keep].sum(), rel=1e-5)
    eps = 0.3
    smooth = (1 - eps) * -logp[np.arange(6), t] + eps * -logp.mean(1)
    assert nn.CrossEntropyLoss(label_smoothing=eps).fprop(z, t) == pytest.approx(smooth.mean(), rel=1e-5)
    onehot = np.eye(4)[t]
    assert nn.CrossEntropyLoss().fprop(z, onehot) == pytest.approx(nn.CrossEntropyLoss().fprop(z, t), rel=1e-6)
    assert nn.CrossEntropyLoss(reduction="none").fprop(z, PROBS) == pytest.approx(-(PROBS * logp).sum(1), rel=1e-5)
    everything_ignored = nn.CrossEntropyLoss(ignore_index=0).fprop(z[:1], np.array([0]))
    assert np.isnan(everything_ignored)  # 0/0, as in PyTorch
    with pytest.raises(ValueError, match=r"weight must hold one number per class, shape \(4,\), got shape \(3,\)"):
        nn.CrossEntropyLoss(np.ones(3)).fprop(z, t)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="label 7 is out of range for 4 classes"):
        nn.CrossEntropyLoss(ignore_index=5).fprop(z[:2], np.array([5, 7]))


def test_bce_clamps_its_logs_at_minus_100_as_pytorch():
    p = np.array([0.0, 1.0, 0.5], np.float32)
    y = np.array([1.0, 0.0, 1.0], np.float32)
    bce = nn.BCELoss(reduction="none")
    np.testing.assert_allclose(bce.fprop(p, y), [100, 100, np.log(2)], rtol=1e-6)
    assert np.isfinite(bce.bprop()).all()
    with pytest.raises(ValueError, match=r"BCELoss: input must hold probabilities in \[0, 1\]"):
        bce.fprop(np.array([1.5, 0, 0], np.float32), y)


@pytest.mark.parametrize("crit", [nn.L1Loss(), nn.HuberLoss(), nn.BCELoss(), nn.MSELoss(reduction="none")],
                         ids=lambda c: type(c).__name__)
def test_elementwise_losses_refuse_n1_against_n(crit):
    with pytest.raises(ValueError, match=r"input shape \(3, 1\) and target shape \(3,\) differ"):
        crit.fprop(np.full((3, 1), 0.5, np.float32), np.zeros(3, np.float32))


def test_huber_and_l1_values_and_gradients():
    z = np.array([0.5, -3.0, 0.0, 2.0], np.float32)
    y = np.zeros(4, np.float32)
    huber = nn.HuberLoss(reduction="sum", delta=1.0)
    assert huber.fprop(z, y) == pytest.approx(0.125 + 2.5 + 0 + 1.5)
    np.testing.assert_allclose(huber.bprop(), [0.5, -1, 0, 1])
    l1 = nn.L1Loss()
    assert l1.fprop(z, y) == pytest.approx(5.5 / 4)
    np.testing.assert_allclose(l1.bprop(), np.sign(z) / 4)
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.HuberLoss(delta=0)


def test_reduction_none_bprop_takes_the_losses_shape_and_per_example_weights():
    crit = nn.CrossEntropyLoss(reduction="none")
    z = Z.astype(np.float32)
    crit.fprop(z, LABELS)
    g = np.arange(6, dtype=np.float32)
    per_example = crit.bprop(g)  # shape (6,): the losses' shape and the per-example weights agree
    zt = cr.tensor(z, requires_grad=True)
    crit(zt, LABELS).backward(g)
    np.testing.assert_allclose(per_example, zt.grad, rtol=1e-6)
    mse = nn.MSELoss(reduction="none")
    mse.fprop(z, REAL)
    np.testing.assert_allclose(mse.bprop(np.ones((6, 4), np.float32)), 2 * (z - REAL.astype(np.float32)), rtol=1e-5)


def test_the_plain_cross_entropy_keeps_its_fast_path():
    """The trainer's default criterion passes no option it did not pass before, and the
    Function keeps the fused softmax − onehot backward (no (N, C) target matrix)."""
    from chainrule.autograd import ops

    crit = nn.CrossEntropyLoss()
    assert crit.options() == {"reduction": "mean", "weight": None}
    ctx = ops.Context((True, False))
    ops.CrossEntropy.forward(ctx, Z.astype(np.float32), LABELS)
    assert ctx.plain and ctx.saved_tensors[1] is not None and ctx.saved_tensors[1].shape == (6,)

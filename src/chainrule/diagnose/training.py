"""The checks that train or measure the network: the loss at init, overfitting one small batch,
the input-independent baseline and the initial per-layer statistics (Karpathy, "A Recipe for
Training Neural Networks", 2019: verify the loss at init, overfit one batch, input-independent
baseline; the lectures' saturation, dead units and vanishing δ).

>>> import numpy as np, chainrule as cr
>>> _ = cr.manual_seed(3); net = cr.nn.Sequential(cr.nn.Linear(4, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
>>> x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32); y = (x[:, 0] > 0).astype(np.int64)
>>> check_init_loss(net, x, y, 2).status, check_overfit(net, x, y, cr.train.TrainConfig(lr=0.01)).status
('pass', 'pass')
"""

from __future__ import annotations

import copy
import math

import numpy as np

from ..autograd.ops import NonFiniteError
from ..diagnostics import check_layers, layer_stats
from ..nn import CrossEntropyLoss, Sequential
from ..nn.utils import clip_grad_norm_
from ..train import TrainConfig, make_optimizer
from .checks import FAIL, PASS, WARN, Check

__all__ = ["check_init_loss", "check_overfit", "check_baseline", "check_layer_stats", "train_steps",
           "INIT_LOSS_TOLERANCE", "OVERFIT_STEPS", "OVERFIT_WARN", "DIVERGED_FACTOR", "BASELINE_STEPS",
           "BASELINE_PASS", "BASELINE_HOLD_OUT", "INIT_LOSS_NATS"]

INIT_LOSS_TOLERANCE = 0.3  # the loss at init within 30% of ln(classes),
# or within 0.5 nats: with 2 or 3 classes, Glorot init alone moves a small network's loss that far
# (measured: 16tanh on moons, seeds 0 to 3, from -4% to +40% of ln 2, 0.28 nats)
INIT_LOSS_NATS = 0.5
OVERFIT_STEPS = 300  # steps allowed to fit one batch
OVERFIT_WARN = 0.9  # below this accuracy on the batch: a fail
DIVERGED_FACTOR = 100.0  # a loss this many times its first value has diverged (Adam's bounded steps can
                         # blow the loss up to 1e14 without ever reaching inf)
BASELINE_STEPS = 300  # mini-batch steps for each of the two baseline models
BASELINE_PASS = 0.25  # real inputs must remove this fraction of the zeroed-input model's errors
BASELINE_HOLD_OUT = 100  # with fewer examples, the baseline is judged on the examples it trained on


def _logits(net: Sequential, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    was = net.training
    net.eval()
    try:
        with np.errstate(all="ignore"):
            return np.concatenate([net.fprop(x[i:i + batch]) for i in range(0, len(x), batch)])
    finally:
        net.train(was)


def _loss(logits: np.ndarray, y: np.ndarray) -> float:
    try:
        return float(CrossEntropyLoss().fprop(logits, y))
    except NonFiniteError:
        return float("nan")


def check_init_loss(net: Sequential, x: np.ndarray, y: np.ndarray, num_classes: int) -> Check:
    """The mean cross-entropy of the untrained network (eval mode) against ln(classes), the loss of
    a uniform prediction: a warning beyond 30% of ln(classes) (and 0.5 nats), as a network that
    starts confident has too large an init or a bug."""
    expected = math.log(num_classes)
    loss = _loss(_logits(net, x), y)
    figure = f"{loss:.3g} on {len(x):,} training examples, vs ln({num_classes}) = {expected:.3g}"
    if not math.isfinite(loss):
        return Check("loss at init", FAIL, figure, "the untrained network's outputs overflow: the initial weights "
                                                   "are far too large, or the inputs are not scaled")
    if expected:  # (one class: ln 1 = 0, no percentage)
        figure += f" ({(loss - expected) / expected:+.0%})"
    if abs(loss - expected) > max(INIT_LOSS_TOLERANCE * expected, INIT_LOSS_NATS):
        return Check("loss at init", WARN, figure,
                     "a softmax that starts confident is a bug or an init too large: use Glorot init (chainrule's "
                     "default), scale the inputs, or zero the last layer's weights")
    return Check("loss at init", PASS, figure)


def train_steps(net: Sequential, batches, config: TrainConfig) -> tuple[int, float] | None:
    """Train ``net`` in place on (x, y) mini-batches with the config's optimizer and lr (no schedule);
    returns None, or (step, loss) where the loss stopped being finite or grew DIVERGED_FACTOR times
    its first value.

    >>> import numpy as np, chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(2, 2))
    >>> batch = (np.ones((4, 2), np.float32), np.array([0, 1, 0, 1]))
    >>> train_steps(net, [batch] * 3, TrainConfig()) is None
    True
    """
    optimizer = make_optimizer(net.parameters(), config)
    criterion = CrossEntropyLoss()
    net.train()
    first = None
    with np.errstate(all="ignore"):
        for step, (xb, yb) in enumerate(batches, 1):
            optimizer.zero_grad()
            z = net.fprop(xb)
            try:
                loss = float(criterion.fprop(z, yb))
            except NonFiniteError:
                loss = float("nan")
            first = loss if first is None else first
            if not math.isfinite(loss) or loss > DIVERGED_FACTOR * max(first, 1e-3):
                return step, loss
            net.bprop(criterion.bprop(), input_grad=False)
            if config.clip_grad is not None:
                clip_grad_norm_(net.parameters(), config.clip_grad)
            optimizer.step()
    return None


def _diverged(where: tuple[int, float], config: TrainConfig) -> str:
    return f"diverged (loss {where[1]:.3g} at step {where[0]})"


def _lower_lr(config: TrainConfig) -> str:
    return f"try a lower learning rate than lr={config.lr:g}, or clip_grad=1.0"


def check_overfit(net: Sequential, x: np.ndarray, y: np.ndarray, config: TrainConfig,
                  steps: int = OVERFIT_STEPS, every: int = 10) -> Check:
    """Train a copy of ``net`` on the one batch (x, y) for up to ``steps`` steps (stopping once every
    example is right, checked in eval mode every ``every`` steps): 100% passes, 90% warns, less fails."""
    net = copy.deepcopy(net)
    n, done, accuracy = len(x), 0, 0.0
    name = "overfit one batch"
    while done < steps:
        chunk = min(every, steps - done)
        diverged = train_steps(net, [(x, y)] * chunk, config)
        if diverged is not None:
            return Check(name, FAIL, _diverged((done + diverged[0], diverged[1]), config),
                         f"the model or the lr is broken: {_lower_lr(config)}")
        done += chunk
        logits = _logits(net, x)
        accuracy = float((logits.argmax(axis=1) == y).mean())
        if accuracy == 1.0:
            break
    correct = int(round(accuracy * n))
    loss = _loss(_logits(net, x), y)
    figure = f"{correct}/{n} right after {done} steps (loss {loss:.3g})"
    if accuracy == 1.0:
        return Check(name, PASS, figure)
    advice = (f"the model or the lr is broken: {n} examples should be learnt by heart; try another learning rate "
              f"than lr={config.lr:g}, a wider model, or less weight decay (weight_decay=0)")
    return Check(name, WARN if accuracy >= OVERFIT_WARN else FAIL, figure, advice)


def _batches(n: int, batch_size: int, steps: int, seed: int):
    """``steps`` index batches over n examples, a fresh permutation each pass."""
    rng = np.random.default_rng([seed, 2])
    batch_size = min(batch_size, n)
    made = 0
    while True:
        order = rng.permutation(n)
        for i in range(0, n - batch_size + 1, batch_size):
            if made == steps:
                return
            yield order[i:i + batch_size]
            made += 1


def check_baseline(net: Sequential, x: np.ndarray, y: np.ndarray, config: TrainConfig,
                   steps: int = BASELINE_STEPS) -> Check:
    """Train two copies of ``net`` for ``steps`` mini-batches, one on the inputs ``x``, one on zeros
    (the same labels), and compare their accuracy on a held-out quarter of (x, y) (at most 1,000
    examples; under BASELINE_HOLD_OUT examples, on the examples themselves, which zeroed inputs
    cannot tell apart): real inputs must remove BASELINE_PASS of the zeroed model's errors."""
    rng = np.random.default_rng([config.seed, 4])
    order = rng.permutation(len(x))
    held = min(1000, len(x) // 4) if len(x) >= BASELINE_HOLD_OUT else 0
    if held == 0:  # a handful of examples: judged on the examples themselves
        fit_idx, test_idx = order, order
    else:
        fit_idx, test_idx = order[held:], order[:held]
    name = "input-independent baseline"
    accuracy = {}
    for kind in ("real", "zeroed"):
        model = copy.deepcopy(net)
        xs = x if kind == "real" else np.zeros_like(x)
        batches = ((xs[fit_idx[b]], y[fit_idx[b]]) for b in _batches(len(fit_idx), config.batch_size, steps,
                                                                     config.seed))
        diverged = train_steps(model, batches, config)
        if diverged is not None:
            return Check(name, FAIL, f"training on {kind} inputs {_diverged(diverged, config)}", _lower_lr(config))
        accuracy[kind] = float((_logits(model, xs[test_idx]).argmax(axis=1) == y[test_idx]).mean())
    real, zero = accuracy["real"], accuracy["zeroed"]
    removed = (real - zero) / (1 - zero) if zero < 1 else 0.0
    where = f"{len(test_idx):,} held-out training examples" if held else f"the {len(x)} training examples themselves"
    figure = (f"accuracy on {where} after {steps} steps: real inputs {real:.1%}, zeroed inputs {zero:.1%} "
              f"({max(removed, 0):.0%} of the errors removed)")
    if zero == 1:
        return Check(name, WARN, figure, "the labels are right without the inputs (one class?): nothing to learn")
    if removed >= BASELINE_PASS:
        return Check(name, PASS, figure)
    advice = ("the model is not using its inputs: check that the inputs reach the network (scaling, "
              "shuffled labels, features and labels misaligned), or try another lr")
    return Check(name, WARN if removed > 0 else FAIL, figure, advice)


def check_layer_stats(net: Sequential, x: np.ndarray, y: np.ndarray, lr: float | None = None) -> Check:
    """``layer_stats`` of the untrained network on the probe (x, y), judged by ``check_layers``
    (saturation, dead units, vanishing gradients); the figure gives the first/last layer δ-norm
    ratio and the largest saturated and dead fractions.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0); net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))
    >>> check = check_layer_stats(net, np.ones((6, 4), np.float32), np.arange(6) % 2)
    >>> check.status, check.figure.split(":")[0]
    ('pass', '6 examples')
    """
    rows = layer_stats(net, x, y)
    linear = [r for r in rows if r["kind"] == "linear" and r.get("grad_norm") is not None]
    parts = []
    if len(linear) >= 2 and linear[-1]["grad_norm"]:
        parts.append(f"δ norm first/last layer {linear[0]['grad_norm'] / linear[-1]['grad_norm']:.2g}")
    saturated = [r["saturated"] for r in rows if r.get("saturated") is not None]
    dead = [r["dead"] for r in rows if r.get("dead") is not None]
    if saturated:
        parts.append(f"saturated up to {max(saturated):.0%}")
    if dead:
        parts.append(f"dead up to {max(dead):.0%}")
    figure = f"{len(x):,} examples: " + (", ".join(parts) if parts else "no hidden layer to judge")
    name = "layer statistics at init"
    broken = [r["name"] for r in rows if r.get("mean") is None or r.get("std") is None or
              any(r.get(k, 0) is None for k in ("grad_norm",))]
    if broken:
        return Check(name, FAIL, figure + f"; layer {broken[0]}'s figures are not finite",
                     "the untrained network overflows: scale the inputs, or use a smaller init")
    findings = check_layers(rows, lr)
    if findings:
        return Check(name, WARN, figure, "; ".join(f.message for f in findings))
    return Check(name, PASS, figure)

"""The exercise's training loop (../shared/seeds/002_*), written out with
fprop / bprop / params / grads, trains a softmax classifier on real digits."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

sklearn = pytest.importorskip("sklearn")


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32) / np.float32(16)  # pixels are 0..16
    return train_test_split(x, y, test_size=360, stratify=y, random_state=0)


def test_exercise_loop_trains_linear_softmax_on_digits():
    x_train, x_test, t_train, t_test = _digits()
    cr.manual_seed(0)
    net = [nn.Linear(64, 10), nn.LogSoftmax()]
    criterion = nn.NLLLoss()
    lr, batch = 0.1, 100
    rng = np.random.default_rng(0)
    for epoch in range(30):
        order = rng.permutation(len(x_train))  # a fresh permutation per epoch
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            z = x_train[idx]
            for module in net:
                z = module.fprop(z)
            criterion.fprop(z, t_train[idx])
            dz = criterion.bprop()
            for module in reversed(net):
                module.zero_grad()  # bprop adds into grads(): clear them first
                dz = module.bprop(dz)
            for module in net:
                for theta, dtheta in zip(module.params(), module.grads()):
                    theta -= lr * dtheta
    z = x_test
    for module in net:
        z = module.fprop(z)
    accuracy = (z.argmax(1) == t_test).mean()
    assert accuracy >= 0.90, accuracy
    assert all(p.dtype == np.float32 for m in net for p in m.params())

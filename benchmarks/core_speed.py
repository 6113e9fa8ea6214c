"""One epoch of 784-200tanh-10 at batch 100, SGD, float32: three drivers of the same maths.

    python benchmarks/core_speed.py [--repeats 5] [--batch-size 100]

1. chainrule's Sequential fprop/bprop (no tape), with chainrule.optim.SGD;
2. chainrule's autodiff path: net(tensor), loss.backward(), optimizer.step();
3. a hand-written NumPy loop of exactly the same maths (the floor for NumPy code).

The contenders run interleaved, several times; the table gives medians and each
one's ratio to the hand-written loop. Ratios within one run are what count:
absolute seconds swing with whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import nn


def make_data(n=60_000, features=784, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, features), dtype=np.float32)
    y = rng.integers(0, classes, size=n)
    return x, y


def init_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    ws = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        ws.append(rng.standard_normal((m, n), dtype=np.float32) * np.float32(np.sqrt(2 / (m + n))))
        ws.append(np.zeros(n, np.float32))
    return ws


def batches(n, batch, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i:i + batch] for i in range(0, n, batch)]


def epoch_numpy(x, y, weights, batch, lr, seed):
    """The floor: the same maths written out by hand, no framework."""
    w1, b1, w2, b2 = weights
    xb = np.empty((batch, x.shape[1]), np.float32)
    for idx in batches(len(x), batch, seed):
        xi = np.take(x, idx, axis=0, out=xb[: len(idx)])
        yi = y[idx]
        n = len(idx)
        a = xi @ w1
        a += b1
        np.tanh(a, out=a)
        z = a @ w2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(n), yi] -= 1
        z *= 1 / n
        gw2 = a.T @ z
        gb2 = z.sum(axis=0)
        da = z @ w2.T
        da *= 1 - a * a
        gw1 = xi.T @ da
        gb1 = da.sum(axis=0)
        w1 -= lr * gw1
        b1 -= lr * gb1
        w2 -= lr * gw2
        b2 -= lr * gb2


def build_net(weights):
    net = nn.Sequential(nn.Linear(784, 200), nn.Tanh(), nn.Linear(200, 10))
    net.load_state_dict(dict(zip(["0.weight", "0.bias", "2.weight", "2.bias"], weights)))
    return net


def epoch_fprop(x, y, net, loss_fn, opt, batch, seed):
    xb = np.empty((batch, x.shape[1]), np.float32)
    for idx in batches(len(x), batch, seed):
        xi = np.take(x, idx, axis=0, out=xb[: len(idx)])
        opt.zero_grad()
        loss_fn.fprop(net.fprop(xi), y[idx])
        net.bprop(loss_fn.bprop(), input_grad=False)
        opt.step()


def epoch_autodiff(x, y, net, loss_fn, opt, batch, seed):
    xb = np.empty((batch, x.shape[1]), np.float32)
    for idx in batches(len(x), batch, seed):
        xi = np.take(x, idx, axis=0, out=xb[: len(idx)])
        opt.zero_grad()
        loss = loss_fn(net(cr.Tensor(xi)), y[idx])
        loss.backward()
        opt.step()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args(argv)
    x, y = make_data()
    weights0 = init_weights([784, 200, 10])

    def run_numpy(seed):
        epoch_numpy(x, y, [w.copy() for w in weights0], args.batch_size, args.lr, seed)

    def run_fast(seed):
        net = build_net(weights0)
        epoch_fprop(x, y, net, nn.CrossEntropyLoss(), cr.optim.SGD(net.parameters(), lr=args.lr), args.batch_size, seed)

    def run_autodiff(seed):
        net = build_net(weights0)
        epoch_autodiff(x, y, net, nn.CrossEntropyLoss(), cr.optim.SGD(net.parameters(), lr=args.lr),
                       args.batch_size, seed)

    contenders = {"hand-written NumPy": run_numpy, "chainrule fprop/bprop": run_fast, "chainrule autodiff": run_autodiff}
    times = {k: [] for k in contenders}
    for r in range(args.repeats):
        for name, fn in contenders.items():  # interleaved, so drift hits all alike
            t0 = time.perf_counter()
            fn(r)
            times[name].append(time.perf_counter() - t0)
    floor = statistics.median(times["hand-written NumPy"])
    print(f"784-200tanh-10, batch {args.batch_size}, SGD, float32, 60,000 examples; "
          f"median of {args.repeats}, interleaved; {platform.machine()}, {platform.python_version()}, "
          f"NumPy {np.__version__}")
    print(f"| driver | s / epoch | × hand-written |\n|---|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {med / floor:.2f} |")


if __name__ == "__main__":
    main()

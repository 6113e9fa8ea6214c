"""Epoch time of DataLoader's default (a new array per batch) against reuse_buffers=True.

Fashion-MNIST-sized arrays (60,000 x 784 float32, int64 labels), shuffled and in order,
batch sizes 32, 100 and 1000; each number is the median over rounds of one full pass.
For scale, the last column is one training epoch of a 784-256-10 ReLU MLP on the same
arrays (fprop, bprop, SGD step; median of 3), what the loader's time is spent beside.
Run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/dataloader_copies.py`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule.data import DataLoader


def epoch_seconds(loader: DataLoader) -> float:
    start = time.perf_counter()
    for xb, yb in loader:
        pass
    return time.perf_counter() - start


def train_epoch_seconds(x: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(784, 256), cr.nn.ReLU(), cr.nn.Linear(256, 10))
    loss = cr.nn.CrossEntropyLoss()
    opt = cr.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    start = time.perf_counter()
    for xb, yb in DataLoader(x, y, batch_size, shuffle=True, seed=0, reuse_buffers=True):
        opt.zero_grad()
        loss.fprop(net.fprop(xb), yb)
        net.bprop(loss.bprop(), input_grad=False)
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--examples", type=int, default=60_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.examples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.examples)
    print(f"{args.examples} x 784 float32, median of {args.rounds} epochs (ms)")
    print(f"{'shuffle':>8} {'batch':>6} {'default':>9} {'reuse':>9} {'ratio':>6} {'train epoch':>12}")
    train = {b: statistics.median(train_epoch_seconds(x, y, b) for _ in range(3)) * 1e3 for b in (32, 100, 1000)}
    for shuffle in (True, False):
        for batch_size in (32, 100, 1000):
            loaders = {reuse: DataLoader(x, y, batch_size, shuffle=shuffle, seed=0, reuse_buffers=reuse)
                       for reuse in (False, True)}
            times = {False: [], True: []}
            for _ in range(args.rounds):  # interleaved, so that drifts in machine load hit both alike
                for reuse, loader in loaders.items():
                    times[reuse].append(epoch_seconds(loader))
            fresh, reused = (statistics.median(times[r]) * 1e3 for r in (False, True))
            print(f"{shuffle!s:>8} {batch_size:>6} {fresh:>9.1f} {reused:>9.1f} {fresh / reused:>6.2f} "
                  f"{train[batch_size]:>12.0f}")


if __name__ == "__main__":
    main()

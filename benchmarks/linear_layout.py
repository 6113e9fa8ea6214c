"""Linear's weight layout: chainrule's (in, out), y = x W + b, against PyTorch's (out, in), y = x Wᵀ + b.

Times one forward and backward (grad x, grad W, grad b) of Linear(784, 200) in float32 at
batch 32, 100 and 1000, both layouts interleaved in one process; prints the median over
rounds and the machine's load average (only the ratio within one run means much on a shared
machine). The (in, out) side is chainrule's own ops.Linear; the (out, in) side is the same
arithmetic with the transposes moved.

    python benchmarks/linear_layout.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from chainrule.autograd import ops


def in_out(x, w, b, g):  # chainrule: W of shape (in, out)
    ctx = ops.Context((True, True, True))
    y = ops.Linear.forward(ctx, x, w, b)
    return y, ops.Linear.backward(ctx, g)


def out_in(x, w, b, g):  # PyTorch: W of shape (out, in)
    y = x @ w.T
    y += b
    gx = g @ w
    gw = g.T @ x
    gb = np.matmul(np.ones(len(g), g.dtype), g)
    return y, (gx, gw, gb)


def measure(batch: int, rounds: int, repeats: int = 20) -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784), dtype=np.float32)
    g = rng.standard_normal((batch, 200), dtype=np.float32)
    w_io = rng.standard_normal((784, 200), dtype=np.float32) * np.float32(0.05)
    w_oi = np.ascontiguousarray(w_io.T)
    b = np.zeros(200, np.float32)
    y1, grads1 = in_out(x, w_io, b, g)
    y2, grads2 = out_in(x, w_oi, b, g)
    np.testing.assert_allclose(y1, y2, rtol=1e-4, atol=1e-4)  # the same numbers, both ways
    np.testing.assert_allclose(grads1[1], grads2[1].T, rtol=1e-4, atol=1e-3)
    times: dict[str, list[float]] = {"(in, out)": [], "(out, in)": []}
    for _ in range(rounds):  # interleaved, so a burst of load hits both
        for name, fn, w in (("(in, out)", in_out, w_io), ("(out, in)", out_in, w_oi)):
            start = time.perf_counter()
            for _ in range(repeats):
                fn(x, w, b, g)
            times[name].append((time.perf_counter() - start) / repeats)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; numpy {np.__version__}")
    print(f"{'batch':>6} {'(in, out) µs':>14} {'(out, in) µs':>14} {'out,in / in,out':>16}")
    for batch in (32, 100, 1000):
        m = measure(batch, args.rounds)
        a, c = m["(in, out)"] * 1e6, m["(out, in)"] * 1e6
        print(f"{batch:>6} {a:>14.1f} {c:>14.1f} {c / a:>16.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

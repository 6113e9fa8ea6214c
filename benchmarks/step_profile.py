"""Per-step time of chainrule's training paths against an optimized hand-written NumPy loop.

Each variant runs in its own process (``--variant`` runs one; without it, every variant
is started in turn, rounds rotated), trains on random data of the benchmark's shape for
``--steps`` steps after a warm-up, and prints the median µs per step. ``--breakdown``
times the fast path's parts instead (gather, each layer's fprop, the loss, each layer's
bprop, the step), with perf_counter around each; the parts add up to more than the plain
loop's step (the timers cost ~0.1 µs each).

On a shared machine, ``STEP_CLOCK=cpu`` with ``OPENBLAS_NUM_THREADS=1`` times the process's
CPU time instead of the wall clock: the time other processes hold the cores drops out.

    PYTHONPATH=src python benchmarks/step_profile.py --net 784-200tanh-10 --batch 32
    PYTHONPATH=src python benchmarks/step_profile.py --breakdown --batch 32
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

VARIANTS = ("hand", "fast", "autodiff")


def hand_loop(spec, weights, lr, batch):
    """The optimized hand loop: buffers made once, out= everywhere, np.take, in-place update."""
    ws = [w.copy() for w in weights[0::2]]
    bs = [b.copy() for b in weights[1::2]]
    tanh = spec.activation == "tanh"
    sizes = spec.sizes
    xb = np.empty((batch, sizes[0]), np.float32)
    hs = [np.empty((batch, o), np.float32) for o in sizes[1:]]
    gs = [np.empty((batch, o), np.float32) for o in sizes[1:]]
    tmp = [np.empty((batch, o), np.float32) for o in sizes[1:]]
    gws = [np.empty_like(w) for w in ws]
    gbs = [np.empty_like(b) for b in bs]
    ones = np.ones(batch, np.float32)
    zmax = np.empty((batch, 1), np.float32)
    zsum = np.empty((batch, 1), np.float32)

    def step(x, y, idx):
        n = len(idx)
        h = np.take(x, idx, axis=0, out=xb[:n])
        ins = [h]
        for k, (w, b) in enumerate(zip(ws, bs)):
            a = np.matmul(h, w, out=hs[k][:n])
            a += b
            if k < len(ws) - 1:
                np.tanh(a, out=a) if tanh else np.maximum(a, 0, out=a)
                ins.append(a)
            h = a
        z, yi, rows = h, y[idx], np.arange(n)
        m = np.max(z, axis=1, keepdims=True, out=zmax[:n])
        z -= m
        np.exp(z, out=z)
        s = np.sum(z, axis=1, keepdims=True, out=zsum[:n])
        z /= s
        loss = -float(np.log(z[rows, yi]).mean())
        z[rows, yi] -= 1
        z *= 1 / n
        g = z
        for k in range(len(ws) - 1, -1, -1):
            np.matmul(ins[k].T, g, out=gws[k])
            np.matmul(ones[:n], g, out=gbs[k])
            if k > 0:
                gin = np.matmul(g, ws[k].T, out=gs[k - 1][:n])
                if tanh:
                    t = np.multiply(ins[k], ins[k], out=tmp[k - 1][:n])
                    np.subtract(1, t, out=t)
                    gin *= t
                else:
                    gin *= ins[k] > 0
                g = gin
            gws[k] *= lr
            ws[k] -= gws[k]
            gbs[k] *= lr
            bs[k] -= gbs[k]
        return loss

    return step


def fast_loop(net, lr, batch):
    from chainrule import nn, optim

    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, net[0].in_features), np.float32)

    def step(x, y, idx):
        xi = np.take(x, idx, axis=0, out=xb[:len(idx)])
        opt.zero_grad()
        loss = loss_fn.fprop(net.fprop(xi), y[idx])
        net.bprop(loss_fn.bprop(), input_grad=False)
        opt.step()
        return loss

    return step


def autodiff_loop(net, lr, batch):
    from chainrule import nn, optim
    from chainrule.autograd.tensor import Tensor

    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, net[0].in_features), np.float32)

    def step(x, y, idx):
        xi = np.take(x, idx, axis=0, out=xb[:len(idx)])
        opt.zero_grad()
        out = loss_fn(net(Tensor(xi)), y[idx])
        out.backward()
        opt.step()
        return out.item()

    return step


def breakdown_loop(net, lr, batch, parts):
    """The fast path's step with a timer around each part, summed into ``parts`` (name -> seconds)."""
    from chainrule import nn, optim

    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=lr)
    xb = np.empty((batch, net[0].in_features), np.float32)
    children = list(net)
    clock = time.process_time if os.environ.get("STEP_CLOCK") == "cpu" else time.perf_counter

    def add(name, t0):
        t1 = clock()
        parts[name] = parts.get(name, 0.0) + t1 - t0
        return t1

    def step(x, y, idx):
        t = clock()
        xi = np.take(x, idx, axis=0, out=xb[:len(idx)])
        yi = y[idx]
        t = add("gather", t)
        opt.zero_grad()
        t = add("zero_grad", t)
        h = xi
        ctxs = []
        for i, c in enumerate(children):
            h = c.fprop(h)
            ctxs.append(c._ctx)
            t = add(f"fprop {i} {type(c).__name__}", t)
        loss = loss_fn.fprop(h, yi)
        t = add("loss fprop", t)
        g = loss_fn.bprop()
        t = add("loss bprop", t)
        for i in range(len(children) - 1, -1, -1):
            g = children[i].bprop(g, input_grad=i > 0)
            t = add(f"bprop {i} {type(children[i]).__name__}", t)
        opt.step()
        add("step", t)
        return loss

    return step


def run_variant(variant, net_name, batch, steps, warmup, rounds, breakdown):
    from chainrule.bench.nets import NETS, build_net, initial_weights

    spec = NETS[net_name]
    weights = initial_weights(spec)
    rng = np.random.default_rng(0)
    n_data = 60_000
    x = rng.random((n_data, spec.sizes[0]), dtype=np.float32)
    y = rng.integers(0, spec.sizes[-1], n_data)
    lr = 0.05
    parts: dict[str, float] = {}
    if variant == "hand":
        step = hand_loop(spec, weights, lr, batch)
    elif breakdown:
        step = breakdown_loop(build_net(spec, weights), lr, batch, parts)
    else:
        step = {"fast": fast_loop, "autodiff": autodiff_loop}[variant](build_net(spec, weights), lr, batch)
    order = rng.permutation(n_data)
    per_round, pos = [], 0

    def take():
        nonlocal pos
        if pos + batch > n_data:
            pos = 0
        pos += batch
        return order[pos - batch:pos]

    for _ in range(warmup):
        step(x, y, take())
    parts.clear()
    clock = time.process_time if os.environ.get("STEP_CLOCK") == "cpu" else time.perf_counter
    for _ in range(rounds):
        t0 = clock()
        for _ in range(steps):
            loss = step(x, y, take())
        per_round.append((clock() - t0) / steps * 1e6)
    assert math.isfinite(loss)
    return {"variant": variant, "us": statistics.median(per_round), "rounds": per_round,
            "parts": {k: v / (steps * rounds) * 1e6 for k, v in parts.items()}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="784-200tanh-10")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=0, help="steps per round (default: about 0.3 s of work)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--variant", choices=VARIANTS)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--breakdown", action="store_true")
    a = p.parse_args(argv)
    steps = a.steps or max(20, int(60_000 / a.batch / 6))
    if a.variant or a.breakdown:
        r = run_variant(a.variant or "fast", a.net, a.batch, steps, max(20, steps // 4), a.rounds, a.breakdown)
        print(json.dumps(r))
        if a.breakdown:
            for k, v in r["parts"].items():
                print(f"{k:28s} {v:8.1f} µs", file=sys.stderr)
            print(f"{'sum':28s} {sum(r['parts'].values()):8.1f} µs", file=sys.stderr)
        return
    names = a.variants.split(",")
    results: dict[str, list[float]] = {n: [] for n in names}
    for r in range(a.rounds):  # each round: every variant in a fresh process, order rotated
        for name in names[r % len(names):] + names[:r % len(names)]:
            out = subprocess.run([sys.executable, __file__, "--variant", name, "--net", a.net, "--batch",
                                  str(a.batch), "--steps", str(steps), "--rounds", "3"],
                                 capture_output=True, text=True, env=os.environ, check=True)
            results[name].append(json.loads(out.stdout)["us"])
    floor = statistics.median(results[names[0]])
    print(f"{a.net} batch {a.batch}, {a.rounds} rounds (load {os.getloadavg()[0]:.2f})")
    for name in names:
        med = statistics.median(results[name])
        print(f"  {name:9s} {med:8.1f} µs/step  {med / floor:5.2f}x {names[0]}  "
              f"(rounds {min(results[name]):.0f}–{max(results[name]):.0f})")


if __name__ == "__main__":
    main()

"""Per-step time of chainrule's training paths against the optimized hand-written NumPy loop.

Each variant is a contender of ``chainrule.bench`` (``numpy-opt``, ``fast``, ``autodiff``) and
runs in its own process (``--variant`` runs one; without it, every variant is started in turn,
rounds rotated); it trains on random data of the benchmark's shape for
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

VARIANTS = ("numpy-opt", "fast", "autodiff")


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
        xi = np.take(x, idx, axis=0, out=xb[:len(idx)], mode="clip")
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
    from chainrule.bench.contenders import CONTENDERS
    from chainrule.bench.nets import NETS, build_net, initial_weights

    spec = NETS[net_name]
    weights = initial_weights(spec)
    rng = np.random.default_rng(0)
    n_data = 60_000
    x = rng.random((n_data, spec.sizes[0]), dtype=np.float32)
    y = rng.integers(0, spec.sizes[-1], n_data)
    lr = 0.05
    parts: dict[str, float] = {}
    if breakdown:
        step = breakdown_loop(build_net(spec, weights), lr, batch, parts)

        def epoch(x, y, order):
            for start in range(0, len(order), batch):
                loss = step(x, y, order[start:start + batch])
            return loss
    else:  # the benchmark's own contender: what ``chainrule bench`` times
        epoch = CONTENDERS[variant](spec, weights, lr, batch).epoch
    order = np.concatenate([rng.permutation(n_data) for _ in range(1 + (warmup + steps * rounds) * batch // n_data)])
    epoch(x, y, order[:warmup * batch])
    parts.clear()
    clock = time.process_time if os.environ.get("STEP_CLOCK") == "cpu" else time.perf_counter
    per_round, pos = [], warmup * batch
    for _ in range(rounds):
        t0 = clock()
        loss = epoch(x, y, order[pos:pos + steps * batch])
        per_round.append((clock() - t0) / steps * 1e6)
        pos += steps * batch
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

"""The exercise's training loop, written out, next to ``chainrule.fit`` (002_*, "Usage/training").

Exercise 3 builds a framework from modules with four methods, ``fprop`` (output
for an input, caching what it needs), ``bprop`` (grad_input for a grad_output,
adding the parameters' gradients into ``grads()``), ``params()`` and ``grads()``
(parallel lists of arrays), and trains with this loop (slide 9):

    net = [f1, f2, ...], l = criterion
    for Xb, Tb in batched X, T:
        z = Xb
        for module in net: z = module.fprop(z)
        costs = l.fprop(z, Tb)
        ∂z = l.bprop([1/N_B ... 1/N_B])
        for module in reversed(net): ∂z = module.bprop(∂z)
        for module in net:
            θ, ∂θ = module.params(), module.grads()
            θ = θ − λ·∂θ

``train_by_hand`` below is that loop with chainrule's modules, line for line.
Two details the slide leaves implicit: ``bprop`` *adds* into ``grads()`` (so a
module used twice gets the sum), so each step starts with ``zero_grad()``; and
``θ −= λ·∂θ`` must update the arrays in place, since ``params()`` returns the
modules' own arrays. The costs are summed (``reduction="sum"``) and the
gradient seeded with 1/N_B, as the slide writes it.

The model is the exercise's second one scaled to 8×8 digits: Linear(64, 100),
Tanh, Linear(100, 10), SoftMax (here LogSoftmax with the NLL criterion). Then
``chainrule.fit(model="100tanh", optimizer="sgd", ...)`` trains the same network
(its softmax is fused into the cross-entropy) with the same seed, so the same
initial weights, the same batches and the same λ. The two end with the same
weights up to float32 rounding, hence the same accuracy.

What to look at: the two accuracies, and how far apart the two sets of weights are.
The times are printed too, per step, and are close: fit is this very loop
(``Trainer.train_epoch`` in chainrule/train/trainer.py), the same NumPy calls per
module per batch, with the softmax fused into the loss, no gradient for the
input layer's input (nothing upstream needs it), and a running loss and accuracy
added. On a quiet 2-core machine both take about 0.4 ms a step; on a busy one
either can come out slower, by any amount, and that is noise, not method.

    python examples/exercise_loop.py [--epochs 50] [--lr 0.1] [--batch-size 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn


def train_by_hand(data, epochs: int, lr: float, batch_size: int, seed: int) -> list[nn.Module]:
    cr.manual_seed(seed)  # the initial weights, drawn in the same order as fit draws them
    net = [nn.Linear(64, 100), nn.Tanh(), nn.Linear(100, 10), nn.LogSoftmax()]
    l = nn.NLLLoss(reduction="sum")  # noqa: E741 - the slide's name
    batches = cr.data.DataLoader(data.x_train, data.y_train, batch_size, shuffle=True, seed=seed)  # a fresh permutation per epoch
    for _ in range(epochs):
        for Xb, Tb in batches:
            z = Xb
            for module in net:
                z = module.fprop(z)
            costs = l.fprop(z, Tb)
            dz = l.bprop(1 / len(Xb))
            for module in reversed(net):
                module.zero_grad()  # bprop adds into grads(): clear last step's
                dz = module.bprop(dz)
            for module in net:
                for θ, dθ in zip(module.params(), module.grads()):
                    θ -= lr * dθ  # in place: θ is the module's own array
    return net


def accuracy_by_hand(net: list[nn.Module], x: np.ndarray, t: np.ndarray) -> float:
    z = x
    for module in net:
        z = module.fprop(z)
    return float((z.argmax(axis=1) == t).mean())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.1, help="λ")
    parser.add_argument("--batch-size", type=int, default=100, help="N_B")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="unused (no pictures)")
    args = parser.parse_args(argv)

    data = cr.data.load_digits()
    train_by_hand(data, 1, args.lr, args.batch_size, args.seed)  # warm-up: the first run pays for BLAS's threads
    started = time.perf_counter()
    net = train_by_hand(data, args.epochs, args.lr, args.batch_size, args.seed)
    hand_seconds = time.perf_counter() - started
    hand_accuracy = accuracy_by_hand(net, data.x_test, data.y_test)

    result = cr.fit(data, model="100tanh", optimizer="sgd", lr=args.lr, batch_size=args.batch_size,
                    epochs=args.epochs, val_split=0.0, weight_decay=0.0, schedule="none", seed=args.seed,
                    quiet=True)
    fit_accuracy, fit_seconds = result.summary["test_accuracy"], result.summary["seconds"]  # seconds: the epochs only
    steps = args.epochs * -(-len(data.x_train) // args.batch_size)
    hand_params = [p for module in net for p in module.params()]
    fit_params = result.model.net.params()
    weight_gap = max(float(np.abs(a - b).max()) for a, b in zip(hand_params, fit_params))

    print(f"digits, Linear(64, 100) + Tanh + Linear(100, 10) + softmax, SGD λ = {args.lr}, N_B = {args.batch_size}, "
          f"{args.epochs} epochs ({steps} steps)")
    print(f"   the exercise's loop (fprop/bprop/params/grads): test accuracy {hand_accuracy:.1%} "
          f"({hand_seconds:.2f} s, {1000 * hand_seconds / steps:.2f} ms a step)")
    print(f"   chainrule.fit(model='100tanh'):                 test accuracy {fit_accuracy:.1%} "
          f"({fit_seconds:.2f} s, {1000 * fit_seconds / steps:.2f} ms a step)")
    print(f"   largest difference between the two sets of weights: {weight_gap:.2g}")
    print("Same seed, so the same initial weights, batches and λ: the same arithmetic, hence the same weights up to\n"
          "float32 rounding and the same accuracy. fit runs this loop (Trainer.train_epoch), fusing the softmax into\n"
          "the loss and skipping the input layer's input gradient, so the times are close (about 0.4 ms a step\n"
          "each on a quiet 2-core machine); a gap either way is the machine's other work, not the method.")
    return {"hand_accuracy": hand_accuracy, "fit_accuracy": fit_accuracy, "weight_gap": weight_gap,
            "hand_dtypes": {p.dtype for p in hand_params}, "hand_seconds": hand_seconds,
            "fit_seconds": fit_seconds, "steps": steps}


if __name__ == "__main__":
    main()

"""Vanishing gradients: six sigmoid layers against six ReLU layers (003_*, slide 43; 001_*).

Backprop sends the error signal δ down the network one layer at a time: through a
Linear layer δ ← δ Wᵀ, through an activation δ ← δ ⊙ f'(z). The derivatives are on
003_*'s slide 43, "Useful derivatives": σ'(z) = σ(z)(1 − σ(z)), at most 1/4 (at z = 0);
ReLU'(z) = 1 where the unit is active, 0 elsewhere. With the init 001_* gives, variance
2/(fan_in + fan_out) (Glorot & Bengio 2010, chainrule's default for Linear), a square
64×64 layer keeps δ's norm on average (64 inputs × 1/64), so the activations decide:

* sigmoid: every layer multiplies δ by σ'(z) ≈ 1/4 (Glorot keeps z near 0, where σ' is
  largest): after six layers the first one gets (1/4)⁶ = 2.4e-4 of the last one's δ,
  its weights barely move, and the network does not learn in a short budget;
* ReLU: every layer passes δ unchanged where a unit is active, about half of them:
  (1/√2)⁶ = 0.125 of the last layer's δ at init, and more as training goes on.

Here: the 8×8 digits, Linear(64, 64) + activation six times then Linear(64, 10), both nets
from the same seed, trained with plain SGD (lr 0.1, batches of 32) for 10 epochs on the
fast path (``fprop``/``bprop``); ``chainrule.diagnostics.layer_stats`` measures δ (its
``grad_norm``: the mean over 1,000 training examples of ‖∂loss/∂output‖) for every layer.

What to look at: the printed table (δ norm of each Linear layer, first/last ratio, test
accuracy), the verdict ``check_layers`` gives each net, and ``out/vanishing_gradients.png``
(δ norm per layer on a log scale, and the test accuracy epoch by epoch).

    python examples/vanishing_gradients.py [--epochs 10] [--lr 0.1] [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.diagnostics import check_layers, layer_stats

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
PROBE = 1000  # training examples layer_stats measures on


def build(activation: str, depth: int, width: int, seed: int) -> nn.Sequential:
    """depth × (Linear(…, width) + activation), then Linear(width, 10): Glorot init, zero biases."""
    cr.manual_seed(seed)
    layers, n = [], 64
    for _ in range(depth):
        layers += [nn.Linear(n, width), ACTIVATIONS[activation]()]
        n = width
    return nn.Sequential(*layers, nn.Linear(n, 10))


def delta_norms(net: nn.Sequential, x: np.ndarray, y: np.ndarray) -> tuple[list[float], list]:
    """δ norm of each Linear layer's output, first to last, and check_layers' verdicts."""
    rows = layer_stats(net, x, y)
    return [r["grad_norm"] for r in rows if r["kind"] == "linear"], check_layers(rows)


def accuracy(net: nn.Sequential, x: np.ndarray, y: np.ndarray) -> float:
    return float((net.fprop(x).argmax(axis=1) == y).mean())


def train(net: nn.Sequential, data, epochs: int, lr: float, seed: int) -> list[float]:
    """Plain SGD on the fast path; the test accuracy after each epoch."""
    optimizer = cr.optim.SGD(net.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    batches = cr.data.DataLoader(data.x_train, data.y_train, batch_size=32, shuffle=True, seed=seed)
    curve = []
    for _ in range(epochs):
        for xb, yb in batches:
            optimizer.zero_grad()
            criterion.fprop(net.fprop(xb), yb)
            net.bprop(criterion.bprop())
            optimizer.step()
        curve.append(accuracy(net, data.x_test, data.y_test))
    return curve


def plot(results: dict, epochs: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    colors = {"sigmoid": "tab:red", "relu": "tab:blue"}
    for name, r in results.items():
        layers = np.arange(1, len(r["init"]) + 1)
        left.plot(layers, r["init"], "o--", color=colors[name], alpha=0.6, label=f"{name}, at init")
        left.plot(layers, r["trained"], "o-", color=colors[name], label=f"{name}, after {epochs} epochs")
        right.plot(np.arange(1, epochs + 1), r["curve"], "o-", color=colors[name], label=name)
    left.set_yscale("log")
    left.set_xlabel("Linear layer (1 = next to the input)")
    left.set_ylabel("δ norm (mean over examples)")
    left.set_title("the error signal on its way down")
    left.legend(fontsize=8)
    right.set_xlabel("epoch")
    right.set_ylabel("test accuracy")
    right.set_ylim(0, 1)
    right.set_title("what the first layers' δ does to learning")
    right.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=6, help="hidden layers")
    parser.add_argument("--width", type=int, default=64, help="units per hidden layer")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    data = cr.data.load_dataset("digits")
    x, y = data.x_train[:PROBE], data.y_train[:PROBE]
    results = {}
    for name in ACTIVATIONS:
        net = build(name, args.depth, args.width, args.seed)
        init, init_verdicts = delta_norms(net, x, y)
        curve = train(net, data, args.epochs, args.lr, args.seed)
        trained, verdicts = delta_norms(net, x, y)
        results[name] = {"init": init, "trained": trained, "ratio_init": init[0] / init[-1],
                         "ratio_trained": trained[0] / trained[-1], "accuracy": curve[-1], "curve": curve,
                         "verdicts_init": [f.kind for f in init_verdicts], "verdicts": [f.kind for f in verdicts]}

    s, r = results["sigmoid"], results["relu"]
    print(f"{args.depth} hidden layers of {args.width}, Glorot init, SGD lr={args.lr:g}, {args.epochs} epochs on the digits")
    print(f"δ norm of each Linear layer's output (mean over {PROBE:,} training examples)")
    print(f"{'layer':<18}{'sigmoid: init':>14}{'trained':>10}{'relu: init':>14}{'trained':>10}")
    for i in range(len(s["init"])):
        label = f"Linear {i + 1}" + (" (logits)" if i == len(s["init"]) - 1 else "")
        print(f"{label:<18}{s['init'][i]:>14.2e}{s['trained'][i]:>10.2e}{r['init'][i]:>14.2e}{r['trained'][i]:>10.2e}")
    print(f"{'first / last':<18}{s['ratio_init']:>14.2e}{s['ratio_trained']:>10.2e}"
          f"{r['ratio_init']:>14.2e}{r['ratio_trained']:>10.2e}")
    print(f"{'expected at init':<18}{'(1/4)^' + str(args.depth) + ' = ' + format(0.25 ** args.depth, '.1e'):>24}"
          f"{'(1/√2)^' + str(args.depth) + ' = ' + format(0.5 ** (args.depth / 2), '.3f'):>24}")
    print(f"test accuracy after {args.epochs} epochs: sigmoid {s['accuracy']:.1%}, relu {r['accuracy']:.1%}")
    for name, result in results.items():
        print(f"check_layers on the {name} net, at init: {', '.join(result['verdicts_init']) or 'nothing'}; "
              f"trained: {', '.join(result['verdicts']) or 'nothing'}")

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "vanishing_gradients.png"
    plot(results, args.epochs, picture)
    print(f"the picture: {picture}")
    return {**results, "picture": picture}


if __name__ == "__main__":
    main()

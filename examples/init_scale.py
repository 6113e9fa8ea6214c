"""The init scale: zero, too large, and Glorot's variance 2/(fan_in + fan_out) (001_*, 002_*).

001_* asks how to choose the initial parameters: "Full 0? Each weight has the same, and
not meaningful gradients. Random!", with mean 0 and a scale that avoids "exploding passes,
forward backward too": variance 2/(fan_in + fan_out) (Glorot & Bengio 2010; 002_*'s
σ = sqrt(2/(M+N)), chainrule's default for Linear). The same tanh network, three ways:

* zero: every hidden unit computes the same thing and gets the same gradient, so they stay
  identical forever (symmetry never breaks). With tanh it is worse still: tanh(0) = 0, so
  the weights above see zero inputs (gradient hᵀδ = 0) and pass back δ Wᵀ = 0: no weight
  ever moves, only the output bias learns the class frequencies;
* too large (Glorot × 10): the pre-activations are ten times wider and most land in tanh's
  flat tails (|a| > 0.97), where tanh'(z) = 1 − tanh²(z) (003_*, slide 43) is below 0.06:
  each unit is nearly a step function, and a unit learns only from the few examples that
  put it on the slope. δ itself does not vanish here (the ×10 weights multiply it by about
  ten per layer on the way back, the tails take most of that away again): what is lost is
  the forward pass, and the same budget reaches a lower accuracy;
* Glorot: the activations spread over (−1, 1) without piling up in the tails, and δ keeps
  its size from the last layer to the first.

Here: the 8×8 digits, Linear(64, 32) + Tanh + Linear(32, 32) + Tanh + Linear(32, 10), plain
SGD (lr 0.1, batches of 32) for 10 epochs on the fast path; ``chainrule.diagnostics.
layer_stats`` measures each tanh layer's saturated fraction (|tanh| > 0.97) and each Linear
layer's δ norm on 1,000 training examples.

What to look at: the printed table (saturated fraction per tanh layer, δ first/last, how many
distinct hidden units there are, test accuracy), the verdicts of ``check_layers``, and
``out/init_scale.png``, the histogram of each tanh layer's activations at init.

    python examples/init_scale.py [--epochs 10] [--scale 10] [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.diagnostics import check_layers, layer_stats

INITS = ("zero", "too large", "glorot")
PROBE = 1000  # training examples layer_stats measures on
BINS = 30


def build(init: str, scale: float, seed: int) -> nn.Sequential:
    """The tanh network with Glorot init (chainrule's default), then zeroed or scaled up."""
    cr.manual_seed(seed)
    net = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 10))
    for layer in net:
        if isinstance(layer, nn.Linear):
            if init == "zero":
                nn.init.zeros_(layer.weight)
            elif init == "too large":
                layer.weight.data *= scale
    return net


def measure(net: nn.Sequential, x: np.ndarray, y: np.ndarray) -> dict:
    """Saturated fraction per tanh layer, δ norm per Linear layer, histograms, verdicts."""
    rows = layer_stats(net, x, y, histogram_bins=BINS)
    tanh = [r for r in rows if r["kind"] == "tanh"]
    deltas = [r["grad_norm"] for r in rows if r["kind"] == "linear"]
    return {"saturated": [r["saturated"] for r in tanh], "deltas": deltas, "ratio": deltas[0] / deltas[-1],
            "histograms": [r["histogram"]["counts"] for r in tanh], "verdicts": [f.kind for f in check_layers(rows)]}


def distinct_units(net: nn.Sequential, x: np.ndarray) -> list[int]:
    """How many different hidden units each tanh layer has: units whose activations on every
    example of x are equal count once (a net whose symmetry never broke has 1)."""
    counts, a = [], x
    for layer in net:
        a = layer.fprop(a)
        if isinstance(layer, nn.Tanh):
            counts.append(len(np.unique(a.T, axis=0)))
    return counts


def train(net: nn.Sequential, data, epochs: int, lr: float, seed: int) -> float:
    """Plain SGD on the fast path; the test accuracy at the end."""
    optimizer = cr.optim.SGD(net.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    batches = cr.data.DataLoader(data.x_train, data.y_train, batch_size=32, shuffle=True, seed=seed)
    for _ in range(epochs):
        for xb, yb in batches:
            optimizer.zero_grad()
            criterion.fprop(net.fprop(xb), yb)
            net.bprop(criterion.bprop())
            optimizer.step()
    return float((net.fprop(data.x_test).argmax(axis=1) == data.y_test).mean())


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.4), layout="constrained", sharey=True)
    edges = np.linspace(-1, 1, BINS + 1)
    for ax, (name, r) in zip(axes, results.items()):
        for i, counts in enumerate(r["init"]["histograms"]):
            total = max(sum(counts), 1)
            ax.stairs(np.array(counts) / total, edges, label=f"tanh layer {i + 1}: {r['init']['saturated'][i]:.0%} "
                      "saturated", linewidth=1.5)
        ax.axvspan(-1, -0.97, color="gray", alpha=0.3)
        ax.axvspan(0.97, 1, color="gray", alpha=0.3)
        ax.set_title(f"{name} init: activations at init\n(test accuracy after training {r['accuracy']:.0%})", fontsize=10)
        ax.set_xlabel("activation (grey: the flat tails, |a| > 0.97)")
        ax.set_ylim(0, 1.4)  # room above the tallest bar for the legend
        ax.legend(fontsize=8, loc="upper center")
    axes[0].set_ylabel("fraction of the activations")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="how many times Glorot's weights 'too large' is")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    data = cr.data.load_dataset("digits")
    x, y = data.x_train[:PROBE], data.y_train[:PROBE]
    results = {}
    for init in INITS:
        net = build(init, args.scale, args.seed)
        before = [p.data.copy() for p in net.parameters()]
        at_init = measure(net, x, y)
        accuracy = train(net, data, args.epochs, args.lr, args.seed)
        moved = [float(np.abs(p.data - b).max()) for p, b in zip(net.parameters(), before)]
        results[init] = {"init": at_init, "trained": measure(net, x, y), "accuracy": accuracy,
                         "distinct_units": distinct_units(net, x), "weights_moved": moved[0::2], "biases_moved": moved[1::2]}

    print(f"Linear(64, 32) + Tanh + Linear(32, 32) + Tanh + Linear(32, 10) on the digits, SGD lr={args.lr:g}, "
          f"{args.epochs} epochs")
    print(f"{'init':<11}{'saturated at init':>19}{'after training':>16}{'δ first/last':>14}{'distinct units':>16}"
          f"{'test accuracy':>15}")
    for init, r in results.items():
        init_sat = " ".join(f"{s:.2f}" for s in r["init"]["saturated"])
        trained_sat = " ".join(f"{s:.2f}" for s in r["trained"]["saturated"])
        units = " ".join(f"{n:>2}" for n in r["distinct_units"])
        print(f"{init:<11}{init_sat:>19}{trained_sat:>16}{r['init']['ratio']:>14.2f}{units:>16}{r['accuracy']:>15.1%}")
    print("(saturated: fraction of each tanh layer's activations with |a| > 0.97; δ first/last: the first Linear "
          "layer's δ norm over the logits', at init; distinct units: per tanh layer, after training)")
    zero = results["zero"]
    print(f"zero init after {args.epochs} epochs: largest weight change per Linear layer "
          f"{', '.join(f'{m:g}' for m in zero['weights_moved'])}; output bias moved {zero['biases_moved'][-1]:.3f}")
    for init, r in results.items():
        print(f"check_layers, {init} init: {', '.join(r['init']['verdicts']) or 'nothing'}")

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "init_scale.png"
    plot(results, picture)
    print(f"the picture: {picture}")
    return {**results, "picture": picture}


if __name__ == "__main__":
    main()

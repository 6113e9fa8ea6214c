"""Three types of neuron, and why one needs a hidden layer (003_*, slides 12 and 18–23).

The slides' neurons all compute z = θ0 + Σ xᵢθᵢ and differ in the output and
in how they learn:

* linear neuron:   y = z, trained on squared error (``MSELoss``); say class 1 when y ≥ 0.5;
* perceptron:      y = 1 if z ≥ 0 else 0, trained by the perceptron rule
  θ ← θ + η (t − y) x (no gradient: the step has none);
* logistic neuron: y = σ(z), trained on cross-entropy (``BCEWithLogitsLoss``); class 1 when y ≥ 0.5.

Each draws a straight line through the plane. On linearly separable data all
three find a line with every training point right. On XOR (slide 12: "some
datasets are not linearly separable") no line gets more than 3 of the 4 corners,
so all three stay at or below 75%. A hidden layer of 8 tanh units fixes it
(slides 22–23, "stack a bunch of them together").

The gradient-trained models use the exercise's path: ``fprop``, ``criterion.bprop``,
``bprop``, then ``optim.SGD``/``optim.Adam`` over the parameters' gradients.

What to look at: ``out/neuron_types.png``, one row per data set and one column
per model: the straight boundaries of the three neurons, the bent one of the network.

    python examples/neuron_types.py [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn


def separable_data(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two blobs of n/2 points around (0.3, 0.3) and (0.7, 0.7): a straight line separates them."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    centres = np.array([[0.3, 0.3], [0.7, 0.7]], np.float32)
    x = centres[y] + np.float32(0.08) * rng.standard_normal((n, 2), dtype=np.float32)
    return x, y


def fit_gradient(net: nn.Module, criterion: nn.Module, x: np.ndarray, t: np.ndarray, optimizer, steps: int):
    """Full-batch training on the fprop/bprop path; returns the last loss."""
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion.fprop(net.fprop(x), t)
        net.bprop(criterion.bprop(), input_grad=False)
        optimizer.step()
    return loss


class Perceptron:
    """Rosenblatt's perceptron: a step output and the perceptron learning rule."""

    def __init__(self, features: int, lr: float = 0.1):
        self.w, self.b, self.lr = np.zeros(features, np.float32), np.float32(0), np.float32(lr)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x @ self.w + self.b >= 0).astype(np.int64)

    def fit(self, x: np.ndarray, t: np.ndarray, epochs: int = 100, seed: int = 0) -> int:
        """Online passes in random order until an epoch makes no mistake; returns the epochs used."""
        rng = np.random.default_rng(seed)
        for epoch in range(1, epochs + 1):
            mistakes = 0
            for i in rng.permutation(len(x)):
                error = t[i] - self.predict(x[i:i + 1])[0]  # +1, 0 or -1
                if error:
                    self.w += self.lr * error * x[i]
                    self.b += self.lr * error
                    mistakes += 1
            if mistakes == 0:
                return epoch
        return epochs


def train_all(x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, tuple[object, object]]:
    """{model name: (model, function from inputs to predicted class)} for one data set."""
    t = y[:, None].astype(np.float32)  # the output units' targets, shape (n, 1)
    cr.manual_seed(seed)
    models = {}

    linear = nn.Linear(2, 1)
    fit_gradient(linear, nn.MSELoss(), x, t, cr.optim.SGD(linear.parameters(), lr=0.5, momentum=0.9), 500)
    models["linear neuron"] = (linear, lambda v: (linear.fprop(v)[:, 0] >= 0.5).astype(np.int64))

    perceptron = Perceptron(2)
    perceptron.fit(x, y, seed=seed)
    models["perceptron"] = (perceptron, perceptron.predict)

    logistic = nn.Linear(2, 1)  # the sigmoid lives in the criterion: σ(z) ≥ 0.5 ⇔ z ≥ 0
    fit_gradient(logistic, nn.BCEWithLogitsLoss(), x, t, cr.optim.SGD(logistic.parameters(), lr=1.0, momentum=0.9),
                 1000)
    models["logistic neuron"] = (logistic, lambda v: (logistic.fprop(v)[:, 0] >= 0).astype(np.int64))

    mlp = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    fit_gradient(mlp, nn.BCEWithLogitsLoss(), x, t, cr.optim.Adam(mlp.parameters(), lr=0.05), 500)
    models["hidden layer (8 tanh)"] = (mlp, lambda v: (mlp.fprop(v)[:, 0] >= 0).astype(np.int64))
    return models


def plot(panels: dict[str, dict], data: dict[str, tuple], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(panels), len(next(iter(panels.values())))
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 3.2 * rows), squeeze=False, layout="constrained")
    grid = np.linspace(-0.4, 1.4, 241, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    for r, (set_name, models) in enumerate(panels.items()):
        x, y = data[set_name]
        for c, (model_name, (predict, accuracy)) in enumerate(models.items()):
            ax = axes[r, c]
            region = predict(points).reshape(gx.shape)
            ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=["#9ecae1", "#fcae91"], alpha=0.7)
            ax.contour(gx, gy, region, levels=[0.5], colors="k", linewidths=1.2)
            ax.scatter(*x[y == 0].T, s=12, c="#08519c", label="class 0")
            ax.scatter(*x[y == 1].T, s=12, c="#a50f15", marker="s", label="class 1")
            ax.set(xlim=(-0.4, 1.4), ylim=(-0.4, 1.4), aspect="equal", xticks=[0, 1], yticks=[0, 1])
            ax.set_title(f"{model_name}\n{set_name}: {accuracy:.0%} right", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    data = {"separable": separable_data(seed=args.seed), "XOR": cr.data.make_xor(200, noise=0.1, seed=args.seed)}
    accuracy: dict[str, dict[str, float]] = {}
    panels: dict[str, dict] = {}
    for set_name, (x, y) in data.items():
        models = train_all(x, y, seed=args.seed)
        accuracy[set_name] = {name: float((predict(x) == y).mean()) for name, (_, predict) in models.items()}
        panels[set_name] = {name: (predict, accuracy[set_name][name]) for name, (_, predict) in models.items()}

    print(f"training accuracy        {'separable':>10}{'XOR':>8}")
    for name in accuracy["XOR"]:
        print(f"  {name:<23}{accuracy['separable'][name]:>10.0%}{accuracy['XOR'][name]:>8.0%}")
    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "neuron_types.png"
    plot(panels, data, picture)
    print(f"decision boundaries: {picture}")
    return {"accuracy": accuracy, "picture": picture}


if __name__ == "__main__":
    main()

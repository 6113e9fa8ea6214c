"""Hinton's one-layer digit network: a template per class (003_*, slides 26–35).

One output unit per class; every inked pixel votes for classes through its
weights, and the class with the most votes wins (slide 26). The learning rule
(slide 28): show the network an image, add the image's active pixels to the
weights of the correct class, and subtract them from the weights of the class
the network guessed (when it guessed right the two cancel). That is the
multi-class perceptron; here it runs for 10 passes over the 1,437 training
digits of the 8×8 set (UCI optdigits, shipped with chainrule), a pixel being "active" when it has any ink.

Slide 35 says why this is not enough: each class gets one rigid template. For
comparison the same layer, Linear(64, 10), is trained by gradient descent on the
softmax output's cross-entropy, on the tape (``layer(x)``, ``loss.backward()``,
``optim.SGD``). It starts from zero weights, like the templates, so pixels that
never carry ink keep weight 0 in both drawings.

What to look at: ``out/templates.png``, the weights drawn as the slides do
(slide 27): each class's map of the 8×8 image, a white square for a positive
weight and a black one for a negative weight, with area proportional to the
magnitude. Neither row is a picture of a digit: both rules learn what tells a
class apart from the others. The 0 has a white ring around a black centre (a 0
has no ink in the middle, an 8 or a 1 does), the 7 is black at the bottom
centre where most other digits have ink, the 2 is white along its bottom stroke.

    python examples/templates.py [--epochs 10] [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn


def train_templates(x: np.ndarray, y: np.ndarray, classes: int, epochs: int, seed: int = 0) -> np.ndarray:
    """Hinton's rule, one image at a time; returns the weights, shape (pixels, classes)."""
    weights = np.zeros((x.shape[1], classes), np.float32)
    active = (x > 0).astype(np.float32)  # a pixel votes when it has ink
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(len(x)):
            guess = int(np.argmax(active[i] @ weights))  # the class with the most votes
            weights[:, y[i]] += active[i]
            weights[:, guess] -= active[i]
    return weights


def template_predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return ((x > 0).astype(np.float32) @ weights).argmax(axis=1)


def train_softmax(data, epochs: int = 30, lr: float = 0.1, seed: int = 0) -> nn.Linear:
    """Linear(64, 10) + softmax, cross-entropy, minibatch SGD with momentum, on the tape."""
    cr.manual_seed(seed)
    layer = nn.Linear(data.num_features, len(data.classes))
    nn.init.zeros_(layer.weight)  # start where the templates start
    criterion = nn.CrossEntropyLoss()
    optimizer = cr.optim.SGD(layer.parameters(), lr=lr, momentum=0.9)
    batches = cr.data.DataLoader(data.x_train, data.y_train, batch_size=32, shuffle=True, seed=seed)  # reshuffled every pass
    for _ in range(epochs):
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = criterion(layer(cr.tensor(xb)), yb)
            loss.backward()
            optimizer.step()
    return layer


def hinton_diagram(ax, weights: np.ndarray, scale: float) -> None:
    """Slide 27's drawing: white (+) or black (−) squares, area proportional to |w|, on grey."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    ax.set_facecolor("0.5")
    squares, colours = [], []
    for (r, c), w in np.ndenumerate(weights):
        side = np.sqrt(abs(w) / scale)
        if side > 0:
            squares.append(Rectangle((c - side / 2, r - side / 2), side, side))
            colours.append("white" if w > 0 else "black")
    ax.add_collection(PatchCollection(squares, facecolors=colours, edgecolors="none"))
    rows, cols = weights.shape
    ax.set(xlim=(-0.5, cols - 0.5), ylim=(rows - 0.5, -0.5), aspect="equal", xticks=[], yticks=[])


def plot(rows: dict[str, np.ndarray], image_shape, classes, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), len(classes), figsize=(1.6 * len(classes), 1.9 * len(rows)),
                             squeeze=False, layout="constrained")
    for r, (title, weights) in enumerate(rows.items()):
        scale = float(np.abs(weights).max()) or 1.0  # one scale per row: magnitudes comparable across classes
        for k, ax in enumerate(axes[r]):
            hinton_diagram(ax, weights[:, k].reshape(image_shape), scale)
            ax.set_title(classes[k], fontsize=10)
        axes[r, 0].set_ylabel(title, fontsize=9)
    fig.suptitle("weights from each pixel to each class (white +, black −, area ∝ |w|)", fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes of the template rule over the data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    data = cr.data.load_digits()
    templates = train_templates(data.x_train, data.y_train, len(data.classes), args.epochs, args.seed)
    template_accuracy = float((template_predict(templates, data.x_test) == data.y_test).mean())
    print(f"template network (Hinton's rule, {args.epochs} passes): test accuracy {template_accuracy:.1%} "
          f"(chance: 10%)")

    layer = train_softmax(data, seed=args.seed)
    softmax_accuracy = float((layer.fprop(data.x_test).argmax(axis=1) == data.y_test).mean())
    print(f"Linear(64, 10) + softmax (cross-entropy, SGD):  test accuracy {softmax_accuracy:.1%}")

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "templates.png"
    plot({f"templates ({template_accuracy:.0%})": templates, f"softmax ({softmax_accuracy:.0%})": layer.weight.data},
         data.image_shape, data.classes, picture)
    print(f"weights drawn as on slide 27: {picture}")
    return {"template_accuracy": template_accuracy, "softmax_accuracy": softmax_accuracy,
            "templates": templates, "softmax_weights": layer.weight.data, "picture": picture}


if __name__ == "__main__":
    main()

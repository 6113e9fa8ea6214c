"""4 versus non-4: one hidden sigmoid layer and a sigmoid output unit (003_*, slide 41).

The slide asks how to build a network that tells a handwritten 4 from every
other digit, and answers: one hidden layer with the sigmoid activation, and one
sigmoid output o(x) = σ(z), the probability that the image is a 4. Its cost is
the Bernoulli likelihood's, binary cross-entropy, which chainrule's
``BCEWithLogitsLoss`` computes from the logit z as softplus((1 − 2t)·z): finite
for any z, and with the gradient σ(z) − t (000_*, "sigmoid units for Bernoulli
output distributions").

Here: the 8×8 digits (UCI optdigits), Linear(64, 32), Sigmoid, Linear(32, 1), trained
on the tape (``net(x)``, ``loss.backward()``, ``optim.SGD``) for 50 passes.
Only one digit in ten is a 4, so accuracy alone says little (answering "not a 4"
every time scores 90%): the precision (of the images called 4, how many are 4s)
and the recall (of the 4s, how many were found) say more.

What to look at: the printed counts, and ``out/four_vs_rest.png``, the test
images the network gets wrong, with its P(4).

    python examples/four_vs_rest.py [--epochs 50] [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn

DIGIT = 4


def train(x: np.ndarray, t: np.ndarray, hidden: int, epochs: int, lr: float, seed: int) -> nn.Sequential:
    cr.manual_seed(seed)
    net = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.Sigmoid(), nn.Linear(hidden, 1))  # ends in the logit z
    criterion = nn.BCEWithLogitsLoss()
    optimizer = cr.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    batches = cr.data.DataLoader(x, t, batch_size=32, shuffle=True, seed=seed)
    for _ in range(epochs):
        for xb, tb in batches:
            optimizer.zero_grad()
            loss = criterion(net(cr.tensor(xb)), tb)
            loss.backward()
            optimizer.step()
    return net


def plot_errors(images: np.ndarray, probabilities: np.ndarray, truth: np.ndarray, image_shape, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(images), 1)
    fig, axes = plt.subplots(1, n, figsize=(1.5 * n + 0.5, 2.1), squeeze=False, layout="constrained")
    for ax, image, p, is_four in zip(axes[0], images, probabilities, truth):
        ax.imshow(image.reshape(image_shape), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{'a 4' if is_four else 'not a 4'}\nP(4) = {p:.2f}", fontsize=9)
    for ax in axes[0]:
        ax.axis("off")
    fig.suptitle(f"the test images the network gets wrong ({len(images)})", fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=32, help="sigmoid units in the hidden layer")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    data = cr.data.load_digits()
    t_train = (data.y_train == DIGIT).astype(np.float32)[:, None]  # targets of shape (n, 1), like the output
    net = train(data.x_train, t_train, args.hidden, args.epochs, args.lr, args.seed)

    p = cr.autograd.ops.sigmoid(net.fprop(data.x_test)[:, 0])  # P(4 | x)
    predicted, truth = p >= 0.5, data.y_test == DIGIT
    tp, fp = int((predicted & truth).sum()), int((predicted & ~truth).sum())
    fn, tn = int((~predicted & truth).sum()), int((~predicted & ~truth).sum())
    accuracy, precision, recall = (tp + tn) / len(truth), tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    print(f"{DIGIT} vs non-{DIGIT}, Linear(64, {args.hidden}) + Sigmoid + Linear({args.hidden}, 1) + sigmoid output, "
          f"BCE, {args.epochs} epochs")
    print(f"test set: {len(truth)} images, {int(truth.sum())} of them 4s")
    print(f"   called 4:      {tp:>3} right (true positives), {fp:>3} wrong (false positives)")
    print(f"   called non-4:  {tn:>3} right (true negatives), {fn:>3} wrong (false negatives)")
    print(f"accuracy {accuracy:.1%}   precision {precision:.1%}   recall {recall:.1%}")

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "four_vs_rest.png"
    wrong = predicted != truth
    plot_errors(data.x_test[wrong], p[wrong], truth[wrong], data.image_shape, picture)
    print(f"the mistakes: {picture}")
    return {"accuracy": accuracy, "precision": precision, "recall": recall,
            "counts": {"tp": tp, "fp": fp, "fn": fn, "tn": tn}, "picture": picture}


if __name__ == "__main__":
    main()

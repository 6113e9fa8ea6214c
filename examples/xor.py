"""XOR, the classic problem a single neuron cannot solve (000_*, "Example: Learning the XOR", slide 13).

Part 1 sets the slide's weights by hand: a hidden layer of two ReLU units with
W = [[1, 1], [1, 1]], b = [0, −1], and a sigmoid output unit with w = [2, −4],
b = −1. The hidden layer maps the four corners onto a line where XOR *is*
linearly separable: h(0,0) = (0,0), h(0,1) = h(1,0) = (1,0), h(1,1) = (2,1).
The output then reads σ(−1) = 0.27, σ(1) = 0.73, 0.73, σ(−1) = 0.27: [0, 1, 1, 0].

Part 2 asks SGD to find such weights from a random start, on the tape
(``net(x)``, ``loss.backward()``, ``optim.SGD``), with a 2-2-1 tanh network
and the sigmoid output's cost, binary cross-entropy. A 2-2-1 network has a local
minimum on XOR: it gets two corners right and leaves the other two at p = 0.5,
for a loss of (2·ln 2)/4 ≈ 0.347. About half the seeds end there; the survey
printed at the end says which. Seed 0 reaches the solution, so it is the default.

What to look at: ``out/xor.png``, the decision boundary p = 0.5 of both networks
over the unit square. Both put (0,1) and (1,0) in a diagonal band between two
parallel edges: the hand-set net's edges are the lines x₁+x₂ = 0.5 and 1.5, with
probabilities that change linearly (ReLU); the learned net's are sharp, because
its tanh units end up saturated.

    python examples/xor.py [--seed 0] [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn

X, Y = cr.data.make_xor()  # the four corners of the unit square, labels [0, 1, 1, 0]


def hand_set_network() -> nn.Sequential:
    """The slide's network, weights set by hand (weights are stored (in, out): y = x W + b)."""
    hidden, output = nn.Linear(2, 2), nn.Linear(2, 1)
    hidden.load_state_dict({"weight": [[1, 1], [1, 1]], "bias": [0, -1]})
    output.load_state_dict({"weight": [[2], [-4]], "bias": [-1]})
    return nn.Sequential(hidden, nn.ReLU(), output, nn.Sigmoid())


def train_2_2_1(seed: int, steps: int = 1000, lr: float = 0.5) -> tuple[nn.Sequential, float]:
    """A 2-2-1 tanh network trained by SGD with momentum on the tape; returns (net, final loss).

    The network ends in the logit z; the loss is BCE with logits, softplus((1 − 2y) z).
    """
    cr.manual_seed(seed)  # the initial weights come from chainrule's generator
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    criterion = nn.BCEWithLogitsLoss()
    optimizer = cr.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    x, t = cr.tensor(X), cr.tensor(Y[:, None].astype(np.float32))
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(net(x), t)
        loss.backward()
        optimizer.step()
    return net, loss.item()


def plot(nets: dict[str, tuple[nn.Module, bool]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-0.25, 1.25, 301, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fig, axes = plt.subplots(1, len(nets), figsize=(4.4 * len(nets) + 1, 4.6), layout="constrained")
    for ax, (title, (net, logits)) in zip(np.atleast_1d(axes), nets.items()):
        out = net.fprop(points)[:, 0]
        p = cr.autograd.ops.sigmoid(out) if logits else out
        p = p.reshape(gx.shape)
        image = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=2)
        for label, marker in ((0, "o"), (1, "s")):
            ax.scatter(*X[Y == label].T, s=140, marker=marker, c="white" if label == 0 else "black",
                       edgecolors="black", linewidths=1.5, label=f"y = {label}", zorder=3)
        ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2)
    fig.colorbar(image, ax=axes, label="P(y = 1 | x); black line: 0.5", shrink=0.85)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the 2-2-1 network's initial weights")
    parser.add_argument("--survey", type=int, default=8, help="also train from seeds 0..N-1 and count successes")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    print("1. the slide's hand-set network (ReLU hidden layer, sigmoid output)")
    hand = hand_set_network()
    hidden = hand[1].fprop(hand[0].fprop(X))
    p_hand = hand.fprop(X)[:, 0]
    for x, h, p in zip(X, hidden, p_hand):
        print(f"   x = {x.astype(int).tolist()}  h = {h.astype(int).tolist()}  a(2) = σ(h·w + b) = {p:.2f}")
    hand_pred = (p_hand > 0.5).astype(int)
    print(f"   ŷ = 1(a(2) > 0.5) = {hand_pred.tolist()}  (XOR: {Y.tolist()})")

    print(f"2. a 2-2-1 tanh network trained by SGD from random weights (seed {args.seed})")
    net, loss = train_2_2_1(args.seed)
    logits = net.fprop(X)[:, 0]
    learned_pred = (logits > 0).astype(int)
    print(f"   loss {loss:.4f}  P(y=1) = {[round(float(v), 3) for v in cr.autograd.ops.sigmoid(logits)]}"
          f"  ŷ = {learned_pred.tolist()}")

    survey = [loss if seed == args.seed else train_2_2_1(seed)[1] for seed in range(args.survey)]
    solved = [loss < 0.05 for loss in survey]
    if args.survey:
        print(f"   seeds 0..{args.survey - 1}: {sum(solved)} of {args.survey} solve XOR; the others stop in the "
              "local minimum, loss ln(2)/2 = 0.347 (" + ", ".join(f"seed {s}: {v:.3f}" for s, v in enumerate(survey)
                                                          if v >= 0.05) + ")")

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "xor.png"
    plot({"hand-set weights (slide 13)": (hand, False), f"2-2-1 tanh learned by SGD (seed {args.seed})": (net, True)},
         picture)
    print(f"decision boundaries: {picture}")
    return {"hand_set_outputs": p_hand, "hand_set_predictions": hand_pred, "learned_loss": loss,
            "learned_predictions": learned_pred, "survey_losses": survey, "survey_solved": solved,
            "picture": picture}


if __name__ == "__main__":
    main()

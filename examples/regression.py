"""A linear output unit for the mean of a Gaussian: regression with MSE (000_*, "Neuron Design").

000_* matches each output unit to a distribution by maximum likelihood: a
sigmoid for a Bernoulli, a softmax for a categorical, and a *linear* unit
ŷ = z for the mean of a Gaussian, P(y | x) = N(y; ŷ(x), σ²). Its negative
log-likelihood is (y − ŷ)²/(2σ²) + const, so maximum likelihood is least squares
(``MSELoss``), and the output layer's error signal is simply δ(L) ∝ ŷ − y.

Here: y = sin(x) + Gaussian noise of standard deviation 0.1 (variance 0.01) for
200 training points x in [−π, π], fitted by Linear(1, 16), Tanh, Linear(16, 1)
with no activation on the output, trained on the exercise's path (``fprop``,
``criterion.bprop``, ``bprop``, ``optim.Adam``), full batch. A good fit leaves
only the noise: the mean squared error on 1,000 fresh test points should be
close to the noise variance 0.01, while the error against the noise-free sine
is much smaller.

What to look at: ``out/regression.png``, the data, the true mean sin(x), and
the network's estimate of it.

    python examples/regression.py [--noise 0.1] [--out examples/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn


def make_data(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points x ~ U(−π, π), y = sin x + N(0, noise²), as float32 columns of shape (n, 1)."""
    x = rng.uniform(-np.pi, np.pi, (n, 1)).astype(np.float32)
    y = np.sin(x) + rng.normal(0.0, noise, (n, 1)).astype(np.float32)
    return x, y


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.1, help="standard deviation of the noise")
    parser.add_argument("--hidden", type=int, default=16, help="tanh units")
    parser.add_argument("--steps", type=int, default=2000, help="full-batch Adam steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="folder for the picture")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_data(200, args.noise, rng)
    x_test, y_test = make_data(1000, args.noise, rng)

    cr.manual_seed(args.seed)
    net = nn.Sequential(nn.Linear(1, args.hidden), nn.Tanh(), nn.Linear(args.hidden, 1))  # linear output unit
    criterion = nn.MSELoss()
    optimizer = cr.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(args.steps):
        optimizer.zero_grad()
        train_mse = criterion.fprop(net.fprop(x_train), y_train)
        net.bprop(criterion.bprop(), input_grad=False)
        optimizer.step()

    y_hat = net.fprop(x_test)
    test_mse = criterion.fprop(y_hat, y_test)
    mean_error = criterion.fprop(y_hat, np.sin(x_test))  # against the true mean, noise-free
    variance = args.noise ** 2
    print(f"y = sin(x) + noise of variance {variance:.4g}; Linear(1, {args.hidden}) + Tanh + Linear({args.hidden}, 1)")
    print(f"   training MSE {train_mse:.5f}  (the maximum-likelihood estimate of the noise variance)")
    print(f"   test MSE     {test_mse:.5f}  = {test_mse / variance:.2f} × the noise variance")
    print(f"   MSE against the noise-free sin(x): {mean_error:.5f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-np.pi, np.pi, 400, dtype=np.float32)[:, None]
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.scatter(x_train[:, 0], y_train[:, 0], s=10, c="0.55", label="training data")
    ax.plot(grid[:, 0], np.sin(grid[:, 0]), "k--", lw=1.2, label="true mean sin(x)")
    fit = net.fprop(grid)[:, 0]
    ax.plot(grid[:, 0], fit, c="C3", lw=2, label=f"network ŷ(x) ({args.hidden} tanh units)")
    ax.fill_between(grid[:, 0], fit - 2 * args.noise, fit + 2 * args.noise, color="C3", alpha=0.15,
                    label="ŷ ± 2σ")
    ax.set(xlabel="x", ylabel="y", title=f"Gaussian output unit: test MSE {test_mse:.4f}, noise variance {variance:.4g}")
    ax.legend(fontsize=8, loc="upper left")
    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "regression.png"
    fig.savefig(picture, dpi=100)
    plt.close(fig)
    print(f"fit and data: {picture}")
    return {"train_mse": train_mse, "test_mse": test_mse, "mean_error": mean_error, "noise_variance": variance,
            "picture": picture}


if __name__ == "__main__":
    main()

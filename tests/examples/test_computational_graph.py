"""examples/computational_graph.py: the worked examples of 004_*, every node's value and gradient."""

import numpy as np
import pytest


def test_sum_times_example(run_example):
    result = run_example("computational_graph")
    table = result["sum_times"]
    assert table == {"x": (-2.0, -4.0), "y": (5.0, -4.0), "q = x + y": (3.0, -4.0), "z": (-4.0, 3.0),
                     "f = q · z": (-12.0, 1.0)}


@pytest.mark.parametrize("which", ["sigmoid_gates", "sigmoid_fused"])
def test_sigmoid_gate_example(run_example, which):
    table = run_example("computational_graph")[which]
    sigma = 1 / (1 + np.exp(-1.0))
    local = sigma * (1 - sigma)  # 0.1966, which the slide rounds to 0.2
    assert table[next(k for k in table if k.startswith("f ="))][0] == pytest.approx(sigma, rel=1e-6)
    inputs = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    # the mul gate switches: ∂f/∂w0 = x0·local, ∂f/∂x0 = w0·local, ...; the add gate passes local to w2
    expected = {"w0": -1.0, "x0": 2.0, "w1": -2.0, "x1": -3.0, "w2": 1.0}
    for name, value in inputs.items():
        assert table[name][0] == value
        assert table[name][1] == pytest.approx(local * expected[name], rel=1e-6)
    assert [round(table[k][1], 1) for k in inputs] == [-0.2, 0.4, -0.4, -0.6, 0.2]  # the slide's numbers
    assert table["sum"] == (pytest.approx(4.0), pytest.approx(local, rel=1e-6))
    if which == "sigmoid_gates":
        # slide 36: the exp gate's gradient is -0.53, its output 0.37; the 1/x gate's input 1.37
        assert table["exp"] == (pytest.approx(np.exp(-1), rel=1e-6), pytest.approx(-1 / (1 + np.exp(-1)) ** 2, rel=1e-6))
        assert round(table["exp"][1], 2) == -0.53 and round(table["+1"][0], 2) == 1.37
        assert len(table) == 13


def test_the_example_writes_dot_and_pictures(run_example):
    out = run_example("computational_graph")["out"]
    for stem in ("sum_times", "sigmoid_gates", "sigmoid_fused"):
        assert (out / f"{stem}.dot").read_text().startswith("digraph")
        if (out / f"{stem}.png").exists():  # only where Graphviz is installed
            assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

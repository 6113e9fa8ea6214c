"""chainrule bench: a tiny run end to end, and the arithmetic the roofline rests on."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from chainrule import bench


@pytest.fixture(scope="module")
def data():
    return bench.load_data("random")


def test_epoch_flops_counts_forward_backward_and_skips_the_first_input_grad():
    spec = bench.NETS["784-512relu-256relu-10"]
    per_example = 2 * (784 * 512 + 512 * 256 + 256 * 10)
    assert bench.epoch_flops(spec, 3) == 3 * (3 * per_example - 2 * 784 * 512)


def test_strictly_needed_bytes():
    need = bench.strictly_needed_bytes(bench.NETS["784-200tanh-10"], 10)
    params = 784 * 200 + 200 + 200 * 10 + 10
    assert need == {"parameters": 4 * params, "gradients": 4 * params, "optimizer state": 0,
                    "activations": 4 * 10 * (784 + 200 + 10)}


def test_contenders_compute_the_same_first_loss(data):
    """fast, autodiff and the hand loop are the same maths: the same weights give the same losses."""
    x, y, _ = data
    spec = bench.NETS["784-200tanh-10"]
    w = bench.init_weights(spec)
    order = np.arange(64)
    losses = [bench.CONTENDERS[n](spec, w, 0.05, 32).epoch(x, y, order) for n in ("fast", "autodiff", "numpy")]
    np.testing.assert_allclose(losses, losses[0], rtol=1e-5)


def test_a_tiny_run_prints_a_table_and_writes_json(tmp_path, capsys):
    parser = bench.add_arguments(argparse.ArgumentParser())
    path = tmp_path / "r.json"
    args = parser.parse_args(["--examples", "2000", "--repeats", "1", "--nets", "784-200tanh-10",
                              "--batch-sizes", "1000", "--contenders", "fast", "autodiff", "--data", "random",
                              "--no-memory", "--json", str(path), "--quiet"])
    assert bench.run(args) == 0
    out = capsys.readouterr().out
    assert "| 784-200tanh-10 | 1000 | chainrule fprop/bprop |" in out and "roofline" in out
    res = json.loads(path.read_text())
    assert {r["contender"] for r in res["results"]} == {"numpy", "fast", "autodiff", "roofline"}
    assert res["gemm_gflops"] > 0 and res["memory"]["strictly_needed_bytes"] > 0


def test_training_memory_is_traced_and_close_to_what_is_needed(data):
    x, y, _ = data
    spec = bench.NETS["784-200tanh-10"]
    need = sum(bench.strictly_needed_bytes(spec, 100).values())
    for name in ("fast", "autodiff"):
        peak = bench.measure_memory(name, spec, bench.init_weights(spec), 0.05, 100, x, y, steps=3)
        assert need < peak < 2 * need, (name, peak / need)

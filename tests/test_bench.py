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
                              "--batch-sizes", "1000", "--contenders", "fast", "autodiff", "gemm", "--data", "random",
                              "--no-memory", "--json", str(path), "--quiet"])
    assert bench.run(args) == 0
    out = capsys.readouterr().out
    assert "| 784-200tanh-10 | 1000 | chainrule fprop/bprop |" in out and "roofline" in out
    res = json.loads(path.read_text())
    assert {r["contender"] for r in res["results"]} == {"numpy", "fast", "autodiff", "gemm", "roofline"}
    ratios = {r["contender"]: r.get("x_gemm") for r in res["results"]}
    assert ratios["gemm"] == 1.0 and ratios["fast"] > 0 and "| GEMMs only (measured floor) |" in out
    assert res["gemm_gflops"] > 0 and res["memory"]["strictly_needed_bytes"] > 0
    picture = path.with_suffix(".png")  # the same result as bars, beside the JSON
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {picture}" in out
    picture.unlink()
    from chainrule.cli import main

    assert main(["plot", str(path)]) == 0 and picture.is_file()  # drawn again from the JSON


def test_training_memory_is_traced_and_close_to_what_is_needed(data):
    x, y, _ = data
    spec = bench.NETS["784-200tanh-10"]
    need = sum(bench.strictly_needed_bytes(spec, 100).values())
    for name in ("fast", "autodiff"):
        peak = bench.measure_memory(name, spec, bench.init_weights(spec), 0.05, 100, x, y, steps=3)
        assert need < peak < 2 * need, (name, peak / need)


def test_the_gemm_floor_does_the_training_steps_matrix_products():
    """GEMMs only: forward x W_k, then xᵀ g and g Wᵀ per layer; its outputs match the maths."""
    x, y, _ = bench.load_data("random")
    spec = bench.NETS["784-200tanh-10"]
    w = bench.init_weights(spec)
    trainer = bench.CONTENDERS["gemm"](spec, w, 0.05, 16)
    trainer.epoch(x, y, np.arange(32))
    logits = trainer.predict(x[:16], 16)
    np.testing.assert_allclose(logits, (x[:16] @ w[0]) @ w[2], rtol=1e-4, atol=1e-4)  # no bias, no activation


def test_a_missed_pytorch_target_reports_what_the_matrix_products_alone_take():
    row = dict(net="n", batch=32, x_numpy=1.0, x_roofline=3.0)
    res = {"results": [dict(row, contender="fast", x_torch=0.8), dict(row, contender="gemm", x_torch=0.5)],
           "memory": {"strictly_needed_bytes": 1, "peak_bytes": {}}}
    (what, met, figure), = [t for t in bench.targets(res) if "torch" in t[0]]
    assert (what, met, figure) == ("n b32: fast <= 0.6x torch", False, "0.80x (GEMMs alone 0.50x)")

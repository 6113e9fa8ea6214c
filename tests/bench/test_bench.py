"""chainrule.bench: a tiny run end to end (each measurement in its own process), the arithmetic the roofline
rests on, the contenders' shared start, and the optimized loop against the straightforward one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import bench
from chainrule.spec import build_mlp


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


def test_the_nets_are_the_library_s_mlps_with_glorot_weights_that_do_not_depend_on_chainrule_s_seed():
    import chainrule as cr

    for spec in bench.NETS.values():
        assert repr(bench.build_net(spec)) == repr(build_mlp(spec.model, 784, 10))
        cr.manual_seed(1)
        first = bench.initial_weights(spec)
        cr.manual_seed(2)
        again = bench.initial_weights(spec)
        assert all(np.array_equal(a, b) and a.dtype == np.float32 for a, b in zip(first, again))
        for (i, o), w, b in zip(spec.layers, first[0::2], first[1::2]):
            assert w.shape == (i, o) and not b.any()
            assert abs(float(w.std()) / np.sqrt(2 / (i + o)) - 1) < 0.05  # Glorot & Bengio's normal rule


def test_contenders_compute_the_same_first_loss(data):
    """fast, autodiff and the hand loop are the same maths: the same weights give the same losses."""
    x, y, _ = data
    spec = bench.NETS["784-200tanh-10"]
    w = bench.initial_weights(spec)
    order = np.arange(64)
    losses = [bench.CONTENDERS[n](spec, w, 0.05, 32).epoch(x, y, order)
              for n in ("fast", "autodiff", "numpy", "numpy-opt")]
    np.testing.assert_allclose(losses, losses[0], rtol=1e-5)


@pytest.mark.parametrize("net", list(bench.NETS))
def test_the_optimized_loop_trains_as_the_straightforward_one(data, net):
    """numpy-opt is numpy's maths in buffers: after a few steps (a short last batch among them) the same
    losses and the same weights, to float32 rounding."""
    x, y, _ = data
    spec = bench.NETS[net]
    w = bench.initial_weights(spec)
    order = np.random.default_rng(0).permutation(len(x))[:5 * 32 + 7]
    plain, opt = bench.CONTENDERS["numpy"](spec, w, 0.5, 32), bench.CONTENDERS["numpy-opt"](spec, w, 0.5, 32)
    np.testing.assert_allclose(opt.epoch(x, y, order), plain.epoch(x, y, order), rtol=1e-5)
    for b in (16, 64):  # predictions read the weights both trained to, within and beyond the batch's buffers
        got, want = opt.predict(x[:80], b), plain.predict(x[:80], b)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert not np.allclose(plain.predict(x[:80], 16), bench.CONTENDERS["numpy"](spec, w, 0.5, 32).predict(x[:80], 16))


@pytest.mark.parametrize("name", ["autodiff", "numpy", "numpy-opt", "torch", "sklearn"])
def test_every_contender_starts_from_the_chainrule_net_s_weights(data, name):
    """Before any training, each contender predicts what the chainrule net predicts (scikit-learn: the softmax)."""
    if bench.available(name):
        pytest.skip(bench.available(name))
    x, _, _ = data
    spec = bench.NETS["784-512relu-256relu-10"]
    w = bench.initial_weights(spec)
    logits = bench.CONTENDERS["fast"](spec, w, 0.05, 16).predict(x[:32], 16)
    out = bench.CONTENDERS[name](spec, w, 0.05, 16).predict(x[:32], 16)
    if name == "sklearn":
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        logits = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, logits, rtol=1e-4, atol=1e-5)


def test_a_tiny_run_makes_a_table_json_and_bars(tmp_path):
    res = bench.benchmark(["784-200tanh-10"], [1000], ["numpy-opt", "numpy", "fast", "autodiff", "gemm"], rounds=2,
                          examples=2000, lr=0.05, data="random", threads=None, memory=False)
    out = bench.format_report(res)
    assert "| 784-200tanh-10 | 1000 | chainrule fprop/bprop |" in out and "roofline" in out
    res = json.loads(json.dumps(res))  # JSON-able as it is
    assert {r["contender"] for r in res["results"]} == {"numpy-opt", "numpy", "fast", "autodiff", "gemm", "roofline"}
    rows = {r["contender"]: r for r in res["results"]}
    assert rows["gemm"]["x_gemm"] == 1.0 and rows["numpy-opt"]["x_numpy_opt"] == 1.0 and rows["fast"]["x_gemm"] > 0
    assert rows["fast"]["x_torch"] is None and "| GEMMs only (measured floor) |" in out
    for r in rows.values():  # every contender once per round, each in its own process, order rotated
        if r["contender"] != "roofline":
            assert len(r["samples"]) == 2 and r["spread"]["x_numpy_opt"][0] <= r["x_numpy_opt"]
    assert res["method"]["processes"] == 2 * (1 + 5) and res["method"]["rounds"] == 2
    assert not any(res["method"]["torch_imported"].values()) and "PyTorch imported in none" in out
    assert res["gemm_gflops"] > 0 and len(res["gemm_samples"]) == 2 and res["memory"]["strictly_needed_bytes"] > 0
    assert "Load average" in out and len(res["inference_examples_per_s"]) == 5
    picture = tmp_path / "r.png"
    bench.plot_bench(res, picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from chainrule.plots import plot_bench  # the same drawing, by chainrule.plots' name

    plot_bench(res, tmp_path / "again.png")
    assert (tmp_path / "again.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_ratio_is_the_median_of_per_round_ratios_with_their_spread():
    seconds = {"numpy-opt": [1.0, 2.0, 1.0], "fast": [1.1, 2.0, 1.5], "torch": [2.0, 2.0, 2.0]}
    cell = bench.measure._cell_results("784-200tanh-10", 32, list(seconds), seconds, 100.0)
    rows = {r["contender"]: r for r in cell}
    fast = rows["fast"]
    assert fast["seconds_per_epoch"] == 1.5 and fast["x_numpy_opt"] == 1.1
    assert fast["spread"]["x_numpy_opt"] == [1.0, 1.5]
    assert fast["x_torch"] == 0.75 and fast["spread"]["x_torch"] == [0.55, 1.0] and fast["x_numpy"] is None
    flops = bench.epoch_flops(bench.NETS["784-200tanh-10"])
    assert rows["roofline"]["seconds_per_epoch"] == pytest.approx(flops / 1e11)  # at 100 GFLOP/s
    text = bench.report._spread(fast, "x_torch")
    assert text == "0.75 (0.55–1.00)"


def _train_job(name, **more):
    return {"kind": "train", "contender": name, "net": "784-200tanh-10", "batch": 50, "lr": 0.05, "data": "random",
            "threads": None, "seed": 0, "examples": 200, "warmup": 50, "epochs": 2, **more}


def test_a_numpy_contender_s_process_never_imports_pytorch():
    for name in ("numpy-opt", "numpy", "fast", "autodiff", "gemm"):
        res = bench.spawn(_train_job(name))
        assert res["torch_imported"] is False, name
        assert len(res["seconds"]) == 2 and all(s > 0 for s in res["seconds"]) and res["load"] >= 0


def test_pytorch_s_process_reports_its_threads():
    if bench.available("torch"):
        pytest.skip(bench.available("torch"))
    res = bench.spawn(_train_job("torch", threads=1, inference=True))
    assert res["torch_imported"] is True and res["torch_threads"] == 1 and res["examples_per_s"] > 0


def test_a_failing_worker_is_one_line_naming_the_job():
    with pytest.raises(RuntimeError) as e:
        bench.spawn(_train_job("numpy", net="784-1-10"))
    assert str(e.value).startswith("benchmark process (kind=train, contender=numpy, net=784-1-10, batch=50) failed: ")
    assert "KeyError" in str(e.value) and "\n" not in str(e.value)


def test_a_tiny_run_from_the_command_line_prints_a_table_and_writes_json(tmp_path, capsys):
    from chainrule.cli import main

    path = tmp_path / "r.json"
    assert main(["bench", "--examples", "2000", "--repeats", "1", "--nets", "784-200tanh-10", "--batch-sizes", "1000",
                 "--contenders", "fast", "autodiff", "gemm", "--data", "random", "--no-memory", "--json", str(path),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| 784-200tanh-10 | 1000 | chainrule fprop/bprop |" in out and "roofline" in out
    res = json.loads(path.read_text())
    assert {r["contender"] for r in res["results"]} == {"numpy-opt", "fast", "autodiff", "gemm", "roofline"}
    ratios = {r["contender"]: r.get("x_gemm") for r in res["results"]}
    assert ratios["gemm"] == 1.0 and ratios["fast"] > 0 and "| GEMMs only (measured floor) |" in out
    assert res["gemm_gflops"] > 0 and res["memory"]["strictly_needed_bytes"] > 0 and res["rounds"] == 1
    picture = path.with_suffix(".png")  # the same result as bars, beside the JSON
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {picture}" in out
    picture.unlink()
    assert main(["plot", str(path)]) == 0 and picture.is_file()  # drawn again from the JSON


def test_rounds_and_repeats_are_one_option(capsys):
    from chainrule.cli import main

    assert main(["bench", "--rounds", "2", "--repeats", "3", "--quiet"]) == 2
    assert "--repeats 3 and --rounds 2" in capsys.readouterr().err
    assert main(["bench", "--rounds", "0", "--quiet"]) == 2
    assert "--rounds must be at least 1, got 0" in capsys.readouterr().err


def test_training_memory_is_traced_and_close_to_what_is_needed(data):
    x, y, _ = data
    spec = bench.NETS["784-200tanh-10"]
    need = sum(bench.strictly_needed_bytes(spec, 100).values())
    for name in ("fast", "autodiff", "numpy-opt"):
        peak = bench.measure_memory(name, spec, bench.initial_weights(spec), 0.05, 100, x, y, steps=3)
        assert need < peak < 2 * need, (name, peak / need)


def test_the_gemm_floor_does_the_training_steps_matrix_products():
    """GEMMs only: forward x W_k, then xᵀ g and g Wᵀ per layer; its outputs match the maths."""
    x, y, _ = bench.load_data("random")
    spec = bench.NETS["784-200tanh-10"]
    w = bench.initial_weights(spec)
    contender = bench.CONTENDERS["gemm"](spec, w, 0.05, 16)
    contender.epoch(x, y, np.arange(32))
    logits = contender.predict(x[:16], 16)
    np.testing.assert_allclose(logits, (x[:16] @ w[0]) @ w[2], rtol=1e-4, atol=1e-4)  # no bias, no activation

"""Guards for the small rows of the results table (benchmarks/results.py, docs/results.md).

The digits rows run their exact commands; the Fashion-MNIST rows run theirs with
fewer epochs and a looser bound (skipped where the data set is not installed).
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest

from chainrule.cli import build_parser, main as cli_main

ROOT = Path(__file__).resolve().parents[2]
FASHION = Path("/usr/share/datasets/fashion-mnist")


def _load_results_script():
    spec = importlib.util.spec_from_file_location("results_script", ROOT / "benchmarks" / "results.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


results = _load_results_script()
ROWS = {row.key: row for row in results.ROWS}


def _train(command: str, out: Path, **replace: str) -> dict:
    """Run a row's `chainrule train` command in-process (options in `replace` swapped) and return summary.json."""
    argv = shlex.split(command)[1:]
    for option, value in replace.items():
        flag = "--" + option.replace("_", "-")
        argv[argv.index(flag) + 1] = value
    assert cli_main(argv + ["--out", str(out), "--no-plots", "--quiet"]) == 0
    return json.loads((out / "summary.json").read_text())


def test_every_command_is_one_the_cli_accepts():
    parser = build_parser()
    for row in results.ROWS:
        argv = shlex.split(row.command)
        assert argv[:2] == ["chainrule", "train"], row.key
        args = parser.parse_args(argv[1:])
        assert args.dataset == row.dataset or (row.dataset == "digits" and "--dataset" not in argv)
    assert ROWS["digits-default"].command == "chainrule train"
    assert "--model linear" in ROWS["mnist-linear"].command and "--model 200tanh" in ROWS["mnist-200tanh"].command


def test_digits_default_row_reaches_97_percent(tmp_path):
    s = _train(ROWS["digits-default"].command, tmp_path)
    assert s["dataset"] == "digits" and s["test_size"] == 360
    assert s["test_accuracy"] >= 0.97


needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason=f"Fashion-MNIST is not installed at {FASHION}")


@needs_fashion
def test_fashion_linear_row_with_fewer_epochs(tmp_path):
    s = _train(ROWS["fashion-linear"].command, tmp_path, epochs="3")
    assert s["epochs"] == 3 and s["test_size"] == 10_000
    assert 1 - s["test_accuracy"] <= 0.18  # the full row's target is 16%


@needs_fashion
def test_fashion_200tanh_row_with_fewer_epochs(tmp_path):
    s = _train(ROWS["fashion-200tanh"].command, tmp_path, epochs="2")
    assert s["epochs"] == 2
    assert 1 - s["test_accuracy"] <= 0.16  # the full row's target is 12% after 20 epochs


def test_list_prints_every_row(capsys):
    assert results.main(["--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [row.key for row in results.ROWS]


def test_the_document_lists_every_row_with_its_command_and_never_invents_mnist_numbers():
    summary = {"test_accuracy": 0.975, "test_errors": 9, "test_size": 360, "epochs": 60, "seconds": 4.2}
    ran = {"digits-default": {"key": "digits-default", "summary": summary, "wall": 6.0, "accuracy_ok": True, "time_ok": None, "median_epoch": 0.01,
                              "load": [0.5, 0.7]},
           "mnist-linear": {"key": "mnist-linear", "skipped": "no mnist files on this machine"}}
    text = results.document(ran, results.ROWS, "2026-01-01 00:00 UTC", 60.0)
    for row in results.ROWS:
        assert f"\n{row.command}\n" in text  # each full command in its own code block
    assert "| digits | default (256relu-dropout0.2) | 97.50% | 9 / 360 |" in text
    assert "| MNIST | linear | not measured: no files here |" in text
    assert "≈ 750 errors" in text and "≈ 250 errors" in text
    assert "| Fashion-MNIST | 200tanh | not run |" in text


def test_rewriting_the_page_keeps_the_defaults_section(tmp_path):
    page = tmp_path / "results.md"
    page.write_text("# Results\n\nold table\n\n## Defaults\n\nmeasured by benchmarks/defaults.py\n\n| a | b |\n")
    assert results.kept_sections(page) == ["## Defaults", "", "measured by benchmarks/defaults.py", "", "| a | b |", ""]
    assert results.kept_sections(tmp_path / "absent.md") == []
    page.write_text("# Results\n\nno such section\n")
    assert results.kept_sections(page) == []


def test_the_floor_rows_pass_only_the_options_their_floor_names():
    assert ROWS["fashion-floor-200tanh"].command == "chainrule train --dataset fashion-mnist --model 200tanh --epochs 2"
    assert ROWS["fashion-floor-linear"].command == "chainrule train --dataset fashion-mnist --model linear --epochs 3"
    assert ROWS["fashion-floor-default"].command == "chainrule train --dataset fashion-mnist --epochs 5"
    assert [ROWS[k].target for k in ("fashion-floor-200tanh", "fashion-floor-linear", "fashion-floor-default")] == [
        "acc>=0.84", "acc>=0.82", "acc>=0.865"]

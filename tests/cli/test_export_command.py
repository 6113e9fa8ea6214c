"""``chainrule export CHECKPOINT OUT``: a checkpoint or run folder to ONNX; mistakes are one line, exit 2."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import build_parser, main


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "run"
    assert main(["train", "--epochs", "1", "--model", "16relu", "--out", str(folder), "--quiet", "--no-plots"]) == 0
    return folder


def test_export_is_a_command():
    assert "export" in build_parser().subparsers


@pytest.mark.parametrize("which", ["checkpoint", "folder"])
def test_a_checkpoint_or_its_run_folder_becomes_an_onnx_file_onnxruntime_runs(which, run_folder, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    source = run_folder / "model.safetensors" if which == "checkpoint" else run_folder
    out = tmp_path / "model.onnx"
    capsys.readouterr()
    assert main(["export", str(source), str(out)]) == 0
    printed, err = capsys.readouterr()
    assert printed.startswith(f"wrote {out}: ONNX opset 21") and len(printed.splitlines()) == 1 and err == ""
    clf = cr.load(run_folder / "model.safetensors")
    x = cr.data.load_dataset("digits").x_test[:37]
    probabilities = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        ["probabilities"], {"input": x})[0]
    assert np.abs(probabilities - clf.predict_proba(x)).max() <= 1e-5


def test_an_opset_can_be_chosen(run_folder, tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "m.onnx"
    assert main(["export", str(run_folder), str(out), "--opset", "17", "--format", "onnx"]) == 0
    assert onnx.load(str(out)).opset_import[0].version == 17
    assert "opset 17" in capsys.readouterr().out


def one_line_error(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("chainrule: error: "), (code, out, err)
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv, said", [
    (["{tmp}/nothere.safetensors", "{tmp}/x.onnx"], "no such checkpoint file"),
    (["{run}", "{tmp}/x.txt"], "unknown format; OUT must end in .onnx"),
    (["{run}", "{tmp}/x.safetensors"], "pass --format torch"),
    (["{run}", "{tmp}/x.pt"], "chainrule writes no pickle files"),
    (["{run}", "{tmp}/x.onnx", "--format", "torch"], "--format torch writes a .safetensors file"),
    (["{run}", "{tmp}/x.safetensors", "--format", "onnx"], "--format onnx writes a .onnx file"),
    (["{run}", "{tmp}/x.onnx", "--opset", "5"], "--opset must be an integer from 17 to 28, got 5"),
    (["{run}", "{tmp}/x.safetensors", "--format", "torch", "--opset", "21"], "--opset applies to --format onnx"),
    (["{run}", "{tmp}/missing/x.onnx"], "does not exist"),
    (["{tmp}", "{tmp}/x.onnx"], "no model.safetensors in this folder"),
    (["{run}/model.safetensors", "{run}/model.safetensors", "--format", "torch"], "the checkpoint being exported"),
], ids=["no-checkpoint", "suffix", "safetensors-needs-format", "pickle", "torch-suffix", "onnx-suffix", "opset",
        "opset-torch", "no-folder", "not-a-run", "onto-itself"])
def test_mistakes_are_one_line(argv, said, run_folder, tmp_path, capsys):
    line = one_line_error(capsys, [a.format(tmp=tmp_path, run=run_folder) for a in ["export", *argv]])
    assert said in line, line
    assert not list(tmp_path.glob("x.*"))
    assert cr.load(run_folder / "model.safetensors").spec == "16relu"  # the checkpoint is untouched


def test_without_onnx_it_is_one_line_naming_the_extra(run_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ModuleNotFoundError
    line = one_line_error(capsys, ["export", str(run_folder), str(tmp_path / "x.onnx")])
    assert "onnx" in line and "pip install 'chainrule[onnx]'" in line, line
    assert not (tmp_path / "x.onnx").exists()


def test_format_torch_writes_what_a_torch_sequential_loads_strictly(run_folder, tmp_path, capsys):
    out = tmp_path / "w.safetensors"
    capsys.readouterr()
    assert main(["export", str(run_folder), str(out), "--format", "torch"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: PyTorch state_dict")
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from chainrule.interop import to_torch

    clf = cr.load(run_folder / "model.safetensors")
    net = to_torch(clf).eval()
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    net.load_state_dict(load_file(out), strict=True)
    x = cr.data.load_dataset("digits").x_test[:37]
    with torch.no_grad():
        logits = net(torch.from_numpy(x)).numpy()
    assert np.abs(logits - clf.logits(x)).max() <= 1e-5


def test_help_says_what_each_format_is(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert exit_.value.code == 0
    assert "OUT.onnx is ONNX" in text and "features scaled as in training" in text
    assert "--format torch is PyTorch's state_dict" in text and "No pickle is written." in text

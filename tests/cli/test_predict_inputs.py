"""predict and evaluate as a new user tries them: a run folder for the checkpoint, several inputs and
folders, a bad file among good ones, --show. Run in-process through chainrule.cli.main."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from chainrule.cli import main


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A digits run (8x8 images), trained for a few epochs."""
    out = tmp_path_factory.mktemp("digits") / "run"
    assert main(["train", "--epochs", "3", "--out", str(out), "--quiet", "--no-plots"]) == 0
    return out


@pytest.fixture()
def inputs(tmp_path):
    """Digits 0..2 as a PNG, a JPEG and an .npz of raw pixels, in a folder with a text file."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder = tmp_path / "in"
    folder.mkdir()
    for k, name in [(0, "zero.png"), (1, "one.jpg")]:
        image = Image.fromarray((digits.images[k] / 16 * 255).astype(np.uint8)).resize((64, 64), Image.Resampling.NEAREST)
        image.save(folder / name, quality=95)
    np.savez(folder / "three.npz", x=digits.data[:3].astype(np.int64))
    (folder / "notes.txt").write_text("not an input\n")
    return folder


def test_evaluate_and_predict_take_the_run_folder(run_folder, inputs, capsys):
    code, by_file, _ = _run(capsys, ["evaluate", run_folder / "model.safetensors"])
    assert code == 0
    code, by_folder, _ = _run(capsys, ["evaluate", run_folder])
    assert code == 0 and by_folder == by_file
    a = _run(capsys, ["predict", run_folder / "model.safetensors", inputs / "zero.png"])
    b = _run(capsys, ["predict", run_folder, inputs / "zero.png"])
    assert a == b and a[0] == 0 and a[1][0].startswith("0: ")


def test_a_folder_without_a_model_is_one_line(tmp_path, inputs, capsys):
    (tmp_path / "empty").mkdir()
    for argv in (["evaluate", tmp_path / "empty"], ["predict", tmp_path / "empty", inputs / "zero.png"]):
        code, out, err = _run(capsys, argv)
        assert code == 2 and out == [] and err == [
            f"chainrule: error: {tmp_path / 'empty'}: no model.safetensors in this folder (expected a run folder "
            f"chainrule train wrote, or a checkpoint file)"], (argv, err)


def test_predict_several_files_and_a_folder(run_folder, inputs, capsys):
    code, out, err = _run(capsys, ["predict", run_folder, inputs / "one.jpg", inputs])
    assert code == 0 and err == []
    names = [line.split(": ")[0] for line in out]
    assert names == [str(inputs / "one.jpg"), str(inputs / "one.jpg"), *(f"{inputs / 'three.npz'}[{i}]" for i in range(3)),
                     str(inputs / "zero.png")]  # the folder's inputs sorted; notes.txt left out
    single = {name: _run(capsys, ["predict", run_folder, inputs / name])[1] for name in ("zero.png", "three.npz")}
    assert out[-1].split(": ", 1)[1] == single["zero.png"][0].split(": ", 1)[1]  # the same class and numbers
    assert [line.split(": ", 1)[1] for line in out[2:5]] == [line.split(": ", 1)[1] for line in single["three.npz"]]


def test_a_bad_file_among_good_ones_is_one_line_and_the_rest_are_predicted(run_folder, inputs, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["predict", run_folder, inputs / "zero.png", inputs / "notes.txt", tmp_path / "absent.png",
            tmp_path / "empty", inputs / "one.jpg"]
    code, out, err = _run(capsys, argv)
    assert code == 2
    assert [line.split(": ")[0] for line in out] == [str(inputs / "zero.png"), str(inputs / "one.jpg")]
    assert err == [f"chainrule: error: {inputs / 'notes.txt'}: not a file predict reads (expected an image (PNG, "
                   f"JPEG, GIF, BMP, TIFF, WebP), an .npz file with an array 'x', or an IDX file)",
                   f"chainrule: error: {tmp_path / 'absent.png'}: no such file",
                   f"chainrule: error: {tmp_path / 'empty'}: no inputs in this folder (expected an image (PNG, "
                   f"JPEG, GIF, BMP, TIFF, WebP), an .npz file with an array 'x', or an IDX file)"]


def test_limit_is_per_file(run_folder, inputs, capsys):
    code, out, _ = _run(capsys, ["predict", run_folder, inputs / "three.npz", inputs / "zero.png", "--limit", "1"])
    assert code == 0 and len(out) == 3 and out[1] == f"... 2 more in {inputs / 'three.npz'} (use --limit)"


def test_show_saves_what_the_model_sees(run_folder, inputs, tmp_path, capsys):
    show = tmp_path / "seen.png"
    code, out, err = _run(capsys, ["predict", run_folder, inputs, "--show", show])
    assert code == 0 and err == [] and len(out) == 5
    with Image.open(show) as picture:
        assert picture.format == "PNG" and picture.width > 2 * picture.height  # one row of five panels
    code, out, err = _run(capsys, ["predict", run_folder, inputs / "zero.png", "--show", tmp_path / "one.png"])
    assert code == 0 and (tmp_path / "one.png").is_file()


def test_show_needs_a_model_of_images(tmp_path, capsys):
    assert main(["train", "--dataset", "moons", "--epochs", "1", "--out", str(tmp_path / "m"), "--quiet",
                 "--no-plots"]) == 0
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 2), np.float32))
    capsys.readouterr()
    code, out, err = _run(capsys, ["predict", tmp_path / "m", tmp_path / "x.npz", "--show", tmp_path / "s.png"])
    assert code == 2 and out == [] and len(err) == 1 and "--show: this model was not trained on images" in err[0]
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("name, says", [("", "is a folder; give a file name"),
                                        ("nowhere/seen.png", "no such folder"),
                                        ("seen.txt", "cannot draw .txt pictures")])
def test_show_path_that_cannot_be_written_is_refused_before_any_work(run_folder, inputs, tmp_path, name, says,
                                                                    capsys):
    show = tmp_path / name if name else tmp_path
    code, out, err = _run(capsys, ["predict", run_folder, inputs / "zero.png", "--show", show])
    assert code == 2 and out == [] and len(err) == 1, (out, err)
    assert err[0].startswith(f"chainrule: error: --show {show}: {says}") and ".tmp" not in err[0], err

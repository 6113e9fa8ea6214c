"""The catalogue of bad inputs: each one line on stderr and exit status 2, nothing lost.

Run in-process through chainrule.cli.main (the same code the command runs);
test_cli.py checks in subprocesses that no traceback escapes.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data import write_idx


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _bad_files(tmp):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 4)).astype(np.float32), np.arange(40) % 2
    files = {}
    files["npz without y"] = (_npz(tmp / "noy.npz", x=x), "")
    files["npz x/y lengths differ"] = (_npz(tmp / "len.npz", x=x, y=y[:30]), "")
    files["npz NaN"] = (_npz(tmp / "nan.npz", x=np.where(x > 0.9, np.nan, x), y=y), "")
    files["npz Inf"] = (_npz(tmp / "inf.npz", x=np.where(x > 0.9, np.inf, x), y=y), "")
    files["npz negative label"] = (_npz(tmp / "neg.npz", x=x, y=y - 1), "")
    files["npz fractional label"] = (_npz(tmp / "frac.npz", x=x, y=y + 0.5), "")
    files["npz string x"] = (_npz(tmp / "str.npz", x=np.array([["a"] * 4] * 40), y=y), "")
    files["npz object array"] = (tmp / "obj.npz", "")
    np.savez(tmp / "obj.npz", x=np.array([None] * 40, dtype=object), y=y)
    files["npz too few for the split"] = (_npz(tmp / "few.npz", x=x[:2], y=y[:2]), "")
    files["npz test width differs"] = (_npz(tmp / "w.npz", x=x, y=y, x_test=x[:, :3], y_test=y), "")
    files["npz not a zip"] = (tmp / "junk.npz", "")
    (tmp / "junk.npz").write_bytes(b"this is not a zip file")
    (tmp / "text.csv").write_text("1,2,0\n3,abc,1\n" * 10)
    files["csv non-numeric"] = (tmp / "text.csv", "abc")
    (tmp / "ragged.csv").write_text("1,2,0\n3,1\n" * 10)
    files["csv ragged"] = (tmp / "ragged.csv", "")
    (tmp / "empty.csv").write_text("")
    files["csv empty"] = (tmp / "empty.csv", "")
    (tmp / "nan.csv").write_text("1,nan,0\n3,1,1\n" * 10)
    files["csv NaN"] = (tmp / "nan.csv", "")
    files["missing file"] = (tmp / "absent.npz", "")
    return files


def _idx_dirs(tmp):
    """Fashion-MNIST folders whose files are damaged in one way each."""
    good_images = np.zeros((20, 28, 28), np.uint8)
    good_labels = np.arange(20, dtype=np.uint8) % 10
    cases = {}

    def folder(name, images=None, labels=None, raw_images=None):
        d = tmp / name
        d.mkdir()
        for split in ("train", "t10k"):
            if raw_images is not None:
                (d / f"{split}-images-idx3-ubyte").write_bytes(raw_images)
            else:
                write_idx(d / f"{split}-images-idx3-ubyte", good_images if images is None else images)
            write_idx(d / f"{split}-labels-idx1-ubyte", good_labels if labels is None else labels)
        cases[name] = d

    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 20, 28, 28)
    folder("idx truncated", raw_images=header + b"\0" * 100)
    folder("idx bad magic", raw_images=b"\x12\x34" + header[2:] + b"\0" * 20 * 784)
    folder("idx bad type code", raw_images=bytes([0, 0, 0x42, 3]) + header[4:] + b"\0" * 20 * 784)
    folder("idx corrupt gzip", raw_images=gzip.compress(header + b"\0" * 20 * 784)[:-30] + b"garbage" * 4)
    folder("idx trailing bytes", raw_images=header + b"\0" * (20 * 784 + 7))
    folder("idx dims overflow", raw_images=bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 9))
    folder("idx label count differs", labels=np.zeros(7, np.uint8))
    folder("idx label out of range", labels=np.full(20, 200, np.uint8))
    return cases


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def test_bad_data_files(tmp_path, capsys):
    tried = 0
    for name, (path, needle) in _bad_files(tmp_path).items():
        code, err = _run(capsys, ["train", "--dataset", path, "--out", tmp_path / "out", "--quiet", "--epochs", "1"])
        assert code == 2, name
        assert len(err) == 1 and err[0].startswith("chainrule: error: "), (name, err)
        assert needle in err[0], (name, err)
        tried += 1
    assert tried == 16


def test_bad_idx_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MIRROR", "http://127.0.0.1:9")
    for name, folder in _idx_dirs(tmp_path).items():
        # mnist: Debian's Fashion-MNIST folder is not searched, so the damaged folder is what gets read
        code, err = _run(capsys, ["train", "--dataset", "mnist", "--data-dir", folder, "--out", tmp_path / "o",
                                  "--quiet", "--epochs", "1"])
        assert code == 2, name
        assert len(err) == 1 and err[0].startswith("chainrule: error: "), (name, err)


@pytest.mark.parametrize("argv,needle", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "-3"], "--epochs"), (["--lr", "0"], "--lr"),
    (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"), (["--batch-size", "0"], "--batch-size"),
    (["--val-split", "1.5"], "--val-split"), (["--val-split", "-0.1"], "--val-split"),
    (["--weight-decay", "-1"], "--weight-decay"), (["--patience", "-2"], "--patience"),
    (["--seed", "-1"], "--seed"), (["--clip-grad", "-1"], "--clip-grad"), (["--shift", "99"], "--shift"),
    (["--shift", "1", "--dataset", "moons"], "--shift needs image data"),
    (["--model", "relu"], "cannot read"), (["--model", ""], "empty model SPEC"),
    (["--model", "dropout0.5"], "dropout goes after"), (["--dataset", "imagenet"], "unknown dataset"),
    (["--resume", "/nonexistent-run"], "nothing to resume"),
])
def test_nonsense_options(tmp_path, capsys, argv, needle):
    extra = [] if "--resume" in argv else ["--out", tmp_path / "o"]
    code, err = _run(capsys, ["train", *argv, *extra, "--quiet"])
    assert code == 2 and len(err) == 1 and needle in err[0], err


def test_checkpoint_that_does_not_fit(tmp_path, capsys):
    assert main(["train", "--dataset", "moons", "--model", "4tanh", "--epochs", "1", "--out", str(tmp_path / "m"),
                 "--quiet", "--no-plots"]) == 0
    capsys.readouterr()
    code, err = _run(capsys, ["evaluate", tmp_path / "m" / "model.safetensors", "--dataset", "digits"])
    assert code == 2 and "takes 2 features and 2 classes, but digits has 64 and 10" in err[0]
    (tmp_path / "half.safetensors").write_bytes((tmp_path / "m" / "model.safetensors").read_bytes()[:300])
    code, err = _run(capsys, ["evaluate", tmp_path / "half.safetensors"])
    assert code == 2 and len(err) == 1


@pytest.mark.parametrize("argv,needle", [
    (["train", "--optimizer", "nope"], "invalid choice: 'nope'"), (["train", "--epochs", "ten"], "invalid int"),
    (["nope"], "invalid choice: 'nope'"), (["bench", "--nets", "784-1-10"], "invalid choice"),
    (["train", "--no-such-option"], "unrecognized arguments: --no-such-option"),
])
def test_option_syntax_errors_are_one_line_too(capsys, argv, needle):
    """argparse's own errors (a bad choice, a non-number) say what is wrong in one line, exit 2."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and needle in err[0] and "--help" in err[0], err


def test_plot_of_a_file_that_is_not_a_bench_result(tmp_path, capsys):
    cases = {"missing.json": None, "empty.json": "", "other.json": '{"a": 1}', "list.json": "[1, 2]"}
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        code, err = _run(capsys, ["plot", path])
        assert code == 2 and len(err) == 1 and str(path) in err[0], (name, err)


def test_predict_refuses_inputs_it_cannot_use_in_one_line(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0
    capsys.readouterr()
    model = tmp_path / "run" / "model.safetensors"
    cases = {"scalar.npz": dict(x=np.array(5.0)), "none.npz": dict(x=np.zeros((0, 64), np.float32)),
             "huge.npz": dict(x=np.full((2, 64), 1e38, np.float32))}
    for name, arrays in cases.items():
        np.savez(tmp_path / name, **arrays)
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "scalar.npz").read_bytes()[:100])
    for name, needle in [("scalar.npz", "single number"), ("none.npz", "no examples"), ("huge.npz", "overflow"),
                         ("empty.npz", "not a .npz archive"), ("trunc.npz", "cannot read as .npz")]:
        code, err = _run(capsys, ["predict", model, tmp_path / name])
        assert code == 2 and len(err) == 1 and needle in err[0] and name in err[0], (name, err)
    np.savez(tmp_path / "ok.npz", x=np.zeros((3, 64), np.float32))
    for option in ("--top", "--limit"):
        code, err = _run(capsys, ["predict", model, tmp_path / "ok.npz", option, "0"])
        assert code == 2 and err == [f"chainrule: error: {option} must be at least 1, got 0"]


def test_a_new_run_does_not_replace_an_old_one_unless_told(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--epochs", "1", "--out", str(out), "--quiet", "--no-plots"]
    assert main(argv) == 0
    before = (out / "model.safetensors").read_bytes()
    code, err = _run(capsys, argv + ["--lr", "0.5"])
    assert code == 2 and len(err) == 1 and "already holds a run" in err[0] and "--overwrite" in err[0]
    assert (out / "model.safetensors").read_bytes() == before  # nothing lost
    assert main(argv + ["--lr", "0.5", "--overwrite"]) == 0 and (out / "model.safetensors").read_bytes() != before


def test_data_and_option_mistakes_found_by_a_new_user(tmp_path, capsys):
    np.savez(tmp_path / "one.npz", x=np.zeros((20, 3), np.float32), y=np.zeros(20, int))
    for argv, needle in [
        (["train", "--dataset", "xor"], "--val-split 0.1 of xor's 4 training examples leaves none"),
        (["train", "--dataset", tmp_path / "one.npz"], "at least two classes"),
        (["train", "--dataset", "fashion-mnist", "--data-dir", tmp_path / "nope"], "no such folder"),
        (["evaluate", tmp_path / "run" / "last.safetensors"], "no such checkpoint file"),
        (["bench", "--repeats", "0"], "--repeats must be at least 1, got 0"),
        (["bench", "--threads", "0"], "--threads must be at least 1, got 0"),
        (["bench", "--json", tmp_path], "not a file path"),
    ]:
        extra = ["--out", tmp_path / "o", "--quiet"] if argv[0] == "train" else []
        code, err = _run(capsys, argv + extra)
        assert code == 2 and len(err) == 1 and needle in err[0], (argv, err)


def test_evaluating_a_training_state_points_at_the_model_file(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0
    code, err = _run(capsys, ["evaluate", tmp_path / "run" / "last.safetensors"])
    assert code == 2 and len(err) == 1 and "is a training state" in err[0] and "model.safetensors" in err[0]


def test_predict_puts_raw_pixels_on_the_models_own_scale(tmp_path, capsys):
    """Digits were trained on pixel/16: raw 0..16 pixels as int64 or uint8 predict exactly as
    the scaled floats do (uint8 used to be divided by 255 whatever the model)."""
    from sklearn.datasets import load_digits

    assert main(["train", "--epochs", "3", "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0
    raw = load_digits().data[-12:]
    outputs = []
    for name, x in [("i.npz", raw.astype(np.int64)), ("u.npz", raw.astype(np.uint8)),
                    ("f.npz", (raw / 16).astype(np.float32))]:
        np.savez(tmp_path / name, x=x)
        capsys.readouterr()
        assert main(["predict", str(tmp_path / "run" / "model.safetensors"), str(tmp_path / name)]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]


def test_the_python_api_scales_raw_pixels_as_the_command_line_does(tmp_path):
    import chainrule as cr
    from sklearn.datasets import load_digits

    model = cr.fit("digits", model="32relu", epochs=3, quiet=True).model
    raw = load_digits().data[-30:]
    expected = model.predict((raw / 16).astype(np.float32))
    assert (model.predict(raw.astype(np.int64)) == expected).all()
    assert (model.predict(cr.tensor(raw / 16)) == expected).all()  # a tensor is an array too

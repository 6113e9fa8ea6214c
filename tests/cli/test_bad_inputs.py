"""The catalogue of bad inputs: each one line on stderr and exit status 2, nothing lost.

Run in-process through chainrule.cli.main (the same code the command runs);
test_cli.py checks in subprocesses that no traceback escapes.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import zipfile
import zlib

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
    files["npz without features"] = (_npz(tmp / "flat.npz", x=np.zeros((40, 0)), y=y), "flat.npz: x: examples have no")
    (tmp / "quote.csv").write_text('1,2,0\n3,"4,1\n' + "5,6,0\n" * 10)
    files["csv quote never closed"] = (tmp / "quote.csv", "quote.csv: line 2: a quote opened on this line is never")
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
    assert tried == 18


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
             "huge.npz": dict(x=np.full((2, 64), np.finfo(np.float32).max, np.float32))}
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
        (["bench", "--batch-sizes", "100", "0"], "--batch-sizes must be at least 1, got 0"),
        (["bench", "--examples", "60001"], "--examples must be in 1..60,000, got 60001"),
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


# ------------------------------------------------- files that hang, bombs, and messages too long


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A digits model (8x8 images) for predict's readers."""
    out = tmp_path_factory.mktemp("digits") / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet", "--no-plots"]) == 0
    return out / "model.safetensors"


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height (1-bit grey) and whose data is a few bytes: opening
    reads the size, only decoding would reach the (missing) pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_commands_refuse_fifos_at_once(tmp_path, capsys, no_hang, digits_model):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(digits_model.read_bytes())
    for name in ("in.npz", "in.png", "in-idx2-ubyte", "model.safetensors", "bench.json"):
        os.mkfifo(tmp_path / name)
    os.mkfifo(run / "metrics.jsonl")
    cases = [
        (["predict", digits_model, tmp_path / "in.npz"], "in.npz"),
        (["predict", digits_model, tmp_path / "in.png"], "in.png"),
        (["predict", digits_model, tmp_path / "in-idx2-ubyte"], "in-idx2-ubyte"),
        (["predict", tmp_path / "model.safetensors", tmp_path / "in.npz"], "model.safetensors"),
        (["evaluate", tmp_path / "model.safetensors"], "model.safetensors"),
        (["train", "--dataset", tmp_path / "in.npz", "--out", tmp_path / "o", "--quiet"], "in.npz"),
        (["plot", tmp_path / "bench.json"], "bench.json"),
        (["plot", run], "metrics.jsonl"),
    ]
    for argv, name in cases:
        with no_hang():
            code, err = _run(capsys, argv)
        assert code == 2 and len(err) == 1, (argv, err)
        assert err[0].endswith(f"{name}: is a FIFO (named pipe), not a regular file"), (argv, err)


def test_predict_reads_images_as_png_or_jpeg_decided_by_content(tmp_path, capsys, monkeypatch, digits_model):
    """A PostScript file named .png used to reach Ghostscript (Pillow's EPS plugin runs `gs`)."""
    from PIL import EpsImagePlugin, Image

    ran = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: ran.append(a) or (_ for _ in ()).throw(
        OSError("Ghostscript reached")))
    (tmp_path / "eps.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n%%EOF\n")
    code, err = _run(capsys, ["predict", digits_model, tmp_path / "eps.png"])
    assert not ran, "Ghostscript was called"
    assert code == 2 and err == [f"chainrule: error: {tmp_path / 'eps.png'}: not a PNG, JPEG, GIF, BMP, TIFF or WebP image"]
    digit = Image.fromarray(np.tile(np.arange(8, dtype=np.uint8) * 30, (8, 1)))
    digit.save(tmp_path / "jpeg.png", format="JPEG")  # the name says PNG, the content JPEG: read as JPEG
    digit.save(tmp_path / "png.jpg", format="PNG")
    for name in ("jpeg.png", "png.jpg"):
        assert main(["predict", str(digits_model), str(tmp_path / name)]) == 0, name
        assert capsys.readouterr().out.startswith("0: "), name


@pytest.mark.parametrize("width,height", [(20000, 20000), (10000, 10000), (5000, 5000)])
def test_predict_refuses_an_image_too_large_before_decoding(tmp_path, capsys, digits_model, width, height):
    """Past Pillow's limit a DecompressionBombError traceback, below it a decoded 25-megapixel
    image: now one line, from the header alone (MAX_IMAGE_PIXELS, 4096 x 4096)."""
    path = tmp_path / "big.png"
    path.write_bytes(_png_header(width, height))
    code, err = _run(capsys, ["predict", digits_model, path])
    assert code == 2 and len(err) == 1 and err[0].startswith(f"chainrule: error: {path}: the image is "), err
    assert "16,777,216 pixels predict reads" in err[0] or "more than the 16,777,216 predict reads" in err[0], err


def test_predict_npz_errors_are_chainrules_own(tmp_path, capsys, digits_model):
    """NumPy's messages advised loading "unsafely using allow_pickle"; a member claiming 64 PB was
    an _ArrayMemoryError traceback."""
    (tmp_path / "text.npz").write_text("x\n1 2 3\n")
    np.savez(tmp_path / "obj.npz", x=np.array([[1], [2]], dtype=object))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**15, 8)})
    with zipfile.ZipFile(tmp_path / "claim.npz", "w") as z:
        z.writestr("x.npy", header.getvalue() + bytes(64))
    for name, needle in [("text.npz", "not a .npz archive (not a zip file)"),
                         ("obj.npz", "member 'x' holds Python objects (dtype object)"),
                         ("claim.npz", "member 'x' declares shape (1000000000000000, 8) of float64")]:
        code, err = _run(capsys, ["predict", digits_model, tmp_path / name])
        assert code == 2 and len(err) == 1 and f"{name}: {needle}" in err[0], (name, err)
        assert "pickle" not in err[0], err


def test_predict_on_integer_pixels_adds_no_full_size_copy(tmp_path, capsys, peak_memory, digits_model):
    """uint8 pixels are finite by their type: no boolean mask as large as the file (2x before)."""
    x = np.zeros((100_000, 65), np.uint8)  # 6.5 MB, one feature too many for the digits model
    write_idx(tmp_path / "x-idx2-ubyte", x)
    with peak_memory() as peak:
        code, err = _run(capsys, ["predict", digits_model, tmp_path / "x-idx2-ubyte"])
    assert code == 2 and "65 features per example, but the model takes 64" in err[0]
    assert peak[0] < 1.5 * x.nbytes, peak[0] / x.nbytes


def test_a_long_error_line_is_shortened_keeping_its_start_and_end(tmp_path, capsys):
    """An .npz with 500 oddly named arrays gave a 50,000-character line."""
    path = tmp_path / "many.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.arange(4) % 2, **{f"a{i:03d}" + "z" * 96: np.zeros(1) for i in range(500)})
    code, err = _run(capsys, ["train", "--dataset", path, "--out", tmp_path / "o", "--quiet"])
    assert code == 2 and len(err) == 1
    line = err[0]
    assert line.startswith(f"chainrule: error: {path}: unexpected arrays a000"), line
    assert re.search(r" \[\.\.\. message shortened from 5\d,\d{3} characters \.\.\.\] ", line), line
    assert line.endswith("(expected x, y and optionally x_test, y_test, classes)"), line
    assert len(line) <= 1000, len(line)


def test_running_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    """A 1 MB .npz of zeros can hold 1 GiB of uint8 pixels (within the 4 GiB limit), which training
    needs as 4 GiB of float32: where the machine (or ulimit -v) has less, NumPy raises MemoryError."""
    def no_memory(*args, **kwargs):
        return np.empty((2**20, 2**40), np.float32)  # 4 EiB: NumPy's own MemoryError, at once
    monkeypatch.setattr("chainrule.cli.train.fit", no_memory)
    code = main(["train", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["chainrule: error: out of memory (Unable to allocate 4.00 EiB for an array with "
                                 "shape (1048576, 1099511627776) and data type float32)"], err
    assert not (tmp_path / "run").exists()

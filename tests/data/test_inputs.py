"""predict's readers: images of every format Pillow opens here, transparency, what a file is, folders."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from chainrule.data import DataError
from chainrule.data.inputs import input_files, input_kind, read_image, read_inputs


def _digit() -> np.ndarray:
    """A digit from scikit-learn's set, 0..255 light on dark, 64x64 (each pixel an 8x8 block)."""
    from sklearn.datasets import load_digits

    small = (load_digits().images[0] / 16 * 255).astype(np.uint8)
    return np.kron(small, np.ones((8, 8), np.uint8))


def test_every_image_format_reads_as_the_png_does(tmp_path):
    digit = Image.fromarray(_digit())
    digit.save(tmp_path / "d.png")
    expected = read_image(str(tmp_path / "d.png"), (8, 8))
    assert expected.shape == (1, 64) and expected.dtype == np.float32 and expected.max() > 0.7
    for name, options in [("d.gif", {}), ("d.bmp", {}), ("d.tiff", {}), ("d.webp", {"lossless": True}),
                          ("d.jpg", {"quality": 95})]:
        digit.save(tmp_path / name, **options)
        got = read_inputs(tmp_path / name, 64, (8, 8))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=0.03 if name.endswith("jpg") else 1e-6, err_msg=name)


@pytest.mark.parametrize("background", [0, 65535])
def test_a_16_bit_gray_png_is_scaled_not_clipped(tmp_path, background):
    """Pillow's convert("L") clips 16-bit gray at 255: a 16-bit PNG would read as all strokes."""
    eight = _digit() if background == 0 else 255 - _digit()
    Image.fromarray(eight).save(tmp_path / "d8.png")
    Image.fromarray(eight.astype(np.uint16) * 257).save(tmp_path / "d16.png")
    with Image.open(tmp_path / "d16.png") as img:
        assert img.mode.startswith("I;16")
    got = read_image(str(tmp_path / "d16.png"), (8, 8))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, read_image(str(tmp_path / "d8.png"), (8, 8)), atol=0.005)  # L rounds after resizing
    Image.fromarray(eight.astype(np.int32) * 257).save(tmp_path / "d32.tiff")  # mode "I", as older Pillow reads 16 bits
    with Image.open(tmp_path / "d32.tiff") as img:
        assert img.mode == "I"
    np.testing.assert_allclose(read_image(str(tmp_path / "d32.tiff"), (8, 8)), got, atol=1e-6)


def test_a_jpeg_without_an_image_name_is_read_by_its_content(tmp_path):
    """It used to be read as IDX: "bad magic number 0xffd8ffe0"."""
    Image.fromarray(_digit()).save(tmp_path / "photo", format="JPEG")
    assert input_kind(tmp_path / "photo") == "image"
    assert read_inputs(tmp_path / "photo", 64, (8, 8)).shape == (1, 64)


@pytest.mark.parametrize("stroke", [0, 255], ids=["black-on-transparent", "white-on-transparent"])
def test_a_transparent_png_is_flattened_onto_the_dark_background(tmp_path, stroke):
    """Its transparent pixels' colour (here black, as drawing programs often leave it) used to make
    the picture blank: now the opaque strokes are light and the background 0, whatever their colour."""
    digit = _digit()
    Image.fromarray(digit).save(tmp_path / "opaque.png")
    rgba = np.zeros(digit.shape + (4,), np.uint8)
    rgba[..., :3], rgba[..., 3] = stroke, digit  # the strokes are what is opaque
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    got = read_image(str(tmp_path / "clear.png"), (8, 8))
    np.testing.assert_allclose(got, read_image(str(tmp_path / "opaque.png"), (8, 8)), atol=0.01)
    assert got.max() > 0.7 and got.reshape(8, 8)[:, 0].max() < 0.05  # strokes light, border dark


def test_a_transparent_gray_and_palette_image_too(tmp_path):
    digit = _digit()
    la = np.stack([np.zeros_like(digit), digit], axis=-1)  # black strokes, alpha = the digit
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    Image.fromarray(digit).save(tmp_path / "opaque.png")
    expected = read_image(str(tmp_path / "opaque.png"), (8, 8))
    np.testing.assert_allclose(read_image(str(tmp_path / "la.png"), (8, 8)), expected, atol=0.01)
    # a palette GIF with a transparent colour: black strokes on it
    mask = digit > 127
    pal = Image.fromarray(np.where(mask, 1, 0).astype(np.uint8), "P")
    pal.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    pal.save(tmp_path / "t.gif", transparency=0)
    got = read_image(str(tmp_path / "t.gif"), (8, 8))
    assert got.max() > 0.7 and got.reshape(8, 8)[:, 0].max() < 0.05


def test_an_opaque_rgba_image_keeps_the_dark_on_light_rule(tmp_path):
    digit = _digit()
    rgba = np.stack([255 - digit] * 3 + [np.full_like(digit, 255)], axis=-1)  # dark strokes on white paper
    Image.fromarray(rgba, "RGBA").save(tmp_path / "paper.png")
    Image.fromarray(digit).save(tmp_path / "opaque.png")
    np.testing.assert_allclose(read_image(str(tmp_path / "paper.png"), (8, 8)),
                               read_image(str(tmp_path / "opaque.png"), (8, 8)), atol=0.01)


def test_files_predict_does_not_read_are_named_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DataError) as e:
        read_inputs(tmp_path / "notes.txt", 64, (8, 8))
    assert str(e.value) == (f"{tmp_path / 'notes.txt'}: not a file predict reads (expected an image (PNG, JPEG, "
                            f"GIF, BMP, TIFF, WebP), an .npz file with an array 'x', or an IDX file)")
    (tmp_path / "fake.png").write_text("hello\n")
    with pytest.raises(DataError, match=r"fake\.png: not a PNG, JPEG, GIF, BMP, TIFF or WebP image$"):
        read_inputs(tmp_path / "fake.png", 64, (8, 8))
    (tmp_path / "cut.png").write_bytes((lambda b: b[: len(b) // 2])(_png_bytes(tmp_path)))
    with pytest.raises(DataError, match=r"cut\.png: cannot read the image"):
        read_inputs(tmp_path / "cut.png", 64, (8, 8))


def _png_bytes(tmp_path) -> bytes:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(tmp_path / "r.png")
    return (tmp_path / "r.png").read_bytes()


def test_a_folder_means_its_inputs_sorted(tmp_path):
    Image.fromarray(_digit()).save(tmp_path / "b.png")
    Image.fromarray(_digit()).save(tmp_path / "a", format="JPEG")
    np.savez(tmp_path / "c.npz", x=np.zeros((2, 64), np.float32))
    from chainrule.data import write_idx

    write_idx(tmp_path / "d-idx2-ubyte", np.zeros((2, 64), np.uint8))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".hidden.png").write_bytes((tmp_path / "b.png").read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.png").write_bytes((tmp_path / "b.png").read_bytes())
    assert [os.path.basename(p) for p in input_files(tmp_path)] == ["a", "b.png", "c.npz", "d-idx2-ubyte"]
    with pytest.raises(DataError, match=r"sub.*empty: no inputs in this folder \(expected an image"):
        (tmp_path / "sub" / "empty").mkdir()
        input_files(tmp_path / "sub" / "empty")

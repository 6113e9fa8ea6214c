"""Only regular files are read, and sizes are checked before reading (chainrule.data.files).

A FIFO, a device or a file that declares more than the limits must give one DataError (or
CheckpointError) at once: no blocking, no memory spent on what a header merely claims. The
bombs here are cheap when the protection works and stay a few hundred MB when it fails.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataError, files, load_csv, load_dataset, load_npz, read_idx, write_idx
from chainrule.io import CheckpointError


READERS = {
    "csv": (load_dataset, "data.csv", DataError),
    "npz": (load_dataset, "data.npz", DataError),
    "idx": (read_idx, "train-images-idx3-ubyte", DataError),
    "checkpoint": (cr.load, "model.safetensors", CheckpointError),
    "json": (files.read_text, "bench.json", DataError),
}


@pytest.mark.parametrize("kind", READERS)
def test_a_fifo_is_refused_at_once(tmp_path, kind, no_hang):
    read, name, error = READERS[kind]
    os.mkfifo(tmp_path / name)
    with no_hang(), pytest.raises(error, match=rf"{name}: is a FIFO \(named pipe\), not a regular file$"):
        read(tmp_path / name)


def test_a_link_to_a_device_is_refused_by_every_reader(tmp_path):
    """A .csv linked to /dev/zero used to grow memory without end: run in a child whose address
    space is capped at 1 GiB, so a regression dies of MemoryError instead of eating the machine."""
    names = {kind: name for kind, (_, name, _) in READERS.items()}
    for name in names.values():
        os.symlink("/dev/zero", tmp_path / name)
    script = (
        "import sys, resource, chainrule as cr\n"
        "from chainrule.data import load_dataset, read_idx, files\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "for read, path in [(load_dataset, 'data.csv'), (load_dataset, 'data.npz'),\n"
        "                   (read_idx, 'train-images-idx3-ubyte'), (cr.load, 'model.safetensors'),\n"
        "                   (files.read_text, 'bench.json')]:\n"
        "    try:\n"
        "        read(path)\n"
        "    except ValueError as e:\n"
        "        print(e)\n"
    )
    here = os.path.dirname(os.path.dirname(cr.__file__))  # this chainrule, not another installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines == [f"{name}: is a character device (a link to /dev/zero), not a regular file"
                     for name in names.values()]


def test_folders_sockets_and_missing_files_name_themselves(tmp_path):
    import socket

    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock.csv"))
        with pytest.raises(DataError, match=r"sock.csv: is a socket, not a regular file$"):
            load_csv(tmp_path / "sock.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match=r"folder: is a folder, not a file$"):
        files.open_regular(tmp_path / "folder")
    with pytest.raises(CheckpointError, match="absent.safetensors: no such checkpoint file$"):
        files.open_regular(tmp_path / "absent.safetensors", what="checkpoint file", error=CheckpointError)
    (tmp_path / "big.json").write_text("[" + "1," * 100 + "1]")
    with pytest.raises(DataError, match=r"big.json: the file is 203 bytes, more than the 100 bytes chainrule reads"):
        files.read_text(tmp_path / "big.json", limit=100)


# ----------------------------------------------------------------------------- .npz


def _npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_a_member_claiming_an_absurd_shape_is_one_line(tmp_path):
    """Used to be NumPy's _ArrayMemoryError traceback ("Unable to allocate 56.8 PiB")."""
    path = _zip(tmp_path / "claim.npz", {"x.npy": _npy_header((10**15, 8)) + bytes(64),
                                         "y.npy": _npy_header((2,), "<i8") + bytes(16)})
    with pytest.raises(DataError, match=r"claim.npz: member 'x' declares shape \(1000000000000000, 8\) of float64 "
                                        r"\(6.4e\+16 bytes\), more than the 4.0 GiB"):
        load_npz(path)


def test_a_member_whose_header_overstates_its_data_is_refused_before_allocating(tmp_path, peak_memory):
    path = _zip(tmp_path / "short.npz", {"x.npy": _npy_header((4000, 1000)) + bytes(64),
                                         "y.npy": _npy_header((4000,), "<i8") + bytes(32000)})
    with peak_memory() as peak, pytest.raises(
            DataError, match=r"short.npz: member 'x' declares shape \(4000, 1000\) of float64 \(32,000,000 bytes\) "
                             r"but holds 64 data bytes"):
        load_npz(path)
    assert peak[0] < 4_000_000, peak  # np.load reserved the 32 MB first


def test_members_declaring_more_than_the_limit_are_refused_before_reading(tmp_path, monkeypatch, peak_memory):
    """8 MiB of zeros compress to a few kB: refused from the zip's declared sizes alone."""
    monkeypatch.setattr(files, "MAX_DATA_BYTES", 2**20)
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((4096, 512), np.float32), y=np.arange(4096) % 2)
    assert path.stat().st_size < 100_000
    with peak_memory() as peak, pytest.raises(
            DataError, match=r"bomb.npz: its members declare 8.0 MiB \(.*\) in all, more than the 1.0 MiB"):
        load_npz(path)
    assert peak[0] < 2**20, peak


def test_an_npz_load_peaks_near_the_size_of_its_data(tmp_path, peak_memory):
    """float32 x is used as read (no second copy) and NaNs are looked for without a full-size
    mask: the peak is the array as read plus the training/test copies (3x before)."""
    x = np.random.default_rng(0).random((2000, 1000), dtype=np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(2000) % 3)
    with peak_memory() as peak:
        data = load_npz(tmp_path / "d.npz")
    assert data.x_train.shape == (1600, 1000)
    assert peak[0] < 2.5 * x.nbytes, peak[0] / x.nbytes


@pytest.mark.parametrize("content, message", [
    (b"\x80\x04\x95" + b"\0" * 40, r"not a .npz archive \(not a zip file\)"),
    (b"# not numbers at all\n" * 5, r"not a .npz archive \(not a zip file\)"),
])
def test_a_file_that_is_not_an_npz_never_hears_of_pickle(tmp_path, content, message):
    (tmp_path / "bad.npz").write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_npz(tmp_path / "bad.npz")
    assert "pickle" not in str(info.value)


def test_members_that_are_not_arrays_or_hold_objects_never_hear_of_pickle(tmp_path):
    _zip(tmp_path / "text.npz", {"x.npy": b"just text, no header", "y.npy": _npy_header((2,), "<i8") + bytes(16)})
    with pytest.raises(DataError, match=r"text.npz: member 'x' is not a NumPy array \(.*\)$") as info:
        load_npz(tmp_path / "text.npz")
    assert "pickle" not in str(info.value)
    np.savez(tmp_path / "obj.npz", x=np.array([[1], [2]], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"obj.npz: member 'x' holds Python objects \(dtype object\)") as info:
        load_npz(tmp_path / "obj.npz")
    assert "pickle" not in str(info.value)


def test_fortran_order_big_endian_and_empty_string_members_read_as_numpy_would(tmp_path):
    x = np.asfortranarray(np.arange(12, dtype=">f8").reshape(3, 4))
    np.savez(tmp_path / "f.npz", x=x, s=np.array([""] * 3), y=np.arange(3))
    with files.NpzReader(tmp_path / "f.npz") as npz, np.load(tmp_path / "f.npz", allow_pickle=False) as ref:
        assert npz.names == ["x", "s", "y"]
        for key in npz.names:
            got, want = npz.read(key), ref[key]
            assert got.dtype == want.dtype and got.shape == want.shape and (got == want).all(), key


@pytest.mark.parametrize("x", [np.zeros((10, 0)), np.zeros((10, 3, 0), np.uint8)])
def test_data_without_features_is_refused_at_load_naming_the_file(tmp_path, x):
    """Used to reach the model: "Linear: in_features must be a positive integer"."""
    np.savez(tmp_path / "flat.npz", x=x, y=np.arange(10) % 2)
    with pytest.raises(DataError, match=r"flat.npz: x: examples have no features \(shape \(10, .*0\)\)"):
        load_npz(tmp_path / "flat.npz")


def test_a_data_set_built_by_hand_without_features_is_refused():
    x, y = np.zeros((4, 0), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(DataError, match=r"hand: examples have no features \(x_train has shape \(4, 0\)\)"):
        cr.data.Data(x, y, x, y, name="hand")


def test_idx_images_without_pixels_are_refused_naming_the_file(tmp_path, idx_array_factory, write_idx_files):
    arrays = idx_array_factory()
    arrays["train-images-idx3-ubyte"] = np.zeros((30, 0, 5), np.uint8)
    arrays["t10k-images-idx3-ubyte"] = np.zeros((10, 0, 5), np.uint8)
    folder = write_idx_files(tmp_path / "mnist", arrays)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: images of shape \(0, 5\) have no pixels"):
        cr.data.load_mnist(folder, download=False)


# ------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("gz", [False, True])
def test_idx_declaring_more_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch, gz, peak_memory):
    monkeypatch.setattr(files, "MAX_DATA_BYTES", 2**20)
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    write_idx(path, np.zeros((64, 256, 256), np.uint8))  # 4 MiB
    with peak_memory() as peak, pytest.raises(
            DataError, match=r"header declares shape \(64, 256, 256\) of uint8 \(4.0 MiB .*\), more than the 1.0 MiB"):
        read_idx(path)
    assert peak[0] < 2**20, peak


# ------------------------------------------------------------------------------ CSV


def test_csv_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_CSV_BYTES", 100)
    (tmp_path / "big.csv").write_text("1,0\n2,1\n" * 20)
    with pytest.raises(DataError, match=r"big.csv: the file is 160 bytes, more than the 100 bytes chainrule reads"):
        load_csv(tmp_path / "big.csv")


def test_a_csv_line_longer_than_the_cap_is_refused_at_that_line(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_CSV_RECORD_CHARS", 1000)
    (tmp_path / "long.csv").write_text("1,0\n2,1\n" + "3," * 2000 + "1\n4,0\n")
    with pytest.raises(DataError, match=r"long.csv: line 3 is longer than 1,000 characters$"):
        load_csv(tmp_path / "long.csv")


def test_a_csv_without_line_ends_costs_no_more_than_the_cap(tmp_path, peak_memory):
    """2 MB in one line: refused after MAX_CSV_RECORD_CHARS (1 Mi) characters, not split into a
    million Python strings first (about 60 MB before)."""
    (tmp_path / "one.csv").write_text("0," * 1_000_000)
    with peak_memory() as peak, pytest.raises(DataError, match=r"one.csv: line 1 is longer than 1,048,576 characters"):
        load_csv(tmp_path / "one.csv")
    assert peak[0] < 16 * 2**20, peak


def test_an_unclosed_quote_is_reported_where_it_opened(tmp_path):
    """csv.reader reads on to the end of the file; the line reported used to be the last one."""
    (tmp_path / "quote.csv").write_text('a,b,label\n1,2,0\n3,"4,1\n5,6,0\n7,8,1\n')
    with pytest.raises(DataError, match=r"quote.csv: line 3: a quote opened on this line is never closed$"):
        load_csv(tmp_path / "quote.csv")


def test_an_unclosed_quote_in_a_long_file_stops_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_CSV_RECORD_CHARS", 1000)
    (tmp_path / "quote.csv").write_text('1,2,0\n3,"4,1\n' + "5,6,0\n" * 1000)
    with pytest.raises(DataError, match=r"quote.csv: line 2: a quoted field opened here runs on for more than "
                                        r"1,000 characters \(a quote that is never closed\?\)$"):
        load_csv(tmp_path / "quote.csv")


def test_a_multi_line_record_is_numbered_by_its_first_line(tmp_path):
    (tmp_path / "multi.csv").write_text('1,2,0\n3,"4\n5",1\n6,7,0\n')
    with pytest.raises(DataError, match=r"multi.csv: line 2, column 2: '4\\n5' is not a number$"):
        load_csv(tmp_path / "multi.csv")


def test_a_csv_load_holds_numbers_not_text(tmp_path, peak_memory):
    """The text is converted in batches: the peak follows the float32 numbers (86 MB before, for
    3.8 MB of numbers, when every cell was kept as a Python string first)."""
    (tmp_path / "wide.csv").write_text("".join(",".join(["0.5"] * 50) + f",{i % 2}\n" for i in range(20000)))
    with peak_memory() as peak:
        data = load_csv(tmp_path / "wide.csv")
    numbers = 20000 * 50 * 4
    assert data.num_features == 50 and len(data.x_train) + len(data.x_test) == 20000
    assert peak[0] < 6 * numbers, peak[0] / numbers


def test_one_long_cell_does_not_pad_every_cell_of_its_batch(tmp_path, peak_memory):
    """A 2,000-character number among 30,000 short cells (a 62 kB file): converting the batch as a
    NumPy str array padded every cell to 2,000 characters, 240 MB; the 131,072 characters csv allows
    in a cell asked for 11.8 GiB from a 310 kB file."""
    rows = "".join(f"{i},{i % 7},{i % 2}\n" for i in range(10_000))
    (tmp_path / "long-cell.csv").write_text("a,b,label\n" + rows + "1,0." + "0" * 2000 + "1,0\n")
    with peak_memory() as peak:
        data = load_csv(tmp_path / "long-cell.csv")
    assert len(data.x_train) + len(data.x_test) == 10_001
    assert peak[0] < 16 * 2**20, peak


@pytest.mark.parametrize("reader", ["train", "predict"])
def test_an_npz_of_many_members_is_refused_before_its_directory_is_read(tmp_path, peak_memory, reader):
    """zipfile reads a zip's whole directory and keeps an object per member: 44 MB of 500,000 empty
    members took 350 MB before any name was looked at. Here 40,000 (1.9 MiB of directory)."""
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(40_000):
            archive.writestr(zipfile.ZipInfo(f"{i:05d}"), b"")
    read = load_npz if reader == "train" else (lambda p: files.NpzReader(p).names)
    with peak_memory() as peak, pytest.raises(DataError, match=r"many.npz: its zip directory of 40,000 members is "
                                                               r"1\.9 MiB .* more than the 1\.0 MiB"):
        read(path)
    assert peak[0] < 2 * 2**20, peak


def test_a_field_past_csvs_own_limit_is_one_line_at_its_line(tmp_path):
    """csv.field_size_limit stays at its default (131,072 characters): it is the whole process's setting."""
    (tmp_path / "field.csv").write_text('1,0\n"' + "7" * 200_000 + '",1\n')
    with pytest.raises(DataError, match=r"field.csv: line 2: cannot read as CSV \(field larger than field limit "
                                        r"\(131072\)\)$"):
        load_csv(tmp_path / "field.csv")


def test_a_long_cell_is_shortened_in_the_message(tmp_path):
    (tmp_path / "cell.csv").write_text("1,0\n" + "x" * 5000 + ",1\n")
    with pytest.raises(DataError, match=r"cell.csv: line 2, column 1: 'xxxx+'\.\.\. \(5,000 characters\) is not a "
                                        r"number$") as info:
        load_csv(tmp_path / "cell.csv")
    assert len(str(info.value)) < 200


def test_rows_are_the_same_across_batch_boundaries(tmp_path):
    """More rows than one conversion batch (2**16 cells): every row kept once, with its own label."""
    n = 40_007
    ids, noise = np.arange(n), np.random.default_rng(1).integers(-1000, 1000, n)
    (tmp_path / "rows.csv").write_text("".join(f"{i},{v},{i % 4}\n" for i, v in zip(ids, noise)))
    data = load_csv(tmp_path / "rows.csv")
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    order = np.argsort(x[:, 0])
    assert (x[order, 0] == ids).all() and (x[order, 1] == noise).all() and (y[order] == ids % 4).all()

"""Checkpoints: round trip, and every damaged or foreign file refused with CheckpointError."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.io import MAX_HEADER_BYTES, CheckpointError, load_weights, read_header, save_weights


@pytest.fixture
def checkpoint(tmp_path):
    cr.manual_seed(0)
    model = cr.Classifier.from_spec("8tanh", 4, ["a", "b", "c"], info={"dataset": "toy"})
    path = tmp_path / "model.safetensors"
    cr.save(model, path)
    return model, path


def test_round_trip_keeps_weights_and_description(checkpoint):
    model, path = checkpoint
    back = cr.load(path)
    assert back.spec == "8tanh" and back.classes == ["a", "b", "c"] and back.info["dataset"] == "toy"
    for a, b in zip(model.net.params(), back.net.params()):
        assert a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes()
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    np.testing.assert_array_equal(model.predict_proba(x), back.predict_proba(x))


def test_the_file_is_plain_safetensors(checkpoint):
    from safetensors.numpy import load_file

    _, path = checkpoint
    assert sorted(load_file(str(path))) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    header, info, offset = read_header(path)
    assert info["spec"] == "8tanh" and offset > 8


def _rewrite_header(path, header: dict, data: bytes):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_catalogue_of_damaged_and_foreign_files(checkpoint, tmp_path):
    _, path = checkpoint
    good = path.read_bytes()
    (length,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8:8 + length])
    data = good[8 + length:]
    cases = {}
    cases["empty"] = (b"", "too short")
    cases["truncated"] = (good[: len(good) - 10], "does not fit the file")
    cases["header cut"] = (good[: 8 + length // 2], "header length")
    cases["pickle"] = (b"\x80\x04\x95" + b"\x00" * 40, "not a safetensors file")
    cases["text"] = (b"hello world, not weights at all", "not a safetensors file")
    cases["huge header length"] = (struct.pack("<Q", 2**60) + good[8:], "header length")
    cases["oversized header"] = (struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{" * 64, "header length")
    cases["not json"] = (struct.pack("<Q", 4) + b"{{{{" + data, "not JSON")
    cases["json list"] = (struct.pack("<Q", 2) + b"[]" + data, "not a JSON object")
    for name, (content, needle) in cases.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(content)
        with pytest.raises(CheckpointError, match=needle):
            cr.load(bad)

    def variant(name, mutate, needle):
        h = json.loads(json.dumps(header))
        mutate(h)
        bad = tmp_path / f"{name}.safetensors"
        _rewrite_header(bad, h, data)
        with pytest.raises(CheckpointError, match=needle):
            cr.load(bad)

    variant("no metadata", lambda h: h.pop("__metadata__"), "not one chainrule wrote")
    variant("foreign metadata", lambda h: h.__setitem__("__metadata__", {"format": "pt"}), "not one chainrule wrote")
    variant("metadata not json", lambda h: h["__metadata__"].__setitem__("chainrule", "{oops"), "not valid JSON")
    variant("no spec", lambda h: h["__metadata__"].__setitem__("chainrule", json.dumps({"classes": ["a"]})),
            "'spec' is missing")
    variant("bad spec", lambda h: h["__metadata__"].__setitem__("chainrule", json.dumps(
        {"spec": "9tanhh", "num_features": 4, "classes": ["a", "b", "c"]})), "cannot read")
    variant("wrong classes", lambda h: h["__metadata__"].__setitem__("chainrule", json.dumps(
        {"spec": "8tanh", "num_features": 4, "classes": ["a", "b"]})), r"weights do not fit.*mis-shaped 2.bias.*2.weight: checkpoint \(8, 3\) vs model \(8, 2\)")
    variant("absurd sizes", lambda h: h["__metadata__"].__setitem__("chainrule", json.dumps(
        {"spec": "8tanh", "num_features": 10**9, "classes": ["a"]})), "'num_features' must be an integer from 1 to")
    variant("offsets outside", lambda h: h["0.weight"].__setitem__("data_offsets", [0, 10**9]), "does not fit")
    variant("shape lies", lambda h: h["0.weight"].__setitem__("shape", [4, 9]), "does not fit")
    variant("negative dim", lambda h: h["0.weight"].__setitem__("shape", [-4, 8]), "bad shape")
    variant("odd dtype", lambda h: h["0.weight"].__setitem__("dtype", "X99"),
            "tensor '0.weight' has dtype 'X99', which chainrule does not read")
    variant("missing tensor", lambda h: h.pop("2.bias"), "missing 2.bias|cannot read tensors")

    nan = tmp_path / "nan.safetensors"
    model = cr.load(path)
    model.net.params()[0][0, 0] = np.nan
    cr.save(model, nan)
    with pytest.raises(CheckpointError, match="non-finite"):
        cr.load(nan)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        cr.load(tmp_path / "absent.safetensors")
    with pytest.raises(CheckpointError, match="folder"):
        cr.load(tmp_path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600), st.integers(0, 10), st.booleans())
def test_fuzz_any_bytes_load_or_raise_checkpoint_error(tmp_path, checkpoint, blob, cut, splice):
    _, path = checkpoint
    good = path.read_bytes()
    # half the time random bytes spliced into a real checkpoint, half the time pure noise
    content = (good[: len(good) * cut // 10] + blob + good[len(good) * cut // 10 + len(blob):]) if splice else blob
    bad = tmp_path / "fuzz.safetensors"
    bad.write_bytes(content)
    try:
        model = cr.load(bad)
    except CheckpointError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(model, cr.Classifier)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights({"a": np.ones(3, np.float32)}, path, {"spec": "x"})
    save_weights({"a": np.zeros(3, np.float32)}, path, {"spec": "x"})
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    arrays, info = load_weights(path)
    assert (arrays["a"] == 0).all() and info == {"spec": "x"}


def test_no_pickle_anywhere_in_the_package():
    import pathlib

    import chainrule

    root = pathlib.Path(chainrule.__file__).parent
    for source in root.rglob("*.py"):
        text = source.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, source
        # torch.load unpickles; safetensors.torch.load_file (what chainrule's torch-layout files are for) does not
        assert not re.search(r"(?<![\w.])torch\.load\(", text), source


def test_hostile_metadata_and_paths_are_one_checkpoint_error(tmp_path):
    """A few bytes of weights under metadata claiming 4 TiB of model, a dtype that is a list,
    a file where a folder should be: each a CheckpointError, nothing allocated."""
    from chainrule.io import save_weights

    p = tmp_path / "huge.safetensors"
    save_weights({"0.weight": np.zeros((2, 2), np.float32)}, p,
                 {"format": 1, "spec": "65536relu-65536relu", "num_features": 1 << 24, "classes": ["a", "b"]})
    with pytest.raises(CheckpointError, match="needs .* weights, the file holds 4"):
        cr.load(p)
    good = tmp_path / "good.safetensors"
    cr.save(cr.Classifier.from_spec("4tanh", 3, ["a", "b"]), good)
    raw = good.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8:8 + length]), raw[8 + length:]
    header["0.weight"]["dtype"] = ["F32"]
    _rewrite_header(tmp_path / "listdtype.safetensors", header, data)
    with pytest.raises(CheckpointError, match="malformed header entry"):
        cr.load(tmp_path / "listdtype.safetensors")
    with pytest.raises(CheckpointError, match="cannot read"):
        cr.load(good / "x.safetensors")  # good is a file, not a folder


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "U16"])
def test_a_dtype_chainrule_does_not_read_is_named_with_its_tensor(checkpoint, tmp_path, dtype):
    """A checkpoint converted to bfloat16 (or another safetensors dtype) by another tool, its offsets
    consistent: the message names the dtype and the tensor, not a "malformed header"."""
    _, path = checkpoint
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    arrays, offset, data = load_weights(path)[0], 0, b""
    for key in sorted(k for k in header if k != "__metadata__"):
        size = arrays[key].size * (1 if dtype == "F8_E4M3" else 2)
        header[key].update(dtype=dtype, data_offsets=[offset, offset + size])
        data, offset = data + bytes(size), offset + size
    _rewrite_header(tmp_path / "half.safetensors", header, data)
    with pytest.raises(CheckpointError, match=f"tensor '0.bias' has dtype '{dtype}', which chainrule does not read "
                                              r"\(it reads F32, .*\); convert it to F32"):
        cr.load(tmp_path / "half.safetensors")


def test_a_spec_too_large_to_be_meant_is_refused_before_allocating():
    with pytest.raises(cr.spec.SpecError, match="would have .* parameters"):
        cr.Classifier.from_spec("65536relu-65536relu", 784, ["a", "b"])
    with pytest.raises(cr.spec.SpecError, match="rounds to 1"):
        cr.spec.parse_spec("8relu-dropout0.99999999999999999")


def test_save_and_load_a_plain_state_dict(tmp_path):
    """cr.save/cr.load of a state_dict: safetensors with metadata saying so, keys in their order."""
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    path = tmp_path / "net.safetensors"
    cr.save(net.state_dict(), path)
    back = cr.load(path)
    assert type(back) is dict and list(back) == list(net.state_dict())  # not a Classifier; order kept
    _, info = load_weights(path)
    assert info["kind"] == "state_dict"
    other = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    other.load_state_dict(back)
    for a, b in zip(net.params(), other.params()):
        assert a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes()
    mixed = {"w": cr.tensor([[1.0, 2.0]]), "count": np.array(3, np.int64), "mask": np.array([True, False])}
    cr.save(mixed, tmp_path / "mixed.safetensors")
    got = cr.load(tmp_path / "mixed.safetensors")
    assert got["w"].tolist() == [[1.0, 2.0]] and got["count"].dtype == np.int64 and got["count"].shape == ()
    assert got["mask"].dtype == np.bool_
    assert isinstance(cr.load(tmp_path / "net.safetensors"), dict)
    # torch.load's keywords, as PyTorch's docs write them; only the CPU exists
    assert list(cr.load(path, map_location="cpu", weights_only=True)) == list(net.state_dict())
    with pytest.raises(ValueError, match="CPU only"):
        cr.load(path, map_location="cuda:0")


@pytest.mark.parametrize("obj, message", [
    (cr.nn.Linear(2, 1), "state_dict, not the module"),
    ({"a": [1.0, 2.0]}, "entry 'a' is list"),
    ({"a": np.array(["x"])}, "entry 'a' is ndarray of <U1"),
    ({1: np.zeros(2)}, "entry 1"),
    ([np.zeros(2)], "got list"),
])
def test_save_refuses_what_it_cannot_write_without_pickle(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        cr.save(obj, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_a_state_dict_file_with_bad_key_list_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "sd.safetensors"
    save_weights({"a": np.zeros(2, np.float32)}, path, {"kind": "state_dict", "keys": ["a", "b"]})
    with pytest.raises(CheckpointError, match="does not list its tensors"):
        cr.load(path)


def test_a_header_past_the_limit_is_said_to_be_so_not_to_be_foreign(tmp_path):
    """A training state's metadata grows with its history (some 230 bytes an epoch): past 16 MiB,
    after some 70,000 epochs, last.safetensors was called "not a safetensors file"."""
    path = tmp_path / "last.safetensors"
    save_weights({"w": np.zeros(2, np.float32)}, path, {"history": "x" * (MAX_HEADER_BYTES + 1000)})
    with pytest.raises(CheckpointError, match=r"last.safetensors: its header is 16\.0 MiB \(16,778,\d+ bytes\), "
                                              r"more than the 16\.0 MiB \(16,777,216 bytes\) chainrule reads$"):
        read_header(path)


def test_loading_a_training_state_as_a_model_says_how_to_use_it(tmp_path):
    cr.fit("xor", model="4tanh", epochs=1, val_split=0, out=tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match=r"last.safetensors is a training state, kept to resume the run: load "
                                              r".*model.safetensors, or continue the run with chainrule.train.resume\("):
        cr.load(tmp_path / "last.safetensors")

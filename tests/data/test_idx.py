"""The IDX reader: round trips, and a clean DataError for every kind of bad file."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule.data import DataError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}
FILE_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def idx_bytes(array: np.ndarray, code: int | None = None, ndim: int | None = None) -> bytes:
    """IDX bytes written by hand, independently of write_idx."""
    a = np.asarray(array)
    code = CODES[a.dtype.type] if code is None else code
    ndim = a.ndim if ndim is None else ndim
    header = bytes([0, 0, code, ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("idx")


@FILE_SETTINGS
@given(
    array=st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    ),
    gz=st.booleans(),
)
def test_round_trip_any_dtype_and_shape(scratch, array, gz):
    path = scratch / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == array.shape
    assert back.dtype == array.dtype and back.dtype.isnative
    # bit for bit, so NaN payloads and -0.0 count too
    assert back.tobytes() == np.ascontiguousarray(array).tobytes()
    assert (gzip.open(path).read(4) if gz else path.read_bytes()[:4])[2] == CODES[array.dtype.type]


@pytest.mark.parametrize("dtype", DTYPES)
def test_reads_big_endian_bytes_written_by_hand(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    (tmp_path / "f").write_bytes(idx_bytes(a))
    back = read_idx(tmp_path / "f")
    np.testing.assert_array_equal(back, a)
    assert back.dtype.isnative and back.flags.writeable


def test_gzip_is_detected_by_magic_not_name(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (tmp_path / "gzipped-but-named-raw").write_bytes(gzip.compress(idx_bytes(a)))
    (tmp_path / "raw-but-named.gz").write_bytes(idx_bytes(a))
    np.testing.assert_array_equal(read_idx(tmp_path / "gzipped-but-named-raw"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-but-named.gz"), a)


def test_write_gz_suffix_compresses_and_is_deterministic(tmp_path):
    a = np.zeros((50, 50), np.uint8)
    write_idx(tmp_path / "a.gz", a)
    write_idx(tmp_path / "b.gz", a)
    data = (tmp_path / "a.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b" and len(data) < a.size
    assert data == (tmp_path / "b.gz").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_empty_dimension_round_trips(tmp_path):
    write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))
    assert read_idx(tmp_path / "e").shape == (0, 28, 28)


GOOD = idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x01\x02\x08\x01" + GOOD[4:], "bad magic number 0x01020801"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown element type code 0x0a"),
        (GOOD[:3] + b"\x00", "0 dimensions"),
        (GOOD[:3] + b"\x05" + GOOD[4:], "5 dimensions"),
        (GOOD[:-1], "truncated"),
        (GOOD[:10], "truncated header"),
        (GOOD + b"\x00\x00", "2 trailing bytes"),
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (gzip.compress(gzip.compress(GOOD)), "gzip file read as raw"),
        (gzip.compress(GOOD)[:-12], "corrupt gzip"),
        (gzip.compress(GOOD[:-1]), "truncated"),
        (gzip.compress(GOOD + b"\x07"), "1 trailing bytes"),
        (b"\x1f\x8b" + b"garbage that is not deflate", "corrupt gzip"),
        (b"This is not an IDX file at all.\n", "bad magic"),
    ],
    ids=[
        "bad-magic", "type-code", "ndim-0", "ndim-5", "truncated", "truncated-header", "trailing",
        "empty", "short", "gzip-in-gzip", "gzip-cut", "gz-truncated", "gz-trailing", "gz-garbage", "text",
    ],
)
def test_rejects_bad_files_with_one_line_naming_the_file(tmp_path, data, message):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    text = str(info.value)
    assert text.startswith(str(path)) and "\n" not in text


def test_absurd_dimensions_fail_before_allocating(tmp_path):
    # 2**31 x 2**31 x 255 bytes would be an exabyte: must be refused from the header alone.
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**31, 2**31, 255)
    (tmp_path / "raw").write_bytes(header + b"\x00" * 16)
    (tmp_path / "gz").write_bytes(gzip.compress(header + b"\x00" * 16))
    for name in ("raw", "gz"):
        with pytest.raises(DataError, match=r"declares shape \(2147483648, 2147483648, 255\) of uint8 .* more than "
                                            r"the 4.0 GiB \(4,294,967,296 bytes\) chainrule reads"):
            read_idx(tmp_path / name)


def test_a_gzip_header_that_overstates_its_data_is_refused_without_the_memory(tmp_path):
    """The header claims 200 MB, within what 200 kB of gzip could hold in principle; the data
    runs out after 200 kB, and the reader must not have reserved the 200 MB first."""
    import tracemalloc

    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 200_000_000)
    (tmp_path / "gz").write_bytes(gzip.compress(header + np.random.default_rng(0).bytes(200_000), 1))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="truncated"):
            read_idx(tmp_path / "gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, peak


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent")
    with pytest.raises(DataError, match="is a folder, not a file"):
        read_idx(tmp_path)


@pytest.mark.parametrize(
    "array",
    [np.zeros(3, np.int64), np.zeros(3, bool), np.zeros(3, np.float16), np.zeros(()), np.zeros((1,) * 5, np.uint8)],
)
def test_write_rejects_what_idx_cannot_hold(tmp_path, array):
    with pytest.raises(DataError):
        write_idx(tmp_path / "x", array)
    assert list(tmp_path.iterdir()) == []


def _check_outcome(path, size):
    try:
        out = read_idx(path)
    except DataError as e:
        assert "\n" not in str(e)
        return
    assert isinstance(out, np.ndarray) and 1 <= out.ndim <= 4


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64), gz=st.booleans())
def test_fuzz_arbitrary_bytes_give_an_array_or_data_error(scratch, data, gz):
    path = scratch / "fuzz"
    path.write_bytes(gzip.compress(data) if gz else data)
    _check_outcome(path, len(data))


@settings(max_examples=300, deadline=None)
@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    dims=st.lists(st.integers(0, 6) | st.integers(0, 2**32 - 1), min_size=0, max_size=5),
    payload=st.binary(max_size=80),
    gz=st.booleans(),
    cut=st.integers(0, 3),
)
def test_fuzz_plausible_headers(scratch, code, dims, payload, gz, cut):
    # Headers that are nearly right reach the deeper checks that random bytes rarely do.
    data = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
    data = data[: len(data) - cut] if cut else data
    if gz:
        data = gzip.compress(data)
    path = scratch / "fuzz-header"
    path.write_bytes(data)
    _check_outcome(path, len(data))

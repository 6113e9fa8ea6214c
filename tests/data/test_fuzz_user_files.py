"""Fuzzing the user-file loaders: any bytes, any arrays -> a Data set or DataError, nothing else."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule.data import Data, DataError, load_csv, load_npz

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(loader, path):
    try:
        data = loader(path)
    except DataError as e:
        assert str(e) and "\n" not in str(e)
        return None
    assert isinstance(data, Data)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    return data


@SETTINGS
@given(st.binary(max_size=400))
def test_csv_any_bytes(tmp_path, blob):
    path = tmp_path / "f.csv"
    path.write_bytes(blob)
    _outcome(load_csv, path)


cell = st.one_of(st.integers(-3, 12).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.sampled_from(["", "x", "1e400", " 3 ", "nan", "-0", "1,5"]))


@SETTINGS
@given(st.lists(st.lists(cell, min_size=1, max_size=5), min_size=0, max_size=30), st.booleans())
def test_csv_structured_rows(tmp_path, rows, header):
    text = ("a,b,c\n" if header else "") + "\n".join(",".join(r) for r in rows)
    path = tmp_path / "f.csv"
    path.write_text(text)
    _outcome(load_csv, path)


@SETTINGS
@given(st.binary(max_size=400), st.booleans())
def test_npz_any_bytes(tmp_path, blob, as_zip):
    path = tmp_path / "f.npz"
    if as_zip:  # a real zip holding garbage "arrays"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("x.npy", blob)
            z.writestr("y.npy", blob[::-1])
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes(blob)
    _outcome(load_npz, path)


dtypes = st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.int8, np.bool_, np.float16])


@SETTINGS
@given(hnp.arrays(dtypes, hnp.array_shapes(min_dims=1, max_dims=3, max_side=12)),
       hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=2, max_side=12)))
def test_npz_any_arrays(tmp_path, x, y):
    path = tmp_path / "f.npz"
    np.savez(path, x=x, y=y)
    data = _outcome(load_npz, path)
    if data is not None:
        assert len(data.x_train) + len(data.x_test) == len(x)

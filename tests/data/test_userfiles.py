"""The user's own .npz and .csv files: what is accepted, how it is scaled, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import DataError, load_csv, load_dataset, load_npz


def save(tmp_path, name="mine.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_npz_floats_kept_and_split_stratified(tmp_path):
    x = np.linspace(-3, 3, 200).reshape(50, 4)  # float64, outside [0, 1]
    y = np.repeat([0.0, 1.0], 25)  # whole-number floats are fine
    data = load_npz(save(tmp_path, x=x, y=y))
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.shape == (40, 4) and data.x_test.shape == (10, 4)
    assert np.bincount(data.y_test).tolist() == [5, 5]
    together = np.sort(np.concatenate([data.x_train, data.x_test]), axis=0)
    np.testing.assert_array_equal(together, np.sort(x.astype(np.float32), axis=0))  # unscaled
    again = load_npz(tmp_path / "mine.npz")
    assert np.array_equal(data.x_test, again.x_test)
    assert data.name == "mine" and data.image_shape is None


def test_npz_uint8_images_scaled_and_flattened(tmp_path):
    x = np.arange(10 * 3 * 2, dtype=np.uint8).reshape(10, 3, 2) * 4
    data = load_npz(save(tmp_path, x=x, y=np.arange(10) % 2, x_test=x[:4], y_test=np.zeros(4, int)))
    assert data.image_shape == (3, 2) and data.x_train.shape == (10, 6)
    np.testing.assert_array_equal(data.x_train, x.reshape(10, 6).astype(np.float32) / np.float32(255))
    assert data.x_test.shape == (4, 6) and data.x_train.max() <= 1


def test_npz_class_names(tmp_path):
    data = load_npz(save(tmp_path, x=np.eye(6), y=np.arange(6) % 3, classes=np.array(["a", "b", "c"])))
    assert data.classes == ["a", "b", "c"]


def test_npz_class_names_stored_as_bytes_are_text(tmp_path):
    data = load_npz(save(tmp_path, x=np.eye(6), y=np.arange(6) % 2, classes=np.array([b"cat", b"dog"])))
    assert data.classes == ["cat", "dog"]


def test_csv_with_a_byte_order_mark_keeps_every_row_and_its_header(tmp_path):
    """Excel starts its UTF-8 CSV files with a BOM; it is not part of the first cell."""
    rows_only = "".join(f"{i + 1},{i % 2}\n" for i in range(10))
    (tmp_path / "bom.csv").write_text(rows_only, encoding="utf-8-sig")
    data = load_csv(tmp_path / "bom.csv")
    assert len(data.x_train) + len(data.x_test) == 10
    (tmp_path / "head.csv").write_text("a,label\n" + rows_only, encoding="utf-8-sig")
    assert load_csv(tmp_path / "head.csv", label_column="label").num_features == 1
    label_first = "".join(f"{i % 2},{i + 1}\n" for i in range(10))
    (tmp_path / "name.csv").write_text("a,b\n" + label_first, encoding="utf-8-sig")
    assert load_csv(tmp_path / "name.csv", label_column="a").num_features == 1  # "a", not "\ufeffa"


def test_npz_never_unpickles(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([[1], [2]], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match="obj.npz"):
        load_npz(path)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((4, 2))}, "missing array y"),
        ({"y": np.zeros(4)}, "missing array x"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4), "X_test": np.zeros(2)}, "unexpected arrays X_test"),
        ({"x": np.zeros(4), "y": np.zeros(4)}, r"expected shape \(examples, features"),
        ({"x": np.array([["a", "b"]] * 4), "y": np.zeros(4)}, "expected numbers"),
        ({"x": np.array([[1.0, np.nan]] * 4), "y": np.zeros(4)}, "NaN, infinite"),
        ({"x": np.array([[1.0, np.inf]] * 4), "y": np.zeros(4)}, "NaN, infinite"),
        ({"x": np.full((4, 2), 1e39), "y": np.zeros(4)}, "too large for float32"),
        ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, "no examples"),
        ({"x": np.zeros((4, 2)), "y": np.zeros((4, 1))}, "1-D class indices"),
        ({"x": np.zeros((4, 2)), "y": np.array([0, 1, -1, 0])}, "found -1"),
        ({"x": np.zeros((4, 2)), "y": np.array([0, 1, 10**9, 0])}, "found 1000000000"),
        ({"x": np.zeros((4, 2)), "y": np.array([0, 0.5, 1, 0])}, "whole numbers, found 0.5"),
        ({"x": np.zeros((4, 2)), "y": np.array([0, np.nan, 1, 0])}, "NaN"),
        ({"x": np.zeros((4, 2)), "y": np.array(["a", "b", "a", "b"])}, "must be integers"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(3)}, "4 examples but y has 3"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4), "x_test": np.zeros((2, 2))}, "must come together"),
        (
            {"x": np.zeros((4, 2)), "y": np.zeros(4), "x_test": np.zeros((2, 3)), "y_test": np.zeros(2)},
            "x_test examples",
        ),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4), "x_test": np.zeros((2, 2)), "y_test": np.zeros(3)}, "x_test has 2"),
        ({"x": np.zeros((4, 2)), "y": np.arange(4), "classes": np.array(["a", "b"])}, "only 2 class names"),
        ({"x": np.zeros((2, 2)), "y": np.arange(2)}, "too few examples"),
    ],
)
def test_npz_validation_errors(tmp_path, arrays, message):
    with pytest.raises(DataError, match=message) as info:
        load_npz(save(tmp_path, **arrays))
    assert str(info.value).startswith(str(tmp_path / "mine.npz")) and "\n" not in str(info.value)


def test_npz_not_an_archive(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npz").write_bytes((tmp_path / "single.npy").read_bytes())
    (tmp_path / "cut.npz").write_bytes(save(tmp_path, x=np.eye(3), y=np.arange(3)).read_bytes()[:100])
    cases = (
        ("junk.npz", "not a .npz archive \\(not a zip file\\)"),
        ("single.npz", "not a .npz archive \\(a single .npy array\\)"),
        ("absent.npz", "no such file"),
        ("cut.npz", "cannot read as .npz"),
    )
    for name, message in cases:
        with pytest.raises(DataError, match=message):
            load_npz(tmp_path / name)


def write_csv(tmp_path, text, name="pts.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(n=20, header="a,b,label\n"):
    return header + "".join(f"{i},{i / 2},{i % 2}\n" for i in range(n))


def test_csv_with_header_and_named_label(tmp_path):
    data = load_csv(write_csv(tmp_path, rows()), label_column="label")
    assert data.x_train.shape == (16, 2) and data.x_test.shape == (4, 2)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_test).tolist() == [2, 2]
    assert sorted(np.concatenate([data.x_train, data.x_test])[:, 0].tolist()) == list(range(20))


def test_csv_without_header_label_first(tmp_path):
    text = "".join(f"{i % 3},{i}.5,{-i}\n" for i in range(30))
    data = load_csv(write_csv(tmp_path, text), label_column=0)
    assert data.num_classes == 3 and data.num_features == 2
    assert len(data.x_test) == 6


def test_csv_blank_lines_and_spaces_are_fine(tmp_path):
    text = "a, b ,label\n\n" + "".join(f" {i} , {i} , {i % 2} \n\n" for i in range(10))
    assert load_csv(write_csv(tmp_path, text)).x_train.shape == (8, 2)


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("a,b,label\n1,2,0\n3,x,1\n", {}, r"line 3, column 2 \('b'\): 'x' is not a number"),
        ("1,2,0\n3,,1\n", {}, "line 2, column 2: '' is not a number"),
        ("1,2,0\n3,4\n", {}, "line 2 has 2 fields, expected 3"),
        ("1,2,0\n3,nan,1\n", {}, "line 2, column 2: 'nan' is not a finite"),
        ("1,2,0.5\n3,4,1\n", {}, "whole numbers"),
        ("1,2,-1\n3,4,1\n", {}, "found -1"),
        ("1,2,0\n", {"label_column": "label"}, "no header"),
        ("a,b,c\n1,2,0\n", {"label_column": "label"}, "no column 'label'"),
        ("1,2,0\n", {"label_column": 3}, "not a column of 3"),
        ("", {}, "empty file"),
        ("a,b,label\n", {}, "no data lines"),
        ("1\n2\n", {}, "at least one feature column"),
    ],
)
def test_csv_errors_name_line_and_column(tmp_path, text, kwargs, message):
    with pytest.raises(DataError, match=message) as info:
        load_csv(write_csv(tmp_path, text), **kwargs)
    assert "\n" not in str(info.value)


def test_load_dataset_dispatches_on_extension(tmp_path):
    npz = save(tmp_path, x=np.eye(10), y=np.arange(10) % 2)
    assert load_dataset(str(npz)).x_train.shape == (8, 10)
    assert load_dataset(write_csv(tmp_path, rows(), name="P.CSV")).x_test.shape == (4, 2)
    with pytest.raises(DataError, match="no such file"):
        load_dataset(str(tmp_path / "absent.csv"))


def test_labels_from_1_warn_of_the_empty_class_0(tmp_path):
    with pytest.warns(UserWarning) as caught:
        data = load_npz(save(tmp_path, x=np.eye(30), y=np.arange(30) % 3 + 1))
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and "mine.npz" in message
    assert "class 0 has no training example among 0..3" in message and "labels start at 1? subtract 1" in message
    assert data.classes == ["0", "1", "2", "3"]  # still loaded as before: the warning only says so


def test_gaps_in_the_labels_name_the_missing_classes(tmp_path):
    (tmp_path / "gaps.csv").write_text("".join(f"{i},{c}\n" for i, c in enumerate([0, 2, 5, 0, 2, 5] * 5)))
    with pytest.warns(UserWarning, match=r"gaps.csv: classes 1, 3, 4 have no training example among 0..5 "
                                         r"\(labels must be class indices 0..K-1; renumber them without gaps\)"):
        load_csv(tmp_path / "gaps.csv")


def test_a_class_only_in_the_test_arrays_is_warned_of(tmp_path):
    x = np.eye(8)
    with pytest.warns(UserWarning, match="class 2 has no training example among 0..2"):
        load_npz(save(tmp_path, x=x, y=np.arange(8) % 2, x_test=x[:3], y_test=np.array([0, 1, 2])))


def test_labels_without_gaps_load_without_a_warning(tmp_path, recwarn):
    load_npz(save(tmp_path, x=np.eye(30), y=np.arange(30) % 3))
    assert not [w for w in recwarn if "training example" in str(w.message)]

"""Every safetensors writer passes C-contiguous arrays: safetensors 0.8's NumPy ``save`` copies an
array's memory as it lies, so a transposed or sliced view would be written with wrong values."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import load_weights, save_weights, write_safetensors


def views() -> dict[str, np.ndarray]:
    """Arrays whose memory is not in C order, each a different way."""
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    return {
        "transposed": base.T,
        "fortran": np.asfortranarray(base),
        "strided": base[:, ::2],
        "reversed": base[::-1],
        "column": base[:, 1],
        "count": np.array(7, np.int64),  # a 0-d array keeps its shape ()
    }


def test_the_raw_library_writes_a_transposed_array_wrongly():
    """What the fix guards against, shown on the installed safetensors (skips once it is fixed there)."""
    from safetensors.numpy import load, save

    transposed = np.arange(6, dtype=np.float32).reshape(2, 3).T
    back = load(save({"w": transposed}))["w"]
    if np.array_equal(back, transposed):
        pytest.skip("this safetensors writes non-contiguous arrays correctly")
    assert back.shape == transposed.shape
    assert back.ravel().tolist() == [0, 1, 2, 3, 4, 5]  # the memory order, not the transposed values
    assert transposed.ravel().tolist() == [0, 3, 1, 4, 2, 5]


def test_save_weights_writes_the_values_of_non_contiguous_arrays(tmp_path):
    arrays = views()
    assert not any(a.flags["C_CONTIGUOUS"] for k, a in arrays.items() if k != "count")
    save_weights(arrays, tmp_path / "w.safetensors", {"note": "views"})
    back, info = load_weights(tmp_path / "w.safetensors")
    assert info == {"note": "views"}
    for key, array in arrays.items():
        assert back[key].shape == array.shape and back[key].dtype == array.dtype, key
        np.testing.assert_array_equal(back[key], array, err_msg=key)


def test_chainrule_save_of_a_state_dict_with_a_transposed_array(tmp_path):
    w = np.random.default_rng(0).standard_normal((5, 3), dtype=np.float32)
    state = {"weight": w.T, "bias": np.ones(3, np.float32)[::-1]}
    cr.save(state, tmp_path / "s.safetensors")
    back = cr.load(tmp_path / "s.safetensors")
    np.testing.assert_array_equal(back["weight"], w.T)
    np.testing.assert_array_equal(back["bias"], state["bias"])


def test_a_classifier_whose_weight_is_a_view_saves_its_values(tmp_path):
    clf = cr.Classifier.from_spec("4tanh", num_features=3, classes=["a", "b"])
    layer = clf.net[0]
    layer.weight.data = np.ascontiguousarray(layer.weight.data.T).T  # same values, Fortran order
    assert not layer.weight.data.flags["C_CONTIGUOUS"]
    cr.save(clf, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(cr.load(tmp_path / "m.safetensors").net[0].weight.data, layer.weight.data)


def test_write_safetensors_keeps_string_metadata(tmp_path):
    from safetensors import safe_open

    write_safetensors({"w": views()["transposed"]}, tmp_path / "t.safetensors", {"format": "pt"})
    with safe_open(str(tmp_path / "t.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}
        np.testing.assert_array_equal(f.get_tensor("w"), views()["transposed"])

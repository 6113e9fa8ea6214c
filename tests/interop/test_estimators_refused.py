"""A scikit-learn estimator given to the converters: the error says to pass est.model_, and the
network it names converts to the estimator's own predictions."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.interop import save_torch, to_onnx, to_torch_state_dict

pytest.importorskip("sklearn")
from chainrule.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)


@pytest.mark.parametrize("convert", [lambda m, p: to_onnx(m, p), lambda m, p: save_torch(m, p),
                                     lambda m, p: to_torch_state_dict(m)], ids=["to_onnx", "save_torch", "state"])
def test_an_estimator_is_refused_with_what_to_pass(convert, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(TypeError, match=r"got MLPClassifier; a fitted scikit-learn estimator's network is est.model_"):
        convert(MLPClassifier(), out)
    clf = MLPClassifier(model="4relu", epochs=2, random_state=0).fit(X, X[:, 0] > 0)
    with pytest.raises(TypeError, match=r"got MLPClassifier; pass its fitted network, .*\(est.model_, \.\.\.\)"):
        convert(clf, out)
    reg = MLPRegressor(model="4relu", epochs=2, random_state=0).fit(X, X[:, 0])
    with pytest.raises(TypeError, match=r"got MLPRegressor; .*multiplies them by est.y_scale_ and adds est.y_mean_"):
        convert(reg, out)
    assert not out.exists()


def test_the_networks_named_give_the_estimators_predictions(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    clf = MLPClassifier(model="4relu", epochs=2, random_state=0).fit(X, X[:, 0] > 0)
    to_onnx(clf.model_, tmp_path / "clf.onnx")
    got = ort.InferenceSession(str(tmp_path / "clf.onnx")).run(["probabilities"], {"input": X})[0]
    assert np.abs(got - clf.predict_proba(X)).max() <= 1e-5
    reg = MLPRegressor(model="4relu", epochs=2, random_state=0).fit(X, 10 * X[:, 0] + 3)
    to_onnx(reg.model_, tmp_path / "reg.onnx")
    out = ort.InferenceSession(str(tmp_path / "reg.onnx")).run(["output"], {"input": X})[0]
    assert np.abs(out[:, 0] * reg.y_scale_[0] + reg.y_mean_[0] - reg.predict(X)).max() <= 1e-4
    assert np.abs(out[:, 0] - reg.predict(X)).max() > 1  # the standardized outputs alone are not the predictions

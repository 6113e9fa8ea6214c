"""The 1e-5 promises on a network trained to the end with chainrule's defaults, whose logits reach
about 16 on the digits (a few epochs give logits near 2, and differences ten times smaller).

Measured here (default SPEC 256relu-dropout0.2, seed 0, all 1,797 digits): PyTorch's logits differ
from chainrule's by up to 8.6e-6, onnxruntime's by 5.7e-6, their probabilities by 3.0e-7: float32
sums of 64 and 256 terms taken in another order, a few units in the last place of a logit of 16.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.interop import to_onnx, to_torch

TOL = 1e-5


@pytest.fixture(scope="module")
def digits_and_model():
    digits = cr.data.load_dataset("digits")
    return np.concatenate([digits.x_train, digits.x_test]), cr.fit(digits, seed=0, quiet=True).model


def test_logits_reach_the_scale_of_a_trained_network(digits_and_model):
    x, clf = digits_and_model
    assert np.abs(clf.logits(x)).max() > 10  # measured: 15.8


def test_torch_logits_within_1e_5(digits_and_model):
    torch = pytest.importorskip("torch")
    x, clf = digits_and_model
    with torch.no_grad():
        theirs = to_torch(clf).eval()(torch.from_numpy(x)).numpy()
    assert np.abs(theirs - clf.logits(x)).max() <= TOL  # measured: 8.6e-6


def test_onnxruntime_logits_and_probabilities_within_1e_5(digits_and_model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    x, clf = digits_and_model
    to_onnx(clf, tmp_path / "m.onnx")
    logits, probabilities = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(
        ["logits", "probabilities"], {"input": x})
    assert np.abs(logits - clf.logits(x)).max() <= TOL  # measured: 5.7e-6
    assert np.abs(probabilities - clf.predict_proba(x)).max() <= 1e-6  # measured: 3.0e-7

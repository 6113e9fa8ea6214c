"""examples/templates.py: Hinton's template network and a softmax layer on the digits."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")  # the example draws its picture with it


def test_template_network_and_softmax_layer(run_example):
    result = run_example("templates")
    assert result["template_accuracy"] >= 0.80  # measured 85.8% (chance is 10%)
    assert result["softmax_accuracy"] >= 0.95  # measured 97.2%
    templates = result["templates"]
    # every update adds an image to one class and takes it from another: integer weights, zero sum per pixel
    assert templates.shape == (64, 10)
    assert (templates == np.round(templates)).all()
    assert (templates.sum(axis=1) == 0).all()
    assert result["softmax_weights"].dtype == np.float32
    assert result["picture"].stat().st_size > 10_000


def test_the_rule_leaves_a_pixel_that_never_has_ink_at_zero(example):
    templates = example("templates")
    x = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]], np.float32)  # the middle pixel is never inked
    w = templates.train_templates(x, np.array([0, 1, 2]), classes=3, epochs=5)
    assert (w[1] == 0).all()
    assert (templates.template_predict(w, x) == [0, 1, 2]).all()

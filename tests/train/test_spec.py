"""Model SPEC strings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import nn
from chainrule.spec import SpecError, build_mlp, parse_spec


def test_the_exercises_models():
    linear = build_mlp("linear", 784, 10)
    assert [type(m).__name__ for m in linear] == ["Linear"] and linear[0].weight.shape == (784, 10)
    net = build_mlp("200tanh", 784, 10)
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear"]
    assert net[0].weight.shape == (784, 200) and net[2].weight.shape == (200, 10)


def test_deeper_specs_with_dropout():
    net = build_mlp("512relu-dropout0.2-256relu", 64, 3)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]
    assert net[2].p == 0.2 and net[5].weight.shape == (256, 3)
    assert isinstance(build_mlp("8leakyrelu-4sigmoid", 2, 2)[1], nn.LeakyReLU)


@pytest.mark.parametrize("bad", ["", "  ", "200", "tanh", "200tanh-", "dropout0.2-200tanh", "200tanh-dropout1.5",
                                 "0relu", "99999999relu", "200Tanhh", "linear-200tanh", "200relu--100relu"])
def test_bad_specs_raise_one_line(bad):
    with pytest.raises(SpecError) as err:
        parse_spec(bad)
    assert "\n" not in str(err.value) and str(err.value)


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_spec_error(text):
    try:
        layers = parse_spec(text)
    except SpecError:
        return
    assert isinstance(layers, list)

"""Model SPECs that spell the input and output sizes (the lecture's ``784-200tanh-10``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.spec import ACTIVATIONS, SpecError, build_mlp, count_parameters, parse_spec


def _shapes(net):
    return [(type(m).__name__, tuple(p.shape for p in m.params())) for m in net]


@pytest.mark.parametrize("spelled,short", [("64-200tanh-10", "200tanh"), ("64-10", "linear"),
                                           ("64-linear-10", "linear"), ("64-32relu-dropout0.5-16sigmoid-10",
                                                                        "32relu-dropout0.5-16sigmoid")])
def test_sizes_that_match_the_data_build_the_same_net(spelled, short):
    assert _shapes(build_mlp(spelled, 64, 10)) == _shapes(build_mlp(short, 64, 10))
    assert count_parameters(spelled, 64, 10) == count_parameters(short, 64, 10)


@pytest.mark.parametrize("spec,fix", [("784-200tanh-10", "'200tanh' (sizes come from the data) or '64-200tanh-10'"),
                                      ("64-200tanh-3", "or '64-200tanh-10'"), ("784-10", "'linear' (sizes come")])
def test_sizes_that_do_not_match_say_how_to_write_it(spec, fix):
    with pytest.raises(SpecError) as err:
        build_mlp(spec, 64, 10)
    message = str(err.value)
    assert "\n" not in message and "the data has 64 inputs and 10 classes" in message and fix in message


@pytest.mark.parametrize("spec,which", [("784-200tanh", "classes last"), ("200tanh-10", "inputs first")])
def test_one_size_alone_is_refused_with_the_two_ways(spec, which):
    with pytest.raises(SpecError, match=f"both ends, {which}; write '200tanh' .* or '64-200tanh-10'"):
        parse_spec(spec, 64, 10)


def test_a_bare_width_asks_for_an_activation():
    with pytest.raises(SpecError, match="a width needs an activation: '200tanh'"):
        parse_spec("64-200-10", 64, 10)


def test_the_classifier_keeps_the_spec_as_written_and_loads_it_back(tmp_path):
    clf = cr.Classifier.from_spec("4-8tanh-2", num_features=4, classes=["a", "b"])
    assert clf.spec == "4-8tanh-2" and clf.net.num_parameters() == 4 * 8 + 8 + 8 * 2 + 2
    cr.save(clf, tmp_path / "m.safetensors")
    assert cr.load(tmp_path / "m.safetensors").spec == "4-8tanh-2"


_hidden = st.tuples(st.integers(1, 64), st.sampled_from(sorted(ACTIVATIONS)))


@settings(max_examples=60, deadline=None)
@given(layers=st.lists(_hidden, max_size=4), n_in=st.integers(1, 100), n_out=st.integers(2, 30),
       wrong_in=st.integers(0, 200), wrong_out=st.integers(0, 40))
def test_any_mlp_spelled_with_its_sizes(layers, n_in, n_out, wrong_in, wrong_out):
    short = "-".join(f"{w}{a}" for w, a in layers) or "linear"
    spelled = f"{n_in}-{short}-{n_out}"
    assert parse_spec(spelled, n_in, n_out) == parse_spec(short) == [("hidden", w, a) for w, a in layers]
    assert _shapes(build_mlp(spelled, n_in, n_out)) == _shapes(build_mlp(short, n_in, n_out))
    if (wrong_in, wrong_out) != (n_in, n_out):
        with pytest.raises(SpecError) as err:
            parse_spec(f"{wrong_in}-{short}-{wrong_out}", n_in, n_out)
        message = str(err.value)
        assert f"the data has {n_in} inputs and {n_out} classes" in message
        sized = f"{n_in}-{n_out}" if short == "linear" else f"{n_in}-{short}-{n_out}"
        assert f"write '{short}' (sizes come from the data) or '{sized}'" in message
        assert "\n" not in message

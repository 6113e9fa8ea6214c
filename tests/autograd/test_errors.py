"""add_context: a child's error gets its place in front of its message, on the same object.

The error keeps its type, its other arguments and attributes, and its traceback; the
one-line ``str(e)`` the command line prints shows where it happened.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd.errors import add_context
from chainrule.autograd.function import Function


class ShapeMismatch(ValueError):
    """An exception whose constructor takes several arguments: ``type(e)(message)`` fails on it."""

    def __init__(self, expected, got):
        super().__init__(f"expected {expected} features, got {got}")
        self.expected, self.got = expected, got


class _Refuse(Function):
    @staticmethod
    def forward(ctx, x):
        raise ShapeMismatch(4, x.shape[-1])

    @staticmethod
    def backward(ctx, g):
        return g


class Refuse(nn.Module):
    """A plain layer (it only names its Function): Sequential runs it inside ops.Chain on the tape."""

    function = _Refuse


class RefuseInForward(nn.Module):
    """A layer with its own forward: Sequential runs it as a child of its own."""

    def forward(self, x):
        raise ShapeMismatch(4, x.shape[-1])


def _check(error: ShapeMismatch, where: str) -> None:
    assert type(error) is ShapeMismatch
    assert (error.expected, error.got) == (4, 3)
    line = str(error).splitlines()[0]
    assert where in line and line.endswith("expected 4 features, got 3")


@pytest.mark.parametrize("layer", [Refuse, RefuseInForward])
def test_sequential_names_the_child_on_the_tape(layer):
    net = nn.Sequential(nn.Tanh(), layer())
    with pytest.raises(ShapeMismatch) as info:
        net(cr.zeros(2, 3))
    _check(info.value, f"[1] ({layer.__name__})")


def test_sequential_names_the_child_in_fprop():
    net = nn.Sequential(nn.Tanh(), Refuse())
    with pytest.raises(ShapeMismatch) as info:
        net.fprop(np.zeros((2, 3), np.float32))
    _check(info.value, "Sequential[1] (Refuse)")


def test_the_same_object_is_raised_with_its_traceback():
    original = ShapeMismatch(4, 3)

    class Raise(nn.Module):
        def forward(self, x):
            raise original

    with pytest.raises(ShapeMismatch) as info:
        nn.Sequential(Raise())(cr.zeros(1, 3))
    assert info.value is original
    assert any(entry.name == "forward" for entry in info.traceback)


def test_linear_shape_error_keeps_its_type_and_names_the_layer():
    net = nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"Sequential\[2\] \(Linear\).*Linear\(3, 1\): input has 2 features"):
        net.fprop(np.zeros((5, 4), np.float32))


def test_index_error_stays_an_index_error():
    net = nn.Sequential(nn.Embedding(5, 3))
    with pytest.raises(IndexError, match=r"Sequential\[0\] \(Embedding\).*index 5 is out of range"):
        net.fprop(np.array([5]))


def test_an_exception_whose_str_ignores_args_gets_a_note():
    error = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    before = str(error)
    assert add_context(error, "reading layer 2") is error
    assert str(error) == before
    assert error.__notes__ == ["reading layer 2"]


def test_other_arguments_are_kept():
    error = add_context(KeyError("weight", "bias"), "Sequential[0] (Linear)")
    assert error.args == ("Sequential[0] (Linear): weight", "bias")

"""The PyTorch-parity catalogue: the same idiom run in torch and in chainrule on the same numbers.

Each test module in this folder lists idioms as ``Idiom(name, torch_fn, chainrule_fn)``; both
functions take the module (``torch`` or ``chainrule``) and fresh copies of the same NumPy inputs
and return anything ``to_numpy`` understands (tensors, arrays, numbers, tuples/lists of them).
The whole folder skips when torch is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@dataclass(frozen=True)
class Idiom:
    name: str
    torch_fn: Callable[..., Any]
    chainrule_fn: Callable[..., Any]
    rtol: float = 1e-5
    atol: float = 1e-6


def to_numpy(value: Any) -> Any:
    """Tensors of either library, arrays and numbers as NumPy; tuples and lists element by element."""
    if isinstance(value, (tuple, list)):
        return [to_numpy(v) for v in value]
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and callable(value.numpy):  # chainrule.Tensor
        return np.asarray(value.numpy())
    return np.asarray(value)


def assert_same(got: Any, want: Any, rtol: float = 1e-5, atol: float = 1e-6, where: str = "") -> None:
    """chainrule's result `got` equals torch's `want`: same structure, shapes, and values within tolerance."""
    got, want = to_numpy(got), to_numpy(want)
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {len(want)} results expected, got {got!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, rtol, atol, f"{where}[{i}]")
        return
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys {sorted(want)} expected, got {got!r}"
        for k in want:
            assert_same(got[k], want[k], rtol, atol, f"{where}[{k!r}]")
        return
    assert got.shape == want.shape, f"{where}: shape {got.shape}, torch gives {want.shape}"
    if want.dtype == bool or np.issubdtype(want.dtype, np.integer):
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol, err_msg=where)


def run_idiom(idiom: Idiom, inputs: dict[str, np.ndarray]) -> None:
    """Run one idiom in both libraries on copies of the same inputs and compare."""
    import chainrule

    want = idiom.torch_fn(torch, **{k: v.copy() for k, v in inputs.items()})
    got = idiom.chainrule_fn(chainrule, **{k: v.copy() for k, v in inputs.items()})
    assert_same(got, want, idiom.rtol, idiom.atol, idiom.name)


# ---------------------------------------------------------------- nn helpers
def torch_state_to_chainrule(module: Any, state: dict[str, Any]) -> dict[str, np.ndarray]:
    """A torch-layout state dict (arrays or torch tensors) for chainrule ``module``: every Linear's
    weight transposed from PyTorch's (out, in) to chainrule's (in, out), the rest as it is."""
    import chainrule

    owners = dict(module.named_modules())
    out = {}
    for key, value in state.items():
        array = to_numpy(value)
        owner, _, leaf = key.rpartition(".")
        if leaf == "weight" and isinstance(owners.get(owner), chainrule.nn.Linear):
            array = array.T
        out[key] = np.ascontiguousarray(array)
    return out


def chainrule_grads_in_torch_layout(module: Any) -> dict[str, np.ndarray | None]:
    """Parameter gradients by name, Linear weights' transposed to PyTorch's (out, in)."""
    import chainrule

    owners = dict(module.named_modules())
    grads = {}
    for key, p in module.named_parameters():
        owner, _, leaf = key.rpartition(".")
        g = p.grad
        if g is not None and leaf == "weight" and isinstance(owners.get(owner), chainrule.nn.Linear):
            g = g.T
        grads[key] = g
    return grads


def torch_grads(module: Any) -> dict[str, Any]:
    return {key: p.grad for key, p in module.named_parameters()}


def text(strings: Any) -> np.ndarray:
    """Names (state_dict keys, module names) as bytes, so assert_same compares them exactly."""
    return np.frombuffer("|".join(strings).encode(), dtype=np.uint8)

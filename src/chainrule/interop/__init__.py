"""chainrule networks in other tools' formats: ONNX (``to_onnx``), PyTorch modules and
state_dicts (``to_torch``, ``from_torch``, ``to_torch_state_dict``, ``save_torch``).

Each format lives in its own module, imported on first use (PEP 562), so
``import chainrule.interop`` needs neither onnx nor torch.

>>> import chainrule.interop as interop
>>> "to_onnx" in interop.__all__ and "to_torch" in interop.__all__
True
"""

import importlib as _importlib

# name -> the module of this package that defines it
_EXPORTS = {"to_onnx": "onnx", "to_torch": "torch", "from_torch": "torch", "to_torch_state_dict": "torch",
            "save_torch": "torch"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(_importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _EXPORTS.keys())

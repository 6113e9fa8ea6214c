"""chainrule networks in other tools' formats: ONNX (``to_onnx``).

Each format lives in its own module, imported on first use, so ``import chainrule.interop``
needs neither onnx nor any other optional library.

>>> import chainrule.interop as interop
>>> "to_onnx" in interop.__all__
True
"""

import importlib

# name -> the module of this package that defines it
_EXPORTS = {"to_onnx": "onnx"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _EXPORTS.keys())

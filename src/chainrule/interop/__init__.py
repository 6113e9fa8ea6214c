"""Other libraries' formats: PyTorch modules and state_dicts (``interop.torch``).

Each submodule imports its library when first used, so ``import chainrule.interop``
needs NumPy only; the names below load their submodule on first access (PEP 562).
"""

import importlib as _importlib

_NAMES = {"to_torch": "torch", "from_torch": "torch", "to_torch_state_dict": "torch", "save_torch": "torch"}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(_importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))

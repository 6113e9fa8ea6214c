"""Optional libraries (extras): whether one is there, for code that works without it.

>>> installed("numpy"), installed("no_such_module_here")
(True, False)
"""

from __future__ import annotations

import importlib

__all__ = ["installed"]


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (matplotlib for pictures, tqdm for progress bars, ...).

    Importing it is the test: a module hidden in ``sys.modules`` (as the tests of a bare install
    do) or one that fails on import counts as absent.
    """
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True

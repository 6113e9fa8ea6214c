"""PyTorch's dtype names, as NumPy's types: ``cr.tensor(x, dtype=cr.float64)``, ``t.to(cr.long)``.

Each is the NumPy scalar type itself, so ``t.dtype == cr.float32`` holds and NumPy's own names
(``np.float32``, ``"float32"``) work everywhere a dtype is taken.

>>> import numpy as np, chainrule as cr
>>> cr.float32 is np.float32, cr.zeros(2, dtype=cr.long).dtype
(True, dtype('int64'))
"""

from __future__ import annotations

import numpy as np

__all__ = ["float16", "half", "float32", "float64", "double", "int8", "uint8", "int16", "short",
           "int32", "int64", "long"]

float16 = half = np.float16
float32 = np.float32
float64 = double = np.float64
int8 = np.int8
uint8 = np.uint8
int16 = short = np.int16
int32 = np.int32
int64 = long = np.int64
# chainrule.float, .int and .bool (PyTorch's float32, int32 and bool) are set in chainrule/__init__.py,
# outside __all__: a star import would otherwise hide Python's own float, int and bool.

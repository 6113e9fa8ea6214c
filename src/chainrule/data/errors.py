"""The one exception the data layer raises.

>>> from chainrule.data import DataError
>>> issubclass(DataError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data file or data argument is wrong: missing, corrupt, or of the wrong shape.

    A subclass of ValueError so that callers who catch ValueError keep working; the
    message is one line that names the file (or argument) and what is wrong with it.

    >>> raise DataError("train-images-idx3-ubyte: truncated")
    Traceback (most recent call last):
    chainrule.data.errors.DataError: train-images-idx3-ubyte: truncated
    """

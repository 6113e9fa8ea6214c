"""add_context: say where an error happened without rebuilding the exception.

A container running its children (``Sequential``, ``ops.Chain``) catches a child's
error and names the child. Rebuilding the exception, ``type(e)(message)``, fails
for exceptions whose constructor takes several arguments and loses their
attributes; this keeps the same object, its type and its traceback.
"""

from __future__ import annotations

__all__ = ["add_context"]


def add_context(error: BaseException, context: str) -> BaseException:
    """``error`` itself with ``context`` in front of its message: ``raise add_context(e, "layer 3")``.

    The message is its first argument when that is a string, and ``str(error)`` shows it
    (as for ValueError, TypeError, IndexError and most exceptions): ``str(error)``, the one
    line the command line prints, becomes ``"<context>: <message>"``, the other arguments
    and attributes unchanged. For an exception whose ``str`` is built otherwise
    (``UnicodeDecodeError``, ``OSError(errno, strerror)``), the context becomes a note
    (``error.add_note``, shown under the traceback) and the message stays as it was.

    >>> e = add_context(ValueError("input has 3 features, expected 4"), "Sequential[0] (Linear)")
    >>> type(e).__name__, str(e)
    ('ValueError', 'Sequential[0] (Linear): input has 3 features, expected 4')
    """
    args = error.args
    if args and isinstance(args[0], str):
        before = str(error)
        error.args = (f"{context}: {args[0]}", *args[1:])
        try:
            shown = str(error)
        except Exception:  # a __str__ that cannot take the new args: keep the old ones
            shown = before
        if context in shown:
            return error
        error.args = args
    error.add_note(context)
    return error

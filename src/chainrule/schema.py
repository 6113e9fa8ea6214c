"""Checks of JSON-like data against a small schema: each field's name, type and range, written once.

A schema is built from a few field kinds (Int, Num, Bool, Str, Nullable, List,
Record, Anything); ``check(value, schema)`` walks the value and raises one
SchemaError naming the first field that does not fit, by its path
(``resume.history[2].epoch``), what it must be, and what it is. The message
of a field kind is generated from its bounds, so it cannot say less or more
than the check does.

>>> point = Record(x=Int(0), name=Str(), tags=List(Str(), max_len=3))
>>> check({"x": 2, "name": "a", "tags": []}, point)
{'x': 2, 'name': 'a', 'tags': []}
>>> check({"x": -1, "name": "a", "tags": []}, point)
Traceback (most recent call last):
...
chainrule.schema.SchemaError: field 'x' must be a non-negative integer, got -1
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["SchemaError", "Field", "Int", "Num", "Bool", "Str", "Nullable", "List", "Record", "Anything", "check"]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class SchemaError(ValueError):
    """A value that does not fit its schema: ``where`` (the field's path), ``need`` and ``value``."""

    def __init__(self, where: str, need: str | None, value: Any = None, problem: str | None = None):
        self.where, self.need, self.value = where, need, value
        self.problem = problem or f"must be {need}, got {_show(value)}"
        super().__init__(f"field {where!r} {self.problem}")


class Field:
    """A field kind: ``need`` describes it in words, ``check`` returns the value or raises SchemaError."""

    need = "a value"

    def check(self, value: Any, where: str) -> Any:
        return value

    def fail(self, value: Any, where: str):
        raise SchemaError(where, self.need, value)


class Anything(Field):
    """Any JSON value."""


class Bool(Field):
    need = "true or false"

    def check(self, value, where):
        if not isinstance(value, bool):
            self.fail(value, where)
        return value


class Int(Field):
    """An integer (not a bool) in [lo, hi]."""

    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi
        if lo is not None and hi is not None:
            self.need = f"an integer from {lo:,} to {hi:,}"
        elif lo is not None:
            self.need = {0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer of at least {lo:,}")
        else:
            self.need = "an integer" if hi is None else f"an integer of at most {hi:,}"

    def check(self, value, where):
        if (not isinstance(value, int) or isinstance(value, bool) or (self.lo is not None and value < self.lo)
                or (self.hi is not None and value > self.hi)):
            self.fail(value, where)
        return value


class Num(Field):
    """A finite number (int or float, not a bool) between lo and hi; ``nan``/``inf`` let those through."""

    def __init__(self, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                 hi_open: bool = False, nan: bool = False, inf: bool = False):
        self.lo, self.hi, self.lo_open, self.hi_open, self.nan, self.inf = lo, hi, lo_open, hi_open, nan, inf
        if lo is not None and hi is not None:
            self.need = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        elif lo == 0:
            self.need = "a positive number" if lo_open else "a non-negative number"
        elif lo is not None:
            self.need = f"a number {'>' if lo_open else '>='} {lo:g}"
        else:
            self.need = "a number" if hi is None else f"a number {'<' if hi_open else '<='} {hi:g}"
        self.need += " or infinity" if inf else ""
        self.need += " or NaN" if nan else ""

    def check(self, value, where):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.fail(value, where)
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float's range
            self.fail(value, where)
        if math.isnan(number):
            if not self.nan:
                self.fail(value, where)
            return value
        if math.isinf(number) and not (self.inf and number > 0):
            self.fail(value, where)
        if self.lo is not None and (number < self.lo or (self.lo_open and number == self.lo)):
            self.fail(value, where)
        if self.hi is not None and (number > self.hi or (self.hi_open and number == self.hi)):
            self.fail(value, where)
        return value


class Str(Field):
    """A string: one of ``choices``, or matching ``pattern`` (described by ``need``), or any."""

    def __init__(self, choices: tuple[str, ...] | None = None, pattern: str | None = None, need: str | None = None,
                 max_len: int = 4096):
        self.choices, self.pattern, self.max_len = choices, pattern and re.compile(pattern), max_len
        self.need = need or ("one of " + ", ".join(choices) if choices else "a string")

    def check(self, value, where):
        if (not isinstance(value, str) or len(value) > self.max_len or (self.choices and value not in self.choices)
                or (self.pattern and not self.pattern.fullmatch(value))):
            self.fail(value, where)
        return value


class Nullable(Field):
    """``inner`` or null."""

    def __init__(self, inner: Field):
        self.inner = inner
        self.need = f"{inner.need} or null"

    def check(self, value, where):
        if value is None:
            return None
        try:
            return self.inner.check(value, where)
        except SchemaError as e:
            if e.where == where and e.need is not None:  # this field itself, not one inside it: say null is fine too
                self.fail(value, where)
            raise


class List(Field):
    """A list of ``item``, with between min_len and max_len items."""

    def __init__(self, item: Field, min_len: int = 0, max_len: int | None = None):
        self.item, self.min_len, self.max_len = item, min_len, max_len
        self.need = f"a list of {min_len} to {max_len} items" if max_len is not None else "a list"

    def check(self, value, where):
        if not isinstance(value, list):
            self.fail(value, where)
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            raise SchemaError(where, self.need, problem=f"must have {self.min_len} to {self.max_len} items, "
                                                         f"has {len(value)}")
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]")
        return value


class Record(Field):
    """A JSON object with these fields; those in ``optional`` may be absent, and with ``extra``
    other keys are allowed (and not checked)."""

    need = "an object"

    def __init__(self, fields: dict[str, Field] | None = None, *, optional: tuple[str, ...] = (),
                 extra: bool = False, **kw_fields: Field):
        self.fields = {**(fields or {}), **kw_fields}
        self.optional, self.extra = frozenset(optional), extra

    def check(self, value, where):
        if not isinstance(value, dict):
            self.fail(value, where)
        prefix = f"{where}." if where else ""
        for key, kind in self.fields.items():
            if key in value:
                kind.check(value[key], prefix + key)
            elif key not in self.optional:
                raise SchemaError(prefix + key, kind.need, problem="is missing")
        if not self.extra:
            unknown = sorted(str(k) for k in value if k not in self.fields)
            if unknown:
                raise SchemaError(prefix + unknown[0], None, problem="is not a field chainrule writes")
        return value


def check(value: Any, schema: Field, where: str = "") -> Any:
    """``value`` if it fits ``schema``, else SchemaError naming the first field that does not."""
    return schema.check(value, where)

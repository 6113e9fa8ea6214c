"""A check's result: one row of ``chainrule diagnose``, and the verdict over all of them.

>>> rows = [Check("loss at init", PASS, "2.31 vs ln(10) = 2.30"), Check("overfit one batch", FAIL, "8/32", "lower lr")]
>>> verdict(rows), failed(rows)
('1 check failed', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["Check", "PASS", "WARN", "FAIL", "STATUSES", "verdict", "failed"]

PASS, WARN, FAIL = "pass", "warn", "fail"
STATUSES = (PASS, WARN, FAIL)


@dataclass(frozen=True)
class Check:
    """One check: its ``name``, ``status`` (pass, warn or fail), the measured ``figure`` (a short
    text) and the ``advice``: what to do (empty when there is nothing to do).

    >>> Check("data: non-finite features", "fail", "3 NaN in x_train", "remove or impute them").status
    'fail'
    """

    name: str
    status: str
    figure: str
    advice: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Check: status must be one of {', '.join(STATUSES)}, got {self.status!r}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def verdict(checks: Sequence[Check]) -> str:
    """The final line: "all checks passed", "N warnings", or "N checks failed" (and the warnings).

    >>> verdict([Check("a", "warn", "x"), Check("b", "warn", "y")])
    '2 warnings'
    """
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    if fails:
        return _plural(fails, "check") + " failed" + (f", {_plural(warns, 'warning')}" if warns else "")
    if warns:
        return _plural(warns, "warning")
    return "all checks passed"


def failed(checks: Sequence[Check]) -> bool:
    """Whether any check failed (the command then exits with status 1).

    >>> failed([Check("a", "warn", "x")])
    False
    """
    return any(c.status == FAIL for c in checks)

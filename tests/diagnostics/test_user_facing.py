"""What a learner sees of diagnostics from Python: warnings that point at their own line."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.diagnostics import DiagnosticsWarning

SIX_SIGMOIDS = "-".join(["64sigmoid"] * 6)


def test_a_diagnostics_warning_points_at_the_callers_fit_line_not_the_trainer():
    with pytest.warns(DiagnosticsWarning) as warned:
        cr.fit("digits", SIX_SIGMOIDS, optimizer="sgd", lr=0.01, epochs=1, diagnostics=True, quiet=True)
    assert {w.filename for w in warned} == {__file__}
    assert "vanishing gradients" in str(warned[0].message)

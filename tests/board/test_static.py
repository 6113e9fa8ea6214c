"""The page's copies of Python's figures: the thresholds charts.js draws are the diagnostics rules'
own, and the picture names app.js asks for are rundir's."""

from __future__ import annotations

import json
import re

from chainrule.board import STATIC
from chainrule.diagnostics.rules import DEAD_LIMIT, SATURATED_LIMIT, UPDATE_REFERENCE
from chainrule.rundir import PICTURES


def js_constant(name: str, text: str) -> str:
    found = re.search(rf"^const {name} = (.+?);", text, re.MULTILINE)
    assert found, f"no const {name} in the script"
    return found.group(1)


def test_charts_draw_the_rules_thresholds():
    text = (STATIC / "charts.js").read_text()
    assert float(js_constant("UPDATE_REFERENCE", text)) == UPDATE_REFERENCE
    assert float(js_constant("FRACTION_LIMIT", text)) == SATURATED_LIMIT == DEAD_LIMIT


def test_the_page_asks_for_rundirs_pictures():
    text = (STATIC / "app.js").read_text()
    assert json.loads(js_constant("PICTURE_NAMES", text)) == list(PICTURES)

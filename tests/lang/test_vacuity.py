"""W407: the checker says where a missing part would make a rule hold by itself, and stays
quiet where the file requires the part elsewhere."""

from __future__ import annotations

import pytest

from dire_dsl.lang.program import check_source

HEAD = """category c
object item "an item"
object label "a label"
attribute item.color { red, orange }
region cell = grid(1, 2)
"""


def w407(rules: str) -> list[str]:
    result = check_source(HEAD + rules, "c.rules")
    assert result.ok, [str(d) for d in result.diagnostics]
    return [d.message for d in result.diagnostics if d.code == "W407"]


@pytest.mark.parametrize(("rules", "missing"), [
    ("rule r: forall i in item: area(i) < 0.1", "`item`"),
    ("rule r: forall i in item where color == red: area(i) < 0.1", "`item where color == red`"),
    ("rule r: not left_of(item, label)\nrule n: count(item) == 1", "`label`"),
    ("rule r: item.color == red implies count(label) == 1", "`item`"),
    ("rule r: not (exists i in item: area(i) > 0.1)", "`item`"),
    ("rule r: not x(label) < 0.5", "`label`"),
])
def test_a_rule_that_holds_when_a_part_is_missing_is_warned_about(rules: str, missing: str) -> None:
    found = w407(rules)
    assert found and missing in found[0], found


@pytest.mark.parametrize("rules", [
    "rule r: forall i in item: area(i) < 0.1\nrule n: count(item) == 2",
    "rule r: forall i in item where color == red: area(i) < 0.1\nrule n: count(item where color == red) >= 1",
    "rule r: count(item) in [1, 3] and forall i in item: area(i) < 0.1",
    "rule r: forall c in cell: count(item in c) == 1\nrule s: forall i in item: area(i) < 0.1",
    "rule r: sorted(item by x).color == [red, orange]",
    "rule r: left_of(item, label)",  # false, not true, when a part is missing
    "rule r: exists i in item: area(i) > 0.1",
    "rule r: count(item where color == red) <= 1",
])
def test_no_warning_where_the_part_is_required_or_the_rule_cannot_hold_without_it(rules: str) -> None:
    assert w407(rules) == []


def test_one_warning_per_rule_and_set() -> None:
    assert len(w407("rule r: forall i in item: area(i) < 0.1 and forall j in item: area(j) > 0.01")) == 1

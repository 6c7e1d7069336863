"""`sorted(S by x).attr == [...]` and `distinct(S.attr)`: parsed, formatted, checked, and spelled
out in the IR as the counts and order tests they stand for."""

from __future__ import annotations

from pathlib import Path

import pytest

from dire_dsl.lang import ir
from dire_dsl.lang.format import format_source
from dire_dsl.lang.parser import parse
from dire_dsl.lang.program import check_source

HEAD = """category crayons
object crayon "a crayon"
object by "an object whose name is a word of the language"
attribute crayon.color { red, orange, yellow }
region box = grid(2, 1)
"""


def checked(rules: str) -> ir.CheckedProgram:
    result = check_source(HEAD + rules, "crayons.rules")
    assert result.ok and result.program is not None, [str(d) for d in result.diagnostics]
    return result.program


def pieces(formula: object) -> list[str]:
    """The texts of the and-ed tests a rule was spelled out as, in order."""
    if isinstance(formula, ir.Connective) and formula.op == "and":
        return pieces(formula.left) + pieces(formula.right)
    return [formula.text]


def test_sorted_stands_for_counts_and_order_between_neighbouring_runs() -> None:
    rule = checked("rule rainbow: sorted(crayon by x).color == [red, red, orange, yellow]\n").rules[0]
    assert rule.source.endswith("[red, red, orange, yellow]")
    assert pieces(rule.formula) == [
        "count(crayon) == 4", "count(crayon where color == red) == 2", "count(crayon where color == orange) == 1",
        "count(crayon where color == yellow) == 1", "every red crayon before every orange crayon",
        "every orange crayon before every yellow crayon"]


def test_sorted_by_y_in_a_cell_checks_only_what_lies_there() -> None:
    rule = checked("rule column: sorted(crayon in box[1, 1] by y).color == [red, orange]\n").rules[0]
    order = rule.formula.right
    assert isinstance(order, ir.Quantifier) and order.body.body.text == (
        "inside(red, box[1, 1]) and inside(orange, box[1, 1]) implies above(red, orange)")


def test_distinct_is_one_count_per_value() -> None:
    rule = checked("rule unique: distinct(crayon.color in box)\n").rules[0]
    expected = [f"count(crayon in box where color == {c}) < 1.5" for c in ("red", "orange", "yellow")]
    assert pieces(rule.formula) == expected


def test_an_object_named_by_is_still_an_object() -> None:
    assert checked("rule r: count(by) == 1 and sorted(crayon by x).color == [red]\n").rules


@pytest.mark.parametrize("text", [
    "rule r: sorted(crayon by x).color == [red, orange]",
    "rule r: sorted(crayon in box[2, 1] by y).color == [red, red] and distinct(crayon.color)",
    "rule r: not sorted(crayon by x).color == [red, orange] or distinct(crayon.color in box)",
])
def test_format_keeps_sequences_as_written(text: str) -> None:
    source = HEAD + text + "\n"
    formatted = format_source(source)
    assert format_source(formatted) == formatted
    assert parse(formatted).without_spans() == parse(source).without_spans()
    assert " ".join(text.split()) in " ".join(formatted.split())


@pytest.mark.parametrize(("rule", "code", "words"), [
    ("sorted(crayon by size).color == [red]", "E320", "by x"),
    ("sorted(crayon by x).color != [red]", "E320", "compared with `==`"),
    ("count(sorted(crayon by x)) == 1", "E320", "compare one of their attributes"),
    ("count(crayon by x) == 1", "E320", "only inside `sorted(...)`"),
    ("sorted(crayon where color == red by x).color == [red]", "E302", "instances of an object"),
    ("sorted(crayon by x).color == [red, orange, red]", "E321", "two places"),
    ("sorted(crayon by x).color == [green]", "E207", "not a value"),
    ("sorted(crayon by x).shade == [red]", "E205", "no attribute"),
    ("distinct(crayon)", "E302", "attribute of a set"),
    ("distinct(crayon.color, crayon.color)", "E301", "1 argument"),
    ("forall c in crayon: distinct(c.color)", "E302", "one part"),
    ("distinct(pencil.color)", "E203", "unknown object"),
])
def test_misuse_gets_a_code_and_a_way_out(rule: str, code: str, words: str) -> None:
    result = check_source(HEAD + f"rule r: {rule}\n", "crayons.rules")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors and errors[0].code == code and words in errors[0].message, [str(d) for d in errors]
    assert errors[0].span is not None and errors[0].span.line == 6


def test_the_language_page_examples_check() -> None:
    """docs/language.md, "Order and uniqueness": its first example block, with its declarations."""
    page = (Path(__file__).parents[2] / "docs" / "language.md").read_text(encoding="utf-8")
    block = page.split("### Order and uniqueness", 1)[1].split("```\n", 2)[1]
    declarations = ("category box\nobject crayon \"a crayon\"\nobject bead \"a bead\"\n"
                    "attribute crayon.color { red, orange, yellow, green, blue, purple }\n"
                    "attribute bead.color { red, white }\nregion rack = grid(2, 3)\n")
    result = check_source(declarations + block, "language.md")
    assert result.ok and [rule.name for rule in result.program.rules] == ["rainbow", "one_of_each", "column"]

"""Parser: spans, precedence, comments, and syntax errors as diagnostics (never exceptions)."""

from __future__ import annotations

import pytest

from dire_dsl.lang import ast
from dire_dsl.lang.diagnostics import RulesSyntaxError
from dire_dsl.lang.parser import parse, parse_collecting

HEADER = 'category c\nobject pin "a pin"\nobject nut "a nut"\n'


def rule_body(text: str) -> ast.Node:
    program = parse(HEADER + f"rule r: {text}\n")
    return [i for i in program.items if isinstance(i, ast.RuleDecl)][0].body


def test_every_node_has_a_span_pointing_at_its_text() -> None:
    source = HEADER + "rule r:\n    count(pin) == 15\n"
    body = rule_body("count(pin) == 15")
    assert isinstance(body, ast.Compare)
    program = parse(source)
    rule = program.items[-1]
    assert source[rule.body.span.start_pos:rule.body.span.end_pos] == "count(pin) == 15"
    assert (rule.body.span.line, rule.body.span.column) == (5, 5)
    call = rule.body.left
    assert source[call.args[0].span.start_pos:call.args[0].span.end_pos] == "pin"


def test_and_binds_tighter_than_or_and_implies_is_right_associative() -> None:
    body = rule_body("true or false and true implies false implies true")
    assert body.kind == "connective" and body.op == "implies"
    assert body.left.op == "or" and body.left.right.op == "and"
    assert body.right.op == "implies"


def test_quantifier_body_extends_to_the_right() -> None:
    body = rule_body("count(pin) == 1 and forall p in pin: area(p) > 0.1 and area(p) < 0.5")
    assert body.op == "and"
    assert body.right.kind == "quantified"
    assert body.right.body.kind == "connective" and body.right.body.op == "and"


def test_arithmetic_precedence() -> None:
    body = rule_body("count(pin) + count(nut) * 2 == 7")
    assert body.left.op == "+" and body.left.right.op == "*"


def test_comments_are_kept_with_positions() -> None:
    program = parse("# head\ncategory c  # tail\n")
    assert [c.text for c in program.comments] == ["# head", "# tail"]
    assert program.comments[1].span.line == 2


def test_prompt_escapes_and_unicode_survive() -> None:
    program = parse('category c\nobject pin "a \\"red\\" épingle"\n')
    assert program.items[1].prompts == ['a "red" épingle']


def test_syntax_error_is_raised_as_a_diagnostic_with_position() -> None:
    with pytest.raises(RulesSyntaxError) as info:
        parse(HEADER + "rule r: count(pin) = 1\n", "x.rules")
    [diagnostic] = info.value.diagnostics
    assert diagnostic.code == "E104"
    assert (diagnostic.span.line, diagnostic.span.column) == (4, 20)
    assert "x.rules:4:20" in str(info.value)


def test_every_broken_declaration_is_reported_and_good_ones_are_kept() -> None:
    source = HEADER + "rule a: count(pin) = 1\nrule b: count(nut) == 2\nrule c count(pin) == 1\n"
    program, diagnostics = parse_collecting(source)
    assert [d.code for d in diagnostics] == ["E104", "E106"]
    names = [i.name.text for i in program.items if isinstance(i, ast.RuleDecl)]
    assert names == ["b"]
    assert [i.kind for i in program.items][:3] == ["category", "object", "object"]


def test_without_spans_ignores_positions_only() -> None:
    one = parse("category c\nobject pin \"p\"\nrule r: count(pin) == 1\n")
    two = parse("category c\n\n\nobject pin \"p\"\nrule r:\n        count( pin )==1\n")
    three = parse("category c\nobject pin \"p\"\nrule r: count(pin) == 2\n")
    assert one.without_spans() == two.without_spans()
    assert one.without_spans() != three.without_spans()


HUGE = "1" + "0" * 400  # 10**400: no float holds it
LONG = "9" * 5000  # beyond int()'s 4300-digit limit


@pytest.mark.parametrize("literal, where", [
    ("1e309", "rule r: count(pin) in [5.5, 1e309]\n"),
    (HUGE, f"rule r: count(pin) == {HUGE}\n"),
    (LONG, f"rule r: count(pin) <= {LONG}\n"),
    ("1e-400", "rule r: area(pin) > 1e-400\n"),
    ("1e309", "rule r weight 1e309: count(pin) == 1\n"),
    ("1e309", "region g = grid(2, 2, 0, 0, 1e309, 1)\n"),
    (LONG, f"region g = grid({LONG}, 5)\n"),
    (LONG, f"train {{ epochs = {LONG} }}\n"),
    ("1e-400", "logic { sigma = 1e-400 }\n"),
    (LONG, f"region g = grid(2, 2)\nrule r: count(pin in g[{LONG}, 1]) == 1\n"),
])
def test_a_literal_no_float_holds_is_a_diagnostic_at_its_position(literal: str, where: str) -> None:
    program, diagnostics = parse_collecting(HEADER + where, "x.rules")  # must not raise
    [diagnostic] = diagnostics
    line = 4 + where.count("\n") - 1
    assert diagnostic.code == "E108" and diagnostic.file == "x.rules"
    assert (diagnostic.span.line, diagnostic.span.column) == (line, where.splitlines()[-1].index(literal) + 1)
    assert program.items  # the rest of the file is still read


def test_numbers_a_float_holds_are_not_reported() -> None:
    for literal in ("3.4e38", "5e-324", "0e999", "0.000", "99999999999999999999"):
        _, diagnostics = parse_collecting(HEADER + f"rule r: area(pin) < {literal}\n")
        assert diagnostics == [], literal


def test_a_number_float32_cannot_hold_is_too_large() -> None:
    """Finite as a 64-bit float, but the compiled rules compute in float32 (the fuzz found
    `count(pin) in [0, 1.7976931348623157e308]` failing as a tensor)."""
    for literal in ("3.5e38", "1.7976931348623157e308"):
        _, [diagnostic] = parse_collecting(HEADER + f"rule r: count(pin) in [0, {literal}]\n")
        assert diagnostic.code == "E108" and "3.4e38" in diagnostic.message, literal


def test_negative_zero_reads_as_zero() -> None:
    program = parse(HEADER + "region g = grid(2, 2, -0.0, 0, 1, 1)\ntrain { lr = -0.0 }\n")
    region = [i for i in program.items if isinstance(i, ast.RegionDecl)][0]
    setting = [i for i in program.items if isinstance(i, ast.SettingsBlock)][0].settings[0]
    assert str(region.shape.args[2].value) == "0.0" and str(setting.value) == "0.0"
    assert region.shape.args[2].text == "-0.0"  # the formatter still writes what was written


def test_a_whole_attribute_value_of_any_length_is_read_as_text() -> None:
    program = parse(HEADER + f"attribute pin.n {{ 007, {LONG} }}\n")
    values = [i for i in program.items if isinstance(i, ast.AttributeDecl)][0].values
    assert [v.text for v in values] == ["7", LONG]

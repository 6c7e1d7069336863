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

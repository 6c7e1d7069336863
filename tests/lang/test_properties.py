"""Property tests: no input makes the pipeline raise; fmt is idempotent and meaning-preserving."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dire_dsl.lang.format import format_source
from dire_dsl.lang.parser import parse_collecting
from dire_dsl.lang.program import check_source

OBJECTS = ["pin", "nut", "cable"]
VALUES = {"cable.color": ["red", "blue"], "nut.size": ["1", "2"]}
NUMBERS = ["0", "1", "2", "15", "0.5", "1e-3", "-1"]
FUNCS_1 = ["count", "area", "x", "y", "top", "bottom", "left", "right", "length"]
RELATIONS = ["inside", "touches", "overlaps", "left_of", "above"]
TOKENS = ["(", ")", "[", "]", "{", "}", ",", ":", "==", "=", "<", "->", '"', "#", ".", "in", "and", "forall",
          "rule", "category", "where", "\n", " ", "\t", "é", "7", "x", "$"]

HEADER = (
    "category product\n"
    + "".join(f'object {o} "a {o}"\n' for o in OBJECTS)
    + "".join(f"attribute {k} {{ {', '.join(v)} }}\n" for k, v in VALUES.items())
    + "region cell = grid(2, 3)\nregion half = left\n"
)


@st.composite
def numbers(draw: st.DrawFn, depth: int = 0) -> str:
    choice = draw(st.integers(0, 4 if depth < 2 else 1))
    if choice == 0:
        return draw(st.sampled_from(NUMBERS))
    if choice == 1:
        func = draw(st.sampled_from(FUNCS_1))
        target = draw(st.sampled_from(OBJECTS))
        if func == "count" and draw(st.booleans()):
            target += draw(st.sampled_from([" in cell[1, 2]", " in half", " where color == red"]))
        return f"{func}({target})"
    if choice == 2:
        return f"{draw(numbers(depth + 1))} {draw(st.sampled_from('+-*/'))} {draw(numbers(depth + 1))}"
    if choice == 3:
        return f"({draw(numbers(depth + 1))})"
    return f"abs({draw(numbers(depth + 1))})"


@st.composite
def formulas(draw: st.DrawFn, depth: int = 0) -> str:
    choice = draw(st.integers(0, 6 if depth < 2 else 2))
    if choice == 0:
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        return f"{draw(numbers())} {op} {draw(numbers())}"
    if choice == 1:
        return f"{draw(numbers())} in [{draw(st.sampled_from(NUMBERS))}, {draw(st.sampled_from(NUMBERS))}]"
    if choice == 2:
        return f"{draw(st.sampled_from(RELATIONS))}({draw(st.sampled_from(OBJECTS))}, {draw(st.sampled_from(OBJECTS))})"
    if choice == 3:
        return f"{draw(formulas(depth + 1))} {draw(st.sampled_from(['and', 'or', 'implies']))} {draw(formulas(depth + 1))}"
    if choice == 4:
        return f"not ({draw(formulas(depth + 1))})"
    if choice == 5:
        obj = draw(st.sampled_from(OBJECTS + ["cell"]))
        return f"{draw(st.sampled_from(['forall', 'exists']))} v in {obj}: {draw(formulas(depth + 1))}"
    return "cable.color -> nut.size { red: 1, blue: 2 }"


@st.composite
def programs(draw: st.DrawFn) -> str:
    rules = draw(st.lists(formulas(), min_size=1, max_size=4))
    body = "".join(f"rule r{i}:\n    {text}\n" for i, text in enumerate(rules))
    if draw(st.booleans()):
        body += "train { epochs = 3, lambda = 5e-7 }\n"
    return HEADER + body


@st.composite
def mutated_programs(draw: st.DrawFn) -> str:
    text = draw(programs())
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.integers(0, 2))
        if kind == 0:
            text = text[:pos] + text[pos + draw(st.integers(1, 6)):]
        elif kind == 1:
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        else:
            end = min(len(text), pos + draw(st.integers(1, 12)))
            text = text[:pos] + text[pos:end] * 2 + text[end:]
    return text


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(st.one_of(programs(), mutated_programs(), st.text(max_size=200)))
def test_nothing_but_diagnostics_for_any_text(text: str) -> None:
    result = check_source(text, "gen.rules")  # must not raise
    for diagnostic in result.diagnostics:
        assert diagnostic.code[0] in "EW" and diagnostic.message
        if diagnostic.span is not None:
            assert 1 <= diagnostic.span.line <= text.count("\n") + 2


@PROPERTY_SETTINGS
@given(programs())
def test_generated_programs_parse(text: str) -> None:
    _, syntax = parse_collecting(text)
    assert syntax == []


@PROPERTY_SETTINGS
@given(st.one_of(programs(), mutated_programs()))
def test_fmt_is_idempotent_and_keeps_the_tree(text: str) -> None:
    tree, syntax = parse_collecting(text)
    if syntax:
        return
    once = format_source(text)
    assert format_source(once) == once
    again, syntax_again = parse_collecting(once)
    assert syntax_again == []
    assert again.without_spans() == tree.without_spans()

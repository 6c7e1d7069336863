"""Property tests: no input makes the pipeline raise; fmt is idempotent and meaning-preserving;
huge or non-finite numbers and huge grids cost a diagnostic, never time or memory."""

from __future__ import annotations

import resource
import time

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dire_dsl.errors import DireError
from dire_dsl.lang import ir
from dire_dsl.lang.format import format_source
from dire_dsl.lang.parser import parse_collecting
from dire_dsl.lang.program import check_source
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from dire_dsl.logic.plan import program_plan, render_plan_text

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
        left, connective = draw(formulas(depth + 1)), draw(st.sampled_from(["and", "or", "implies"]))
        return f"{left} {connective} {draw(formulas(depth + 1))}"
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


# Literals at and beyond the edges of a float, text that looks numeric but is not, and
# constant arithmetic that leaves the floats (issue 16). A program takes its numbers, its grid
# sizes, or neither from the extreme lists, so that many programs still check, compile and run.
PLAIN_NUMBERS = ["0", "1", "2", "0.5", "1e-3", "-0", "-0.0", "0e999", "5e-324"]
EXTREME_NUMBERS = ["1e309", "1E+309", "99999999999999999999", "1" + "0" * 400, "9" * 5000, "1e-400",
                   "0." + "0" * 400 + "1", "1.7976931348623157e308", "1e308 * 10", "1e308 / 1e-308", "1 / 0",
                   "-1e308 - 1e308", "inf", "nan", "1e"]
PLAIN_SIZES = ["1", "2", "3", "5", "32"]
EXTREME_SIZES = ["64", "65", "1000", "99999999999999999999", "1e309", "1" + "0" * 400, "0", "-0", "-1", "2.5"]
SETTINGS = ["train { epochs = %s }", "train { seed = %s }", "train { lambda = %s }", "train { lr = %s }",
            "logic { sigma = %s }", "logic { tau = %s }", "logic { p_forall = %s }"]
MAX_SECONDS = 2.0
MAX_GROWTH_KB = 1024 * 1024  # ru_maxrss is in KiB on Linux: 1 GiB


@st.composite
def extreme_programs(draw: st.DrawFn) -> str:
    """Grids of any size, quantified alone, in pairs and nested, and rules, weights, cells and
    settings written with extreme numbers."""
    extreme = draw(st.sampled_from(["nothing", "numbers", "sizes"]))
    number = st.sampled_from(PLAIN_NUMBERS + EXTREME_NUMBERS * (extreme == "numbers"))
    size = st.sampled_from(PLAIN_SIZES + EXTREME_SIZES * (extreme == "sizes"))
    grids = [f"g{i}" for i in range(draw(st.integers(1, 3)))]
    text = "category product\n" + "".join(f'object {o} "a {o}"\n' for o in OBJECTS)
    text += "attribute nut.size { 1, 2 }\n"
    for name in grids:
        extent = f", 0, {draw(number)}, 1, 1" if draw(st.booleans()) else ""
        text += f"region {name} = grid({draw(size)}, {draw(size)}{extent})\n"
    choices = [
        lambda: f"count(pin) in [{draw(number)}, {draw(number)}]",
        lambda: f"area(pin) {draw(st.sampled_from(['<', '==', '>=']))} {draw(number)}",
        lambda: f"forall n in nut: n.size == {draw(number)}",
        lambda: f"count(pin in {draw(st.sampled_from(grids))}[{draw(number)}, 1]) >= 1",
        lambda: f"forall a in {draw(st.sampled_from(grids))}: count(pin in a) <= {draw(number)}",
        lambda: f"forall a, b in {draw(st.sampled_from(grids))}: count(pin in a) <= count(pin in b) + 1",
        lambda: (f"forall a in {draw(st.sampled_from(grids))}: exists b in {draw(st.sampled_from(grids))}: "
                 "touches(a, b) or count(pin in b) == 1"),
    ]
    for index in range(draw(st.integers(1, 3))):
        weight = f" weight {draw(number)}" if draw(st.booleans()) else ""
        text += f"rule r{index}{weight}: {draw(st.sampled_from(choices))()}\n"
    if draw(st.booleans()):
        text += draw(st.sampled_from(SETTINGS)) % draw(number) + "\n"
    return text


def _tiny_grounding(program: ir.CheckedProgram) -> Grounding:
    """One 8×8 image: enough to build every region raster and run every rule once."""
    objects = {o.name: ObjectGrounding(
                   torch.rand(1, 8, 8), torch.rand(1, 2, 8, 8), torch.rand(1, 2),
                   {a: torch.softmax(torch.rand(1, 2, len(v)), -1) for a, v in o.attributes.items()})
               for o in program.objects}
    return Grounding(objects, torch.rand(1, 4))


def _check_compile_and_run(text: str) -> None:
    """What `dire check`, `dire compile` and training do with a rules text, up to one forward pass."""
    result = check_source(text, "gen.rules")
    try:
        format_source(text)
    except DireError:
        pass
    if result.ok:
        render_plan_text(program_plan(result.program))
        compile_program(result.program)(_tiny_grounding(result.program))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme_programs())
def test_huge_numbers_and_grids_cost_a_diagnostic_never_time_or_memory(text: str) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    _check_compile_and_run(text)  # anything but a DireError fails the test
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < MAX_GROWTH_KB

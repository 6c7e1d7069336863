"""Rules read on good images: each comparison's measured values, its bound and the room left."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.lang.program import check_source
from dire_dsl.logic.grounding import grounding_from_masks
from dire_dsl.measure.measurements import atom_contexts, read_rules

SIZE = 20  # 400 pixels: a w x h box has area w*h/400


def _program(rules: str):  # type: ignore[no-untyped-def]
    result = check_source("category parts\nobject part \"a part\"\nattribute part.kind { a, b }\n" + rules)
    assert result.ok, [str(d) for d in result.errors]
    return result.program


def _box(width: int, height: int, left: int = 0, top: int = 0) -> torch.Tensor:
    mask = torch.zeros(SIZE, SIZE)
    mask[top:top + height, left:left + width] = 1.0
    return mask


def _grounding(program, images: list[list[tuple[int, int, str]]]):  # type: ignore[no-untyped-def]
    """One image per list: boxes (width, height, kind) laid side by side."""
    masks, attributes = [], []
    for boxes in images:
        stack, x = [], 0
        for width, height, _ in boxes:
            stack.append(_box(width, height, left=x))
            x += width + 1
        masks.append({"part": torch.stack(stack)} if stack else {})
        attributes.append({"part": {"kind": [kind for _, _, kind in boxes]}})
    return grounding_from_masks(program, masks, attributes, size=(SIZE, SIZE))


def _only_atom(reader):  # type: ignore[no-untyped-def]
    (reading,) = reader.readings.values()
    (atom,) = reading.atoms
    return reading, atom


def test_values_bound_and_room_of_an_upper_bound() -> None:
    program = _program("rule small:\n    forall p in part: area(p) <= 0.1\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a"), (2, 10, "a")], [(6, 5, "a")]])])
    reading, atom = _only_atom(reader)
    assert sorted(atom.values) == pytest.approx([0.05, 0.05, 0.075])
    summary = atom.summary()
    assert summary["n"] == 3 and summary["holds"] == 1.0
    assert summary["room"] == pytest.approx(0.1 - 0.075)
    assert (atom.measured, atom.op, atom.bound) == ("area(p)", "<=", (0.1,))
    assert reading.holds_on == 2 and reader.images == 2


def test_a_bound_written_as_arithmetic_is_read_as_its_value() -> None:
    program = _program("rule small:\n    forall p in part: area(p) in [-(0.01), 1 / 10]\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a")]])])
    _, atom = _only_atom(reader)
    assert atom.bound == pytest.approx((-0.01, 0.1)) and atom.room() == pytest.approx(0.05)


def test_a_bound_inside_the_normal_values_is_missed_and_its_room_is_negative() -> None:
    program = _program("rule small:\n    forall p in part: area(p) in [0.04, 0.06]\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a")], [(6, 5, "a")]])])
    reading, atom = _only_atom(reader)
    assert atom.summary()["holds"] == 0.5
    assert atom.room() == pytest.approx(0.06 - 0.075)
    assert reading.holds_on == 1


def test_only_members_where_the_condition_holds_are_counted() -> None:
    program = _program("rule small_a:\n    forall p in part: p.kind == a implies area(p) <= 0.06\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a"), (10, 10, "b")]])])
    _, atom = _only_atom(reader)
    assert atom.values == pytest.approx([0.05])
    assert atom.context.condition_text == "p.kind == a"


def test_pairs_are_distinct_members_only() -> None:
    program = _program("rule alike:\n    forall x, y in part: abs(area(x) - area(y)) <= 0.1\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a"), (2, 5, "a")]])])
    _, atom = _only_atom(reader)
    # (x, y) and (y, x), never x with itself; `abs` is smooth at 0 (at most 0.001 under |v|)
    assert atom.values == pytest.approx([0.025, 0.025], abs=1e-3)


def test_two_measured_sides_are_read_as_their_difference() -> None:
    program = _program("rule as_many:\n    count(part where kind == a) == count(part where kind == b)\n")
    reader = read_rules(program, [_grounding(program, [[(2, 2, "a"), (2, 2, "b"), (2, 2, "b")]])])
    _, atom = _only_atom(reader)
    assert atom.measured == "count(part where kind == a) - (count(part where kind == b))"
    assert (atom.op, atom.bound) == ("==", (0.0,))
    assert atom.values == pytest.approx([-1.0])


def test_absent_slots_and_images_without_instances_give_no_values() -> None:
    program = _program("rule small:\n    forall p in part: area(p) <= 0.1\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a"), (4, 5, "a")], []])])
    _, atom = _only_atom(reader)
    assert len(atom.values) == 2


def test_batches_accumulate() -> None:
    program = _program("rule small:\n    forall p in part: area(p) <= 0.1\n")
    batches = [_grounding(program, [[(4, 5, "a")]]), _grounding(program, [[(6, 5, "a")], [(2, 5, "a")]])]
    reader = read_rules(program, batches)
    _, atom = _only_atom(reader)
    assert sorted(atom.values) == pytest.approx([0.025, 0.05, 0.075]) and reader.images == 3


def test_rules_on_unannotated_attributes_are_skipped() -> None:
    program = _program("rule small:\n    forall p in part: area(p) <= 0.1\n"
                       "rule kinds:\n    count(part where kind == a) == 1\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a")]])], skip_attributes={"kind"})
    assert reader.skipped == ["kinds"] and list(reader.readings) == ["small"]


def _node(node: object, text: str) -> object | None:
    """The IR node written as `text` (depth first)."""
    if getattr(node, "text", None) == text:
        return node
    for value in getattr(node, "__dict__", {}).values():
        found = _node(value, text)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize(("rule", "condition", "optional"), [
    ("forall p in part: p.kind == a implies area(p) <= 0.1", "p.kind == a", False),
    ("forall p in part: (p.kind == a and area(p) > 0.01) implies area(p) <= 0.1", "", True),
    ("count(part) == 1 or area(part) <= 0.1", "", True),
    ("exists p in part: area(p) <= 0.1", "", True),
    ("not count(part) > 3 and area(part) <= 0.1", "", False),
    ("not (count(part) > 3 and area(part) <= 0.1)", "", True),
    ("count(part) >= 0 and area(part) <= 0.1", "", False),
])
def test_atom_contexts(rule: str, condition: str, optional: bool) -> None:
    program = _program(f"rule r:\n    {rule}\n")
    formula = program.rules[0].formula
    target = "area(p) <= 0.1" if "area(p) <= 0.1" in rule else "area(part) <= 0.1"
    node = _node(formula, target)
    assert node is not None
    context = atom_contexts(formula)[(node.span.line, node.span.column, target)]  # type: ignore[attr-defined]
    assert (context.condition_text, context.optional) == (condition, optional)


def test_values_that_are_not_finite_are_left_out() -> None:
    program = _program("rule per_b:\n    area(part) / count(part where kind == b) <= 10\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a")]])])  # no part of kind b: x / 0
    _, atom = _only_atom(reader)
    assert atom.values == [] and atom.summary()["n"] == 0


def test_each_test_a_sequence_stands_for_is_read_on_its_own() -> None:
    program = _program("rule order:\n    sorted(part by x).kind == [a, b]\n")
    reader = read_rules(program, [_grounding(program, [[(4, 5, "a"), (2, 10, "b")], [(6, 5, "a"), (3, 3, "b")]])])
    (reading,) = reader.readings.values()
    assert [(atom.measured, atom.op, atom.bound) for atom in reading.atoms] == [
        ("count(part)", "==", (2.0,)), ("count(part where kind == a)", "==", (1.0,)),
        ("count(part where kind == b)", "==", (1.0,))]
    assert all(atom.values == [2.0, 2.0] if i == 0 else atom.values == [1.0, 1.0]
               for i, atom in enumerate(reading.atoms))

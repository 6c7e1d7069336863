"""What every built-in says about a set with no part in it (docs/language.md, "Empty sets"):
counts and areas are 0, every other measurement has no value and makes its test false,
every relation and attribute test about the set is false; `forall` holds, `exists` does not."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import grounding_from_masks
from tests.logic.conftest import box, disc, program

DECLARED = """object part "a part"
object gone "a part that is missing"
object via "a cable"
attribute gone.color { red, blue }
region tray = box(0, 0, 1, 1)
region east = right
"""

FALSE_WHEN_EMPTY = [
    "x(gone) >= 0", "y(gone) <= 1", "top(gone) in [0, 1]", "bottom(gone) >= 0", "left(gone) >= 0",
    "right(gone) <= 1", "length(gone) >= 0", "abs(x(gone) - x(part)) <= 1",
    "left_of(part, gone)", "right_of(gone, part)", "above(part, gone)", "below(gone, part)",
    "inside(gone, tray)", "touches(part, gone)", "overlaps(gone, part)", "joins(via, part, gone)",
    "gone.color == red", "gone.color != red", "gone.color -> gone.color { red: red, blue: blue }",
    "exists g in gone: true", "x(part in east) >= 0",  # `part` lies in the left half only
]
TRUE_WHEN_EMPTY = [
    "count(gone) == 0", "area(gone) < 0.001", "ratio(count(gone), count(part)) < 0.5", "forall g in gone: false",
    "not left_of(part, gone)", "x(part) < 0.5",
]


def truths(conditions: list[str]) -> list[float]:
    rules = "".join(f"rule r{i}: {condition}\n" for i, condition in enumerate(conditions))
    prog = program(DECLARED + rules)
    masks = [{"part": disc(0.25, 0.5, 0.1)[None], "via": box(0.2, 0.45, 0.9, 0.55)[None]}]
    truth = compile_program(prog)(grounding_from_masks(prog, masks, slots=2)).truth[0]
    return truth.tolist()


@pytest.mark.parametrize("condition", FALSE_WHEN_EMPTY)
def test_a_test_about_an_empty_set_is_false(condition: str) -> None:
    assert truths([condition])[0] < 0.01


@pytest.mark.parametrize("condition", TRUE_WHEN_EMPTY)
def test_counts_areas_forall_and_negations_hold_on_an_empty_set(condition: str) -> None:
    assert truths([condition])[0] > 0.99


def test_the_same_tests_hold_once_the_part_is_there() -> None:
    prog = program(DECLARED + "rule r: left_of(part, gone) and x(gone) >= 0 and gone.color == red")
    masks = [{"part": disc(0.25, 0.5, 0.1)[None], "gone": disc(0.75, 0.5, 0.1)[None]}]
    grounding = grounding_from_masks(prog, masks, [{"gone": {"color": ["red"]}}])
    assert float(compile_program(prog)(grounding).truth[0, 0]) > 0.99


def test_a_half_present_set_counts_as_there_and_an_absent_one_tends_to_false_smoothly() -> None:
    prog = program(DECLARED + "rule r: x(gone) >= 0")
    masks = [{"gone": disc(0.75, 0.5, 0.1)[None]}] * 3
    grounding = grounding_from_masks(prog, masks)
    grounding.objects["gone"].presence = torch.tensor([[1.0], [0.5], [0.2]], requires_grad=True)
    truth = compile_program(prog)(grounding).truth[:, 0]
    values = truth.detach().tolist()
    assert values[0] > 0.99 and values[1] > 0.99 and values[2] == pytest.approx(0.4, abs=0.01)
    truth.sum().backward()
    assert float(grounding.objects["gone"].presence.grad[2, 0]) > 0  # more presence, more truth

"""Rules read on the annotated good images before training: a rule they contradict is named."""

from __future__ import annotations

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.grounding.annotations import rules_false_on_annotations
from dire_dsl.lang.program import check_source

SOURCE = """category eggs
object egg "an egg"
attribute egg.shade { white, brown }

rule six_eggs:
    count(egg) == {n}

rule one_brown:
    count(egg where shade == brown) == 1
"""


def _eggs(shades: list[str], size: int = 32) -> list[Component]:
    parts = []
    for k, shade in enumerate(shades):
        mask = np.zeros((size, size), dtype=bool)
        mask[4:10, 2 + 5 * k: 5 + 5 * k] = True
        parts.append(Component("egg", mask, {"shade": shade}))
    return parts


def test_a_rule_the_good_images_contradict_is_named_with_its_line() -> None:
    images = [_eggs(["white"] * 5 + ["brown"]) for _ in range(4)]
    program = check_source(SOURCE.replace("{n}", "7")).program
    found = rules_false_on_annotations(program, images, (32, 32))
    assert [(f.rule, f.line, f.false_on, f.images) for f in found] == [("six_eggs", 5, 4, 4)]
    assert rules_false_on_annotations(check_source(SOURCE.replace("{n}", "6")).program, images, (32, 32)) == []


def test_a_rule_false_on_only_a_few_images_is_left_alone() -> None:
    images = [_eggs(["white"] * 5 + ["brown"]) for _ in range(3)] + [_eggs(["white"] * 6)]
    assert rules_false_on_annotations(check_source(SOURCE.replace("{n}", "6")).program, images, (32, 32)) == []


def test_an_attribute_the_annotations_leave_out_is_not_taken_for_a_broken_rule() -> None:
    images = [[Component("egg", part.mask, {}) for part in _eggs(["white"] * 6)] for _ in range(4)]
    assert rules_false_on_annotations(check_source(SOURCE.replace("{n}", "6")).program, images, (32, 32)) == []

"""`sorted(...)` and `distinct(...)` as compiled: each anomaly a user names breaks the rule,
a normal scene keeps it, and the evidence points at the parts involved."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.evidence import rule_marks
from dire_dsl.logic.grounding import grounding_from_masks
from tests.logic.conftest import disc, program

RULES = """object item "an item"
attribute item.color { red, orange, yellow, green }
region top = box(0, 0, 1, 0.5)
rule order: sorted(item by x).color == [red, orange, yellow]
rule unique: distinct(item.color)
rule pairs: forall a, b in item: a.color != b.color
rule order_down: sorted(item in top by y).color == [red, red, orange]
"""

SCENES = {  # colours left to right, at these x (y = 0.25)
    "normal": (["red", "orange", "yellow"], [0.2, 0.5, 0.8]),
    "swapped": (["orange", "red", "yellow"], [0.2, 0.5, 0.8]),
    "missing": (["red", "yellow"], [0.2, 0.8]),
    "duplicate": (["red", "red", "orange", "yellow"], [0.1, 0.3, 0.5, 0.8]),
    "replaced": (["red", "red", "yellow"], [0.2, 0.5, 0.8]),
    "extra": (["red", "orange", "yellow", "green"], [0.2, 0.4, 0.6, 0.8]),
}


def evaluate(scenes: dict[str, tuple[list[str], list[float]]], y: float = 0.25):
    prog = program(RULES)
    masks = [{"item": torch.stack([disc(x, y, 0.08) for x in xs])} for _, xs in scenes.values()]
    attrs = [{"item": {"color": colors}} for colors, _ in scenes.values()]
    grounding = grounding_from_masks(prog, masks, attrs, slots=6)
    return prog, grounding, compile_program(prog)(grounding)


def test_sorted_holds_on_the_listed_order_and_breaks_on_every_other_kind_of_change() -> None:
    _, _, out = evaluate(SCENES)
    order = dict(zip(SCENES, out.rule("order").tolist()))
    assert order["normal"] > 0.99
    for anomaly in ("swapped", "missing", "duplicate", "replaced", "extra"):
        assert order[anomaly] < 0.2, (anomaly, order)


def test_distinct_catches_one_repeated_value_where_forall_pairs_averages_it_away() -> None:
    _, _, out = evaluate(SCENES)
    unique, pairs = dict(zip(SCENES, out.rule("unique").tolist())), dict(zip(SCENES, out.rule("pairs").tolist()))
    assert unique["normal"] > 0.99 and unique["extra"] > 0.99 and unique["missing"] > 0.99
    assert unique["duplicate"] < 0.01 and unique["replaced"] < 0.01
    assert pairs["duplicate"] > 0.5  # the reason `distinct` exists (issue 18)


def test_sorted_by_y_in_a_region_orders_top_to_bottom_with_a_run_of_equal_values() -> None:
    prog = program(RULES)

    def column(colors: list[str], ys: list[float]) -> tuple[dict, dict]:
        return {"item": torch.stack([disc(0.5, y, 0.05) for y in ys])}, {"item": {"color": colors}}
    scenes = [column(["red", "red", "orange"], [0.1, 0.25, 0.4]), column(["red", "orange", "red"], [0.1, 0.25, 0.4]),
              column(["red", "red", "orange", "orange"], [0.1, 0.25, 0.4, 0.8])]  # the 4th lies outside `top`
    grounding = grounding_from_masks(prog, [m for m, _ in scenes], [a for _, a in scenes], slots=6)
    truth = compile_program(prog)(grounding).rule("order_down").tolist()
    # one broken pair of two (the lower red below orange): forall's p-mean error, 1 - sqrt(1/2)
    assert truth[0] > 0.99 and truth[1] < 0.35 and truth[2] > 0.95


def test_a_swap_is_marked_on_the_two_swapped_parts() -> None:
    prog, grounding, out = evaluate({"swapped": SCENES["swapped"]})
    labels = {mark.label for mark in rule_marks(prog, out, grounding, 0, "order")}
    assert labels == {"item#1", "item#2"}  # orange (slot 1) sits left of red (slot 2); yellow is fine


@pytest.mark.parametrize("scene", ["missing", "duplicate"])
def test_the_false_piece_of_a_sequence_names_what_went_wrong(scene: str) -> None:
    _, _, out = evaluate({scene: SCENES[scene]})
    false = [atom.text for atom in out.atoms["order"] if float(atom.truth[0].min()) < 0.5]
    expected = {"missing": "count(item where color == orange) == 1", "duplicate": "count(item) == 3"}[scene]
    assert expected in false

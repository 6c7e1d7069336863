"""`dire measure`'s text and JSON: rules false on good images first, bounds that cut in named."""

from __future__ import annotations

import json

import torch

from dire_dsl.lang.program import check_source
from dire_dsl.logic.grounding import grounding_from_masks
from dire_dsl.measure.measurements import read_rules
from dire_dsl.measure.report import render_json, render_text

SOURCE = """category parts
object part "a part"

rule wide_enough:
    forall p in part: area(p) >= 0.01

rule small:
    forall p in part: area(p) <= 0.06
"""


def _reader():  # type: ignore[no-untyped-def]
    program = check_source(SOURCE).program
    masks = []
    for pixels in (16, 20, 30):  # areas 0.04, 0.05, 0.075 of a 20 x 20 image
        mask = torch.zeros(1, 20, 20)
        mask.view(1, -1)[0, :pixels] = 1.0
        masks.append({"part": mask})
    return read_rules(program, [grounding_from_masks(program, masks, size=(20, 20))])


def test_text_puts_the_rule_false_on_a_good_image_first_and_says_the_bound_cuts_in() -> None:
    text = render_text(_reader(), "annotations.json")
    assert text.startswith("read 3 good image(s): annotations.json")
    assert text.index("rule small (line 7)") < text.index("rule wide_enough (line 4)")
    assert "holds on 2 of 3 image(s)" in text
    assert "the bound is missed by 1 of 3: it cuts into what good images measure" in text
    assert "measured 0.04 .. 0.075" in text
    assert "room to the bound: 0.03" in text  # wide_enough: 0.04 - 0.01
    assert text.rstrip().endswith("2 rule(s) read, 1 false on some good image")


def test_json_holds_every_figure() -> None:
    data = json.loads(render_json(_reader(), "annotations.json"))
    assert data["images"] == 3 and data["source"] == "annotations.json"
    small = next(rule for rule in data["rules"] if rule["rule"] == "small")
    assert small["holds_on"] == 2 and small["line"] == 7
    (atom,) = small["atoms"]
    assert atom["op"] == "<=" and atom["bound"] == [0.06] and atom["n"] == 3
    assert abs(atom["max"] - 0.075) < 1e-6 and abs(atom["room"] + 0.015) < 1e-6


def test_an_alternative_that_fails_on_some_members_is_not_called_a_wrong_bound() -> None:
    program = check_source("category parts\nobject part \"a part\"\nrule one_small:\n"
                           "    exists p in part: area(p) <= 0.06\n").program
    masks = torch.zeros(2, 20, 20)
    masks[0, :2, :10] = 1.0  # area 0.05
    masks[1, 5:, :] = 1.0  # area 0.75
    text = render_text(read_rules(program, [grounding_from_masks(program, [{"part": masks}], size=(20, 20))]), "x")
    assert "holds on 1 of 1 image(s)" in text
    assert "holds on 1 of 2, which may be right: the rule has other ways to hold" in text
    assert "cuts into" not in text

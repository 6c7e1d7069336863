"""The vision ↔ logic contract: validation errors name what is wrong; hard groundings from masks."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import GroundingError, grounding_from_masks
from tests.logic.conftest import disc, program, random_grounding

PROG = program('object cable "c"\nobject connector "k"\nattribute cable.color { yellow, blue, red }\n'
               "rule r: count(cable) == 1\n")


def test_a_valid_grounding_passes() -> None:
    random_grounding(PROG, slots=2).validate(PROG, check_values=True)


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda g: g.objects.pop("connector"), r"no object `connector`; the rules declare: cable, connector"),
    (lambda g: g.objects["cable"].attributes.pop("color"), r"`cable` has no attribute `color` \(declared values"),
    (lambda g: setattr(g.objects["cable"], "mask", torch.rand(2, 16)), r"`cable`.mask must be \[B=2, H, W\]"),
    (lambda g: setattr(g.objects["cable"], "instances", torch.rand(2, 2, 8, 16)), r"`cable`.instances must be"),
    (lambda g: setattr(g.objects["cable"], "presence", torch.rand(2, 3)), r"`cable`.presence must be \[B=2, K=2\]"),
    (lambda g: g.objects["cable"].attributes.update(color=torch.rand(2, 2, 2)),
     r"`cable.color` must be \[B=2, K=2, V=3\]"),
    (lambda g: setattr(g.objects["connector"], "presence", torch.rand(2, 2, dtype=torch.float64)), "float64"),
    (lambda g: setattr(g.objects["connector"], "mask", torch.rand(2, 8, 8)), "all masks share one resolution"),
    (lambda g: setattr(g, "embedding", torch.rand(2)), r"embedding must be \[B, D\]"),
])
def test_each_mismatch_gets_one_clear_error(breakage, message: str) -> None:
    grounding = random_grounding(PROG, slots=2)
    breakage(grounding)
    with pytest.raises(GroundingError, match=message):
        grounding.validate(PROG)
    with pytest.raises(GroundingError):
        compile_program(PROG)(grounding)  # the module validates every batch


def test_values_are_checked_on_request() -> None:
    grounding = random_grounding(PROG, slots=2)
    grounding.objects["cable"].presence[0, 0] = float("nan")
    grounding.validate(PROG)  # shapes only: no device sync
    with pytest.raises(GroundingError, match=r"`cable`.presence holds values outside \[0, 1\] \(or NaN\)"):
        grounding.validate(PROG, check_values=True)


def test_grounding_from_masks_pads_slots_and_one_hots_attributes() -> None:
    masks = [{"cable": torch.stack([disc(0.3, 0.3, 0.1), disc(0.6, 0.6, 0.1)])}, {}]
    grounding = grounding_from_masks(PROG, masks, [{"cable": {"color": ["red", "blue"]}}, {}], slots=3)
    grounding.validate(PROG, check_values=True)
    cable = grounding.objects["cable"]
    assert cable.presence.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    assert cable.attributes["color"][0, :2].tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    assert torch.allclose(cable.attributes["color"][1], torch.full((3, 3), 1 / 3))  # unannotated: uniform
    assert torch.equal(cable.mask[0], torch.maximum(masks[0]["cable"][0], masks[0]["cable"][1]))
    assert grounding.objects["connector"].instances.shape == (2, 3, 64, 64)


@pytest.mark.parametrize(("masks", "attributes", "message"), [
    ([{"cable": torch.zeros(2, 8, 8)}], [{"cable": {"color": ["green", "red"]}}],
     r"`green` is not a value of `cable.color`"),
    ([{"cable": torch.zeros(2, 8, 8)}], [{"cable": {"color": ["red"]}}], r"1 values of `cable.color` for 2 instances"),
    ([{"cable": torch.zeros(2, 8, 8), "connector": torch.zeros(1, 4, 4)}], None, "share one resolution"),
    ([{"cable": torch.zeros(4, 8, 8)}], None, r"4 instances of `cable` but only 2 slots"),
])
def test_grounding_from_masks_rejects_bad_annotations(masks, attributes, message: str) -> None:
    with pytest.raises(GroundingError, match=message):
        grounding_from_masks(PROG, masks, attributes, slots=2)

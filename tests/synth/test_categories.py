"""The built-in SynLOCO categories: structural recipes faithful to the defects they imitate."""

from __future__ import annotations

import math

import pytest

from dire_dsl.synth.spec.load import builtin_categories, load_spec
from dire_dsl.synth.spec.models import ObjectSpec

UNLIKE = 60.0
"""RGB distance below which a recoloured part could pass for a normal one."""


def normal_colours(obj: ObjectSpec) -> list[tuple[float, ...]]:
    """Every colour a normal instance of `obj` is drawn in: its own palette and its attributes' looks."""
    colours = [tuple(map(float, c)) for c in obj.color.palette]
    for attribute in obj.attributes.values():
        for look in attribute.looks.values():
            colours.extend(tuple(map(float, c)) for c in look.get("color", {}).get("palette", []))
    return colours


@pytest.mark.parametrize("category", builtin_categories())
def test_a_discolour_defect_never_takes_a_colour_normal_parts_have(category: str) -> None:
    """A recoloured part in a colour its normal siblings have is no defect anyone can see (pushpins
    come in seven colours, splicing cables in three): every discolour palette is unlike them all."""
    spec = load_spec(category)
    objects = {obj.id: obj for obj in spec.objects}
    for anomaly in spec.anomalies:
        for step in anomaly.steps:
            if step.op != "discolor" or step.object is None:
                continue
            normal = normal_colours(objects[step.object])
            for colour in step.color.palette:
                nearest = min(math.dist(colour, other) for other in normal)
                assert nearest >= UNLIKE, (f"{category}/{anomaly.name}: {list(colour)} lies {nearest:.0f} from a "
                                           f"normal {step.object} colour")

"""Every built-in measurement and relation on hand-made masks with known answers.

Registry-driven: the test is parametrised over every built-in name in the signature
registry, so a new built-in without a known-answer case here fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from dire_dsl.lang.signatures import REGISTRY
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import grounding_from_masks
from dire_dsl.logic.plan import BUILTIN_FORMULAS
from tests.logic.conftest import box, disc, program


@dataclass(frozen=True)
class Case:
    """Rules text, instance masks per object, the text of the probed term/atom, its expected value."""

    rules: str
    masks: dict[str, list[torch.Tensor]]
    probe: str
    expected: float
    tolerance: float
    attributes: dict[str, dict[str, list[str]]] = field(default_factory=dict)


TWO_OBJECTS = 'object a "a"\nobject b "b"\n'
THREE_OBJECTS = TWO_OBJECTS + 'object c "c"\n'
BAR = box(0.2, 0.5, 0.8, 0.53125)  # two pixels thick, from inside a's box (x < 0.25) into b's (x ≥ 0.75)
CELLS = 'object pin "a pin"\nregion cell = grid(2, 3)\n'
LEFT, RIGHT = disc(0.2, 0.5, 0.1), disc(0.8, 0.5, 0.1)
HIGH, LOW = disc(0.5, 0.2, 0.1), disc(0.5, 0.8, 0.1)
TALL_BOX = box(0.25, 0.125, 0.5, 0.75)
SQUARE, HALF_OVER = box(0.25, 0.25, 0.5, 0.5), box(0.375, 0.25, 0.875, 0.875)  # edges on pixel borders (1/64)

KNOWN: dict[str, list[Case]] = {
    "count": [
        Case('object pin "p"\nrule r: count(pin) == 2', {"pin": [disc(0.3, 0.3, 0.1), disc(0.7, 0.7, 0.1)]},
             "count(pin)", 2.0, 0.05),
        Case(CELLS + "rule r: count(pin in cell[1, 2]) == 1", {"pin": [disc(0.5, 0.25, 0.1), disc(0.2, 0.75, 0.1)]},
             "count(pin in cell[1, 2])", 1.0, 0.05),
        Case('object pin "p"\nattribute pin.color { red, blue }\nrule r: count(pin where color == red) == 1',
             {"pin": [disc(0.3, 0.3, 0.1), disc(0.7, 0.7, 0.1), disc(0.3, 0.7, 0.1)]},
             "count(pin where color == red)", 1.0, 1e-6, {"pin": {"color": ["blue", "red", "blue"]}}),
    ],
    "area": [Case(TWO_OBJECTS + "rule r: area(a) > 0.5", {"a": [box(0.25, 0.25, 0.5, 0.5)]}, "area(a)", 0.0625, 1e-6)],
    "ratio": [Case(TWO_OBJECTS + "rule r: ratio(area(a), area(b)) > 1",
                   {"a": [box(0.0, 0.0, 0.25, 0.25)], "b": [box(0.5, 0.5, 1.0, 0.75)]},
                   "ratio(area(a), area(b))", 0.5, 1e-4)],
    "abs": [Case(TWO_OBJECTS + "rule r: abs(x(a) - 0.75) < 0.1", {"a": [disc(0.25, 0.5, 0.1)]},
                 "abs(x(a) - 0.75)", 0.5, 0.005)],
    "x": [Case(TWO_OBJECTS + "rule r: x(a) < 0.5", {"a": [disc(0.25, 0.75, 0.1)]}, "x(a)", 0.25, 0.005)],
    "y": [Case(TWO_OBJECTS + "rule r: y(a) < 0.5", {"a": [disc(0.25, 0.75, 0.1)]}, "y(a)", 0.75, 0.005)],
    "top": [Case(TWO_OBJECTS + "rule r: top(a) < 0.5", {"a": [TALL_BOX]}, "top(a)", 0.125, 0.005)],
    "bottom": [Case(TWO_OBJECTS + "rule r: bottom(a) < 0.5", {"a": [TALL_BOX]}, "bottom(a)", 0.75, 0.005)],
    "left": [Case(TWO_OBJECTS + "rule r: left(a) < 0.5", {"a": [TALL_BOX]}, "left(a)", 0.25, 0.005)],
    "right": [Case(TWO_OBJECTS + "rule r: right(a) < 0.9", {"a": [TALL_BOX]}, "right(a)", 0.5, 0.005)],
    "length": [
        Case(TWO_OBJECTS + "rule r: length(a) < 0.1", {"a": [box(0.25, 0.5, 0.75, 0.5625)]}, "length(a)", 0.5, 0.01),
        # a disc: sqrt(12 · r²/4) = √3·r
        Case(TWO_OBJECTS + "rule r: length(a) < 0.1", {"a": [disc(0.5, 0.5, 0.25)]}, "length(a)", 0.433, 0.01),
    ],
    "inside": [
        Case(CELLS + "rule r: inside(pin, cell[1, 2])", {"pin": [disc(0.5, 0.25, 0.1)]},
             "inside(pin, cell[1, 2])", 1.0, 1e-3),
        Case(CELLS + "rule r: inside(pin, cell[2, 3])", {"pin": [disc(0.5, 0.25, 0.1)]},
             "inside(pin, cell[2, 3])", 0.0, 1e-3),
        Case(TWO_OBJECTS + "rule r: inside(a, b)", {"a": [SQUARE], "b": [HALF_OVER]}, "inside(a, b)", 0.5, 1e-3),
    ],
    "touches": [
        Case(TWO_OBJECTS + "rule r: touches(a, b)", {"a": [SQUARE], "b": [box(0.5, 0.25, 0.75, 0.5)]},
             "touches(a, b)", 1.0, 1e-3),
        Case(TWO_OBJECTS + "rule r: touches(a, b)", {"a": [SQUARE], "b": [box(0.5625, 0.25, 0.75, 0.5)]},
             "touches(a, b)", 0.0, 1e-3),
        # one empty pixel between them is still contact (a shared boundary pixel, split by two soft masks)
        Case(TWO_OBJECTS + "rule r: touches(a, b)", {"a": [SQUARE], "b": [box(33 / 64, 0.25, 0.75, 0.5)]},
             "touches(a, b)", 1.0, 1e-3),
        # b four pixels away and a faint 0.02 spill of b everywhere (a soft mask): the spill within
        # reach of a (20×20 pixels) counts as one pixel at 0.02 times 400^(1/8), not as touching.
        Case(TWO_OBJECTS + "rule r: touches(a, b)", {"a": [SQUARE], "b": [box(0.5625, 0.25, 0.75, 0.5) * 0.98 + 0.02]},
             "touches(a, b)", 0.02 * 400 ** (1 / 8), 1e-3),
    ],
    "joins": [
        # a bar from a to b, at 0.9 with one pixel column at 0.4: the best path is as weak as that column
        Case(THREE_OBJECTS + "rule r: joins(c, a, b)",
             {"a": [box(0.0, 0.25, 0.25, 0.75)], "b": [box(0.75, 0.25, 1.0, 0.75)],
              "c": [BAR * 0.9 - box(0.5, 0.0, 33 / 64, 1.0) * 0.5]},
             "joins(c, a, b)", 0.4, 1e-4),
        # cut: a two-pixel gap in the bar (it still touches both ends)
        Case(THREE_OBJECTS + "rule r: joins(c, a, b)",
             {"a": [box(0.0, 0.25, 0.25, 0.75)], "b": [box(0.75, 0.25, 1.0, 0.75)],
              "c": [BAR - box(0.5, 0.0, 34 / 64, 1.0)]},
             "joins(c, a, b)", 0.0, 1e-4),
        # the weak straight bar (0.3) or a detour at 0.8 above it: the best path takes the detour
        Case(THREE_OBJECTS + "rule r: joins(c, a, b)",
             {"a": [box(0.0, 0.25, 0.25, 0.75)], "b": [box(0.75, 0.25, 1.0, 0.75)],
              "c": [BAR * 0.3 + box(0.2, 0.3125, 0.8, 0.34375) * 0.8
                    + box(0.2, 0.34375, 0.25, 0.5) * 0.8
                    + box(0.75, 0.34375, 0.8, 0.5) * 0.8]},
             "joins(c, a, b)", 0.8, 1e-4),
    ],
    "overlaps": [Case(TWO_OBJECTS + "rule r: overlaps(a, b)", {"a": [SQUARE], "b": [HALF_OVER]}, "overlaps(a, b)",
                      0.5, 1e-3)],
    "left_of": [Case(TWO_OBJECTS + "rule r: left_of(a, b)", {"a": [LEFT], "b": [RIGHT]}, "left_of(a, b)", 1.0, 1e-3),
                Case(TWO_OBJECTS + "rule r: left_of(a, b)", {"a": [RIGHT], "b": [LEFT]}, "left_of(a, b)", 0.0, 1e-3)],
    "right_of": [Case(TWO_OBJECTS + "rule r: right_of(a, b)", {"a": [RIGHT], "b": [LEFT]}, "right_of(a, b)",
                      1.0, 1e-3)],
    "above": [Case(TWO_OBJECTS + "rule r: above(a, b)", {"a": [HIGH], "b": [LOW]}, "above(a, b)", 1.0, 1e-3)],
    "below": [Case(TWO_OBJECTS + "rule r: below(a, b)", {"a": [HIGH], "b": [LOW]}, "below(a, b)", 0.0, 1e-3)],
}

BUILTINS = [s.name for s in REGISTRY.signatures() if s.source == "dire_dsl"]


def measured(case: Case) -> float:
    """Evaluate the case's rules on its masks; return the probed term's (or relation's) value."""
    prog = program(case.rules)
    masks = [{name: torch.stack(stack) for name, stack in case.masks.items()}]
    grounding = grounding_from_masks(prog, masks, [case.attributes] if case.attributes else None)
    output = compile_program(prog)(grounding)
    for atoms in output.atoms.values():
        for atom in atoms:
            if atom.text == case.probe:
                return float(atom.truth[0])
            for text, value in atom.terms:
                if text == case.probe:
                    return float(value[0])
    raise AssertionError(f"no atom or term `{case.probe}` was recorded")


def test_every_builtin_is_registered_and_implemented() -> None:
    assert len(BUILTINS) >= 18
    for name in BUILTINS:
        assert callable(REGISTRY.implementation(name))


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_gives_known_answers(name: str) -> None:
    assert name in KNOWN, f"built-in `{name}` has no known-answer case: add one to KNOWN"
    assert name in BUILTIN_FORMULAS, f"`dire compile` cannot describe built-in `{name}`: add it to plan.py"
    for case in KNOWN[name]:
        assert case.probe.startswith(f"{name}(")
        assert measured(case) == pytest.approx(case.expected, abs=case.tolerance), case.rules

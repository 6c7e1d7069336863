"""Compiled programs: shipped files evaluate, quantifier semantics, atoms for explanations."""

from __future__ import annotations

from pathlib import Path

import ltn
import pytest
import torch

from dire_dsl.lang.program import load_rules
from dire_dsl.lang.signatures import REGISTRY, ArgKind, register_signature
from dire_dsl.logic.compiler import CompileError, compile_program
from dire_dsl.logic.grounding import Grounding, grounding_from_masks
from dire_dsl.logic.tensors import pixel_inner
from tests.logic.conftest import RULES_FILES, box, disc, program, random_grounding


@pytest.mark.parametrize("path", RULES_FILES, ids=lambda p: p.stem)
def test_shipped_rules_compile_and_evaluate(path: Path) -> None:
    prog = load_rules(path)
    module = compile_program(prog)
    out = module(random_grounding(prog, batch=4, size=32, slots=5))
    assert out.truth.shape == (4, len(prog.rules)) and out.s_logic.shape == (4,)
    assert out.rules == tuple(rule.name for rule in prog.rules)
    assert ((out.truth >= 0) & (out.truth <= 1)).all() and ((out.s_logic >= 0) & (out.s_logic <= 1)).all()
    assert set(out.atoms) == set(out.rules)


def test_nothing_depends_on_ltn_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """ltn.device is fixed at import (cuda when present); the compiled rules never use it."""
    monkeypatch.setattr(ltn, "device", torch.device("meta"))
    prog = load_rules(RULES_FILES[-1])
    out = compile_program(prog)(random_grounding(prog))
    assert out.truth.device.type == "cpu" and torch.isfinite(out.truth).all()


def test_a_program_without_objects_evaluates() -> None:
    prog = program("region half = grid(2, 2)\nrule r: forall c in half: true or false")
    truth = compile_program(prog)(Grounding({}, torch.zeros(3, 1))).truth
    assert truth.shape == (3, 1) and float(truth[0, 0]) > 0.999


def test_one_module_runs_many_batch_sizes_slot_counts_and_resolutions() -> None:
    prog = load_rules(RULES_FILES[0])
    module = compile_program(prog)
    for batch, size, slots in [(1, 8, 1), (3, 16, 4), (2, 24, 7)]:
        grounding = random_grounding(prog, batch=batch, size=size, slots=slots)
        assert module(grounding).truth.shape == (batch, len(prog.rules))


PINS = 'object pin "a pin"\nattribute pin.color { red, blue }\n'


def evaluate(rules: str, masks: list[dict[str, torch.Tensor]], slots: int | None = None, **kwargs) -> torch.Tensor:
    prog = program(rules)
    return compile_program(prog)(grounding_from_masks(prog, masks, slots=slots, **kwargs)).truth


def test_empty_domains_forall_true_exists_false() -> None:
    truth = evaluate(PINS + "rule all: forall p in pin: area(p) > 0.5\nrule some: exists p in pin: area(p) >= 0",
                     [{}], slots=3, size=(16, 16))
    assert truth[0, 0] == pytest.approx(1.0, abs=1e-6) and truth[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_truth_does_not_depend_on_the_number_of_empty_slots() -> None:
    rules = PINS + "rule small: forall p in pin: area(p) <= 0.02\nrule big: exists p in pin: area(p) >= 0.02"
    masks = [{"pin": torch.stack([disc(0.3, 0.3, 0.05), disc(0.7, 0.7, 0.15)])}]
    few, many = evaluate(rules, masks, slots=2), evaluate(rules, masks, slots=20)
    assert torch.allclose(few, many, atol=1e-6)
    assert few[0, 0] < 0.5 < few[0, 1]  # one of the two pins is too big for `small`


def test_pairs_range_over_distinct_members_only() -> None:
    rules = PINS + "rule apart: forall a, b in pin: not overlaps(a, b)"
    one = [{"pin": disc(0.5, 0.5, 0.2)[None]}]
    apart = [{"pin": torch.stack([disc(0.25, 0.25, 0.1), disc(0.75, 0.75, 0.1)])}]
    stacked = [{"pin": torch.stack([disc(0.5, 0.5, 0.2), disc(0.5, 0.5, 0.2)])}]
    assert float(evaluate(rules, one, slots=3)[0, 0]) > 0.99  # a pin never overlaps "another" pin that is itself
    assert float(evaluate(rules, apart)[0, 0]) > 0.99
    assert float(evaluate(rules, stacked)[0, 0]) < 0.01


def test_where_filters_the_quantified_instances() -> None:
    rules = PINS + "rule red_left: forall p in pin where color == red: x(p) < 0.5"
    masks = [{"pin": torch.stack([disc(0.2, 0.5, 0.1), disc(0.8, 0.5, 0.1)])}]
    good = evaluate(rules, masks, attributes=[{"pin": {"color": ["red", "blue"]}}])
    bad = evaluate(rules, masks, attributes=[{"pin": {"color": ["blue", "red"]}}])
    assert float(good[0, 0]) > 0.99 and float(bad[0, 0]) < 0.01


def test_semantics_is_chosen_by_the_logic_block() -> None:
    rules = 'object pin "p"\nrule r: area(pin) >= 0.1 and area(pin) <= 0.3\n'
    masks = [{"pin": box(0.0, 0.0, 0.5, 0.5)[None]}]  # area 0.25 → both sides sigmoid(±1) etc.
    prog_godel = program(rules + "logic { semantics = godel, tau = 0.1 }")
    out = compile_program(prog_godel)(grounding_from_masks(prog_godel, masks))
    low, high = (float(atom.truth[0]) for atom in out.atoms["r"])
    assert float(out.truth[0, 0]) == pytest.approx(min(low, high), abs=1e-6)
    prog_product = program(rules + "logic { tau = 0.1 }")
    out = compile_program(prog_product)(grounding_from_masks(prog_product, masks))
    assert float(out.truth[0, 0]) == pytest.approx((low * (1 - 1e-4) + 1e-4) * (high * (1 - 1e-4) + 1e-4), abs=1e-6)


def test_atoms_explain_per_cell_counts() -> None:
    prog = load_rules(RULES_FILES[[p.stem for p in RULES_FILES].index("pushpins")])
    cell_23 = prog.region("compartment").cell_box(1, 2)
    centre = ((cell_23[0] + cell_23[2]) / 2, (cell_23[1] + cell_23[3]) / 2)
    pins = torch.stack([disc(centre[0] - 0.03, centre[1], 0.02), disc(centre[0] + 0.03, centre[1], 0.02)])
    out = compile_program(prog)(grounding_from_masks(prog, [{"pushpin": pins}]))
    atom = out.atoms["one_per_compartment"][0]
    assert [axis.var for axis in atom.axes] == ["c"] and atom.axes[0].labels[7] == "compartment[2,3]"
    assert dict(atom.terms)["count(pushpin in c)"].shape == (1, 15)
    lines = atom.lines(0)  # 15 cells, least true first: every empty cell and the doubly filled one
    assert len(lines) == 15
    assert any(line.startswith("count(pushpin in compartment[2,3]) = 2, expected == 1; truth 0.13") for line in lines)
    assert out.find("count(pushpin in c) == 1") == [atom]
    assert out.at(atom.span) == [atom]


def test_atom_lines_skip_absent_instances_and_name_present_ones() -> None:
    rules = PINS + "rule r: forall p in pin: area(p) <= 0.01"
    prog = program(rules)
    masks = [{"pin": torch.stack([disc(0.3, 0.3, 0.02), disc(0.7, 0.7, 0.2)])}]
    out = compile_program(prog)(grounding_from_masks(prog, masks, slots=4))
    lines = out.atoms["r"][0].lines(0)
    assert len(lines) == 2 and lines[0].startswith("area(pin#2) = 0.12")


def test_atom_lines_of_pairs_never_pair_a_member_with_itself() -> None:
    prog = program(PINS + "rule r: forall a, b in pin: abs(area(a) - area(b)) <= 0.001")
    masks = [{"pin": torch.stack([disc(0.3, 0.3, 0.05), disc(0.7, 0.7, 0.1)])}]
    out = compile_program(prog)(grounding_from_masks(prog, masks))
    lines = out.atoms["r"][0].lines(0)
    assert len(lines) == 2  # (pin#1, pin#2) and (pin#2, pin#1)
    assert all("pin#1) - area(pin#2)" in line or "pin#2) - area(pin#1)" in line for line in lines)


def test_missing_implementation_is_a_compile_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(REGISTRY, "_signatures", dict(REGISTRY._signatures))
    register_signature("unimplemented_test_measure", [("of", frozenset({ArgKind.OBJECTS}))], ArgKind.NUMBER, "test")
    with pytest.raises(CompileError, match="unimplemented_test_measure"):
        compile_program(program('object pin "p"\nrule r: unimplemented_test_measure(pin) > 1'))


@pytest.mark.parametrize(("shape_a", "shape_b"), [
    ((2, 3, 1, 5, 4), (2, 1, 6, 5, 4)), ((2, 1, 5, 4), (1, 1, 5, 4)), ((1, 3, 5, 4), (2, 3, 5, 4)), ((5, 4), (5, 4)),
])
def test_pixel_inner_matches_the_broadcast_product(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> None:
    a, b = torch.rand(shape_a), torch.rand(shape_b)
    assert torch.allclose(pixel_inner(a, b), (a * b).sum((-2, -1)), atol=1e-5)

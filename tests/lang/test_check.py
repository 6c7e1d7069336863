"""Checker: resolved IR for good programs, and the behaviours users rely on for bad ones."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dire_dsl.lang import ir
from dire_dsl.lang.check import check_program
from dire_dsl.lang.diagnostics import RulesCheckError
from dire_dsl.lang.parser import parse
from dire_dsl.lang.program import check_source, load_rules
from dire_dsl.lang.settings import TRAIN_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "rules").glob("*.rules"))
HEADER = (
    'category c\nobject pin "a pin"\nobject cable "a cable"\nobject connector "a connector"\n'
    "attribute cable.color { yellow, blue, red }\nattribute connector.clamps { 2, 3, 5 }\n"
    "region cell = grid(3, 5)\n"
)


def codes(source: str) -> list[str]:
    return [d.code for d in check_source(source).diagnostics]


def test_six_shipped_rules_files_exist_for_the_benchmark_categories() -> None:
    assert {p.stem for p in SHIPPED} >= {
        "breakfast_box", "juice_bottle", "pushpins", "screw_bag", "splicing_connectors", "pcb1"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_rules_check_without_any_warning(path: Path) -> None:
    result = check_source(path.read_text(encoding="utf-8"), str(path))
    assert result.ok and result.diagnostics == []
    assert result.program.category == path.stem
    assert result.program.rules


def test_count_in_cell_resolves_to_an_object_set_in_a_bound_cell() -> None:
    program = check_source(HEADER + "rule r hard: forall c in cell: count(pin in c) == 1\n").program
    rule = program.rules[0]
    assert rule.hard and rule.weight == 1.0
    quant = rule.formula
    assert isinstance(quant, ir.Quantifier) and quant.domain.kind == "cells"
    measure = quant.body.left
    assert isinstance(measure, ir.Measure) and measure.func == "count" and measure.integer
    objects = measure.args[0]
    assert objects.object == "pin" and objects.region.var == "c"


def test_fixed_cell_is_zero_based_in_the_ir_and_one_based_in_the_text() -> None:
    program = check_source(HEADER + "rule r: count(pin in cell[2, 3]) == 1\n").program
    assert program.rules[0].formula.left.args[0].region.cell == (1, 2)


def test_attribute_tests_resolve_values_and_negation() -> None:
    rule = "rule r: forall a, b in connector: a.clamps == b.clamps and cable.color != red\n"
    program = check_source(HEADER + rule).program
    quant = program.rules[0].formula
    same, is_not = quant.body.left, quant.body.right
    assert isinstance(same, ir.AttributeSame) and same.left.values == ["2", "3", "5"]
    assert isinstance(is_not, ir.AttributeIs) and is_not.negated and is_not.value == "red"


def test_the_checker_records_folded_constants_and_whole_number_comparisons() -> None:
    """The compiler reads these facts from the IR instead of working them out again."""
    program = check_source(HEADER + "rule a: count(pin) == 2 + 1\nrule b: area(pin) < -(1 + 1 / 4)\n"
                                    "rule c: count(pin) - area(pin) > 1\n").program
    whole, fraction, measured = (rule.formula for rule in program.rules)
    assert whole.integer and ir.constant_value(whole.right) == 3
    assert isinstance(fraction.right, ir.Negation) and ir.constant_value(fraction.right) == -1.25
    assert not fraction.integer and not measured.integer
    assert ir.constant_value(measured.left) is None


def test_integer_attribute_values_compare_with_numbers() -> None:
    program = check_source(HEADER + "rule r: forall c in connector: c.clamps == 5\n").program
    assert program.rules[0].formula.body.value == "5"


def test_mapping_table_keeps_pairs_in_order() -> None:
    program = check_source(HEADER + "rule r: cable.color -> connector.clamps { yellow: 2, blue: 3, red: 5 }\n").program
    assert program.rules[0].formula.pairs == [("yellow", "2"), ("blue", "3"), ("red", "5")]


def test_settings_have_defaults_and_typed_overrides() -> None:
    program = check_source(HEADER + "rule r: count(pin) == 1\ntrain { epochs = 3, lambda = 5e-7 }\n").program
    assert program.train["epochs"] == 3 and isinstance(program.train["epochs"], int)
    assert program.train["lambda"] == 5e-7
    assert program.train["max_gain"] == TRAIN_SETTINGS["max_gain"].default == 11.0
    assert program.logic["semantics"] == "product"


def test_regions_resolve_to_boxes() -> None:
    program = check_source(HEADER + "region tray = grid(2, 2, 0.1, 0.2, 0.9, 1)\nregion w = left\n"
                           "rule r: count(pin in tray[2, 2]) == 1 and count(pin in w) == 1\n").program
    tray = program.region("tray")
    assert tray.cell_box(1, 1) == pytest.approx((0.5, 0.6, 0.9, 1.0))
    assert program.region("w").box == (0.0, 0.0, 0.5, 1.0)


def test_all_problems_are_collected_in_one_run() -> None:
    source = HEADER + ("rule a: count(pn) == 1\nrule b: count(cable where color == green) == 1\n"
                       "rule c: area(pin) in [0.5, 0.1]\nrule a: count(pin) == 2\ntrain { epoch = 1 }\n")
    assert codes(source) == ["E203", "E207", "E305", "E211", "E212"]


def test_did_you_mean_is_offered_for_near_names() -> None:
    [diagnostic] = check_source(HEADER + "rule r: count(cabel) == 1\n").diagnostics
    assert diagnostic.help == "did you mean `cable`?"
    assert "declared objects: pin, cable, connector" in diagnostic.message


def test_warnings_do_not_block_the_program() -> None:
    result = check_source(HEADER + "rule r: count(pin) >= 0\n")
    assert result.ok and [d.code for d in result.warnings] == ["W403"]


def test_comparison_trivial_through_arithmetic_intervals() -> None:
    assert codes(HEADER + "rule r: area(pin) + area(cable) <= 2\n") == ["W403"]
    assert codes(HEADER + "rule r: x(pin) - 1 > 0.5\n") == ["W404"]
    assert codes(HEADER + "rule r: x(pin) - 0.5 > 0.25\n") == []


def test_load_rules_raises_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.rules"
    path.write_text(HEADER + "rule a: count(pn) == 1\nrule b: count(pn) == 2\n", encoding="utf-8")
    with pytest.raises(RulesCheckError) as info:
        load_rules(path)
    assert [d.code for d in info.value.diagnostics] == ["E203", "E203"]
    assert "bad.rules:8:15" in str(info.value) and "(and 1 more)" in str(info.value)


def test_checked_program_records_the_source_hash() -> None:
    first = check_source(HEADER + "rule r: count(pin) == 1\n").program
    second = check_source(HEADER + "rule r: count(pin) == 2\n").program
    assert len(first.source_sha256) == 64 and first.source_sha256 != second.source_sha256


HUGE = "1" + "0" * 400  # 10**400: no float holds it


def located(source: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in check_source(source).diagnostics]


def test_issue_16_range_up_to_1e309_is_one_diagnostic_not_a_crash() -> None:
    assert located(HEADER + "rule r: count(pin) in [5.5, 1e309]\n") == [("E108", 8, 29)]


@pytest.mark.parametrize("text", [
    "rule r: count(pin) == 1e309\n",  # also an E304 (`inf` is not whole) the literal's E108 already explains
    f"rule r: count(pin) <= {HUGE}\n",  # also W403
    "rule r weight 1e309: count(pin) == 1\n",
    f"region g = grid({HUGE}, 5)\n",
    f"train {{ epochs = {HUGE} }}\n",
    "train { lambda = 1e400 }\n",
    f"rule r: forall c in connector: c.clamps == {HUGE}\n",
    f"rule r: count(pin in cell[{HUGE}, 1]) == 1\n",
])
def test_a_literal_no_float_holds_is_reported_once_without_echoes(text: str) -> None:
    assert codes(HEADER + text) == ["E108"]


def test_negative_zero_constants_are_plain_zero_in_the_program() -> None:
    program = check_source(HEADER + "rule r: x(pin) >= -0 + 0.5\n").program
    assert str(program.rules[0].formula.right.left.value) == "0.0"


def test_a_tree_built_without_the_parser_cannot_smuggle_an_infinite_number() -> None:
    tree = parse(HEADER + "rule r: count(pin) < 1\n")
    rule = tree.items[-1]
    inf = rule.body.right.model_copy(update={"value": math.inf, "text": "inf"})
    infinite = rule.body.model_copy(update={"right": inf})
    broken = tree.model_copy(update={"items": [*tree.items[:-1], rule.model_copy(update={"body": infinite})]})
    program, diagnostics = check_program(broken, "", "hand.rules")
    assert program is None and [d.code for d in diagnostics] == ["E108"]


@pytest.mark.parametrize("text, where", [
    ("region g = grid(99999999999999999999, 5)\nrule r: forall c in g: count(pin in c) <= 1\n", (8, 17)),  # issue 16
    ("region g = grid(5, 65)\n", (8, 20)),
    ("region g = grid(40, 40)\n", (8, 12)),
    ("region a = grid(32, 32)\nregion b = grid(32, 32)\nregion c = grid(32, 32)\nregion d = grid(32, 32)\n", (11, 1)),
    ("region g = grid(6, 6)\nrule r: forall a, b in g: count(pin in a) <= count(pin in b)\n", (9, 9)),
    ("rule r: forall a in cell: forall b in cell: forall c in cell: count(pin in a) <= count(pin in c)\n", (8, 45)),
])
def test_grids_and_the_cells_a_rule_iterates_are_bounded(text: str, where: tuple[int, int]) -> None:
    assert located(HEADER + text) == [("E318", *where)]


@pytest.mark.parametrize("text", [
    "region g = grid(16, 64)\nrule r: forall c in g: count(pin in c) <= 1\n",  # 1024 cells, each once
    "region g = grid(4, 8)\nrule r: forall a, b in g: count(pin in a) <= count(pin in b) + 1\n",  # 32² pairs
    # 15·64 cells
    "region g = grid(8, 8)\nrule r: forall a in cell: forall b in g: count(pin in a) <= count(pin in b) + 1\n",
])
def test_grids_within_the_limits_check(text: str) -> None:
    assert check_source(HEADER + text).ok


@pytest.mark.parametrize("text, message", [
    ("rule r: area(pin) < 1e38 * 10\n", "`1e38 * 10` overflows"),
    ("rule r: x(pin) * 1e30 * 1e30 > 0.5\n", "`x(pin) * 1e30 * 1e30` overflows"),
    ("rule r: count(pin) / 0 < 1\n", "`count(pin) / 0` divides by zero"),
    ("rule r: count(pin) < -3e38 - 3e38\n", "`-3e38 - 3e38` overflows"),
])
def test_arithmetic_that_overflows_or_divides_by_zero_is_an_error(text: str, message: str) -> None:
    [diagnostic] = check_source(HEADER + text).diagnostics
    assert diagnostic.code == "E319" and diagnostic.message.startswith(message)


def test_wide_but_finite_arithmetic_and_measured_divisors_are_fine() -> None:
    assert codes(HEADER + "rule r: (2 * x(pin) - 1) * 3.4e38 < 1e38\n") == []
    assert codes(HEADER + "rule r: area(pin) / area(cable) < 2\n") == []


@pytest.mark.parametrize("text", [
    "train { seed = 99999999999999999999 }\n",  # NumPy and scikit-learn refuse seeds ≥ 2³²
    "logic { sigma = 1e-300 }\n",  # σ² vanishes: `==` would compute 0/0
    "logic { tau = 1e-300 }\n",
])
def test_settings_that_break_training_are_out_of_range(text: str) -> None:
    assert codes(HEADER + text) == ["E311"]


@pytest.mark.parametrize("weight", ["1e-300", "1e30", "0", "-0"])
def test_a_weight_float32_gates_cannot_hold_is_out_of_range(weight: str) -> None:
    [diagnostic] = check_source(HEADER + f"rule r weight {weight}: count(pin) == 1\n").diagnostics
    assert diagnostic.code == "E315" and "[1e-06, 1e+06]" in diagnostic.message

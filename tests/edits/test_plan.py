"""plan_edits reads only the IR: which edits each kind of rule yields, on the shipped rules
files and on a program made up here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dire_dsl.edits import plan as plan_module
from dire_dsl.edits.recipes import Duplicate, EditRecipe, Move, Recolour, Scale, Trim
from dire_dsl.edits.synthesize import plan_edits
from dire_dsl.lang import ir
from dire_dsl.lang.program import check_source, load_rules
from dire_dsl.lang.signatures import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "rules").glob("*.rules"))


def describe(recipe: EditRecipe) -> str:
    """One line per recipe: `kind object[where] in place <details> | rules`."""
    target = recipe.target
    text = f"{recipe.kind} {target.object}"
    if target.where is not None:
        text += f"[{target.where.attribute} {target.where.op} {target.where.value}]"
    if target.place is not None:
        text += f" in {target.place.name}"
    if isinstance(recipe, Duplicate) and recipe.into is not None:
        text += f" into {recipe.into.name}"
    if isinstance(recipe, Move):
        goal = recipe.goal
        text += f" {goal.kind}"
        if goal.place is not None:
            text += f" {goal.place.name}"
        if goal.func is not None:
            text += f" {goal.func} {goal.direction}"
        if goal.partner is not None:
            text += f" {goal.partner.object}"
        if goal.bounds is not None:
            text += f" {_bounds(goal.bounds)}"
        if recipe.part is not None:
            text += f" part {recipe.part.name}"
    if isinstance(recipe, Trim):
        text += f" {recipe.func}" + (f" {_bounds(recipe.bounds)}" if recipe.bounds else "")
    if isinstance(recipe, Scale):
        text += f" {recipe.direction} {recipe.func}" + (" every" if recipe.every else "")
        text += f" {_bounds(recipe.bounds)}" if recipe.bounds else ""
    if isinstance(recipe, Recolour):
        text += f" {recipe.attribute} to {'/'.join(recipe.values)}"
        if recipe.mapping is not None:
            text += f" against {recipe.mapping.partner.object}.{recipe.mapping.attribute}"
    return f"{text} | {', '.join(recipe.rules)}"


def _bounds(bounds: tuple[float, float]) -> str:
    return "[" + ", ".join(f"{b:g}" for b in bounds) + "]"


def plan(category: str) -> list[str]:
    rules = ROOT / "tests" / "fixtures" / "frozen_rules" / f"{category}.rules"
    return [describe(r) for r in plan_edits(load_rules(rules))]


# ---------------------------------------------------------------- shipped rules
def test_pushpins_cells_and_counts() -> None:
    assert plan("pushpins") == [
        "remove pushpin in compartment | one_per_compartment",
        "move pushpin in compartment leave compartment | one_per_compartment",
        "duplicate pushpin in compartment into compartment | one_per_compartment",
        "remove pushpin | fifteen_pins",
        "duplicate pushpin | fifteen_pins",
        "remove separator | all_separators",
        "duplicate separator | all_separators",
    ]


def test_screw_bag_filters_guards_and_merged_recolours() -> None:
    assert plan("screw_bag") == [
        "remove screw[length == long] | one_long_screw",
        "duplicate screw[length == long] | one_long_screw",
        "recolour screw[length == long] length to short | one_long_screw, one_short_screw",
        "recolour screw[length == short] length to long | one_long_screw, one_short_screw",
        "remove screw[length == short] | one_short_screw",
        "duplicate screw[length == short] | one_short_screw",
        "remove nut | two_nuts",
        "duplicate nut | two_nuts",
        "remove washer | two_washers",
        "duplicate washer | two_washers",
        "scale screw[length == long] up length [0.38, 0.5] | screw_lengths",
        "scale screw[length == long] down length [0.38, 0.5] | screw_lengths",
        "scale screw[length == short] up length [0.22, 0.32] | screw_lengths",
        "scale screw[length == short] down length [0.22, 0.32] | screw_lengths",
    ]


def test_juice_bottle_relations_positions_and_tables() -> None:
    lines = plan("juice_bottle")
    assert "move icon off fruit_label | icon_on_label" in lines
    assert "move fruit_label measure y up juice_label | label_order" in lines
    assert "move fruit_label measure y both [0.45, 0.62] | labels_in_place" in lines
    assert "trim juice top [0.2, 0.3] | fill_level" in lines
    assert "remove_all juice | not_empty" in lines
    assert "scale juice down area every [0.1, inf] | not_empty" in lines
    assert "recolour juice color to red/yellow/white against icon.fruit | juice_matches_icon" in lines
    assert "recolour icon fruit to cherry/orange/banana against juice.color | juice_matches_icon" in lines


def test_splicing_connectors_parts_pairs_and_contacts() -> None:
    lines = plan("splicing_connectors")
    assert "move cable measure y both part left_end | mirrored" in lines
    assert "move cable measure y both part right_end | mirrored" in lines
    assert "move connector apart cable | connected" in lines
    assert "recolour connector clamps to 2/3/5 against connector.clamps | same_size" in lines
    assert "move connector enter left_end | two_connectors" in lines
    assert "duplicate connector into right_end | two_connectors" in lines


def test_breakfast_box_sums_lower_bounds_and_ratios() -> None:
    lines = plan("breakfast_box")
    assert "duplicate tangerine into cereal_side | fruit_stays_left" in lines  # `a + b <= 0.5` breaks upwards
    assert "move nectarine enter cereal_side | fruit_stays_left" in lines
    assert "remove_all almond in cereal_side | toppings_present" in lines  # `area >= 0.01`: missing
    assert "scale almond up area every | topping_ratio" in lines  # the denominator of a ratio, both ways
    assert "remove_all banana_chip | topping_ratio" in lines


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_every_rule_gets_edits_naming_declared_things(path: Path) -> None:
    program = load_rules(path)
    recipes = plan_edits(program)
    objects = {o.name: o for o in program.objects}
    assert len(set(recipes)) == len(recipes)
    assert {rule.name for rule in program.rules} == {name for r in recipes for name in r.rules}
    for recipe in recipes:
        assert recipe.target.object in objects
        if isinstance(recipe, Recolour):
            assert set(recipe.values) <= set(objects[recipe.target.object].attributes[recipe.attribute])


# ---------------------------------------------------------------- a program made up here
DESK = """
category desk

object pen "a pen"
object cup "a cup"
object lamp "a desk lamp"
object book "a book"

attribute pen.color { black, red, green }
attribute cup.size { small, large }
attribute book.kind { novel, manual }
attribute lamp.state { on, off }

region tray = grid(1, 3, 0.1, 0.6, 0.9, 0.9)

rule pens_in_tray:
    count(pen in tray[1, 2] where color != red) >= 2

rule few_cups:
    not (count(cup) > 1)

rule balance:
    ratio(area(book), area(cup)) - 1 <= 2 * count(lamp)

rule order:
    forall c in cup: left_of(c, lamp)

rule lamp_elsewhere:
    not inside(lamp, tray)

rule short_manuals:
    forall b in book: b.kind == manual implies length(b) <= 0.3

rule lamp_lit:
    lamp.state != off

rule matching_cup:
    cup.size -> book.kind { small: novel, large: manual }

rule lamp_high:
    -y(lamp) >= -0.4

rule a_pen_in_the_tray:
    exists p in pen: inside(p, tray)
"""


def desk() -> ir.CheckedProgram:
    result = check_source(DESK, "desk.rules")
    assert result.ok, result.diagnostics
    assert result.program is not None
    return result.program


def test_made_up_program() -> None:
    assert [describe(r) for r in plan_edits(desk())] == [
        # a lower bound on a filtered count in one cell: remove, move out, remove all, recolour out
        "remove pen[color != red] in tray[1, 2] | pens_in_tray",
        "move pen[color != red] in tray[1, 2] leave tray[1, 2] | pens_in_tray",
        "remove_all pen[color != red] in tray[1, 2] | pens_in_tray",
        "recolour pen[color != red] in tray[1, 2] color to red | pens_in_tray",
        # not (count > 1) is count <= 1: breaks upwards only
        "duplicate cup | few_cups",
        # ratio(area(book), area(cup)) - 1 <= 2 * count(lamp): book up, cup down, lamp down
        "scale book up area every | balance",
        "duplicate book | balance",
        "scale cup down area every | balance",
        "remove_all cup | balance",
        "remove lamp | balance",
        "move cup measure x up lamp | order",
        "move lamp enter tray | lamp_elsewhere",
        # the antecedent of `implies` narrows the instances the consequent's edit picks
        "scale book[kind == manual] up length [-inf, 0.3] | short_manuals",
        "recolour lamp state to off | lamp_lit",
        "recolour cup size to small/large against book.kind | matching_cup",
        "recolour book kind to novel/manual against cup.size | matching_cup",
        # -y >= -0.4 breaks when y goes up; a negated measure has no plain bounds
        "move lamp measure y up | lamp_high",
        "move pen leave tray | a_pen_in_the_tray",
    ]


def test_a_path_breaks_when_the_part_it_goes_through_is_cut() -> None:
    source = DESK.split("rule ")[0] + """
rule pens_bridge:
    forall p in pen: joins(p, cup, book)

rule nothing_bridges:
    not joins(lamp, cup, book)
"""
    result = check_source(source, "bridge.rules")
    assert result.ok and result.program is not None, result.diagnostics
    # making a path where there is none is no edit
    assert [describe(r) for r in plan_edits(result.program)] == ["cut pen | pens_bridge"]


def test_no_category_knowledge_in_code() -> None:
    """No object, region, attribute or value of any shipped rules file is named in the edit code
    (docstrings and comments may use them as examples; measure names like `length` are language)."""
    declared: set[str] = set()
    for path in RULES:
        program = load_rules(path)
        declared |= {o.name for o in program.objects} | {r.name for r in program.regions}
        declared |= {v for o in program.objects for vs in o.attributes.values() for v in vs}
        declared |= {a for o in program.objects for a in o.attributes}
    declared -= set(REGISTRY.names())
    for path in sorted(Path(plan_module.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        used |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                 and isinstance(node.value, str) and id(node) not in docstrings}
        assert not used & declared, f"{path.name} names {sorted(used & declared)}"

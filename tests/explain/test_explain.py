"""Explanations: every rule named with its truth, evidence and source line; marks where rules break."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dire_dsl.data.errors import ImageReadError
from dire_dsl.explain.explain import Explanation, RuleExplanation, explain, marks_for, render_json, render_text
from dire_dsl.explain.structural import STRUCTURAL
from dire_dsl.lang.program import load_rules
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.evidence import mentions, rule_objects, violated_marks
from dire_dsl.logic.grounding import grounding_from_masks
from dire_dsl.run.inference import Scorer
from dire_dsl.run.trained import load_run

SIZE = 64


def _disc(cx: float, cy: float, r: float = 0.03) -> torch.Tensor:
    centres = (torch.arange(SIZE) + 0.5) / SIZE
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    return (((xs - cx) ** 2 + (ys - cy) ** 2) <= r * r).float()


def test_marks_point_at_the_broken_cells(tiny_rules: Path) -> None:
    program = load_rules(tiny_rules)
    region = program.region("compartment")
    pins = []
    for row in range(region.rows):
        for col in range(region.cols):
            x0, y0, x1, y1 = region.cell_box(row, col)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if (row, col) == (1, 2):
                continue  # an empty compartment: [2,3]
            pins.append(_disc(cx, cy))
            if (row, col) == (0, 0):
                pins.append(_disc(cx + 0.05, cy))  # two pins in compartment [1,1]
    grounding = grounding_from_masks(program, [{"pushpin": torch.stack(pins)}], slots=24)
    logic = compile_program(program)(grounding)
    marks = violated_marks(program, logic, grounding, 0, violated={"all_separators"})
    cells = {m.label for m in marks if m.rule == "one_per_compartment"}
    assert cells == {"compartment[1,1]", "compartment[2,3]"}
    boxed = next(m for m in marks if m.label == "compartment[1,1]")
    assert boxed.box == pytest.approx(region.cell_box(0, 0))
    assert boxed.mask is not None and boxed.mask.max() > 0.5  # the two pins inside the box are drawn
    # 13 of 15 compartments are right and the rule is not violated: its broken cells are partial marks
    assert float(logic.rule("one_per_compartment")[0]) >= 0.5 and boxed.partial
    assert not any(m.rule == "fifteen_pins" for m in marks)  # 15 pins in all: nothing to mark
    assert all(not m.partial for m in marks if m.rule == "all_separators")  # the violated rule's marks are whole
    only = violated_marks(program, logic, grounding, 0, violated={"all_separators"}, partial=False)
    assert only and {m.rule for m in only} == {"all_separators"} and not any(m.partial for m in only)


def test_rules_know_their_objects(tiny_rules: Path) -> None:
    program = load_rules(tiny_rules)
    about = {rule.name: rule_objects(rule) for rule in program.rules}
    assert about["one_per_compartment"] == ("pushpin",)
    assert about["all_separators"] == ("separator",)
    assert mentions(program.rules[0].formula).regions == ()  # `in c` is the quantified cell, not a fixed one


@pytest.fixture(scope="module")
def images(tiny_loco: Path) -> list[Path]:
    test = tiny_loco / "pushpins" / "test"
    return [test / "good" / "000.png", test / "logical_anomalies" / "000.png", test / "logical_anomalies" / "001.png"]


def test_explain_names_every_rule_violated_first(tiny_run: Path, images: list[Path], tmp_path: Path) -> None:
    run = load_run(tiny_run)
    explanations = explain(tiny_run, images, out_dir=tmp_path)
    assert [e.image for e in explanations] == [str(p) for p in images]
    lines = {rule.name: rule.span.line for rule in run.program.rules}
    for item in explanations:
        assert {r.rule for r in item.rules} == set(lines)
        assert item.verdict == ("anomalous" if item.score > item.threshold else "normal")
        assert item.threshold == pytest.approx(run.calibration.threshold)
        flags = [r.violated for r in item.rules]
        assert flags == sorted(flags, reverse=True)  # violated rules first ...
        violated_z = [r.z for r in item.rules if r.violated and not r.pruned]
        assert violated_z == sorted(violated_z, reverse=True)  # ... the most abnormal (vs. normals) first
        assert item.violated == [r.rule for r in item.rules if r.violated]
        for rule in item.rules:
            assert rule.line == lines[rule.rule]
            assert rule.source.lstrip().startswith(f"rule {rule.rule}")
            assert rule.evidence and all("truth" in e for e in rule.evidence)
            assert rule.violated == (rule.z >= 3.0)  # the one definition: what the score counts
            assert not (rule.pruned and rule.violated)
        assert item.overlay is not None
        with Image.open(item.overlay) as overlay:
            assert overlay.format == "PNG"
    assert len({e.overlay for e in explanations}) == len(images)  # same stem in two folders: two files


def test_renderers(tiny_run: Path, images: list[Path]) -> None:
    explanations = explain(tiny_run, images[:2])
    text = render_text(explanations)
    for item in explanations:
        assert item.image in text
        for rule in item.rules:
            assert rule.rule in text
    data = json.loads(render_json(explanations))
    assert data[0]["rules"][0]["rule"] == explanations[0].rules[0].rule
    assert data[1]["overlay"] is None


def test_unreadable_image_is_named(tiny_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match="broken.png"):
        explain(tiny_run, [bad])


@pytest.mark.parametrize("rules", sorted((Path(__file__).resolve().parents[2] / "dire_dsl" / "rules").glob("*.rules")),
                         ids=lambda p: p.stem)
def test_every_shipped_rule_knows_its_objects(rules: Path) -> None:
    program = load_rules(rules)
    declared = {obj.name for obj in program.objects}
    for rule in program.rules:
        found = rule_objects(rule)
        assert found, rule.name
        assert set(found) <= declared
        assert {name for name, _ in mentions(rule.formula).regions} <= {r.name for r in program.regions}


def _row(rule: str, truth: float, z: float) -> RuleExplanation:
    return RuleExplanation(rule=rule, truth=truth, z=z, violated=z >= 3.0, hard=False, pruned=False,
                           gate=1.0, line=3, source=f"rule {rule}: ...", objects=["pin"], false_at=[], evidence=[])


def test_a_rule_as_false_as_on_the_normals_is_said_not_to_count() -> None:
    rows = [_row("new_break", 0.1, 12.0), _row("never_learnt", 0.0, 0.0), _row("fine", 1.0, 0.0),
            _row("above_normal", 0.7, 4.0)]
    text = render_text([Explanation(image="a.png", score=9.0, threshold=2.0, verdict="anomalous",
                                    violated=["new_break", "above_normal"], rules=rows)])
    head = text.splitlines()[0]
    assert "violated: new_break, above_normal (never_learnt: false, but as false on the validation normals" in head
    # VIOLATED means z >= 3 spreads, whatever the truth: a rule at truth 0.7 can be violated, one at 0.0 not.
    assert "VIOLATED above_normal (truth 0.700" in text and "normal   never_learnt (truth 0.000" in text
    clean = render_text([Explanation(image="b.png", score=9.0, threshold=2.0, verdict="anomalous",
                                     violated=["new_break"], rules=rows[:1])]).splitlines()[0]
    assert clean.endswith("violated: new_break")


def test_a_painted_defect_is_named_beside_the_rules_and_marked(tiny_run: Path, tiny_loco: Path,
                                                                tmp_path: Path) -> None:
    """A magenta blob on a good image: the explanation names a structural finding beyond normal
    at the blob, the text says so, and the overlay's mark covers it."""
    good = tiny_loco / "pushpins" / "test" / "good" / "000.png"
    pixels = np.asarray(Image.open(good).convert("RGB")).copy()
    height, width = pixels.shape[:2]
    top, left = height // 3, width // 2
    pixels[top:top + height // 8, left:left + width // 8] = (255, 0, 255)
    painted = tmp_path / "painted.png"
    Image.fromarray(pixels).save(painted)
    clean, defective = explain(tiny_run, [good, painted])
    finding = defective.structural
    assert finding is not None and finding.beyond_normal
    assert clean.structural is not None and finding.z > clean.structural.z
    x, y = finding.at
    assert abs(x - (left + width / 16) / width) < 0.1 and abs(y - (top + height / 16) / height) < 0.1
    assert "DEFECT   structural:" in render_text([defective])
    trained = load_run(tiny_run)
    scorer = Scorer(trained)
    scores = scorer.score([pixels])
    marks = marks_for(trained, scores, 0)
    area = next(mark for mark in marks if mark.rule == STRUCTURAL).mask
    row, col = int(y * area.shape[0]), int(x * area.shape[1])
    assert area[row, col] > 0

"""Good images to measure: a split's annotated masks, or a trained run's own grounding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dire_dsl.data.errors import DataError
from dire_dsl.lang.program import load_rules
from dire_dsl.measure.good_groundings import annotated_images, run_images


def test_annotated_images_give_one_grounding_row_per_annotated_image(tiny_loco: Path, tiny_rules: Path) -> None:
    program = load_rules(tiny_rules)
    annotated = json.loads((tiny_loco / "pushpins" / "annotations" / "validation.json").read_text())
    expected = len({a["image_id"] for a in annotated["annotations"]})
    good = annotated_images(program, tiny_loco, "pushpins", "validation", (32, 64))
    rows = [g.batch_size for g in good.groundings]
    assert sum(rows) == good.images == expected
    assert good.source.endswith("validation.json") and good.unannotated == set()


def test_a_split_without_annotations_says_what_to_do(tiny_loco: Path, tiny_rules: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(tiny_loco / "pushpins", root / "pushpins", ignore=shutil.ignore_patterns("validation.json"))
    with pytest.raises(DataError, match=r"annotations/validation\.json: no component annotations.*--run"):
        annotated_images(load_rules(tiny_rules), root, "pushpins", "validation", (32, 64))


def test_a_run_reads_its_validation_normals_through_its_own_model(tiny_run: Path, tiny_loco: Path) -> None:
    program, good = run_images(tiny_run, "validation")
    folder = tiny_loco / "pushpins" / "validation" / "good"
    rows = list(good.groundings)
    assert sum(g.batch_size for g in rows) == good.images == len(list(folder.glob("*.png")))
    assert {o.name for o in program.objects} == set(rows[0].objects)
    assert str(folder) in good.source

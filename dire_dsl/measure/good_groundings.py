"""Groundings of images known to be good, for `dire measure`: what the annotations say, or
what a trained run reads.

The annotations' masks give the product's true measurements; a run's grounding gives the
measurements its rules will actually be scored on (masks spill, instances merge), which is
what a bound has to leave room for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dire_dsl.data.coco import read_components_for, resize_components
from dire_dsl.data.errors import DataError
from dire_dsl.lang import ir
from dire_dsl.logic.grounding import Grounding

BATCH = 32
"""Images per grounding: bounds memory on large splits (a few hundred annotated images)."""


@dataclass
class GoodImages:
    """Batches of groundings of one split's good images, and what the reading must skip."""

    source: str  # what was read, for the report: a file, or a run and a split folder
    images: int
    groundings: Iterator[Grounding]
    unannotated: set[str]  # attributes the source leaves unread: rules on them say nothing


def annotated_images(program: ir.CheckedProgram, root: Path, category: str, split: str,
                     hw: tuple[int, int]) -> GoodImages:
    """The COCO component annotations of `root/category/annotations/<split>.json`, at size `hw`."""
    from dire_dsl.grounding.annotations import annotated_grounding, unannotated_attributes

    path = root / category / "annotations" / f"{split}.json"
    if not path.is_file():
        raise DataError(f"{path}: no component annotations for the {split} split; annotate some good images "
                        "there (COCO, category names = the rules' object names), or measure a trained run "
                        "with --run")
    by_name = read_components_for(path, {o.name: o.attributes for o in program.objects})
    annotated = [resize_components(components, hw) for _, components in sorted(by_name.items()) if components]
    if not annotated:
        raise DataError(f"{path}: annotates no image")

    def batches() -> Iterator[Grounding]:
        for start in range(0, len(annotated), BATCH):
            yield annotated_grounding(program, annotated[start:start + BATCH], hw)

    return GoodImages(str(path), len(annotated), batches(), unannotated_attributes(program, annotated))


def run_images(run: Path, split: str, data_root: Path | None = None,
               category: str | None = None) -> tuple[ir.CheckedProgram, GoodImages]:
    """The trained run's own grounding of the split's good images (its data folder and
    category unless given), with the run's program (whose objects the grounding has)."""
    from dire_dsl.data.loco import load_split
    from dire_dsl.run.trained import load_run

    trained = load_run(run)
    root = data_root or Path(trained.config.data_root)
    name = category or trained.config.category
    _, images = load_split(root, name, split, trained.config.input_hw())
    folder = root / name / split / "good"
    if not images:
        raise DataError(f"{folder}: no images to measure")

    def batches() -> Iterator[Grounding]:
        model = trained.detector.model
        for start in range(0, len(images), BATCH):
            chunk = torch.from_numpy(np.stack(images[start:start + BATCH])).permute(0, 3, 1, 2)  # a writable copy
            with torch.no_grad():
                yield model(chunk.float() / 255).grounding

    return trained.program, GoodImages(f"{run} on {folder}", len(images), batches(), set())

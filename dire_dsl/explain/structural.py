"""The structural half of an explanation: where the image looks unlike any normal one, and on what.

The structural map (`Calibration.structural_z`) is in spreads of the validation normals'
maxima, so its peak reads like a rule's z: 3 or more is beyond what normal images show. The
peak is named by what the grounding found there (the instance `pushpin#7`, else the object
class, else the background) and by the grid cell it lies in, and its area above the line
becomes a mark for the overlay, drawn like a violated rule's.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel

from dire_dsl.logic.evidence import Mark, rule_violated
from dire_dsl.logic.regions import cell_labels
from dire_dsl.run.inference import ScoringModel
from dire_dsl.run.scoring import BatchScores

STRUCTURAL = "structural defect"
"""The mark's rule name: a rule name is an identifier, so it cannot clash with one."""
ON_PART = 0.3
"""A mask value at the peak from which the peak counts as lying on that instance or object."""


class StructuralFinding(BaseModel):
    z: float  # the structural map's peak, in spreads of the validation normals
    beyond_normal: bool  # rule_violated(z): the same line a rule's z is held to
    on: str  # what the grounding found at the peak: `pushpin#7`, `pushpin`, or `background`
    cell: str | None  # the grid cell the peak lies in, e.g. `compartment[2,3]`
    at: tuple[float, float]  # the peak's position (x, y) as fractions of the image's width and height

    def sentence(self) -> str:
        where = f" in {self.cell}" if self.cell else ""
        if not self.beyond_normal:
            return f"no structural finding (peak {self.z:+.1f} normal spreads, on {self.on}{where})"
        thing = "the background" if self.on == "background" else self.on
        kind = self.on.split("#")[0]
        unlike = f"looks unlike any normal {kind}" if kind != "background" else "looks unlike the normal images"
        return f"{thing}{where} {unlike} ({self.z:+.1f} normal spreads)"


def _at(masks: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """Values of masks [..., h, w] at the fractional position (y, x)."""
    height, width = masks.shape[-2:]
    return masks[..., min(height - 1, int(y * height)), min(width - 1, int(x * width))]


def _on(scores: BatchScores, index: int, y: float, x: float) -> str:
    best, label = ON_PART, "background"
    for name, found in scores.grounding.objects.items():
        if found.instances.shape[1]:
            values = _at(found.instances[index].detach().float(), y, x)
            slot = int(values.argmax())
            if float(values[slot]) >= best:
                best, label = float(values[slot]), f"{name}#{slot + 1}"
    if label != "background":
        return label
    for name, found in scores.grounding.objects.items():
        value = float(_at(found.mask[index].detach().float(), y, x))
        if value >= best:
            best, label = value, name
    return label


def _cell(trained: ScoringModel, y: float, x: float) -> str | None:
    for region in trained.program.regions:
        cells = [(r, c) for r in range(region.rows) for c in range(region.cols)]
        for label, (r, c) in zip(cell_labels(region), cells):
            x0, y0, x1, y1 = region.cell_box(r, c)
            if x0 <= x <= x1 and y0 <= y <= y1:
                return label
    return None


def structural_finding(trained: ScoringModel, scores: BatchScores, index: int) -> tuple[StructuralFinding, Mark | None]:
    """The finding on image `index` of a scored batch, and its overlay mark (None unless beyond normal)."""
    structural = trained.calibration.structural_z(scores)[index].detach().float().cpu()
    height, width = structural.shape
    peak = int(structural.argmax())
    z = float(structural.flatten()[peak])
    y, x = (peak // width + 0.5) / height, (peak % width + 0.5) / width
    finding = StructuralFinding(z=round(z, 3), beyond_normal=bool(rule_violated(z)), on=_on(scores, index, y, x),
                                cell=_cell(trained, y, x), at=(round(x, 4), round(y, 4)))
    if not finding.beyond_normal:
        return finding, None
    area = (structural.numpy() >= max(z / 2, 3.0)).astype(np.float32)
    return finding, Mark(STRUCTURAL, finding.on, 0.0, None, area)

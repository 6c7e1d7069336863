"""Where the logical half of the anomaly map goes: on the parts behind the violated rules.

A missing pushpin should light up its empty compartment, an extra one the compartment that
holds two, a swapped pair the two parts: not the whole image. For each image this module
picks the pixels that carry the fused (logic + embedding) score:

1. the members of the violated rules' false atoms (`dire_dsl.logic.evidence`): a grid cell's
   box where it holds no part, an instance's mask, the parts in a cell. When any violated rule
   points at a member (a cell, an instance), rules that only point at a whole object class
   (`count(pushpin) == 15` marks every pin) are left out: the specific evidence says more;
2. otherwise (no rule is violated, or it names no place) every part the grounding found:
   the logic and the embedding speak about the parts, not about the background;
3. otherwise (nothing found at all) the whole image.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dire_dsl.lang import ir
from dire_dsl.logic.evidence import Mark, rule_marks, rule_violated
from dire_dsl.run.scoring import EVIDENCE_LEVEL, BatchScores, Calibration


def _is_specific(mark: Mark) -> bool:
    """A mark of one member (`compartment[2,3]`, `pushpin#4`), not of a whole object class or region."""
    return "#" in mark.label or "[" in mark.label


def _paint(marks: list[Mark], shape: tuple[int, int]) -> np.ndarray:
    """The union of marks at `shape`: an instance's or cell's parts by their mask, a place with
    no part in it (an empty compartment) by its box."""
    height, width = shape
    out = np.zeros(shape, dtype=np.float32)
    for mark in marks:
        if mark.mask is not None and mark.mask.shape == shape and float(mark.mask.max()) >= EVIDENCE_LEVEL:
            np.maximum(out, mark.mask, out=out)
        elif mark.box is not None:
            x0, y0, x1, y1 = mark.box
            rows = slice(int(np.floor(y0 * height)), max(int(np.ceil(y1 * height)), int(np.floor(y0 * height)) + 1))
            cols = slice(int(np.floor(x0 * width)), max(int(np.ceil(x1 * width)), int(np.floor(x0 * width)) + 1))
            out[rows, cols] = 1.0
    return out


def _parts(scores: BatchScores) -> Tensor | None:
    """[B, h, w] every part the grounding found (the largest class mask), or None without objects."""
    masks = [found.mask.detach().float() for found in scores.grounding.objects.values()]
    return torch.stack(masks).amax(dim=0) if masks else None


def evidence_masks(program: ir.CheckedProgram, calibration: Calibration, scores: BatchScores) -> Tensor:
    """[B, h, w] in [0, 1] at the grounding's mask resolution: where each image's fused score goes."""
    parts = _parts(scores)
    if parts is None:
        return torch.ones_like(scores.patch)
    out = parts.cpu().clone()
    if calibration.fusion > 0 and scores.rule_violation.shape[1]:
        z = calibration.rule_z(scores.rule_violation).cpu().numpy()
        shape = (out.shape[-2], out.shape[-1])
        for image in range(out.shape[0]):
            violated = [name for name, value in zip(scores.logic.rules, z[image]) if rule_violated(float(value))]
            marks = [mark for name in violated
                     for mark in rule_marks(program, scores.logic, scores.grounding, image, name)]
            specific = [mark for mark in marks if _is_specific(mark)]
            painted = _paint(specific or marks, shape)
            if painted.max() >= EVIDENCE_LEVEL:
                out[image] = torch.from_numpy(painted)
    empty = out.flatten(1).amax(dim=1) < EVIDENCE_LEVEL
    out[empty] = 1.0
    return out

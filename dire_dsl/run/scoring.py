"""From a trained detector to anomaly scores: distances from the normal cluster, fused.

Every score is a distance from the validation normals (never test images), in units of
their spread:

- logic distance: for each rule r, z_r = (v_r − μ_r) / max(σ_r, RULE_STD_FLOOR) with v_r =
  1 − S_r its violation, weighted by the rule's gate (pruned rules drop out); the image's
  logic distance is the largest — "how much further from normal is the worst rule?";
- embedding distance: the image embedding's distance from the normal centre, as a z-score;
- fused = α·logic + (1 − α)·embedding, α = `fusion` (0 when rules are off);
- structural map: each patch's distance to its nearest normal patch (`dire_dsl.run.appearance`,
  PatchCore), as a z-score of the validation normals' per-image maxima, so a normal image's
  map peaks near 0 and one spread is one spread (runs before the structural branch: beyond
  a margin of PATCH_MARGIN spreads).

The anomaly map keeps each kind of evidence where it was found: the structural map
everywhere, and the fused score painted on the evidence of the violated rules (the empty
cell, the extra instance; `dire_dsl.run.evidence_map`). Its maximum is the image score, as
MVTec LOCO's evaluation reads it, so the logic counts without flooding the map.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pydantic import BaseModel
from torch import Tensor

from dire_dsl.logic.compiler import LogicOutput
from dire_dsl.logic.grounding import Grounding
from dire_dsl.run import appearance, patch_cells
from dire_dsl.run.parts import paint_parts, part_descriptors, part_distances, part_memory
from dire_dsl.vision.model import ModelOutput

STD_FLOOR = 1e-4
RULE_STD_FLOOR = 0.05
"""The smallest spread a rule's violation is credited with on normal images. Forty validation
normals cannot tell a rule that never wobbles from one that wobbles by 0.1 once in a hundred
images; without this floor, a rule that held on all of them turns any later dip into a huge
z-score, and a good image with such a dip outscores a real break of a noisier rule (a nut
count that misreads now and then). A full violation still reads as 20 spreads. Rescoring the
same trained SynLOCO models (seeds 1 and 2, 300 test images each; docs/benchmarks.md), 0.02 →
0.05 raised the mean logical AUROC from 0.981 to 0.984 (screw_bag 0.977 → 0.988 at seed 1);
0.1 reached 0.985 but let the most abnormal rule point at the wrong object more often."""
PATCH_MARGIN = 3.0
"""In runs written before the structural branch, patch evidence counted once it was this many
normal spreads beyond the normal maximum (`Calibration.patch_margin`; new runs: 0)."""
EVIDENCE_LEVEL = 0.5
"""Pixels where an evidence mask (soft, in [0, 1]) reaches this carry the fused score."""


@dataclass
class BatchScores:
    distance: Tensor  # [B]
    violation: Tensor  # [B] 1 − S_logic
    rule_violation: Tensor  # [B, R] 1 − S_r
    patch: Tensor  # [B, h, w] nearest-neighbour distance to normal patches
    logic: LogicOutput
    grounding: Grounding
    parts: dict[str, Tensor] | None = None  # per object [B, S]: each instance's distance to normal ones


class Calibration(BaseModel):
    """Statistics of the validation normals that turn raw scores into comparable z-scores."""

    distance_mean: float
    distance_std: float
    rule_mean: list[float]
    rule_std: list[float]
    rule_weight: list[float]  # gate of each rule, normalised to mean 1 over active rules; 0 = pruned
    patch_mean: float
    patch_std: float
    fusion: float
    threshold: float
    patch_margin: float = PATCH_MARGIN  # spreads the structural map is lowered by (runs before the branch: 3)
    part_mean: list[float] = []  # per object: the validation normals' per-image largest instance distance
    part_std: list[float] = []
    n_validation: int
    pruned: list[tuple[str, float, str]] = []

    def problems(self, rules: int) -> list[str]:
        """What makes this calibration unusable with `rules` rules (empty when none).

        Checked when a run is loaded, since an edited calibration.json otherwise shows up as
        NaN scores or a tensor-shape traceback deep inside scoring.
        """
        found = []
        values = {name: [getattr(self, name)] for name in ("distance_mean", "distance_std", "patch_mean", "patch_std",
                                                           "fusion", "threshold", "patch_margin")}
        for name in ("part_mean", "part_std"):
            values[name] = getattr(self, name)
        if len(self.part_mean) != len(self.part_std):
            found.append(f"part_mean has {len(self.part_mean)} entries but part_std {len(self.part_std)}")
        for name in ("rule_mean", "rule_std", "rule_weight"):
            values[name] = getattr(self, name)
            if len(values[name]) != rules:
                found.append(f"{name} has {len(values[name])} entries, but the run's rules.rules has {rules} rules")
        for name, numbers in values.items():
            bad = next((v for v in numbers if not math.isfinite(v)), None)
            if bad is not None:
                found.append(f"{name} is {bad}, not a finite number")
            elif name.endswith("_std") and any(v <= 0 for v in numbers):
                found.append(f"{name} is {min(numbers)}, but a spread must be positive")
        if math.isfinite(self.fusion) and not 0 <= self.fusion <= 1:
            found.append(f"fusion is {self.fusion}, not between 0 and 1")
        return found

    def rule_z(self, rule_violation: Tensor) -> Tensor:
        """[B, R] gate-weighted z-scores of each rule's violation."""
        mean, std, weight = (torch.tensor(v, dtype=rule_violation.dtype, device=rule_violation.device)
                             for v in (self.rule_mean, self.rule_std, self.rule_weight))
        return weight * (rule_violation - mean) / std

    def logic_distance(self, rule_violation: Tensor) -> Tensor:
        """[B] the largest weighted rule z-score (0 when there is no active rule)."""
        if rule_violation.shape[1] == 0 or not any(self.rule_weight):
            return torch.zeros(rule_violation.shape[0], dtype=rule_violation.dtype, device=rule_violation.device)
        return self.rule_z(rule_violation).amax(dim=1)

    def fused(self, scores: BatchScores) -> Tensor:
        z_distance = (scores.distance - self.distance_mean) / self.distance_std
        if self.fusion == 0:
            return z_distance
        return (1 - self.fusion) * z_distance + self.fusion * self.logic_distance(scores.rule_violation)

    def part_z(self, scores: BatchScores) -> dict[str, Tensor]:
        """Per object [B, S]: each instance's distance to the normal instances of its object, in
        spreads of the validation normals' per-image largest (objects in the run's order)."""
        if not scores.parts or not self.part_mean:
            return {}
        order = list(scores.grounding.objects)
        return {name: (values - self.part_mean[order.index(name)]) / self.part_std[order.index(name)]
                for name, values in scores.parts.items()}

    def structural_z(self, scores: BatchScores) -> Tensor:
        """[B, h, w] the structural map: each patch's distance to the normal patches, in spreads
        of the validation normals' per-image maxima (less the run's margin), and each part's
        distance to the normal parts on the part's own mask, whichever is larger."""
        patch = (scores.patch - self.patch_mean) / self.patch_std - self.patch_margin
        z = self.part_z(scores)
        if not z:
            return patch
        return torch.maximum(patch, paint_parts(z, scores.grounding, (patch.shape[-2], patch.shape[-1])))

    def structural_score(self, scores: BatchScores) -> Tensor:
        """[B] the structural half alone: the structural map's maximum."""
        return self.structural_z(scores).amax(dim=(1, 2))

    def image_score(self, scores: BatchScores) -> Tensor:
        """[B] the larger of the two halves: the maximum of `anomaly_map` (up to resampling),
        since the fused score is painted on at least one pixel of every image."""
        return torch.maximum(self.fused(scores), self.structural_score(scores))

    def anomaly_map(self, scores: BatchScores, size: tuple[int, int], evidence: Tensor) -> Tensor:
        """[B, H, W] map at `size`: the structural map, raised to the fused score where the
        evidence masks ([B, h, w] in [0, 1], `dire_dsl.run.evidence_map`) reach EVIDENCE_LEVEL."""
        structural = F.interpolate(self.structural_z(scores)[:, None], size=size, mode="bilinear",
                                   align_corners=False)[:, 0]
        where = F.interpolate(evidence[:, None].to(structural.dtype), size=size, mode="bilinear",
                              align_corners=False)[:, 0] >= EVIDENCE_LEVEL
        fused = self.fused(scores).view(-1, 1, 1).to(structural.dtype)
        return torch.where(where, torch.maximum(structural, fused), structural)


@torch.no_grad()
def score_batch(detector: torch.nn.Module, images: Tensor) -> BatchScores:
    """Raw scores of float images [B, 3, S, S] in [0, 1] (the detector in eval mode), on the
    detector's device."""
    detector.eval()
    images = images.to(detector.device)
    out = detector.model(images)
    logic = detector.rules(out.grounding)
    distance = (out.grounding.embedding - detector.center).pow(2).sum(dim=1).sqrt()
    patch = patch_distances(detector, images, out)
    parts = None
    if detector.compares_parts:
        parts = part_distances(part_descriptors(images, out.grounding), detector.part_banks())
    return BatchScores(distance, 1 - logic.s_logic, 1 - logic.truth, patch, logic, out.grounding, parts)


def descriptors(detector: torch.nn.Module, images: Tensor, out: ModelOutput) -> Tensor:
    """[B, h, w, C] patch descriptors of the run's kind (`appearance.DESCRIPTORS`) for scored
    images, each with its place when the run weighs it (`patch_position`), pixel windows colour-
    balanced when the run asks (`patch_colour`)."""
    if detector.descriptor == "pixels":
        pixels = images.float()
        found = appearance.pixel_descriptors(appearance.balance_colour(pixels) if detector.patch_colour == "balanced"
                                             else pixels)
    elif detector.descriptor == "features":
        found = appearance.feature_descriptors(out.maps)
    else:
        found = appearance.head_descriptors(out.head.features.float())
    return appearance.with_position(found, detector.patch_position)


def patch_distances(detector: torch.nn.Module, images: Tensor, out: ModelOutput) -> Tensor:
    """[B, h, w] the structural branch's raw map (zeros when the run has it off), in each cell's
    normal spread when the run holds cell statistics (`patch_spread = "cell"`)."""
    if detector.descriptor == "off":
        size = out.head.features.shape[-2:]
        return torch.zeros(images.shape[0], *size, device=images.device)
    found = descriptors(detector, images, out)
    distances = appearance.distance_map(found, detector.memory, blur=detector.descriptor != "head")
    if detector.patch_cells.numel() == 0:
        return distances
    return patch_cells.normalise(distances, detector.patch_cells)


@torch.no_grad()
def build_memory(detector: torch.nn.Module, images: Tensor, batch_size: int, seed: int,
                 size: int = appearance.MEMORY_SIZE) -> Tensor:
    """The patch memory from normal images (uint8 [N, 3, H, W]): a coreset of at most `size` of
    their descriptors (`appearance.coreset_memory`); empty when the structural branch is off."""
    detector.eval()
    if detector.descriptor == "off":
        return detector.memory

    def batches() -> Iterator[Tensor]:
        for start in range(0, images.shape[0], batch_size):
            batch = images[start:start + batch_size].to(detector.device).float() / 255
            yield descriptors(detector, batch, detector.model(batch)).cpu()

    return appearance.coreset_memory(batches(), images.shape[0], seed, size)


@torch.no_grad()
def build_part_memory(detector: torch.nn.Module, images: Tensor, batch_size: int, seed: int) -> Tensor:
    """The per-part memory from normal images (uint8 [N, 3, H, W]): `parts.part_memory`."""
    detector.eval()
    found = []
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size].to(detector.device).float() / 255
        descriptors = part_descriptors(batch, detector.model(batch).grounding)
        found.append({name: (crops.cpu(), present.cpu()) for name, (crops, present) in descriptors.items()})
    return part_memory(found, detector.model.layout.objects, seed)


def _std(values: Tensor) -> float:
    mean = float(values.mean()) if values.numel() else 0.0
    std = float(values.std()) if values.numel() > 1 else 0.0
    return max(std, STD_FLOOR * max(1.0, abs(mean)))

"""From a trained detector to anomaly scores: distances from the normal cluster, fused.

Every score is a distance from the validation normals (never test images), in units of
their spread:

- logic distance: for each rule r, z_r = (v_r − μ_r) / max(σ_r, RULE_STD_FLOOR) with v_r =
  1 − S_r its violation, weighted by the rule's gate (pruned rules drop out); the image's
  logic distance is the largest — "how much further from normal is the worst rule?";
- embedding distance: the image embedding's distance from the normal centre, as a z-score;
- fused = α·logic + (1 − α)·embedding, α = `fusion` (0 when rules are off);
- patch map: a PatchCore-style nearest-neighbour distance of head features to a memory of
  normal patches, as z-scores; it counts in the image score only beyond PATCH_MARGIN.

The anomaly map is max(patch z − PATCH_MARGIN, fused): its maximum is the image score, so
the official LOCO evaluation (which reads the map's maximum) sees the logic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pydantic import BaseModel
from torch import Tensor

from dire_dsl.logic.compiler import LogicOutput
from dire_dsl.logic.grounding import Grounding

PATCH_POOL = 2  # head features are average-pooled by this before the nearest-neighbour search
MEMORY_SIZE = 4096
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
"""Patch evidence counts once it is this many normal spreads beyond the normal maximum."""


@dataclass
class BatchScores:
    distance: Tensor  # [B]
    violation: Tensor  # [B] 1 − S_logic
    rule_violation: Tensor  # [B, R] 1 − S_r
    patch: Tensor  # [B, h, w] nearest-neighbour distance to normal patches
    logic: LogicOutput
    grounding: Grounding


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
    n_validation: int
    pruned: list[tuple[str, float, str]] = []

    def problems(self, rules: int) -> list[str]:
        """What makes this calibration unusable with `rules` rules (empty when none).

        Checked when a run is loaded, since an edited calibration.json otherwise shows up as
        NaN scores or a tensor-shape traceback deep inside scoring.
        """
        found = []
        values = {name: [getattr(self, name)] for name in ("distance_mean", "distance_std", "patch_mean", "patch_std",
                                                           "fusion", "threshold")}
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

    def patch_z(self, patch: Tensor) -> Tensor:
        return (patch - self.patch_mean) / self.patch_std - PATCH_MARGIN

    def image_score(self, scores: BatchScores) -> Tensor:
        return torch.maximum(self.fused(scores), self.patch_z(scores.patch).amax(dim=(1, 2)))

    def anomaly_map(self, scores: BatchScores, size: tuple[int, int]) -> Tensor:
        """[B, H, W] map at `size`: patch z-scores, lifted to at least the fused image score."""
        patch = F.interpolate(self.patch_z(scores.patch)[:, None], size=size, mode="bilinear",
                              align_corners=False)[:, 0]
        return torch.maximum(patch, self.fused(scores).view(-1, 1, 1))


def patch_features(features: Tensor) -> Tensor:
    """[B, C, h, w] head features → [B, h', w', C] descriptors for the nearest-neighbour map."""
    pooled = F.avg_pool2d(features, PATCH_POOL) if min(features.shape[-2:]) >= 2 * PATCH_POOL else features
    return F.normalize(pooled, dim=1).permute(0, 2, 3, 1)


def nearest_distance(queries: Tensor, memory: Tensor, chunk: int = 4096) -> Tensor:
    """Distance of each query row to its nearest memory row (chunked to bound memory use)."""
    if memory.numel() == 0:
        return torch.zeros(queries.shape[0], dtype=queries.dtype, device=queries.device)
    out = [torch.cdist(part, memory).amin(dim=1) for part in queries.split(chunk)]
    return torch.cat(out)


@torch.no_grad()
def score_batch(detector: torch.nn.Module, images: Tensor) -> BatchScores:
    """Raw scores of float images [B, 3, S, S] in [0, 1] (the detector in eval mode), on the
    detector's device."""
    detector.eval()
    out = detector.model(images.to(detector.device))
    logic = detector.rules(out.grounding)
    distance = (out.grounding.embedding - detector.center).pow(2).sum(dim=1).sqrt()
    descriptors = patch_features(out.head.features)
    batch, height, width, channels = descriptors.shape
    patch = nearest_distance(descriptors.reshape(-1, channels), detector.memory).view(batch, height, width)
    return BatchScores(distance, 1 - logic.s_logic, 1 - logic.truth, patch, logic, out.grounding)


@torch.no_grad()
def build_memory(detector: torch.nn.Module, images: Tensor, batch_size: int, seed: int) -> Tensor:
    """A random subsample (≤ MEMORY_SIZE) of normal patch descriptors."""
    detector.eval()
    parts = []
    for start in range(0, images.shape[0], batch_size):
        out = detector.model(images[start:start + batch_size].to(detector.device).float() / 255)
        parts.append(patch_features(out.head.features).reshape(-1, out.head.features.shape[1]))
    bank = torch.cat(parts)
    if bank.shape[0] > MEMORY_SIZE:
        pick = torch.randperm(bank.shape[0], generator=torch.Generator().manual_seed(seed))[:MEMORY_SIZE]
        bank = bank[pick]
    return bank


def _std(values: Tensor) -> float:
    mean = float(values.mean()) if values.numel() else 0.0
    std = float(values.std()) if values.numel() > 1 else 0.0
    return max(std, STD_FLOOR * max(1.0, abs(mean)))

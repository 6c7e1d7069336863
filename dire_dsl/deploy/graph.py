"""The module `dire export` traces: a trained run from image tensor to score, rule truths and map.

It is the run's own scoring (`score_batch`) followed by its calibration (z-scores, fusion,
structural map), so the exported graph computes what `dire eval` computes. The outputs
follow the contract in `dire_dsl.run.exported`: the summary a deployment reads, then every
raw tensor (`dire_dsl.run.packing`) a service needs to explain the result.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from dire_dsl.run.evidence_map import EVIDENCE_LEVEL
from dire_dsl.run.packing import Layout, pack_scores
from dire_dsl.run.scoring import BatchScores, Calibration, score_batch
from dire_dsl.run.trained import TrainedRun


class ExportGraph(nn.Module):
    """Image [B, 3, h, w] in [0, 1] → (image_score, rule_truth, rule_z, fused_score, structural_score,
    anomaly_map, *raw)."""

    def __init__(self, trained: TrainedRun) -> None:
        super().__init__()
        self.detector = merged(trained.detector).eval()
        self.calibration = trained.calibration

    def forward(self, image: Tensor) -> tuple[Tensor, ...]:
        scores = score_batch(self.detector, image)
        raw, _ = pack_scores(scores)
        return (*summary(self.calibration, scores), *raw)

    @torch.no_grad()
    def layout(self, image: Tensor) -> tuple[int, Layout]:
        """How many raw outputs there are, and where each sits in the scores (the structure does
        not depend on the pixels)."""
        raw, layout = pack_scores(score_batch(self.detector, image))
        return len(raw), layout


def merged(detector: nn.Module) -> nn.Module:
    """A copy of `detector` with every LoRA adapter merged into the weight it adapts (one matrix
    product per layer instead of three); the run itself keeps its adapters."""
    adapted = [module for module in detector.modules() if hasattr(module, "merge") and hasattr(module, "lora_A")]
    if not adapted:
        return detector
    copied = copy.deepcopy(detector)
    for module in copied.modules():
        if hasattr(module, "merge") and hasattr(module, "lora_A"):
            module.merge(safe_merge=True)
    return copied


def summary(calibration: Calibration, scores: BatchScores) -> tuple[Tensor, ...]:
    """The outputs a deployment reads without dire-dsl: scores, rule truths and the map."""
    structural = calibration.structural_z(scores)
    fused = calibration.fused(scores)
    structural_score = structural.amax(dim=(1, 2))
    image_score = torch.maximum(fused, structural_score)
    return (image_score, scores.logic.truth, calibration.rule_z(scores.rule_violation), fused, structural_score,
            parts_map(structural, fused, scores))


def parts_map(structural: Tensor, fused: Tensor, scores: BatchScores) -> Tensor:
    """[B, h, w] the structural map raised to the fused score on every part found (on the whole
    image when nothing is found): `run.evidence_map` without its per-rule narrowing, which walks
    each violated rule's members in Python."""
    masks = [found.mask for found in scores.grounding.objects.values()]
    if not masks:
        return torch.maximum(structural, fused.view(-1, 1, 1))
    parts = torch.stack(masks).amax(dim=0)
    if parts.shape[-2:] != structural.shape[-2:]:
        parts = nn.functional.interpolate(parts[:, None], size=structural.shape[-2:], mode="bilinear",
                                          align_corners=False)[:, 0]
    found = parts.flatten(1).amax(dim=1).view(-1, 1, 1) >= EVIDENCE_LEVEL
    where = (parts >= EVIDENCE_LEVEL) | ~found
    return torch.where(where, torch.maximum(structural, fused.view(-1, 1, 1)), structural)

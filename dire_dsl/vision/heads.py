"""Grounding heads: from a backbone's feature pyramid to per-object maps and an embedding.

For every object of the rules file the head predicts a mask logit and a centre-heatmap
logit; for every attribute, per-pixel logits over its declared values. Instances are then
read off the centre heatmap (`dire_dsl.vision.instances`). The layout of the output
channels is fixed by the program, so a checkpoint is tied to its rules file's objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dire_dsl.lang import ir


@dataclass(frozen=True)
class HeadLayout:
    """Which output channel means what: objects, then their attributes, in program order."""

    objects: tuple[str, ...]
    attributes: tuple[tuple[str, str, tuple[str, ...]], ...]  # (object, attribute, values)

    @classmethod
    def from_program(cls, program: ir.CheckedProgram) -> HeadLayout:
        objects = tuple(o.name for o in program.objects)
        attributes = tuple(
            (o.name, name, tuple(values)) for o in program.objects for name, values in o.attributes.items()
        )
        return cls(objects, attributes)

    @property
    def n_channels(self) -> int:
        return 2 * len(self.objects) + sum(len(values) for _, _, values in self.attributes)

    def attribute_slices(self) -> dict[tuple[str, str], slice]:
        start = 2 * len(self.objects)
        slices = {}
        for obj, name, values in self.attributes:
            slices[(obj, name)] = slice(start, start + len(values))
            start += len(values)
        return slices


@dataclass
class HeadOutput:
    """Raw logits at the head's resolution (stride of the finest backbone map)."""

    mask_logits: Tensor  # [B, O, h, w]
    center_logits: Tensor  # [B, O, h, w]
    attribute_logits: dict[tuple[str, str], Tensor]  # (object, attribute) -> [B, V, h, w]
    features: Tensor  # [B, C, h, w] fused features (patch descriptors for the anomaly map)
    embedding: Tensor  # [B, D]


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.GroupNorm(8, c_out),
                         nn.ReLU(inplace=True))


class GroundingHead(nn.Module):
    """A light FPN: project every level, upsample to the finest, sum, refine; then predict."""

    def __init__(self, in_channels: tuple[int, ...], layout: HeadLayout, width: int = 64, embed_dim: int = 64) -> None:
        super().__init__()
        self.layout = layout
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.refine = nn.Sequential(_conv_block(width, width), _conv_block(width, width))
        self.predict = nn.Conv2d(width, layout.n_channels, 1)
        self.embed = nn.Sequential(nn.Linear(sum(in_channels), 2 * embed_dim), nn.ReLU(inplace=True),
                                   nn.Linear(2 * embed_dim, embed_dim))
        n_objects = len(layout.objects)
        with torch.no_grad():  # start with "nothing here": sparse masks and heatmaps
            self.predict.bias[: 2 * n_objects].fill_(-2.0)

    def forward(self, maps: list[Tensor]) -> HeadOutput:
        size = maps[0].shape[-2:]
        fused = sum(
            F.interpolate(lateral(m), size=size, mode="bilinear", align_corners=False) if m.shape[-2:] != size
            else lateral(m)
            for lateral, m in zip(self.lateral, maps)
        )
        features = self.refine(fused)
        out = self.predict(features)
        n = len(self.layout.objects)
        attributes = {key: out[:, s] for key, s in self.layout.attribute_slices().items()}
        pooled = torch.cat([m.mean(dim=(2, 3)) for m in maps], dim=1)
        return HeadOutput(out[:, :n], out[:, n: 2 * n], attributes, features, self.embed(pooled))

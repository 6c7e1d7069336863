"""The grounding model: backbone → grounding head → soft instances → the Grounding contract."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dire_dsl.lang import ir
from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from dire_dsl.logic.tensors import full_precision
from dire_dsl.vision.backbones.base import Backbone
from dire_dsl.vision.heads import GroundingHead, HeadLayout, HeadOutput
from dire_dsl.vision.instances import PEAK_SEPARATION, RIDGE_REACH, extract_instances, instance_attributes, peak_radius


@dataclass
class ModelOutput:
    grounding: Grounding
    head: HeadOutput
    maps: list[Tensor]  # the backbone's feature pyramid, finest first (structural descriptors read it)


class GroundingModel(nn.Module):
    """Finds the rules file's objects in images and hands the logic layer a Grounding."""

    def __init__(self, program: ir.CheckedProgram, backbone: Backbone, slots: int = 20, embed_dim: int = 64,
                 peak_separation: dict[str, float] | None = None, ridge_reach: dict[str, float] | None = None) -> None:
        """`peak_separation`: per object, the distance (fraction of the image's long side) below
        which two centre peaks joined by the mask are one instance; objects not named keep a
        3×3 window. `ridge_reach`: likewise, up to which distance peaks joined by a heatmap
        ridge too are one instance; where an object is not named, RIDGE_REACH/PEAK_SEPARATION
        times its separation (how runs written before this setting read it)."""
        super().__init__()
        self.layout = HeadLayout.from_program(program)
        self.backbone = backbone
        self.head = GroundingHead(backbone.channels, self.layout, embed_dim=embed_dim)
        self.slots = slots
        self.peak_separation = dict(peak_separation or {})
        self.ridge_reach = dict(ridge_reach or {})

    def forward(self, images: Tensor) -> ModelOutput:
        maps = self.backbone.forward_features(images).maps
        head = self.head(maps)
        with full_precision(images.device.type):
            return ModelOutput(self.ground(head), head, maps)

    def ground(self, head: HeadOutput) -> Grounding:
        """Turn raw head logits into the contract: masks, instances, presence, attributes.

        The contract is float32 even when the head ran under autocast in float16: the rules
        need one dtype for every tensor and more precision than float16 gives."""
        mask_prob = torch.sigmoid(head.mask_logits.float())
        center_prob = torch.sigmoid(head.center_logits.float())
        objects: dict[str, ObjectGrounding] = {}
        mask_hw = (mask_prob.shape[-2], mask_prob.shape[-1])
        for index, name in enumerate(self.layout.objects):
            separation = self.peak_separation.get(name, 0.0)
            radius = peak_radius(separation, mask_hw)
            ridge = self.ridge_reach.get(name, separation * RIDGE_REACH / PEAK_SEPARATION)
            ridge_radius = peak_radius(ridge, mask_hw) if ridge else 0
            found = extract_instances(mask_prob[:, index], center_prob[:, index], self.slots, radius=radius,
                                      ridge_radius=ridge_radius)
            attributes = {
                attr: instance_attributes(found.masks, torch.softmax(head.attribute_logits[(obj, attr)].float(), dim=1))
                for obj, attr, _ in self.layout.attributes if obj == name
            }
            objects[name] = ObjectGrounding(mask_prob[:, index], found.masks, found.presence, attributes)
        return Grounding(objects, head.embedding.float())

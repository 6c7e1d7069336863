"""Backbones behind one registry: ``create_backbone("conv-small")``, ``"open_clip:ViT-B-16@/w.safetensors"``,
``"timm:wide_resnet50_2@/w.safetensors"`` or any name a plugin registers.

Importing this package imports torch but never open_clip, peft or timm: factories import
them when called.
"""

from dire_dsl.vision.backbones import conv_small, openclip, timm_backbone  # noqa: F401  (register built-ins)
from dire_dsl.vision.backbones.base import Backbone, BackboneError, BackboneOutput
from dire_dsl.vision.backbones.lora import LoraSettings
from dire_dsl.vision.backbones.registry import (
    ENTRY_POINT_GROUP,
    create_backbone,
    get_backbone_factory,
    list_backbones,
    register_backbone,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backbone",
    "BackboneError",
    "BackboneOutput",
    "LoraSettings",
    "create_backbone",
    "get_backbone_factory",
    "list_backbones",
    "register_backbone",
]

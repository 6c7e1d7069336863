"""``conv-small``: a compact CNN trained from scratch, the offline default.

GroupNorm rather than BatchNorm so that results do not depend on the per-process batch
(DDP without SyncBN, batches of a few images, eval on single images).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from dire_dsl.vision.backbones.base import Backbone, BackboneError, BackboneOutput
from dire_dsl.vision.backbones.lora import LoraSettings
from dire_dsl.vision.backbones.registry import register_backbone

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, c_out // 4), c_out),
        nn.ReLU(inplace=True),
    )


class ConvSmall(Backbone):
    """Stem (stride 2) and three stages of two 3x3 convs; outputs at strides 4, 8, 16."""

    def __init__(self, *, width: int = 64, frozen: bool = False, normalize: bool = True) -> None:
        channels = (width, 2 * width, 4 * width)
        super().__init__(
            strides=(4, 8, 16),
            channels=channels,
            embed_dim=channels[-1],
            adaptation="frozen" if frozen else "full",
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            normalize=normalize,
        )
        self.stem = _conv(3, width // 2, stride=2)
        c_prev = width // 2
        stages = []
        for c in channels:
            stages.append(nn.Sequential(_conv(c_prev, c, stride=2), _conv(c, c)))
            c_prev = c
        self.stages = nn.ModuleList(stages)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        self.requires_grad_(not frozen)

    def encode(self, x: Tensor) -> BackboneOutput:
        maps = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return BackboneOutput(maps, maps[-1].mean(dim=(2, 3)))


@register_backbone("conv-small")
def create_conv_small(arg: str | None, /, *, adapt: bool | LoraSettings = True, **kwargs: Any) -> ConvSmall:
    """Factory for ``conv-small``; keyword arguments: ``width`` (64), ``normalize`` (True)."""
    if arg is not None:
        raise BackboneError(f"conv-small takes no argument, got 'conv-small:{arg}'")
    if isinstance(adapt, LoraSettings):
        raise BackboneError("conv-small trains from scratch, so LoRA does not apply: use adapt=True or adapt=False")
    return ConvSmall(frozen=not adapt, **kwargs)

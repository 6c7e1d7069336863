"""The contract every backbone keeps, so grounding heads never care which one they sit on.

A backbone takes images ``[B, 3, H, W]`` with values in [0, 1] (it applies its own
normalization, because CLIP and ImageNet statistics differ and double normalization is
a silent bug) and returns a feature pyramid plus one pooled embedding per image.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from dire_dsl.errors import DireError

Adaptation = Literal["frozen", "lora", "full"]
"""How a backbone's weights train: not at all, through LoRA adapters only, or all of them."""


class BackboneError(DireError, ValueError):
    """A backbone cannot be built or fed as asked; the message says what would work."""


@dataclass
class BackboneOutput:
    """Feature maps (finest first, ``maps[i]`` is ``[B, channels[i], H/strides[i], W/strides[i]]``)
    and a pooled embedding ``[B, embed_dim]`` for image-level losses and scores."""

    maps: list[Tensor]
    embedding: Tensor


class Backbone(nn.Module, ABC):
    """Base class of all backbones, built-in or from a plugin.

    Subclasses implement :meth:`encode` on already normalized images; this class checks the
    input, normalizes it and keeps pretrained statistics fixed while training.
    """

    strides: tuple[int, ...]
    channels: tuple[int, ...]
    embed_dim: int
    adaptation: Adaptation
    input_size: tuple[int, int] | None

    def __init__(
        self,
        *,
        strides: Sequence[int],
        channels: Sequence[int],
        embed_dim: int,
        adaptation: Adaptation,
        mean: Sequence[float],
        std: Sequence[float],
        normalize: bool = True,
        input_size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        if len(strides) != len(channels) or not strides:
            raise BackboneError(f"strides {tuple(strides)} and channels {tuple(channels)} must be non-empty and match")
        self.strides = tuple(int(s) for s in strides)
        self.channels = tuple(int(c) for c in channels)
        self.embed_dim = int(embed_dim)
        self.adaptation = adaptation
        self.normalize = normalize
        self.input_size = input_size
        # Not persistent: statistics belong to the architecture, not to a checkpoint.
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    @property
    def frozen(self) -> bool:
        """True when no backbone weight trains (heads on top still can)."""
        return self.adaptation == "frozen"

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters an optimizer should see: adapters, or everything for a full backbone."""
        return [p for p in self.parameters() if p.requires_grad]

    def forward(self, images: Tensor) -> list[Tensor]:
        """Feature maps of ``images`` (``[B, 3, H, W]``, values in [0, 1])."""
        return self.forward_features(images).maps

    def forward_features(self, images: Tensor) -> BackboneOutput:
        """Feature maps and pooled embedding of ``images``."""
        self._check_input(images)
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype) if self.normalize else images
        return self.encode(x)

    @abstractmethod
    def encode(self, x: Tensor) -> BackboneOutput:
        """Compute features from normalized images."""

    def train(self, mode: bool = True) -> Backbone:
        """Switch mode, but never let pretrained statistics drift: a frozen backbone stays in
        eval mode and an adapted one keeps its BatchNorm layers in eval mode."""
        super().train(mode and not self.frozen)
        if self.adaptation == "lora":
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def _check_input(self, images: Tensor) -> None:
        if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
            raise BackboneError(
                f"expected float images [B, 3, H, W], got {images.dtype} tensor of shape {tuple(images.shape)}"
            )
        size = (images.shape[2], images.shape[3])
        if self.input_size is not None and size != self.input_size:
            raise BackboneError(f"this backbone takes {self.input_size[0]}x{self.input_size[1]} images, "
                                f"got {size[0]}x{size[1]}")
        step = max(self.strides)
        if size[0] % step or size[1] % step:
            raise BackboneError(f"image height and width must be multiples of {step}, got {size[0]}x{size[1]}")

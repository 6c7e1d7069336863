"""``timm:<name>[@<local checkpoint>]``: feature pyramids from any timm model.

CNNs (ResNets, the WideResNet-50 of PatchCore, ConvNeXt) give maps at strides 4, 8, 16 by
default; plain ViTs (DINOv2 ``vit_small_patch14_dinov2`` and friends) give their last
block's patch tokens as one map (timm's ``forward_intermediates`` behind ``features_only``).
Weights are never downloaded: random unless a local file is named, which timm loads with
safetensors or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dire_dsl.vision.backbones.base import Adaptation, Backbone, BackboneError, BackboneOutput
from dire_dsl.vision.backbones.lora import LoraSettings, apply_lora
from dire_dsl.vision.backbones.registry import register_backbone, split_weights

DEFAULT_STRIDES = (4, 8, 16)
_TRANSFORMER_LINEAR = re.compile(r"(.*\.)?(attn\.(qkv|proj)|mlp\.(fc1|fc2))")


class TimmBackbone(Backbone):
    """A timm ``features_only`` model; the embedding is the mean of the deepest map."""

    def __init__(self, model: nn.Module, *, adaptation: Adaptation, normalize: bool = True) -> None:
        cfg = model.pretrained_cfg
        super().__init__(
            strides=model.feature_info.reduction(),
            channels=model.feature_info.channels(),
            embed_dim=model.feature_info.channels()[-1],
            adaptation=adaptation,
            mean=cfg.get("mean", (0.485, 0.456, 0.406)),
            std=cfg.get("std", (0.229, 0.224, 0.225)),
            normalize=normalize,
        )
        self.model = model

    def encode(self, x: Tensor) -> BackboneOutput:
        maps = list(self.model(x))
        return BackboneOutput(maps, maps[-1].mean(dim=(2, 3)))


@register_backbone("timm")
def create_timm(
    arg: str | None,
    /,
    *,
    adapt: bool | LoraSettings = True,
    out_indices: tuple[int, ...] | None = None,
    normalize: bool = True,
    **model_kwargs: Any,
) -> TimmBackbone:
    """Factory for ``timm:<name>[@<checkpoint file>]``.

    ``out_indices`` picks feature levels (default: strides 4, 8, 16 for CNNs, the last block for
    ViTs); other keyword arguments go to ``timm.create_model`` (e.g. ``img_size=224``).
    """
    import timm

    name, weights = split_weights(arg, "timm")
    if not timm.is_model(name):
        raise BackboneError(f"unknown timm model {name!r}; see timm.list_models('*pattern*')")
    if weights is not None and not Path(weights).is_file():
        raise BackboneError(f"timm checkpoint {weights!r} is not a file; timm weights cannot be downloaded "
                            "offline, so pass the path of a .safetensors or .pth file: "
                            f"timm:{name}@/path/to/weights.safetensors")
    try:
        with torch.device("meta"):  # costs nothing; tells which levels exist and whether this is a ViT
            probe = timm.create_model(name, pretrained=False, **model_kwargs)
        reductions = [info["reduction"] for info in probe.feature_info]
        plain_vit = len(set(reductions)) == 1
        if plain_vit and hasattr(probe, "dynamic_img_size"):
            model_kwargs.setdefault("dynamic_img_size", True)
        if out_indices is None:
            wanted = [i for i, r in enumerate(reductions) if r in DEFAULT_STRIDES]
            out_indices = (len(reductions) - 1,) if plain_vit or not wanted else tuple(wanted)
        if weights is not None:
            model_kwargs["pretrained_cfg_overlay"] = {"file": weights}
        model = timm.create_model(
            name, pretrained=weights is not None, features_only=True, out_indices=out_indices, **model_kwargs
        )
    except (RuntimeError, ValueError, TypeError, OSError, KeyError, AttributeError) as error:
        raise BackboneError(f"cannot build timm:{arg}: {error}") from error
    if weights is None:
        warnings.warn(f"timm:{name} starts from random weights; add @<checkpoint file> for pretrained ones",
                      stacklevel=2)
    adaptation: Adaptation = "frozen"
    if adapt is False:
        model.requires_grad_(False)
    else:
        settings = adapt if isinstance(adapt, LoraSettings) else LoraSettings()
        apply_lora(model, settings, default_modules=_lora_targets(model))
        adaptation = "lora"
    return TimmBackbone(model, adaptation=adaptation, normalize=normalize)


def _lora_targets(model: nn.Module) -> list[str]:
    """Transformer attention and MLP layers (qkv, proj, fc1, fc2) where there are any, else every conv."""
    linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and _TRANSFORMER_LINEAR.fullmatch(n)]
    return linear or [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]

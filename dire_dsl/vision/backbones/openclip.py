"""``open_clip:<arch>[@<tag or file>]``: an open_clip ViT vision tower giving dense patch tokens.

Only the vision tower is kept. It is built with open_clip's "custom" block, which loads
standard checkpoints unchanged (same key names, same outputs) and exposes real layers for
LoRA: adapters go on ``attn.out_proj``, ``mlp.c_fc``, ``mlp.c_proj`` and the
``attn.in_proj_weight`` parameter. The default block's ``nn.MultiheadAttention`` would
either ignore an ``out_proj`` adapter or, wrapped whole by peft, merge and unmerge the
adapter into the frozen weights on every call, so they drift by rounding.

Nothing is ever downloaded: a pretrained tag works only if its file is already in the
local cache; otherwise pass the path of a checkpoint file.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from dire_dsl.vision.backbones.base import Adaptation, Backbone, BackboneError, BackboneOutput
from dire_dsl.vision.backbones.lora import LoraSettings, apply_lora
from dire_dsl.vision.backbones.registry import register_backbone, split_weights

LORA_MODULES = r".*transformer\.resblocks\.\d+\.(attn\.out_proj|mlp\.c_fc|mlp\.c_proj)"
LORA_PARAMETERS = ("attn.in_proj_weight",)


class OpenClipBackbone(Backbone):
    """One feature map of patch tokens (after ``ln_post``, not projected: ``visual.proj`` maps
    them to the text space) at stride = patch size, and the projected pooled image embedding."""

    def __init__(
        self,
        visual: nn.Module,
        *,
        adaptation: Adaptation,
        mean: Sequence[float],
        std: Sequence[float],
        normalize: bool = True,
    ) -> None:
        super().__init__(
            strides=(visual.patch_size[0],),
            channels=(visual.transformer.width,),
            embed_dim=visual.output_dim,
            adaptation=adaptation,
            mean=mean,
            std=std,
            normalize=normalize,
            input_size=tuple(visual.image_size),  # type: ignore[arg-type]
        )
        visual.output_tokens = True
        self.visual = visual

    def encode(self, x: Tensor) -> BackboneOutput:
        pooled, tokens = self.visual(x)
        h, w = self.visual.grid_size
        fmap = tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w)
        return BackboneOutput([fmap], pooled)


@register_backbone("open_clip")
def create_open_clip(
    arg: str | None,
    /,
    *,
    adapt: bool | LoraSettings = True,
    image_size: int | None = None,
    cache_dir: str | None = None,
    normalize: bool = True,
) -> OpenClipBackbone:
    """Factory for ``open_clip:<arch>[@<pretrained tag or local checkpoint>]``.

    ``arch`` is an open_clip model name with a ViT vision tower, including configs added with
    ``open_clip.add_model_config``, or ``local-dir:<folder>`` (open_clip_config.json plus
    weights). ``image_size`` changes the input size (position embeddings are interpolated).
    """
    import open_clip

    arch, weights = split_weights(arg, "open_clip")
    vision_cfg = {**_model_config(arch)["vision_cfg"], "block_type": "custom", "patch_dropout": 0.0}
    if image_size is not None:
        vision_cfg["image_size"] = image_size
    checkpoint, tag_cfg = _resolve_weights(arch, weights, cache_dir) if weights else (None, {})
    try:
        model = open_clip.create_model(
            arch, pretrained=checkpoint, vision_cfg=vision_cfg, force_quick_gelu=bool(tag_cfg.get("quick_gelu"))
        )
    except (RuntimeError, ValueError, OSError, KeyError) as error:
        raise BackboneError(f"cannot load open_clip:{arg}: {error}") from error
    visual = model.visual
    plain_vit = isinstance(visual, open_clip.transformer.VisionTransformer) and visual.attn_pool is None
    if not plain_vit or visual.pool_type == "none":
        raise BackboneError(f"open_clip:{arch} has no plain ViT vision tower with a pooled token "
                            f"({type(visual).__name__}); use timm:<name> for other backbones")
    preprocess = open_clip.get_model_preprocess_cfg(model)
    del model  # the text tower is not needed
    if weights is None:
        warnings.warn(f"open_clip:{arch} starts from random weights; add @<checkpoint file> for pretrained ones",
                      stacklevel=2)
    adaptation: Adaptation = "frozen"
    if adapt is False:
        visual.requires_grad_(False)
    else:
        settings = adapt if isinstance(adapt, LoraSettings) else LoraSettings()
        apply_lora(visual, settings, default_modules=LORA_MODULES, default_parameters=LORA_PARAMETERS)
        adaptation = "lora"
    return OpenClipBackbone(
        visual,
        adaptation=adaptation,
        mean=tag_cfg.get("mean", preprocess["mean"]),
        std=tag_cfg.get("std", preprocess["std"]),
        normalize=normalize,
    )


def _model_config(arch: str) -> dict[str, Any]:
    import open_clip

    if arch.startswith("hf-hub:"):
        raise BackboneError(f"open_clip:{arch} would download from the Hugging Face hub, and this machine works "
                            "offline; download the repository elsewhere and use open_clip:local-dir:<folder>")
    if arch.startswith("local-dir:"):
        config_path = Path(arch.removeprefix("local-dir:")) / "open_clip_config.json"
        try:
            return json.loads(config_path.read_text(encoding="utf-8"))["model_cfg"]
        except (OSError, ValueError, KeyError, RecursionError) as error:
            raise BackboneError(f"open_clip:{arch}: cannot read model_cfg from {config_path}: "
                                f"{error or type(error).__name__}") from None
    config = open_clip.get_model_config(arch)
    if config is None:
        raise BackboneError(f"unknown open_clip architecture {arch!r}; known: {', '.join(open_clip.list_models())}")
    return config


def _resolve_weights(arch: str, weights: str, cache_dir: str | None) -> tuple[str, dict[str, Any]]:
    """A local file for ``weights`` (a file path, or a known tag already in the download cache)
    and the tag's settings (normalization, QuickGELU)."""
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    if arch.startswith("local-dir:"):
        raise BackboneError(f"open_clip:{arch} holds its own weights; drop '@{weights}'")
    tag_cfg = get_pretrained_cfg(arch, weights)
    if not tag_cfg:
        if Path(weights).is_file():
            return weights, {}
        tags = list_pretrained_tags_by_model(arch)
        raise BackboneError(f"open_clip weights {weights!r}: no such file, and not a pretrained tag of {arch}"
                            + (f" (tags: {', '.join(tags)})" if tags else ""))
    cached = _cached_file(tag_cfg, cache_dir)
    if cached is None:
        raise BackboneError(
            f"pretrained weights {arch}@{weights} are not in the local cache, and weights cannot be downloaded: this "
            "machine works offline. On a connected machine run `python -c \"import open_clip; "
            f"open_clip.create_model('{arch}', pretrained='{weights}')\"`, copy the checkpoint file it downloads "
            f"here and use open_clip:{arch}@/path/to/open_clip_model.safetensors"
        )
    return cached, tag_cfg


def _cached_file(tag_cfg: dict[str, Any], cache_dir: str | None) -> str | None:
    """Where open_clip would have stored the tag's file, if it is there; never touches the network."""
    from huggingface_hub import try_to_load_from_cache
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    repo, filename = os.path.split(tag_cfg.get("hf_hub", ""))
    names = [filename] if filename else [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME]
    if filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    for name in names if repo else []:
        found = try_to_load_from_cache(repo, name, cache_dir=cache_dir)
        if isinstance(found, str):
            return found
    if tag_cfg.get("url"):
        local = Path(cache_dir or Path.home() / ".cache" / "clip") / os.path.basename(tag_cfg["url"])
        if local.is_file():
            return str(local)
    return None

"""Text prompts to pixels through a pretrained CLIP: which declared object each patch shows.

The rules file describes each object with prompts (`object pushpin "a colored push pin"`).
CLIP's text tower embeds them; its vision tower's patch tokens (after ``ln_post``), projected
by ``visual.proj`` into the same space, are compared with them by cosine similarity, and
softmax at CLIP's logit scale gives per-patch probabilities over the objects and a few
background descriptions. A patch is the object that wins, or background when a background
description wins. This only means something with pretrained weights: random towers match
text to patches at random, so the mode refuses them (`clip_weights_problem`).

The CLIP model is loaded through the same weight resolution as the open_clip backbone (a
local checkpoint file, or a pretrained tag already in the cache; never a download).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dire_dsl.vision.backbones.base import BackboneError

TEMPLATE = "a photo of {}."
"""CLIP-style sentence around each prompt (CLIP was trained on captions, not bare phrases)."""

BACKGROUND_PROMPTS = ("the background", "a plain surface", "an empty area", "a blurry texture")
"""Descriptions of what is not a declared object; each is its own class, so a patch that
looks like any of them is background rather than the nearest object."""

BACKGROUND = -1
"""Label of patches matched to a background description (as dire_dsl.grounding.pseudo_labels)."""

EXAMPLE_BACKBONE = "open_clip:ViT-B-16@/path/to/checkpoint.bin"


def clip_weights_problem(spec: str) -> str | None:
    """Why the backbone spec does not name a CLIP with pretrained weights, or None if it does.

    Reads the spec only (nothing is loaded): ``open_clip:<arch>@<tag or file>`` and
    ``open_clip:local-dir:<folder>`` (which holds its own weights) qualify."""
    name, _, arg = spec.partition(":")
    if name != "open_clip":
        return f"`{spec}` is not a CLIP model"
    arch, _, weights = arg.partition("@")
    if not arch.startswith("local-dir:") and not weights:
        return f"`{spec}` has random weights (no @<checkpoint file or pretrained tag>)"
    return None


def match_prompts(patches: Tensor, texts: Tensor, n_objects: int, logit_scale: float = 100.0,
                  size: tuple[int, int] | None = None) -> Tensor:
    """Per-patch labels from patch embeddings `patches` [N, D, h, w] and text embeddings
    `texts` [O + B, D] (the O objects first, then B background descriptions), in one space.

    Cosine similarity × `logit_scale`, softmax over the O + B classes, optionally bilinearly
    resized to `size` = (H, W); the label is the winning class's index where it is an object,
    BACKGROUND where a background description wins. Returns [N, h, w] (or [N, H, W]) long."""
    if texts.shape[0] <= n_objects:
        raise ValueError(f"{texts.shape[0]} text embeddings for {n_objects} objects: background descriptions missing")
    similarity = torch.einsum("ndhw,md->nmhw", F.normalize(patches.float(), dim=1), F.normalize(texts.float(), dim=1))
    probabilities = (logit_scale * similarity).softmax(dim=1)
    if size is not None and tuple(size) != tuple(probabilities.shape[-2:]):
        probabilities = F.interpolate(probabilities, size=tuple(size), mode="bilinear", align_corners=False)
    best = probabilities.argmax(dim=1)
    return torch.where(best < n_objects, best, torch.full_like(best, BACKGROUND))


@dataclass
class PatchEmbeddings:
    """What the vision tower sees in a batch: patch tokens after ln_post [N, C, h, w] (the
    open_clip backbone's feature map) and the same projected into the text space [N, D, h, w]."""

    tokens: Tensor
    projected: Tensor


class ClipPrompts:
    """A frozen, pretrained CLIP (both towers) that embeds prompts and image patches."""

    def __init__(self, model: nn.Module, tokenizer: Any, mean: Sequence[float], std: Sequence[float]) -> None:
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    @property
    def logit_scale(self) -> float:
        """CLIP's learned softmax temperature (100 for the released models)."""
        return float(self.model.logit_scale.exp())

    @property
    def stride(self) -> int:
        return int(self.model.visual.patch_size[0])

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.model.visual.image_size)  # type: ignore[return-value]

    @torch.no_grad()
    def encode_prompts(self, classes: Sequence[Sequence[str]]) -> Tensor:
        """One unit embedding per class [M, D]: each of its prompts in TEMPLATE, embedded,
        normalised and averaged (prompt ensembling, as CLIP's zero-shot classifiers do)."""
        rows = []
        for prompts in classes:
            tokens = self.tokenizer([TEMPLATE.format(p) for p in prompts])
            embedded = F.normalize(self.model.encode_text(tokens).float(), dim=-1)
            rows.append(F.normalize(embedded.mean(dim=0), dim=-1))
        return torch.stack(rows)

    @torch.no_grad()
    def embed_patches(self, images: Tensor, batch: int = 8) -> PatchEmbeddings:
        """Patch embeddings of `images` ([N, 3, H, W] float in [0, 1]; resized to the tower's
        input size if they are not at it)."""
        visual = self.model.visual
        visual.output_tokens = True
        height, width = visual.grid_size
        tokens, projected = [], []
        for start in range(0, images.shape[0], batch):
            x = images[start:start + batch].float()
            if tuple(x.shape[-2:]) != self.input_size:  # the tower's position embeddings fix its input size
                x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
            x = (x - self.mean) / self.std
            _, out = visual(x)
            tokens.append(out.transpose(1, 2).reshape(out.shape[0], out.shape[2], height, width))
            projected.append((out @ visual.proj).transpose(1, 2).reshape(out.shape[0], -1, height, width))
        return PatchEmbeddings(torch.cat(tokens), torch.cat(projected))


def load_clip(spec: str, cache_dir: str | None = None) -> ClipPrompts:
    """The full CLIP model named by an ``open_clip:<arch>@<weights>`` backbone spec."""
    import open_clip

    from dire_dsl.vision.backbones.openclip import _model_config, _resolve_weights
    from dire_dsl.vision.backbones.registry import split_weights

    problem = clip_weights_problem(spec)
    if problem is not None:
        raise BackboneError(f"text prompts need a pretrained CLIP: {problem}; use --backbone {EXAMPLE_BACKBONE}")
    arch, weights = split_weights(spec.partition(":")[2], "open_clip")
    _model_config(arch)  # unknown or hub-only architectures fail here with a clear message
    checkpoint, tag_cfg = _resolve_weights(arch, weights, cache_dir) if weights else (None, {})
    try:
        model = open_clip.create_model(arch, pretrained=checkpoint, force_quick_gelu=bool(tag_cfg.get("quick_gelu")))
        tokenizer = open_clip.get_tokenizer(arch)
    except (RuntimeError, ValueError, OSError, KeyError) as error:
        raise BackboneError(f"cannot load the CLIP model {spec}: {error}") from error
    visual = model.visual
    plain_vit = isinstance(visual, open_clip.transformer.VisionTransformer) and visual.attn_pool is None
    if not plain_vit or visual.pool_type == "none" or visual.proj is None:
        raise BackboneError(f"{spec}: its vision tower has no patch tokens to project into the text space; "
                            f"use a CLIP ViT, e.g. {EXAMPLE_BACKBONE}")
    preprocess = open_clip.get_model_preprocess_cfg(model)
    return ClipPrompts(model, tokenizer, tag_cfg.get("mean", preprocess["mean"]), tag_cfg.get("std", preprocess["std"]))

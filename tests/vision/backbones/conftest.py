"""A tiny open_clip ViT config, registered offline for every backbone test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: nothing here may reach the hub

TINY_CLIP = "dire-test-tiny-vit"
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 16, "mlp_ratio": 2},
    "text_cfg": {"context_length": 16, "vocab_size": 500, "width": 32, "heads": 2, "layers": 1},
}

@pytest.fixture(scope="session", autouse=True)
def tiny_open_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Register the tiny ViT config with open_clip (the name is the file stem)."""
    import open_clip

    path: Path = tmp_path_factory.mktemp("open_clip") / f"{TINY_CLIP}.json"
    path.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(path)
    return TINY_CLIP

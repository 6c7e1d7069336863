"""The LoRA helper refuses adapters that would silently do nothing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dire_dsl.vision.backbones import BackboneError, LoraSettings
from dire_dsl.vision.backbones.lora import apply_lora


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.fc = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.attn(x, x, x, need_weights=False)[0])


def test_out_proj_of_multihead_attention_is_refused() -> None:
    with pytest.raises(BackboneError, match=r"'attn.out_proj' would be ignored.*target the attention module 'attn'"):
        apply_lora(Block(), LoraSettings(rank=2), default_modules=["attn.out_proj", "fc"])


def test_whole_multihead_attention_is_accepted() -> None:
    block = Block()
    adapted = apply_lora(block, LoraSettings(rank=2), default_modules=["attn", "fc"])
    assert {"attn", "fc"} <= set(adapted)
    assert all("lora_" in n for n, p in block.named_parameters() if p.requires_grad)


def test_targets_that_match_nothing_are_reported() -> None:
    with pytest.raises(BackboneError, match="do not fit this backbone"):
        apply_lora(Block(), LoraSettings(rank=2), default_modules=["no_such_layer"])

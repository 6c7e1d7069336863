"""timm backbones: pyramid levels, LoRA targets, local checkpoints, offline errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from dire_dsl.vision.backbones import BackboneError, create_backbone

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights")


def test_cnn_lora_adapts_convolutions() -> None:
    backbone = create_backbone("timm:resnet18", rank=4)
    names = [n for n, p in backbone.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert any(n.startswith("model.layer3.") for n in names)
    backbone.train()
    assert not backbone.model.bn1.training  # pretrained BatchNorm statistics stay fixed


def test_vit_lora_adapts_attention_and_mlp_of_every_block() -> None:
    backbone = create_backbone("timm:vit_tiny_patch16_224", img_size=64, depth=2)
    assert backbone.strides == (16,) and backbone.channels == (192,)
    layers = {n.split(".lora_")[0] for n, p in backbone.named_parameters() if p.requires_grad}
    assert layers == {f"model.model.blocks.{b}.{layer}" for b in (0, 1)
                      for layer in ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")}


def test_dinov2_gives_a_patch14_map_at_any_multiple_of_14() -> None:
    backbone = create_backbone("timm:vit_small_patch14_dinov2", adapt=False, depth=1)
    assert backbone.strides == (14,) and backbone.channels == (384,)
    with torch.no_grad():
        assert backbone(torch.rand(1, 3, 56, 84))[0].shape == (1, 384, 4, 6)


def test_out_indices_choose_levels() -> None:
    backbone = create_backbone("timm:resnet18", adapt=False, out_indices=(2, 3, 4))
    assert backbone.strides == (8, 16, 32) and backbone.channels == (128, 256, 512)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_local_checkpoint_is_loaded(tmp_path: Path, suffix: str) -> None:
    import timm

    torch.manual_seed(7)
    source = timm.create_model("resnet18", pretrained=False)
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        save_file(source.state_dict(), str(path))
    else:
        torch.save(source.state_dict(), path)
    backbone = create_backbone(f"timm:resnet18@{path}", adapt=False)
    for name, tensor in backbone.model.state_dict().items():
        assert torch.equal(tensor, source.state_dict()[name]), name


def test_offline_errors() -> None:
    with pytest.raises(BackboneError, match="is not a file; timm weights cannot be downloaded offline"):
        create_backbone("timm:resnet18@imagenet")
    with pytest.raises(BackboneError, match="unknown timm model 'resnet_999'"):
        create_backbone("timm:resnet_999")
    with pytest.raises(BackboneError, match="cannot build timm:resnet18"):
        create_backbone("timm:resnet18", no_such_option=1)

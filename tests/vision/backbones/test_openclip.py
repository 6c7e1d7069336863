"""open_clip towers: LoRA really acts on attention and MLP, frozen weights stay put, and local
checkpoints load through the same path a user's real checkpoint takes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from dire_dsl.vision.backbones import BackboneError, LoraSettings, create_backbone

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights")


def _adapter_groups(names: list[str]) -> set[str]:
    """Which layer each adapter belongs to: attn.in_proj (the parameter), attn.out_proj, c_fc, c_proj."""
    groups = set()
    for name in names:
        block = name.split("resblocks.")[1].split(".")[0]
        if ".out_proj." in name:
            groups.add(f"{block}.attn.out_proj")
        elif ".attn." in name:
            groups.add(f"{block}.attn.in_proj")
        else:
            groups.add(f"{block}.{name.split('.mlp.')[1].split('.')[0]}")
    return groups


def test_lora_trains_only_adapters_on_attention_and_mlp(tiny_open_clip: str) -> None:
    backbone = create_backbone(f"open_clip:{tiny_open_clip}")
    names = [n for n, p in backbone.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert _adapter_groups(names) == {
        f"{b}.{layer}" for b in (0, 1) for layer in ("attn.in_proj", "attn.out_proj", "c_fc", "c_proj")
    }
    assert backbone.adaptation == "lora"


def test_one_step_changes_attention_output_and_reaches_every_adapter(tiny_open_clip: str) -> None:
    torch.manual_seed(0)
    backbone = create_backbone(f"open_clip:{tiny_open_clip}").train()
    frozen_before = {n: p.detach().clone() for n, p in backbone.named_parameters() if not p.requires_grad}
    captured: list[torch.Tensor] = []
    attention = backbone.visual.transformer.resblocks[0].attn
    attention.register_forward_hook(lambda module, args, output: captured.append(output.detach().clone()))
    images = torch.rand(2, 3, 32, 32)
    optimizer = torch.optim.SGD(backbone.trainable_parameters(), lr=0.5)

    def step() -> None:
        optimizer.zero_grad()
        out = backbone.forward_features(images)
        ((out.maps[0] ** 2).mean() + (out.embedding**2).mean()).backward()
        optimizer.step()

    step()
    step()
    with torch.no_grad():
        backbone(images)
    assert not torch.allclose(captured[0], captured[-1]), "LoRA did not change the attention output"
    grads = {n: p.grad for n, p in backbone.named_parameters() if p.requires_grad}
    dead = [n for n, g in grads.items() if g is None or not g.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead}"
    for name, param in backbone.named_parameters():
        if not param.requires_grad:
            assert torch.equal(param, frozen_before[name]), f"frozen weight {name} moved"


def test_rank_and_targets_are_configurable(tiny_open_clip: str) -> None:
    backbone = create_backbone(f"open_clip:{tiny_open_clip}", rank=64)
    lora_a = backbone.visual.transformer.resblocks[0].mlp.c_fc.lora_A["default"]
    assert lora_a.out_features == 64
    mlp_only = create_backbone(
        f"open_clip:{tiny_open_clip}", adapt=LoraSettings(rank=4, target_modules=("mlp.c_fc",), target_parameters=())
    )
    names = [n for n, p in mlp_only.named_parameters() if p.requires_grad]
    assert names and all(".mlp.c_fc.lora_" in n for n in names)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_local_checkpoint_loads_into_the_tower(tiny_open_clip: str, tmp_path: Path, suffix: str) -> None:
    import open_clip

    torch.manual_seed(123)
    source = open_clip.create_model(tiny_open_clip, pretrained=None)
    path = tmp_path / f"tiny{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    else:
        torch.save(source.state_dict(), path)
    expected = source.visual.state_dict()
    for adapt in (False, True):
        backbone = create_backbone(f"open_clip:{tiny_open_clip}@{path}", adapt=adapt)
        loaded = {k.replace(".base_layer", ""): v for k, v in backbone.visual.state_dict().items() if "lora_" not in k}
        assert loaded.keys() == expected.keys()
        assert all(torch.equal(loaded[k], expected[k]) for k in expected)
    with torch.no_grad():  # the custom block computes what open_clip's default block computes
        source.visual.output_tokens = True
        images = torch.rand(2, 3, 32, 32)
        expected = source.visual((images - backbone.mean) / backbone.std)[0]
        torch.testing.assert_close(backbone.forward_features(images).embedding, expected)


def test_missing_weights_explain_offline_use(tiny_open_clip: str, tmp_path: Path) -> None:
    with pytest.raises(BackboneError, match=r"cannot be downloaded: this machine works offline.*@/path/to/"):
        create_backbone("open_clip:ViT-B-32@openai", cache_dir=str(tmp_path))
    with pytest.raises(BackboneError, match="no such file, and not a pretrained tag of ViT-B-32 \\(tags: .*openai"):
        create_backbone("open_clip:ViT-B-32@/no/such/file.safetensors")
    with pytest.raises(BackboneError, match="unknown open_clip architecture 'ViT-Q-99'"):
        create_backbone("open_clip:ViT-Q-99")
    with pytest.raises(BackboneError, match="offline.*local-dir"):
        create_backbone("open_clip:hf-hub:org/model")


def test_image_size_must_match_the_tower(tiny_open_clip: str) -> None:
    backbone = create_backbone(f"open_clip:{tiny_open_clip}", adapt=False)
    with pytest.raises(BackboneError, match="takes 32x32 images, got 64x64"):
        backbone(torch.rand(1, 3, 64, 64))
    resized = create_backbone(f"open_clip:{tiny_open_clip}", adapt=False, image_size=64)
    assert resized(torch.rand(1, 3, 64, 64))[0].shape == (1, 64, 8, 8)


def test_cached_tag_files_are_found_without_network(tmp_path: Path) -> None:
    from dire_dsl.vision.backbones.openclip import _cached_file

    snapshot = tmp_path / "models--org--clip" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (tmp_path / "models--org--clip" / "refs").mkdir()
    (tmp_path / "models--org--clip" / "refs" / "main").write_text("abc123")
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
    assert _cached_file({"hf_hub": "org/clip/"}, str(tmp_path)) == str(snapshot / "open_clip_model.safetensors")
    assert _cached_file({"hf_hub": "org/other/"}, str(tmp_path)) is None
    (tmp_path / "ViT-X.pt").write_bytes(b"weights")
    assert _cached_file({"url": "https://example.org/a/ViT-X.pt"}, str(tmp_path)) == str(tmp_path / "ViT-X.pt")


@pytest.mark.parametrize("text", ["{not json", '{"model_cfg": ' + "[" * 100_000, "{}"])
def test_a_damaged_local_dir_config_is_one_backbone_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "open_clip_config.json").write_text(text, encoding="utf-8")
    with pytest.raises(BackboneError, match=r"cannot read model_cfg from .*open_clip_config\.json"):
        create_backbone(f"open_clip:local-dir:{tmp_path}")

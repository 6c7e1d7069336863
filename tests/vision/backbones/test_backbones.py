"""Every registered backbone gets the same checks: shapes match its strides and channels,
frozen means no trainable weight, adapted means every trainable weight gets a gradient."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.vision.backbones import Backbone, BackboneError, LoraSettings, create_backbone, list_backbones

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights")

# Backbones whose name alone does not build (they take NAME:ARG) get a small offline spec here
# (the tiny open_clip config comes from conftest); every other registered name is tested as is.
TEST_SPECS: dict[str, tuple[str, dict]] = {
    "open_clip": ("open_clip:dire-test-tiny-vit", {}),
    # timm zero-initialises the last BatchNorm of each residual block; with frozen random weights
    # that would cut every gradient to the adapters inside the blocks.
    "timm": ("timm:resnet18", {"zero_init_last": False}),
}
EXTRA_SPECS: list[tuple[str, dict]] = [("timm:vit_tiny_patch16_224", {"img_size": 64, "depth": 2})]

CASES = [TEST_SPECS.get(name, (name, {})) for name in list_backbones()] + EXTRA_SPECS
IDS = [spec for spec, _ in CASES]


def _images(backbone: Backbone, batch: int = 2) -> torch.Tensor:
    height, width = backbone.input_size or (64, 64)
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(0))


def test_every_backbone_has_a_test_spec() -> None:
    for name in list_backbones():
        spec, kwargs = TEST_SPECS.get(name, (name, {}))
        try:
            create_backbone(spec, **kwargs)
        except BackboneError as error:
            pytest.fail(f"backbone {name!r} needs an entry in TEST_SPECS: {error}")


@pytest.mark.parametrize(("spec", "kwargs"), CASES, ids=IDS)
def test_shapes_follow_strides_and_channels(spec: str, kwargs: dict) -> None:
    backbone = create_backbone(spec, adapt=False, **kwargs)
    images = _images(backbone)
    with torch.no_grad():
        out = backbone.forward_features(images)
    assert len(out.maps) == len(backbone.strides) == len(backbone.channels)
    for fmap, stride, channels in zip(out.maps, backbone.strides, backbone.channels):
        assert fmap.shape == (2, channels, images.shape[2] // stride, images.shape[3] // stride)
        assert torch.isfinite(fmap).all()
    assert out.embedding.shape == (2, backbone.embed_dim)
    assert [m.shape for m in backbone(images)] == [m.shape for m in out.maps]


@pytest.mark.parametrize(("spec", "kwargs"), CASES, ids=IDS)
def test_frozen_backbone_trains_nothing_and_stays_in_eval(spec: str, kwargs: dict) -> None:
    backbone = create_backbone(spec, adapt=False, **kwargs)
    assert backbone.frozen and backbone.trainable_parameters() == []
    backbone.train()
    assert not any(module.training for module in backbone.modules())


@pytest.mark.parametrize(("spec", "kwargs"), CASES, ids=IDS)
def test_adapted_backbone_gets_gradients_everywhere(spec: str, kwargs: dict) -> None:
    torch.manual_seed(0)
    backbone = create_backbone(spec, adapt=True, **kwargs).train()
    params = backbone.trainable_parameters()
    assert params and not backbone.frozen
    optimizer = torch.optim.SGD(params, lr=0.1)
    images = _images(backbone)

    def loss() -> torch.Tensor:
        out = backbone.forward_features(images)
        return sum((m**2).mean() for m in out.maps) + (out.embedding**2).mean()

    loss().backward()  # LoRA B starts at zero, so A gets its first gradient after one step
    optimizer.step()
    optimizer.zero_grad()
    loss().backward()
    names = {id(p): n for n, p in backbone.named_parameters()}
    dead = [names[id(p)] for p in params if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead[:5]}"


@pytest.mark.parametrize(("spec", "kwargs"), CASES, ids=IDS)
def test_bad_images_are_refused_with_the_expected_size(spec: str, kwargs: dict) -> None:
    backbone = create_backbone(spec, adapt=False, **kwargs)
    with pytest.raises(BackboneError, match="expected float images"):
        backbone(torch.zeros(1, 1, 32, 32))
    height, width = backbone.input_size or (64, 64)
    with pytest.raises(BackboneError):
        backbone(torch.zeros(1, 3, height + 1, width))


def test_normalize_false_takes_normalized_images() -> None:
    torch.manual_seed(0)
    raw = create_backbone("conv-small", adapt=False)
    torch.manual_seed(0)
    pre = create_backbone("conv-small", adapt=False, normalize=False)
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = raw(images)[-1]
        got = pre((images - raw.mean) / raw.std)[-1]
    torch.testing.assert_close(got, expected)


def test_conv_small_is_cheap_enough_for_two_cpu_cores() -> None:
    """Counted, not timed, so a busy machine cannot make it flaky: 16.5 GFLOP per training
    step on 16 images at 128 px, measured at 0.05-0.1 s on 2 idle cores."""
    from torch.utils.flop_counter import FlopCounterMode

    backbone = create_backbone("conv-small").train()
    assert backbone.strides == (4, 8, 16) and backbone.channels == (64, 128, 256)
    with FlopCounterMode(display=False) as counter:
        out = backbone.forward_features(torch.rand(16, 3, 128, 128))
        (sum(m.mean() for m in out.maps) + out.embedding.mean()).backward()
    assert counter.get_total_flops() < 20e9


def test_conv_small_rejects_lora_and_arguments() -> None:
    with pytest.raises(BackboneError, match="LoRA does not apply"):
        create_backbone("conv-small", adapt=LoraSettings())
    with pytest.raises(BackboneError, match="LoRA does not apply"):
        create_backbone("conv-small", rank=8)
    with pytest.raises(BackboneError, match="takes no argument"):
        create_backbone("conv-small:wide")

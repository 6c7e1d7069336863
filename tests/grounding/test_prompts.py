"""Text prompts to patches: the pure matching has a known answer; only a CLIP with weights is
accepted; a local checkpoint loads both towers through the backbone's weight resolution."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.grounding.prompts import BACKGROUND, TEMPLATE, clip_weights_problem, load_clip, match_prompts
from dire_dsl.vision.backbones import BackboneError


def test_a_patch_is_labelled_with_the_text_that_equals_its_embedding() -> None:
    patches = torch.randn(2, 64, 3, 4, generator=torch.Generator().manual_seed(0))
    # objects 0 and 1, then two background descriptions, each a copy of one chosen patch
    texts = torch.stack([patches[0, :, 0, 0], patches[1, :, 2, 3], patches[0, :, 1, 2], patches[1, :, 0, 1]])
    labels = match_prompts(patches, 3 * texts, n_objects=2)  # the length of a text embedding does not matter
    assert labels.shape == (2, 3, 4) and labels.dtype == torch.long
    assert labels[0, 0, 0] == 0 and labels[1, 2, 3] == 1
    assert labels[0, 1, 2] == BACKGROUND and labels[1, 0, 1] == BACKGROUND
    # every patch takes its most similar text: argmax of cosine similarity
    similarity = torch.einsum("ndhw,md->nmhw", torch.nn.functional.normalize(patches, dim=1),
                              torch.nn.functional.normalize(texts, dim=1)).argmax(dim=1)
    assert torch.equal(labels, torch.where(similarity < 2, similarity, torch.full_like(similarity, BACKGROUND)))


def test_labels_can_be_read_at_the_image_resolution() -> None:
    patches = torch.zeros(1, 2, 2, 2)
    patches[0, 0, :, 0] = 1  # left column: object 0
    patches[0, 1, :, 1] = 1  # right column: background
    labels = match_prompts(patches, torch.eye(2), n_objects=1, size=(8, 8))
    assert labels.shape == (1, 8, 8)
    assert (labels[0, :, :4] == 0).all() and (labels[0, :, 4:] == BACKGROUND).all()


def test_matching_needs_background_descriptions() -> None:
    with pytest.raises(ValueError, match="background"):
        match_prompts(torch.zeros(1, 4, 2, 2), torch.eye(4)[:2], n_objects=2)


@pytest.mark.parametrize(("spec", "problem"), [
    ("conv-small", "not a CLIP model"),
    ("timm:resnet18@/weights/r18.safetensors", "not a CLIP model"),
    ("open_clip:ViT-B-16", "random weights"),
])
def test_only_a_clip_with_weights_qualifies(spec: str, problem: str) -> None:
    assert problem in clip_weights_problem(spec)
    with pytest.raises(BackboneError, match="pretrained CLIP.*open_clip:ViT-B-16@/path/to/checkpoint.bin"):
        load_clip(spec)


def test_a_clip_with_weights_qualifies() -> None:
    assert clip_weights_problem("open_clip:ViT-B-16@/weights/clip.bin") is None
    assert clip_weights_problem("open_clip:ViT-B-16@openai") is None
    assert clip_weights_problem("open_clip:local-dir:/models/clip") is None


def test_a_local_checkpoint_gives_prompt_and_patch_embeddings_in_one_space(tiny_clip_checkpoint: str) -> None:
    import open_clip

    clip = load_clip(tiny_clip_checkpoint)
    texts = clip.encode_prompts([["a colored push pin", "a thumbtack"], ["the background"]])
    assert texts.shape == (2, 32)
    torch.testing.assert_close(texts.norm(dim=1), torch.ones(2))
    # the weights are the checkpoint's: a second load embeds the same text the same way
    single = load_clip(tiny_clip_checkpoint).encode_prompts([["the background"]])
    torch.testing.assert_close(single[0], texts[1])
    tokenizer = open_clip.get_tokenizer(tiny_clip_checkpoint.split(":")[1].split("@")[0])
    tokens = tokenizer([TEMPLATE.format("the background")])
    direct = torch.nn.functional.normalize(clip.model.encode_text(tokens), dim=-1)[0]
    torch.testing.assert_close(texts[1], direct)
    images = torch.rand(3, 3, 64, 64)
    embedded = clip.embed_patches(images, batch=2)
    assert embedded.tokens.shape == (3, 32, 8, 8) and embedded.projected.shape == (3, 32, 8, 8)
    projection = clip.model.visual.proj
    torch.testing.assert_close(embedded.projected, torch.einsum("nchw,cd->ndhw", embedded.tokens, projection))
    assert clip.stride == 8 and clip.input_size == (64, 64)
    assert clip.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)  # open_clip's initial temperature

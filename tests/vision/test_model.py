"""The grounding model produces the grounding contract for any rules file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dire_dsl.lang.program import load_rules
from dire_dsl.vision.backbones import create_backbone
from dire_dsl.vision.heads import HeadLayout
from dire_dsl.vision.model import GroundingModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("category", ["splicing_connectors", "juice_bottle"])
def test_output_satisfies_the_contract(category: str) -> None:
    program = load_rules(ROOT / "rules" / f"{category}.rules")
    model = GroundingModel(program, create_backbone("conv-small", width=16), slots=6, embed_dim=8)
    out = model(torch.rand(2, 3, 64, 96))
    out.grounding.validate(program, check_values=True)
    assert out.grounding.mask_size == (16, 24)
    for obj in program.objects:
        grounded = out.grounding.objects[obj.name]
        assert grounded.instances.shape == (2, 6, 16, 24)
        for attr in obj.attributes:
            assert torch.allclose(grounded.attributes[attr].sum(-1), torch.ones(2, 6), atol=1e-5)
    assert out.grounding.embedding.shape == (2, 8)


def test_layout_orders_channels_by_program() -> None:
    program = load_rules(ROOT / "tests" / "fixtures" / "frozen_rules" / "splicing_connectors.rules")
    layout = HeadLayout.from_program(program)
    assert layout.objects == ("connector", "cable")
    assert layout.n_channels == 2 * 2 + 3 + 3
    assert layout.attribute_slices()[("cable", "color")] == slice(7, 10)


def test_gradients_reach_backbone_and_head() -> None:
    program = load_rules(ROOT / "rules" / "pushpins.rules")
    model = GroundingModel(program, create_backbone("conv-small", width=16), slots=4, embed_dim=8)
    out = model(torch.rand(1, 3, 64, 64))
    (out.grounding.objects["pushpin"].presence.sum() + out.grounding.embedding.sum()
     + out.grounding.objects["pushpin"].mask.sum()).backward()
    assert model.head.predict.weight.grad is not None
    assert next(model.backbone.parameters()).grad is not None


def test_under_mixed_precision_the_contract_stays_float32_and_the_rules_run() -> None:
    """With autocast the backbone and head run in half precision; the grounding contract and
    the rules stay float32 (one dtype for every tensor; fuzzy products underflow in float16)."""
    from dire_dsl.logic.compiler import CompiledRules

    program = load_rules(ROOT / "rules" / "pushpins.rules")
    model = GroundingModel(program, create_backbone("conv-small", width=16), slots=4, embed_dim=8)
    rules = CompiledRules(program)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.rand(2, 3, 64, 64))
        logic = rules(out.grounding)
    assert out.head.mask_logits.dtype == torch.bfloat16
    out.grounding.validate(program, check_values=True)
    assert out.grounding.dtype == torch.float32
    assert logic.truth.dtype == torch.float32 and bool(torch.isfinite(logic.truth).all())

"""Training runs on an open_clip tower too: a fixed input size (ViT position embeddings) wins
over the rules file's image_size, the structural branch is PatchCore on the tower's own
features (the pretrained path), and the run scores images afterwards."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.train.helpers import PINS_RULES


def test_open_clip_backbone_trains_at_its_own_input_size(tiny_loco: Path, tmp_path: Path, tiny_clip_name: str) -> None:
    from dire_dsl.run.scoring import score_batch
    from dire_dsl.run.trained import load_run
    from dire_dsl.train.api import train

    result = train(PINS_RULES, tiny_loco, tmp_path / "run",
                   overrides={"backbone": f"open_clip:{tiny_clip_name}", "epochs": 1, "image_size": 96})
    assert result.config.input_hw() == (64, 64)
    run = load_run(tmp_path / "run")
    scores = score_batch(run.detector, torch.rand(2, 3, 64, 64))
    assert torch.isfinite(run.calibration.image_score(scores)).all()
    assert [n for n, p in run.detector.model.backbone.named_parameters() if p.requires_grad]  # LoRA adapters
    assert run.config.descriptor == "features"  # structural = auto: a tower's features, not raw pixels
    assert run.detector.memory.shape[1] == sum(run.detector.model.backbone.channels[:2])
    assert 0 < run.detector.memory.shape[0]
    assert scores.patch.shape[-2:] == run.detector.model(torch.rand(1, 3, 64, 64)).maps[0].shape[-2:]

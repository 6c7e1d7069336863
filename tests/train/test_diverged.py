"""A NaN loss stops training with TrainingDiverged naming the loss terms; the last good
checkpoint stays loadable and no final weights are written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dire_dsl.lang.program import load_rules
from dire_dsl.run.config import TrainConfig
from dire_dsl.run.detector import build_detector
from dire_dsl.run.folder import open_run_dir
from dire_dsl.train.api import train
from dire_dsl.train.errors import TrainingDiverged
from tests.train.helpers import PINS_RULES, log_steps, poison_compactness


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path, tiny_loco: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    poison_compactness(monkeypatch, from_step=3)
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged) as caught:
        train(PINS_RULES, tiny_loco, out)
    message = str(caught.value)
    assert "the loss became nan" in message
    for term in ("component=", "rules=", "compact=nan", "push=", "gates="):
        assert term in message

    run = open_run_dir(out)
    state = run.load_checkpoint()
    assert state.step == 2
    detector = build_detector(load_rules(PINS_RULES), run.read_config(TrainConfig))
    detector.load_state_dict(state.model)
    assert all(bool(torch.isfinite(t).all()) for t in detector.state_dict().values() if t.is_floating_point())
    assert not (out / "model.safetensors").exists()
    assert log_steps(out) == [1, 2]

"""Training on CUDA: a run trained on the GPU scores the same once loaded on the CPU.

These tests need a CUDA device and are skipped, with the reason shown by `pytest -rs`, on the
CPU machines CI runs on; on a GPU machine run `pytest tests/train/test_cuda.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dire_dsl.run.inference import Scorer
from dire_dsl.run.trained import load_run
from dire_dsl.train.api import train
from tests.conftest import TINY_TRAIN

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _validation_images(root: Path) -> list[np.ndarray]:
    paths = sorted((root / "pushpins" / "validation" / "good").glob("*.png"))
    return [np.asarray(Image.open(path).convert("RGB")) for path in paths]


def _image_scores(scorer: Scorer, images: list[np.ndarray]) -> np.ndarray:
    return scorer.image_scores(scorer.score(images))


@needs_cuda
@pytest.mark.parametrize("use_rules", [True, False], ids=["rules", "no-rules"])
def test_a_run_trained_on_cuda_scores_the_same_on_the_cpu(tmp_path: Path, tiny_loco: Path, tiny_rules: Path,
                                                          use_rules: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """TF32 is off here: cuDNN's default TF32 convolutions differ from float32 by ~1e-3, and
    instance extraction (peaks above a threshold) can turn that into a different count."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    trained = train(tiny_rules, tiny_loco, tmp_path / "run",
                    overrides={**TINY_TRAIN, "device": "cuda", "use_rules": use_rules})
    assert trained.detector.center.device.type == "cuda"
    assert np.isfinite(trained.calibration.threshold)
    images = _validation_images(tiny_loco)
    on_gpu = _image_scores(Scorer(trained), images)
    on_cpu = _image_scores(Scorer(load_run(tmp_path / "run")), images)
    assert np.isfinite(on_gpu).all()
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)

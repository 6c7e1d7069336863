"""The generated benchmark is not trivial: colour histogram + kNN stays <= 0.75 logical AUROC."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dire_dsl.data.errors import ImageReadError
from dire_dsl.eval.color_histogram import color_histogram, histogram_knn_auroc
from dire_dsl.synth.generate import synthesize
from tests.synth.conftest import CATEGORIES


@pytest.mark.slow
@pytest.mark.parametrize("category", CATEGORIES)
def test_histogram_knn_is_not_enough(category: str, tmp_path: Path) -> None:
    # 80 normal training images, 120 test images (48 good, 36 logical, 36 structural) at 96 px
    root = synthesize(category, tmp_path, seed=0, size=96, n_train=80, n_val=0, n_test=120, workers=2)
    auroc = histogram_knn_auroc(root, k=1, bins=8)
    assert auroc["logical_anomalies"] <= 0.75, auroc
    assert 0.0 <= auroc["structural_anomalies"] <= 1.0


def test_histogram_is_normalised(pushpins_tree: Path) -> None:
    h = color_histogram(pushpins_tree / "train" / "good" / "000.png", bins=4)
    assert h.shape == (64,) and abs((h**2).sum() - 1.0) < 1e-9


def test_histogram_reads_images_like_the_detectors(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))  # 16-bit: scaled, not all white
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    h = color_histogram(tmp_path / "g16.png", bins=4)
    assert np.count_nonzero(h) == 4  # the four grey bins, not just white
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ImageReadError, match=r"pipe\.png: is not a regular file"):
        color_histogram(tmp_path / "pipe.png")

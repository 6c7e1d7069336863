"""The benchmark's baselines: greedy coreset, PatchCore on a backbone, colour-histogram kNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dire_dsl.eval.baselines import HistogramKNN, PatchCore
from dire_dsl.run.appearance import greedy_coreset
from dire_dsl.vision.backbones import create_backbone


def test_greedy_coreset_picks_the_farthest_points() -> None:
    points = torch.tensor([[0.0], [0.1], [0.2], [10.0], [5.0], [5.1]])
    cluster = {0: "a", 1: "a", 2: "a", 3: "c", 4: "b", 5: "b"}
    for seed in range(5):  # wherever it starts, three picks cover the three clusters
        chosen = greedy_coreset(points, 3, seed=seed).tolist()
        assert {cluster[i] for i in chosen} == {"a", "b", "c"}
    assert greedy_coreset(points, 10).tolist() == list(range(6))


def test_patchcore_scores_outliers_higher() -> None:
    torch.manual_seed(0)
    backbone = create_backbone("conv-small", adapt=True)
    normals = torch.full((6, 3, 32, 32), 0.5) + 0.01 * torch.randn(6, 3, 32, 32)
    odd = normals[:2].clone()
    odd[:, :, 8:20, 8:20] = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    core = PatchCore(backbone, coreset=0.5).fit(normals.clamp(0, 1))
    scores, maps = core.score(torch.cat([normals[:2], odd]).clamp(0, 1))
    assert scores.shape == (4,) and maps.shape[0] == 4 and maps.dim() == 3
    assert scores[2:].min() > scores[:2].max()
    assert core.bank.shape[0] == int(np.ceil(0.5 * 6 * maps.shape[1] * maps.shape[2]))


def test_histogram_knn_on_a_tree(tiny_loco: Path) -> None:
    root = tiny_loco / "pushpins"
    train = sorted((root / "train" / "good").glob("*.png"))
    test = sorted((root / "test").rglob("*.png"))
    scores = HistogramKNN().fit(train).score(test)
    assert scores.shape == (len(test),) and np.all(scores >= 0)
    assert HistogramKNN().fit(train).score(train[:3]).max() == 0.0  # a training image is its own neighbour

"""Baselines the benchmark compares against: PatchCore on our backbone, and colour histograms.

**PatchCore** (Roth et al., 2022), as published except for the backbone: the feature maps of
the two deeper levels of a backbone (for conv-small, strides 8 and 16, the analogue of
WideResNet's layer2/layer3), each averaged over its 3×3 neighbourhood (local aggregation),
the coarser one upsampled to the finer, concatenated; a memory bank of training-normal patch
features reduced by greedy k-centre coreset selection (on a random projection to 128
dimensions, as the paper does for speed) to `coreset` of the patches (10%, at most
`max_bank`); a test patch's score is the distance to its nearest memory patch, the image
score the max over patches. The backbone is whatever is passed in: the benchmark passes the
trained no-rules model's backbone (same architecture, data and training budget as the rules
model), since there are no ImageNet weights offline. The paper's re-weighting of the image
score by neighbourhood density is left out (it changes AUROC by tenths of a percent there).

**Colour histograms**: `dire_dsl.eval.color_histogram.color_histogram` features (joint RGB, Hellinger
geometry) and the mean distance to the `k` nearest training histograms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dire_dsl.eval.color_histogram import color_histogram
from dire_dsl.run.appearance import greedy_coreset, nearest_distance
from dire_dsl.vision.backbones.base import Backbone


class PatchCore:
    """Fit on normal images, score any images: `fit(images)`, `score(images) -> (scores, maps)`."""

    def __init__(self, backbone: Backbone, levels: Sequence[int] | None = None, coreset: float = 0.1,
                 max_bank: int = 16384, projection: int = 128, seed: int = 0, batch_size: int = 32) -> None:
        self.backbone = backbone.eval()
        count = len(backbone.strides)
        self.levels = tuple(levels) if levels is not None else tuple(range(max(0, count - 2), count))
        self.coreset, self.max_bank, self.projection = coreset, max_bank, projection
        self.seed, self.batch_size = seed, batch_size
        self.bank = torch.zeros(0)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """[B, 3, S, S] floats in [0, 1] → locally aggregated patch features [B, h, w, C]."""
        maps = self.backbone.forward_features(images).maps
        picked = [F.avg_pool2d(maps[i], 3, stride=1, padding=1) for i in self.levels]
        size = picked[0].shape[-2:]
        joined = torch.cat([p if p.shape[-2:] == size else
                            F.interpolate(p, size=size, mode="bilinear", align_corners=False) for p in picked], dim=1)
        return joined.permute(0, 2, 3, 1).contiguous()

    def _batches(self, images: Tensor) -> list[Tensor]:
        return [images[i:i + self.batch_size] for i in range(0, images.shape[0], self.batch_size)]

    @torch.no_grad()
    def fit(self, images: Tensor) -> PatchCore:
        """Build the memory bank from normal images [N, 3, S, S] (uint8 or float in [0, 1])."""
        parts = [self.features(_float(batch)) for batch in self._batches(images)]
        patches = torch.cat([part.reshape(-1, part.shape[-1]) for part in parts])
        target = min(self.max_bank, max(1, math.ceil(self.coreset * patches.shape[0])))
        self.bank = patches[greedy_coreset(patches, target, self.projection, self.seed)]
        return self

    @torch.no_grad()
    def score(self, images: Tensor) -> tuple[np.ndarray, Tensor]:
        """Image scores [N] (max patch distance) and patch distance maps [N, h, w]."""
        maps = []
        for batch in self._batches(images):
            feats = self.features(_float(batch))
            b, h, w, c = feats.shape
            maps.append(nearest_distance(feats.reshape(-1, c), self.bank).view(b, h, w))
        patch = torch.cat(maps)
        return patch.amax(dim=(1, 2)).double().numpy(), patch


def _float(batch: Tensor) -> Tensor:
    return batch.float() / 255 if batch.dtype == torch.uint8 else batch.float()


class HistogramKNN:
    """Colour-histogram k-nearest-neighbour detector: `fit(train paths)`, `score(test paths) -> [N]`."""

    def __init__(self, bins: int = 8, k: int = 1) -> None:
        self.bins, self.k = bins, k
        self.neighbours = None

    def fit(self, paths: Sequence[str | Path]) -> HistogramKNN:
        from sklearn.neighbors import NearestNeighbors

        train = np.stack([color_histogram(p, self.bins) for p in paths])
        self.neighbours = NearestNeighbors(n_neighbors=min(self.k, len(train))).fit(train)
        return self

    def score(self, paths: Sequence[str | Path]) -> np.ndarray:
        if self.neighbours is None:
            raise RuntimeError("call fit() first")
        test = np.stack([color_histogram(p, self.bins) for p in paths])
        return self.neighbours.kneighbors(test)[0].mean(axis=1)

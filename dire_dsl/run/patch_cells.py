"""The structural map in each cell's own normal spread (`patch_spread = "cell"`).

A patch's distance to the nearest normal patch is not equally telling everywhere: where a
cable enters its connector, at a random angle and in one of several colours, even normal
images hold patches the memory has rarely seen, while on the plain tray a small distance
is already strange. PaDiM (Defard et al., 2021) models each position's normal patches on its
own; here each map cell's distance is turned into a z-score of the validation normals'
distances at that cell, so a normal image's rare-but-normal spots stop outscoring real
defects elsewhere. The statistics are smoothed over neighbouring cells (objects shift a
little between images) and the spread is floored, so a cell that never varied does not turn
any later wobble into a huge score.

The validation normals that give these statistics also calibrate the image score; each of
them is therefore normalised by the statistics of the others (leave one out), so their
per-image maxima are those of unseen normals, not of images the statistics were fitted to.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.transforms.functional import gaussian_blur

SMOOTH_SIGMA = 1.0
"""In map cells. Chosen on validation normals with generic defects (a development seed): σ = 1
beat σ = 3 on the products whose parts sit in fixed places."""
SPREAD_FLOOR = 0.25
"""A cell's spread is at least this share of the map's median spread ..."""
LEVEL_SHARE = 0.1
"""... and the median spread is taken as at least this share of the median distance, so maps
that hardly vary anywhere (a perfectly plain product) do not make every wobble huge."""
SMALLEST_SET = 3
"""Fewer validation normals than this give no cell statistics (the map keeps one spread)."""


def _smooth(maps: Tensor) -> Tensor:
    """[N, h, w] blurred by SMOOTH_SIGMA cells (maps too small to blur are returned as they are)."""
    if min(maps.shape[-2:]) < 3:
        return maps
    size = 2 * math.ceil(2 * SMOOTH_SIGMA) + 1
    return gaussian_blur(maps[:, None], [size, size], [SMOOTH_SIGMA, SMOOTH_SIGMA])[:, 0]


def _settle(mean: Tensor, variance: Tensor) -> Tensor:
    """[N, 2, h, w] smoothed means and floored, smoothed spreads from raw ones [N, h, w]."""
    mean, spread = _smooth(mean), _smooth(variance.clamp_min(0).sqrt())
    typical = torch.maximum(spread.flatten(1).median(dim=1).values,
                            LEVEL_SHARE * mean.flatten(1).median(dim=1).values.abs())
    floor = SPREAD_FLOOR * typical.clamp_min(1e-6)
    return torch.stack([mean, torch.maximum(spread, floor[:, None, None])], dim=1)


def cell_statistics(maps: Tensor) -> Tensor:
    """[2, h, w]: each cell's mean and spread over the normal maps [N, h, w] (N ≥ SMALLEST_SET)."""
    maps = maps.double()
    mean = maps.mean(dim=0, keepdim=True)
    variance = maps.var(dim=0, keepdim=True)
    return _settle(mean, variance)[0].float()


def leave_one_out(maps: Tensor) -> Tensor:
    """[N, h, w]: each normal map in the cell statistics of the other N − 1 maps."""
    maps = maps.double()
    n = maps.shape[0]
    total, squares = maps.sum(dim=0), maps.pow(2).sum(dim=0)
    mean = (total - maps) / (n - 1)
    variance = ((squares - maps.pow(2)) - (n - 1) * mean.pow(2)) / (n - 2)
    stats = _settle(mean, variance)
    return ((maps - stats[:, 0]) / stats[:, 1]).float()


def normalise(maps: Tensor, cells: Tensor) -> Tensor:
    """[B, h, w] raw distances → each cell's z-score under `cells` [2, h, w]."""
    return (maps - cells[0].to(maps.dtype)) / cells[1].to(maps.dtype)

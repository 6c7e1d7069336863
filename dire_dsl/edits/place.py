"""Where a moved or copied instance may go, and the pixel work of putting it there.

Every integer offset is scored at once: the image is pooled to a coarse grid (at most GRID
cells a side) and the share of the instance that lands in each constraint mask, for every
offset, is one FFT correlation. Obstacles are pooled with `any`, so a placement that the
coarse grid calls free is free at full resolution too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

GRID = 160
"""Cells along the longer side of the coarse grid placements are searched on."""
FEATHER = 0.7
"""Gaussian σ (pixels) of the soft inner edge of a pasted instance, so no cut-out edge shows."""
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Limit:
    """The placed instance's share inside `mask` must lie in [low, high]; high 0 is a hard block."""

    mask: np.ndarray
    low: float
    high: float


def _pool(mask: np.ndarray, k: int, hard: bool) -> np.ndarray:
    """k×k blocks: `any` (hard) or the mean."""
    height, width = mask.shape
    padded = np.zeros((math.ceil(height / k) * k, math.ceil(width / k) * k), np.float32)
    padded[:height, :width] = mask
    blocks = padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k)
    return blocks.max(axis=(1, 3)) if hard else blocks.mean(axis=(1, 3))


def find_offset(moving: np.ndarray, limits: list[Limit], rng: np.random.Generator,
                accept: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[int, int] | None:
    """A random offset (dy, dx) that keeps `moving` in the image and meets every limit and `accept`."""
    if not moving.any():
        return None
    height, width = moving.shape
    k = max(1, math.ceil(max(height, width) / GRID))
    small = _pool(moving, k, hard=True)
    rows, cols = np.nonzero(small)
    r0, c0 = rows.min(), cols.min()
    crop = small[r0:rows.max() + 1, c0:cols.max() + 1]
    ys, xs = np.nonzero(moving)
    dy = k * (np.arange(small.shape[0] - crop.shape[0] + 1) - r0)
    dx = k * (np.arange(small.shape[1] - crop.shape[1] + 1) - c0)
    dy, dx = np.meshgrid(dy, dx, indexing="ij")
    ok = (ys.min() + dy >= 0) & (ys.max() + dy < height) & (xs.min() + dx >= 0) & (xs.max() + dx < width)
    total = crop.sum()
    for limit in limits:
        hard = limit.high <= 0
        landed = signal.correlate(_pool(limit.mask, k, hard), crop, mode="valid", method="fft") / total
        ok &= (landed >= limit.low - TOLERANCE) & (landed <= limit.high + TOLERANCE)
    if accept is not None:
        ok &= accept(dy, dx)
    choices = np.flatnonzero(ok)
    if not len(choices):
        return None
    pick = choices[rng.integers(len(choices))]
    return int(dy.flat[pick]), int(dx.flat[pick])


def shift(array: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`array` moved by (dy, dx) along its first two axes; what leaves the frame is dropped."""
    out = np.zeros_like(array)
    height, width = array.shape[:2]
    out[max(0, dy):max(0, height + dy), max(0, dx):max(0, width + dx)] = \
        array[max(0, -dy):max(0, height - dy), max(0, -dx):max(0, width - dx)]
    return out


def place_at(shape: tuple[int, ...], array: np.ndarray, top: int, left: int) -> np.ndarray:
    """A zero array of `shape` with `array` written at (top, left), clipped to the frame."""
    out = np.zeros(shape, array.dtype)
    height, width = shape[:2]
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(height, top + array.shape[0]), min(width, left + array.shape[1])
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = array[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


def paste(image: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`source` pixels under `mask` over `image`, with a soft inner edge."""
    alpha = (ndimage.gaussian_filter(mask.astype(np.float32), FEATHER) * mask)[..., None]
    blended = alpha * source.astype(np.float32) + (1.0 - alpha) * image.astype(np.float32)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The mask dilated by `pixels` (Euclidean), computed on its bounding box only."""
    if pixels <= 0 or not mask.any():
        return mask.copy()
    out = np.zeros_like(mask)
    box = ndimage.find_objects(mask.view(np.uint8))[0]
    window = tuple(slice(max(0, s.start - pixels), s.stop + pixels) for s in box)
    out[window] = ndimage.distance_transform_edt(~mask[window]) <= pixels
    return out

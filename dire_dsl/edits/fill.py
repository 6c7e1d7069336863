"""Filling the place of a removed instance with plausible background.

The hole, grown a little so the object's soft edge goes too, is solved by repeated
normalised blurring from coarse to fine with a thin band of pixels around it held fixed: a
smooth membrane that continues the surrounding colours instead of a flat blob. Texture comes back as
high-pass residuals sampled from the ring around the hole, and the result fades into the
original over the grown margin, so no hard edge shows. Pixels of neighbouring instances
(`avoid`) neither feed the fill nor get painted over.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

GROWTH = 0.1
"""The hole grows by this fraction of the square root of its area (at least 2 pixels)."""
RING = 3.0
"""Texture is sampled from known pixels within this many growth widths of the hole."""
MIN_KNOWN = 8
"""Fewer known pixels than this around a hole: ignore `avoid` and use whatever surrounds it."""
COARSE_SIGMA = 2.0
"""Blurs wider than twice this run on a grid coarsened so that they are this wide there."""
BOUNDARY = 2
"""Width (pixels) of the band of known pixels just outside the grown hole that the fill continues."""


def fill_background(image: np.ndarray, hole: np.ndarray, avoid: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The image with `hole` filled from its surroundings, and the mask of pixels that may differ."""
    out = image.copy()
    changed = np.zeros(hole.shape, bool)
    if not hole.any():
        return out, changed
    height, width = hole.shape
    margin = max(2, round(GROWTH * math.sqrt(hole.sum())))
    box = ndimage.find_objects(hole.view(np.uint8))[0]
    pad = margin + max(8, max(s.stop - s.start for s in box) // 2)
    window = (slice(max(0, box[0].start - pad), min(height, box[0].stop + pad)),
              slice(max(0, box[1].start - pad), min(width, box[1].stop + pad)))
    pixels = image[window].astype(np.float32)
    distance = ndimage.distance_transform_edt(~hole[window])
    grown = distance <= margin
    unknown = grown | avoid[window]
    if (~unknown).sum() < MIN_KNOWN:
        unknown = grown
    known = ~unknown
    boundary = known & (distance <= margin + BOUNDARY)
    if boundary.any():
        filled = _diffuse(pixels, unknown, boundary)
    else:  # nothing around the hole to continue: the rest of the image's median colour, or mid grey
        filled = pixels.copy()
        filled[unknown] = np.median(image[~hole], axis=0) if not hole.all() else 127.5
    ring = known & (distance <= RING * margin + 2)
    if ring.sum() >= MIN_KNOWN:
        filled[unknown] += _texture(pixels, ring, int(unknown.sum()), rng)
    alpha = np.clip((margin + 1 - distance) / (margin + 1), 0.0, 1.0) * (grown & (~avoid[window] | hole[window]))
    blended = alpha[..., None] * filled + (1.0 - alpha[..., None]) * pixels
    out[window] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    changed[window] = alpha > 0
    return out, changed


def _diffuse(pixels: np.ndarray, unknown: np.ndarray, boundary: np.ndarray) -> np.ndarray:
    """Unknown pixels relaxed towards the boundary ones by normalised blurring, from the hole's
    depth down to 1 px; pixels beyond the boundary band take no part, so far colours do not leak in."""
    work = pixels.copy()
    work[unknown] = np.median(pixels[boundary], axis=0)
    valid = (boundary | unknown).astype(np.float32)
    weight = valid[..., None]
    sigma = max(1.0, float(ndimage.distance_transform_edt(unknown).max()) / 2)
    while sigma >= 0.7:
        norm = _blur(valid[..., None], sigma)
        for _ in range(3):
            blurred = _blur(work * weight, sigma) / np.maximum(norm, 1e-6)
            work[unknown] = blurred[unknown]
        sigma /= 2
    return work


def _blur(array: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur over the first two axes; wide ones run on a block-averaged copy, k² times
    cheaper, so that large holes fill in well under a second."""
    k = int(sigma // COARSE_SIGMA)
    if k < 2:
        return ndimage.gaussian_filter(array, (sigma, sigma, 0))
    height, width = array.shape[:2]
    padded = np.pad(array, ((0, -height % k), (0, -width % k), (0, 0)), mode="edge")
    small = padded.reshape(padded.shape[0] // k, k, padded.shape[1] // k, k, -1).mean(axis=(1, 3))
    small = ndimage.gaussian_filter(small, (sigma / k, sigma / k, 0))
    return np.repeat(np.repeat(small, k, axis=0), k, axis=1)[:height, :width]  # finer passes smooth the blocks


def _texture(pixels: np.ndarray, ring: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` high-pass residuals drawn from the ring; residuals beyond 2.5 robust σ are edges
    between parts, not texture, and are left out."""
    residual = (pixels - ndimage.gaussian_filter(pixels, (1.5, 1.5, 0)))[ring]
    centre = np.median(residual, axis=0)
    sigma = 1.4826 * np.median(np.abs(residual - centre), axis=0)
    texture = residual[np.all(np.abs(residual - centre) <= 2.5 * sigma + 1e-6, axis=1)]
    return texture[rng.integers(len(texture), size=count)]

"""Soft instances from a class mask and a centre heatmap (CenterNet-style).

Peaks of the heatmap (3×3 local maxima, top K) become instance slots. A heatmap learned
from a few images is often a ridge along a long part (a screw, a cable) with several bumps
on it; a bump is therefore dropped when a higher peak lies within PEAK_SEPARATION of the
object's largest size *and* the class mask joins the two (the bumps of one screw), but
kept when background lies between them (two parallel cables, the two ends of a cut cable).
A bump further away, up to RIDGE_REACH of the object's typical size, is dropped too when
the heatmap itself stays up between the two (a ridge, as along one long screw) rather than
falling into a valley (two touching nuts); parts end to end (separator walls in a row) are
a whole size apart, beyond it. The choice of peaks is discrete, but everything measured
from them is differentiable: a slot's presence is the heatmap value at its peak, and its
mask is the class mask shared among the peaks by a soft nearest-peak assignment, each pixel
only among the peaks on its connected part of the mask where it has any.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dire_dsl.logic.tensors import max_filter, settled


@dataclass
class SoftInstances:
    masks: Tensor  # [B, K, h, w]
    presence: Tensor  # [B, K]
    centers: Tensor  # [B, K, 2] (x, y) in [0, 1]


PRESENCE_AT = 0.3
"""Peak height at which a slot counts as half present (CenterNet detects at about this score)."""
PRESENCE_SHARPNESS = 0.06


def extract_instances(mask_prob: Tensor, center_prob: Tensor, k: int, min_peak: float = 0.15,
                      spread: float = 0.08, radius: int = 1, ridge_radius: int = 0) -> SoftInstances:
    """Instances of one object for a batch.

    mask_prob, center_prob: [B, h, w] in [0, 1]. `min_peak` drops weak peaks (their presence
    is zeroed, so K spurious bumps cannot add up to a phantom instance); `spread` is the
    width, in image fractions, of the soft assignment of pixels to peaks; `radius` (cells) is
    how near a higher peak, joined to it by the mask, may be before a peak is dropped;
    `ridge_radius` (cells, 0 for none) how near it may be when a heatmap ridge joins them too. A peak's height is
    a detection score, not a probability (an object whose exact centre pixel is uncertain
    peaks well below 1), so presence is the height passed through a soft threshold at
    PRESENCE_AT: the soft count then counts detections. Instance masks hold only the mask
    near its confident pixels (`near_confident`), and a pixel on a part of the mask that
    holds a peak is shared only among the peaks on that part (`claimed_parts`).
    """
    batch, height, width = center_prob.shape
    k = min(k, height * width)
    pooled = max_filter(center_prob)
    peaks = torch.where(center_prob >= pooled, center_prob, torch.zeros_like(center_prob))
    if max(radius, ridge_radius) > 1:
        values, index = peaks.flatten(1).topk(min(CANDIDATES * k, height * width), dim=1)
        keep = _not_joined_to_higher(values.detach(), index, mask_prob.detach(), center_prob.detach(), width,
                                     radius, ridge_radius)
        values = values * keep
        values, order = values.topk(k, dim=1)
        index = index.gather(1, order)
    else:
        values, index = peaks.flatten(1).topk(k, dim=1)
    heights = center_prob.flatten(1).gather(1, index)
    live = values.detach() >= min_peak
    presence = torch.sigmoid((heights - PRESENCE_AT) / PRESENCE_SHARPNESS) * live.to(center_prob.dtype)
    ys = (index // width).to(center_prob.dtype)
    xs = (index % width).to(center_prob.dtype)
    centers = torch.stack([(xs + 0.5) / width, (ys + 0.5) / height], dim=-1)
    grid_y = (torch.arange(height, device=center_prob.device, dtype=center_prob.dtype) + 0.5) / height
    grid_x = (torch.arange(width, device=center_prob.device, dtype=center_prob.dtype) + 0.5) / width
    dist2 = (grid_x.view(1, 1, 1, width) - centers[..., 0].view(batch, k, 1, 1)) ** 2 \
        + (grid_y.view(1, 1, height, 1) - centers[..., 1].view(batch, k, 1, 1)) ** 2
    logits = -dist2 / (2 * spread**2) + torch.log(presence.detach() + 1e-6).view(batch, k, 1, 1)
    # Slots without a peak take no share of any pixel: where such a slot sits depends on how
    # topk breaks ties among zeros, which differs between devices.
    logits = logits.masked_fill(~live.view(batch, k, 1, 1), DEAD_SLOT_LOGIT)
    parts = claimed_parts(mask_prob.detach(), index, live)
    logits = logits.masked_fill(parts.any(dim=1, keepdim=True) & ~parts, DEAD_SLOT_LOGIT)
    assignment = torch.softmax(logits, dim=1)
    owned = mask_prob * near_confident(mask_prob)
    masks = owned.unsqueeze(1) * assignment * live.to(mask_prob.dtype).view(batch, k, 1, 1)
    return SoftInstances(masks, presence, centers)


CONFIDENT_AT = 0.5
"""Mask probability from which a pixel surely belongs to the object."""
CONFIDENT_REACH = 2
"""Cells around a confident pixel whose soft values an instance keeps (its soft rim)."""
CONFIDENT_RAMP = 0.1
"""Below CONFIDENT_AT by this much, nothing is kept; in between, a linear ramp (a gradient)."""


def near_confident(mask_prob: Tensor) -> Tensor:
    """1 within CONFIDENT_REACH cells of a pixel where the mask is ≥ CONFIDENT_AT, 0 where no
    pixel that near reaches CONFIDENT_AT − CONFIDENT_RAMP, linear in between.

    A sigmoid mask is never quite 0: a spill of 0.003 over the 2000 cells of a head map
    weighs as much as a thin screw, and shared out to the nearest peaks it made a 0.24-long
    screw measure 0.33 and pulled attributes towards uniform. Instances keep only the
    confident part of the mask and its rim; the class mask itself is left as it is.
    """
    nearby = max_filter(mask_prob, CONFIDENT_REACH)
    return ((nearby - CONFIDENT_AT + CONFIDENT_RAMP) / CONFIDENT_RAMP).clamp(0.0, 1.0)


def claimed_parts(mask_prob: Tensor, index: Tensor, live: Tensor) -> Tensor:
    """[B, K, h, w] bool: for each live peak, the connected part of the confident mask
    (≥ CONFIDENT_AT, 8-connected) it sits on, with the soft rim `near_confident` keeps.

    Sharing the mask by distance alone gives the far end of a long screw whose peak sits
    near its other end to a nearer short screw, and both then measure too long; a pixel on
    a part belongs to the peaks on that part. Parts that touch (two nuts side by side) are
    one part with two peaks, still shared by distance.
    """
    batch, k = index.shape
    height, width = mask_prob.shape[-2:]
    inside = (mask_prob >= CONFIDENT_AT).to(mask_prob.dtype)
    ids = torch.arange(1, height * width + 1, device=mask_prob.device, dtype=mask_prob.dtype)
    labels = ids.view(1, height, width) * inside  # every part ends up labelled by its largest cell id
    for _ in range(height + width):
        spread_out = max_filter(labels) * inside
        if settled(spread_out, labels):
            break
        labels = spread_out
    labels = max_filter(labels, CONFIDENT_REACH).flatten(1)  # [B, h·w], with the rim
    peak_part = labels.gather(1, index) * live.to(labels.dtype)  # 0: the peak sits on no part
    return ((labels[:, None, :] == peak_part[:, :, None]) & (peak_part[:, :, None] > 0)).view(batch, k, height, width)


DEAD_SLOT_LOGIT = -1e4
"""Assignment logit of a slot without a peak: exp() of it is 0 in float32."""
CANDIDATES = 3
"""Local maxima considered per slot before bumps are merged."""
JOINED_AT = 0.25
"""Mask probability the straight path between two peaks must keep to join them."""
RIDGE_FLOOR = 0.25
"""Fraction of the lower peak's height the heatmap must keep all along the path for a ridge:
between two objects it falls to the background's level, far below a quarter of a peak."""
PATH_SAMPLES = 17
"""Samples along the path: enough that a one-cell gap on a path of a whole object's size shows."""


def _not_joined_to_higher(values: Tensor, index: Tensor, mask_prob: Tensor, center_prob: Tensor, width: int,
                          radius: int, ridge_radius: int) -> Tensor:
    """1 for candidate peaks to keep, 0 for those joined to a higher candidate: within `radius`
    cells (Chebyshev) with the class mask ≥ JOINED_AT all along the straight path between them,
    or within `ridge_radius` cells with, besides, the heatmap ≥ RIDGE_FLOOR × their height all along it.

    values, index: [B, M] candidate heights and flat cell indices; mask_prob, center_prob [B, h, w].
    """
    batch, m = values.shape
    ys = torch.div(index, width, rounding_mode="floor").to(mask_prob.dtype)
    xs = (index % width).to(mask_prob.dtype)
    cells_apart = torch.maximum((ys[:, :, None] - ys[:, None, :]).abs(), (xs[:, :, None] - xs[:, None, :]).abs())
    order = torch.arange(m, device=values.device)
    higher = (values[:, None, :] > values[:, :, None]) | (
        (values[:, None, :] == values[:, :, None]) & (order[None, None, :] < order[:, None]))  # [B, i, j]: j above i
    t = torch.linspace(0, 1, PATH_SAMPLES, device=values.device, dtype=mask_prob.dtype)
    path_y = (ys[:, :, None, None] + t * (ys[:, None, :, None] - ys[:, :, None, None])).round().long()
    path_x = (xs[:, :, None, None] + t * (xs[:, None, :, None] - xs[:, :, None, None])).round().long()
    path = (path_y * width + path_x).flatten(1)
    masked = mask_prob.flatten(1).gather(1, path).view(batch, m, m, PATH_SAMPLES).amin(dim=-1) >= JOINED_AT
    ridge = center_prob.flatten(1).gather(1, path).view(batch, m, m, PATH_SAMPLES).amin(dim=-1) \
        >= RIDGE_FLOOR * values[:, :, None]
    # a bump off the mask on the same heatmap hill (a thin part's hill is wider than the part)
    # belongs to the part beside it
    off_part = mask_prob.flatten(1).gather(1, index) < JOINED_AT
    joined = (masked & ((cells_apart <= radius) | (ridge & (cells_apart <= ridge_radius)))) \
        | (off_part[:, :, None] & ridge & (cells_apart <= radius))
    dropped = (higher & joined & (values[:, None, :] > 0)).any(dim=-1)
    return (~dropped).to(values.dtype)


PEAK_SEPARATION = 0.4
"""Peaks joined by the mask and nearer than this fraction of an object's largest size
(bounding-box long side) are one instance: two touching round parts are a whole size apart,
while the bumps on a long screw lie up to about 0.4 of its length apart (sized by the
typical screw, short and long alike, they split a long one)."""

RIDGE_REACH = 0.8
"""Peaks on one heatmap ridge are one instance up to this fraction of an object's typical
(median) size apart: the bumps near the two ends of a long screw. Two instances that touch end to end
(separator walls in a row) have centres a whole size apart, and their heatmap ridges can run
into each other, so the reach stops short of a size (at 1.0, pushpins' good images lost a
separator now and then, and a missing one no longer stood out)."""


def peak_radius(separation: float, mask_hw: tuple[int, int]) -> int:
    """Suppression radius in cells for a separation given as a fraction of the image's long side."""
    return max(1, int(separation * max(mask_hw)))


def instance_attributes(instance_masks: Tensor, attribute_prob: Tensor) -> Tensor:
    """Per-instance distribution over values: mask-weighted mean of per-pixel probabilities.

    instance_masks [B, K, h, w], attribute_prob [B, V, h, w] (softmax over V) → [B, K, V].
    """
    weights = instance_masks / instance_masks.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    dist = torch.einsum("bkhw,bvhw->bkv", weights, attribute_prob)
    # An empty slot has no pixels to average: give it the uniform distribution.
    return dist + (1 - dist.sum(dim=-1, keepdim=True)).clamp_min(0) / attribute_prob.shape[1]

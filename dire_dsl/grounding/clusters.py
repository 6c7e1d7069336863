"""Unsupervised discovery: k-means over per-pixel features of normal images, clusters named to objects.

A pixel's feature is the backbone's finest feature map (L2-normalised per cell, bilinearly
interpolated at the pixel) next to the pixel's own colour. The colour is there so that a
randomly initialised backbone (conv-small, the offline default) still separates parts by
what they look like; with a pretrained backbone it adds a cue that parts of industrial
products really do differ by. The two blocks are scaled to the same total variance over the
fitting sample, so each contributes equally to the k-means distances (`COLOUR_WEIGHT`
changes the colour's share).

Colour is read at full resolution rather than pooled to the feature stride: a pushpin head
is smaller than one stride-4 cell of a 64-pixel image, and pooled it would be half floor.
Since interpolation is linear, a full-resolution assignment costs only the per-cell dot
products with the centroids (see `PixelClusters.assign`).

Clusters are named to objects by overlap with annotated images (`name_by_overlap`), or by
the rules' prompts through CLIP (dire_dsl.grounding.prompts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dire_dsl.grounding.pseudo_labels import BACKGROUND

LOOKS_PER_OBJECT = 3
"""Clusters budgeted per object: a part often shows in several looks (pushpins come in five
colours, a cable's core and its shine), and an over-clustered object is merged back by naming."""

BACKGROUND_CLUSTERS = 4
"""Clusters budgeted for what is not an object (box floor, rim, shadow, table)."""

FIT_SAMPLES = 20_000
"""Pixels k-means is fitted on, drawn uniformly from the images (every pixel is then assigned)."""

COLOUR_WEIGHT = 1.0
"""Scale of the colour block after both blocks are brought to unit total variance."""

MAJORITY = 0.5
"""A cluster left over by the one-to-one matching joins the object that holds at least this
share of its pixels on the annotated images (a second colour of pushpin); else it is background."""


def cluster_count(n_objects: int) -> int:
    """K for k-means: a few looks per object plus a few background clusters."""
    return LOOKS_PER_OBJECT * n_objects + BACKGROUND_CLUSTERS


def standardized_colour(image: Tensor) -> Tensor:
    """[3, H, W] colour with each channel's mean and spread over the image taken out: shots of
    one product differ by lighting and white balance (SynLOCO varies them on purpose), and raw
    colour then clusters images apart instead of parts."""
    image = image.float()
    mean = image.mean(dim=(1, 2), keepdim=True)
    std = image.std(dim=(1, 2), keepdim=True).clamp(min=1e-3)
    return (image - mean) / std


def normalized_cells(feature_map: Tensor) -> Tensor:
    """[N, C, h, w] features with every cell scaled to unit length (float32)."""
    return F.normalize(feature_map.float(), dim=1)


@dataclass
class PixelClusters:
    """Fitted k-means centroids over [scaled features, scaled colour]."""

    centroids: np.ndarray  # [K, C + 3]
    feature_scale: float
    colour_scale: float

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def assign(self, features: Tensor, images: Tensor, at_cells: bool = False) -> Tensor:
        """Nearest centroid of every pixel of `images` ([N, 3, H, W] in [0, 1]) given their
        feature maps ([N, C, h, w], as passed to `fit_clusters`): [N, H, W], or [N, h, w]
        with colour pooled to the cells when `at_cells`.

        argmin_k |x - c_k|² = argmin_k (|c_k|² - 2 x·c_k), and x·c_k of an interpolated feature
        is the interpolation of the cells' x·c_k, so no full-resolution feature map is built."""
        channels = features.shape[1]
        centroids = torch.from_numpy(self.centroids).float()
        square = (centroids**2).sum(dim=1)
        rows = []
        for index in range(features.shape[0]):
            dots = torch.einsum("chw,kc->khw", features[index].float() * self.feature_scale, centroids[:, :channels])
            colour = standardized_colour(images[index])
            if at_cells:
                colour = F.adaptive_avg_pool2d(colour[None], dots.shape[-2:])[0]
            else:
                dots = _upsample(dots, colour.shape[-2:])
            dots = dots + torch.einsum("chw,kc->khw", colour * self.colour_scale, centroids[:, channels:])
            rows.append((square[:, None, None] - 2 * dots).argmin(dim=0))
        return torch.stack(rows)


def fit_clusters(features: Tensor, images: Tensor, k: int, seed: int) -> PixelClusters:
    """k-means (scikit-learn, seeded) over FIT_SAMPLES pixels of `images` ([N, 3, H, W] in
    [0, 1]) and their feature maps ([N, C, h, w], cells L2-normalised)."""
    from sklearn.cluster import KMeans

    colour = torch.stack([standardized_colour(image) for image in images])
    feats, colours = _sample_pixels(features.float(), colour, FIT_SAMPLES, seed)
    feature_scale = _unit_variance_scale(feats)
    colour_scale = COLOUR_WEIGHT * _unit_variance_scale(colours)
    samples = np.concatenate([feats * feature_scale, colours * colour_scale], axis=1).astype(np.float32)
    distinct = len(np.unique(samples.round(6), axis=0))
    model = KMeans(n_clusters=max(1, min(k, distinct)), n_init=3, random_state=seed).fit(samples)
    return PixelClusters(model.cluster_centers_.astype(np.float32), feature_scale, colour_scale)


@dataclass
class ClusterNaming:
    """Which object each cluster stands for (index into the objects, or BACKGROUND), and the
    evidence: per cluster and object, IoU and the share of the cluster's pixels on the object,
    over the annotated images."""

    names: list[int]
    iou: np.ndarray  # [K, O]
    share: np.ndarray  # [K, O]
    pixels: np.ndarray  # [K] pixels of each cluster on the annotated images
    matched: list[bool]  # named by the one-to-one matching (else by majority, or background)


def name_by_overlap(labels: list[np.ndarray], masks: list[np.ndarray], k: int) -> ClusterNaming:
    """Name clusters from annotated images: `labels[i]` is image i's cluster map [H, W],
    `masks[i]` its object masks [O, H, W] (bool, union of the object's instances).

    Every object gets the cluster of highest IoU with it (Hungarian matching, scipy's
    linear_sum_assignment, so no two objects take the same cluster); a cluster left over
    joins the object holding at least MAJORITY of its pixels; the rest is background."""
    from scipy.optimize import linear_sum_assignment

    n_objects = masks[0].shape[0] if masks else 0
    overlap = np.zeros((k, n_objects))
    cluster_pixels = np.zeros(k)
    object_pixels = np.zeros(n_objects)
    for label, mask in zip(labels, masks):
        cluster_pixels += np.bincount(label.ravel(), minlength=k)[:k]
        for o in range(n_objects):
            overlap[:, o] += np.bincount(label[mask[o]], minlength=k)[:k]
            object_pixels[o] += mask[o].sum()
    union = cluster_pixels[:, None] + object_pixels[None, :] - overlap
    iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    share = np.divide(overlap, cluster_pixels[:, None], out=np.zeros_like(overlap), where=cluster_pixels[:, None] > 0)
    names = [BACKGROUND] * k
    matched = [False] * k
    for cluster, obj in zip(*linear_sum_assignment(-iou)):
        if iou[cluster, obj] > 0:
            names[cluster], matched[cluster] = int(obj), True
    for cluster in range(k):
        if names[cluster] == BACKGROUND and n_objects and share[cluster].max() >= MAJORITY:
            names[cluster] = int(share[cluster].argmax())
    return ClusterNaming(names, iou, share, cluster_pixels, matched)


def relabel(clusters: Tensor, names: list[int]) -> np.ndarray:
    """Cluster maps → object label maps (index into the objects, or BACKGROUND)."""
    lookup = torch.tensor(names, dtype=torch.long)
    return lookup[clusters.long()].numpy()


def cluster_means(values: Tensor, cells: Tensor, k: int) -> Tensor:
    """Mean of `values` ([N, D, h, w]) over the cells of each cluster (`cells`: [N, h, w]):
    [K, D]; a cluster with no cell gets zeros."""
    flat = values.permute(0, 2, 3, 1).reshape(-1, values.shape[1]).float()
    index = cells.reshape(-1).long()
    sums = torch.zeros(k, flat.shape[1]).index_add_(0, index, flat)
    counts = torch.bincount(index, minlength=k)[:k].clamp(min=1)
    return sums / counts[:, None]


def _upsample(values: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    """[C, h, w] → [C, H, W], bilinear, as the grounding head upsamples its maps."""
    if tuple(values.shape[-2:]) == tuple(size):
        return values
    return F.interpolate(values[None], size=tuple(size), mode="bilinear", align_corners=False)[0]


def _sample_pixels(features: Tensor, images: Tensor, total: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (bilinearly interpolated at the pixel centre) and colours of up to `total`
    pixels drawn uniformly, the same number from each image."""
    n, _, height, width = images.shape
    per_image = max(1, min(height * width, total // max(1, n)))
    generator = torch.Generator().manual_seed(seed)
    feats, colours = [], []
    for index in range(n):
        flat = torch.randperm(height * width, generator=generator)[:per_image]
        ys, xs = flat // width, flat % width
        # grid_sample with align_corners=False reads pixel centres as F.interpolate does
        grid = torch.stack([(xs.float() + 0.5) / width * 2 - 1, (ys.float() + 0.5) / height * 2 - 1], dim=-1)
        picked = F.grid_sample(features[index:index + 1], grid.view(1, 1, -1, 2), mode="bilinear",
                               padding_mode="border", align_corners=False)[0, :, 0].T
        feats.append(picked)
        colours.append(images[index][:, ys, xs].T)
    return torch.cat(feats).numpy(), torch.cat(colours).numpy()


def _unit_variance_scale(values: np.ndarray) -> float:
    """The factor that gives a block of columns a total variance of 1 (1 for a constant block)."""
    total = float(values.var(axis=0).sum())
    return 1.0 / np.sqrt(total) if total > 1e-12 else 1.0

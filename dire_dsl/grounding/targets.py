"""Training targets for the grounding head, from component annotations of one image.

Annotations arrive as full-resolution instance masks with their object name and
attributes (COCO components of SynLOCO or of real LOCO images); the head predicts at
a lower resolution, so masks are area-downsampled and centres splatted as Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dire_dsl.data.components import Component
from dire_dsl.vision.heads import HeadLayout


@dataclass
class HeadTargets:
    masks: Tensor  # [O, h, w] in [0, 1]
    centers: Tensor  # [O, h, w] in [0, 1], 1 at instance centres
    attributes: dict[tuple[str, str], Tensor]  # [h, w] value index (int16), −1 where undefined

    def to(self, device: torch.device | str) -> HeadTargets:
        """The same targets on `device` (they are built on the CPU; the head may run on CUDA)."""
        return HeadTargets(self.masks.to(device), self.centers.to(device),
                           {key: value.to(device) for key, value in self.attributes.items()})


CENTER_SPREAD = 0.15
"""Centre-heatmap σ as a fraction of the instance's longer bounding-box side (as CenterNet
sizes it by the box): a thin screw gets as learnable a peak as a round nut of its length."""


def _extent(ys: np.ndarray, xs: np.ndarray, scale_y: float, scale_x: float) -> float:
    """Longer side of the instance's bounding box, in head cells."""
    return max((ys.max() - ys.min() + 1) * scale_y, (xs.max() - xs.min() + 1) * scale_x)


def _gaussian(height: int, width: int, cx: float, cy: float, sigma: float) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))


def build_targets(components: list[Component], layout: HeadLayout, size: tuple[int, int]) -> HeadTargets:
    """Targets at head resolution `size` = (h, w) for one image."""
    height, width = size
    index = {name: i for i, name in enumerate(layout.objects)}
    masks = np.zeros((len(layout.objects), height, width), np.float32)
    centers = np.zeros_like(masks)
    slices = layout.attribute_slices()
    values = {(obj, name): vals for obj, name, vals in layout.attributes}
    attributes = {key: np.full((height, width), -1, np.int16) for key in slices}  # a pool holds thousands
    for component in components:
        if component.object not in index:
            continue
        o = index[component.object]
        full = torch.from_numpy(component.mask.astype(np.float32))[None, None]
        small = F.adaptive_avg_pool2d(full, (height, width))[0, 0].numpy()
        masks[o] = np.maximum(masks[o], small)
        mass = small.sum()
        if mass <= 0:
            continue
        ys, xs = np.nonzero(component.mask)
        scale_y, scale_x = height / component.mask.shape[0], width / component.mask.shape[1]
        cy, cx = (ys.mean() + 0.5) * scale_y - 0.5, (xs.mean() + 0.5) * scale_x - 0.5
        blob = _gaussian(height, width, cx, cy, max(CENTER_SPREAD * _extent(ys, xs, scale_y, scale_x), 0.7))
        peak_y, peak_x = int(round(min(max(cy, 0), height - 1))), int(round(min(max(cx, 0), width - 1)))
        blob[peak_y, peak_x] = 1.0
        centers[o] = np.maximum(centers[o], blob)
        for name, value in component.attributes.items():
            key = (component.object, name)
            if key in attributes and value in values[key]:
                attributes[key][small > 0.5] = values[key].index(value)
    return HeadTargets(
        torch.from_numpy(masks), torch.from_numpy(centers), {k: torch.from_numpy(v) for k, v in attributes.items()}
    )


def stack_targets(targets: list[HeadTargets]) -> HeadTargets:
    """A batch of targets."""
    return HeadTargets(
        torch.stack([t.masks for t in targets]),
        torch.stack([t.centers for t in targets]),
        {key: torch.stack([t.attributes[key] for t in targets]) for key in targets[0].attributes},
    )


def select_targets(targets: HeadTargets, index: Tensor) -> HeadTargets:
    """The targets of some images of a stacked batch."""
    attributes = {k: v[index] for k, v in targets.attributes.items()}
    return HeadTargets(targets.masks[index], targets.centers[index], attributes)


def concat_targets(parts: list[HeadTargets]) -> HeadTargets:
    """Stacked batches of targets, one after the other."""
    return HeadTargets(
        torch.cat([p.masks for p in parts]),
        torch.cat([p.centers for p in parts]),
        {key: torch.cat([p.attributes[key] for p in parts]) for key in parts[0].attributes},
    )

"""From a per-pixel object label map to the Components that few-shot annotations would give.

The `unsupervised` and `prompts` grounding modes label every pixel of some training normals
with an object (or background); this module cuts such a map into instances, so pseudo
annotations go through exactly the same target building and anomaly synthesis as real ones.
An instance is a 4-connected region of one object's pixels: two parts of the same object
that touch (nuts side by side, the walls of a separator grid) become one instance, which is
the price of having no instance annotations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from dire_dsl.data.components import Component

BACKGROUND = -1
"""Label of pixels that belong to no declared object."""

SPECK_FRACTION = 0.25
"""A region smaller than this share of the smallest thing that could be an instance is noise:
of the object's smallest annotated instance when there is one, else of one feature cell
(the finest detail the labelling features resolve)."""


def speck_areas(objects: Sequence[str], annotated: Sequence[Component], cell_area: int) -> dict[str, int]:
    """Per object, the smallest region (in pixels) kept as an instance.

    A quarter of the object's smallest annotated instance where real annotations show it (a
    pseudo instance much smaller than any real one is a stray pixel), otherwise a quarter of
    one feature cell (`cell_area` = stride²): the labels come from features at that stride,
    so anything smaller is interpolation noise rather than evidence."""
    smallest: dict[str, int] = {}
    for component in annotated:
        area = int(component.mask.sum())
        if area:
            smallest[component.object] = min(area, smallest.get(component.object, area))
    fallback = max(1, math.ceil(SPECK_FRACTION * cell_area))
    return {name: max(1, math.ceil(SPECK_FRACTION * smallest[name])) if name in smallest else fallback
            for name in objects}


def components_from_labels(labels: np.ndarray, objects: Sequence[str], min_area: Mapping[str, int]) -> list[Component]:
    """The instances of a label map ([H, W] ints: index into `objects`, or BACKGROUND).

    Each object's pixels split into 4-connected regions; regions under the object's
    `min_area` are dropped. Pseudo instances carry no attribute values."""
    if labels.ndim != 2:
        raise ValueError(f"a label map is [H, W]; got shape {labels.shape}")
    parts: list[Component] = []
    for index, name in enumerate(objects):
        regions, count = ndimage.label(labels == index)
        if not count:
            continue
        areas = np.bincount(regions.ravel(), minlength=count + 1)
        floor = min_area.get(name, 1)
        parts.extend(Component(name, regions == region) for region in range(1, count + 1) if areas[region] >= floor)
    return parts


def instance_counts(components: Sequence[Component], objects: Sequence[str]) -> dict[str, int]:
    """How many instances of each object a list of components holds (for the run's record)."""
    return {name: sum(1 for c in components if c.object == name) for name in objects}

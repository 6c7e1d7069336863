"""How large each object is, from the components a grounding mode gives: sizes the instance head.

The typical size spaces the centres of neighbouring instances; the largest size bounds how far
apart the bumps of one instance's centre heatmap may lie.
"""

from __future__ import annotations

import numpy as np

from dire_dsl.data.components import Component


def _long_sides(components: list[Component]) -> dict[str, list[float]]:
    """Per object, the bounding-box long side of each annotated instance, as a fraction of
    the image's long side (empty masks are no evidence)."""
    sides: dict[str, list[float]] = {}
    for component in components:
        ys, xs = np.nonzero(component.mask)
        if ys.size:
            side = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) / max(component.mask.shape)
            sides.setdefault(component.object, []).append(float(side))
    return sides


def typical_sizes(components: list[Component]) -> dict[str, float]:
    """Per object, the median long side of its annotated instances: how far apart the
    centres of two neighbouring instances are."""
    return {name: float(np.median(values)) for name, values in _long_sides(components).items()}


LARGEST_QUANTILE = 75
"""Percentile of the long sides taken as an object's largest size: with two kinds in equal
numbers (long and short screws) it is the longer kind's size, while the longest quarter
(walls seen lengthwise in a grid of separators) does not stretch it: at the 90th percentile
pushpins' separation radius grew from 2 to 3 cells and merged walls where they meet."""


def largest_sizes(components: list[Component]) -> dict[str, float]:
    """Per object, the upper quartile of its instances' long sides: how far apart the bumps
    of one instance's centre heatmap can lie (a long screw among short ones spreads furthest)."""
    return {name: float(np.percentile(values, LARGEST_QUANTILE)) for name, values in _long_sides(components).items()}

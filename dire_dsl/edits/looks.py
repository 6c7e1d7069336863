"""How each attribute value looks, learned from normal images, and recolouring to it.

Two things are learned per (object, attribute, value):

- its colour: the per-channel mean and spread of the own pixels (not those of what lies on
  them) of the instances annotated with it. Recolouring maps an instance's own mean and spread
  to the target value's (a Reinhard-style transfer in RGB), so shading and texture survive.
- a few exemplars: cut-outs of such instances. A value whose colour lies within
  MIN_COLOUR_GAP of the current one does not show in colour (a connector's number of clamps,
  a screw's length); the instance is then swapped for an exemplar of the target value instead,
  because changing the label without changing the pixels would not be an anomaly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.edits.scene import ComponentScene

MIN_COLOUR_GAP = 12.0
"""Euclidean RGB distance (0–255 levels) between two values' means for a recolour to show."""
SPREAD_LIMITS = (0.5, 2.0)
"""Bounds on the per-channel contrast change of a recolour (keeps noise from blowing up)."""
MAX_EXEMPLARS = 4
"""Exemplars kept per value (the first ones seen)."""

LookKey = tuple[str, str, str]  # (object, attribute, value)


@dataclass(frozen=True)
class ColourStats:
    mean: np.ndarray  # [3]
    std: np.ndarray  # [3]
    pixels: int


@dataclass(frozen=True)
class Exemplar:
    """One normal instance cut out over its bounding box (instances with nothing on them only)."""

    pixels: np.ndarray  # [h, w, 3] uint8
    mask: np.ndarray  # [h, w] bool


@dataclass(frozen=True)
class EditStats:
    """What edits learn from normal images: the look of every (object, attribute, value) seen."""

    colours: dict[LookKey, ColourStats] = field(default_factory=dict)
    exemplars: dict[LookKey, list[Exemplar]] = field(default_factory=dict)

    def colour(self, obj: str, attribute: str, value: str) -> ColourStats | None:
        return self.colours.get((obj, attribute, value))

    def shows(self, obj: str, attribute: str, value: str, current: str) -> bool:
        """Whether recolouring from `current` to `value` changes the colour visibly."""
        new, now = self.colour(obj, attribute, value), self.colour(obj, attribute, current)
        return new is not None and now is not None and \
            float(np.linalg.norm(new.mean - now.mean)) >= MIN_COLOUR_GAP


def learn_stats(images: list[np.ndarray], components_per_image: list[list[Component]]) -> EditStats:
    """Colours and exemplars of each attribute value's instances, over all images."""
    sums: dict[LookKey, np.ndarray] = defaultdict(lambda: np.zeros(3))
    squares: dict[LookKey, np.ndarray] = defaultdict(lambda: np.zeros(3))
    counts: dict[LookKey, int] = defaultdict(int)
    exemplars: dict[LookKey, list[Exemplar]] = defaultdict(list)
    for image, components in zip(images, components_per_image):
        scene = ComponentScene(components, image.shape[:2])
        for index, component in enumerate(scene.components):
            box = scene.boxes[index]
            if not component.attributes or box is None:
                continue
            own = scene.own_pixels(index)
            pixels = image[own].astype(np.float64)
            bare = bool(own.sum() == scene.areas[index])
            for attribute, value in component.attributes.items():
                key = (component.object, attribute, value)
                sums[key] += pixels.sum(0)
                squares[key] += (pixels**2).sum(0)
                counts[key] += len(pixels)
                if bare and len(exemplars[key]) < MAX_EXEMPLARS:
                    exemplars[key].append(Exemplar(image[box].copy(), component.mask[box].copy()))
    colours = {}
    for key, n in counts.items():
        if n:
            mean = sums[key] / n
            colours[key] = ColourStats(mean, np.sqrt(np.maximum(squares[key] / n - mean**2, 0.0)), n)
    return EditStats(colours, dict(exemplars))


def transfer(pixels: np.ndarray, target: ColourStats) -> np.ndarray:
    """Pixels [N, 3] with their mean and spread moved to the target's, as uint8."""
    values = pixels.astype(np.float64)
    mean, std = values.mean(0), values.std(0)
    gain = np.clip(target.std / np.maximum(std, 1e-6), *SPREAD_LIMITS)
    return np.clip(np.rint((values - mean) * gain + target.mean), 0, 255).astype(np.uint8)

"""The components of one image as edits see them: what a selection picks, what lies on what.

Nesting is read from the masks alone, so it works the same on SynLOCO and on real COCO
annotations: a component lies on another (is its child) when at least half of its pixels are
inside it, like an icon on its label. Edits remove and move an instance together with its
children. Of the other components, those much larger than the instance are surfaces it may
cover (a label over the juice); the rest are peers it must keep clear of, and whose colour
must not leak into the background filled in where it was.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np
from scipy import ndimage

from dire_dsl.data.components import Component
from dire_dsl.edits.recipes import Box, Place, Selection
from dire_dsl.lang import ir

SHARE_IN = 0.5
"""An instance lies in a place (or on a component) when at least this share of its pixels does."""
SURFACE_RATIO = 2.0
"""A component at least this many times the instance's area is a surface it may cover."""
SCENE_MARGIN = 0.05
"""The scene is the box around all components, grown by this fraction of the image size."""


def box_mask(shape: tuple[int, int], box: Box) -> np.ndarray:
    """Pixels whose centres lie in the normalised box (half-open, so grid cells do not overlap)."""
    height, width = shape
    x0, y0, x1, y1 = box
    ys, xs = (np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width
    return ((ys >= y0) & (ys < y1))[:, None] & ((xs >= x0) & (xs < x1))[None, :]


def place_mask(shape: tuple[int, int], place: Place) -> np.ndarray:
    return np.logical_or.reduce([box_mask(shape, box) for box in place.boxes])


def passes(component: Component, where: ir.Filter | None) -> bool:
    """The crisp `where`: an instance without the attribute fails `==` and passes `!=`."""
    if where is None:
        return True
    return (component.attributes.get(where.attribute) == where.value) == (where.op == "==")


class ComponentScene:
    """Components of one image, with the questions edits ask about them answered once."""

    def __init__(self, components: list[Component], shape: tuple[int, int]) -> None:
        for component in components:
            if component.mask.shape != shape:
                raise ValueError(f"mask of `{component.object}` is {component.mask.shape}; the image is {shape}")
        self.shape = shape
        self.components = [c if c.mask.dtype == bool else replace(c, mask=c.mask.astype(bool)) for c in components]
        self.areas = np.array([c.mask.sum() for c in self.components], dtype=np.float64)
        self.boxes = [ndimage.find_objects(c.mask.view(np.uint8))[0] if a else None
                      for c, a in zip(self.components, self.areas)]
        self._overlaps: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------ geometry
    def share_in(self, index: int, mask: np.ndarray) -> float:
        """Share of component `index`'s pixels that lie in `mask` (0 for an empty component)."""
        box = self.boxes[index]
        if box is None:
            return 0.0
        return float((self.components[index].mask[box] & mask[box]).sum() / self.areas[index])

    def lies_in(self, index: int, place: Place) -> Box | None:
        """The box of `place` holding at least half of the component, if any."""
        shares = [self.share_in(index, box_mask(self.shape, box)) for box in place.boxes]
        best = int(np.argmax(shares))
        return place.boxes[best] if shares[best] >= SHARE_IN else None

    def union(self, indices: list[int]) -> np.ndarray:
        out = np.zeros(self.shape, bool)
        for index in indices:
            out |= self.components[index].mask
        return out

    def own_pixels(self, index: int) -> np.ndarray:
        """The component's pixels not covered by its children (what shows its own colour)."""
        return self.components[index].mask & ~self.union(self.children(index))

    @cached_property
    def scene_box(self) -> np.ndarray:
        """Where pasted instances may land when no region says: around all the components."""
        boxes = [b for b in self.boxes if b is not None]
        if not boxes:
            return np.ones(self.shape, bool)
        height, width = self.shape
        pad_y, pad_x = int(SCENE_MARGIN * height), int(SCENE_MARGIN * width)
        out = np.zeros(self.shape, bool)
        out[max(0, min(b[0].start for b in boxes) - pad_y): max(b[0].stop for b in boxes) + pad_y,
            max(0, min(b[1].start for b in boxes) - pad_x): max(b[1].stop for b in boxes) + pad_x] = True
        return out

    # ------------------------------------------------------------ selection
    def matching(self, selection: Selection) -> list[int]:
        """Non-empty components of the selection's object that pass `where` and lie in its place."""
        found = [i for i, c in enumerate(self.components)
                 if c.object == selection.object and self.areas[i] > 0 and passes(c, selection.where)]
        if selection.place is None:
            return found
        return [i for i in found if self.lies_in(i, selection.place) is not None]

    # ------------------------------------------------------------ nesting
    def overlaps(self, index: int) -> np.ndarray:
        """Pixels shared by component `index` and every component (cached)."""
        if index not in self._overlaps:
            box, mask = self.boxes[index], self.components[index].mask
            self._overlaps[index] = np.array(
                [(c.mask[box] & mask[box]).sum() if box is not None else 0 for c in self.components], np.float64)
        return self._overlaps[index]

    def children(self, index: int) -> list[int]:
        """Components lying on this one; of two equal masks the later one is the child."""
        shared, area = self.overlaps(index), self.areas[index]
        return [j for j in range(len(self.components))
                if j != index and self.areas[j] > 0 and shared[j] >= SHARE_IN * self.areas[j]
                and (self.areas[j] < area or (self.areas[j] == area and j > index))]

    def containers(self, index: int) -> list[int]:
        """Components this one lies on."""
        shared, children = self.overlaps(index), set(self.children(index))
        return [j for j in range(len(self.components))
                if j != index and j not in children and shared[j] >= SHARE_IN * self.areas[index] > 0]

    def unit(self, index: int) -> list[int]:
        """What an edit of this instance acts on: the instance and what lies on it."""
        return [index, *self.children(index)]

    def peers(self, members: list[int]) -> list[int]:
        """Components to keep clear of: not edited, not under the edited ones, not much larger."""
        keep = set(members).union(*(self.containers(i) for i in members))
        limit = SURFACE_RATIO * self.areas[members].max()
        return [j for j in range(len(self.components)) if j not in keep and 0 < self.areas[j] < limit]

    def uncovered(self, covered: np.ndarray, keep: set[int]) -> list[Component]:
        """The components after pasting over `covered`: all but `keep` lose the covered pixels."""
        return [c if i in keep else replace(c, mask=c.mask & ~covered) for i, c in enumerate(self.components)]

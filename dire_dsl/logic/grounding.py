"""The grounding of a batch: the one structure a vision model hands to the logic layer.

Everything the rules can measure comes from here, so a new grounding model only has to
fill these tensors (see docs/grounding.md). Shapes for a batch of B images at mask
resolution H×W; K (instance slots) may differ per object:

    ObjectGrounding.mask        [B, H, W]     soft class mask in [0, 1]
    ObjectGrounding.instances   [B, K, H, W]  soft instance masks in [0, 1]
    ObjectGrounding.presence    [B, K]        probability that slot k holds an instance
    ObjectGrounding.attributes  {attr: [B, K, V]}  distribution over the declared values,
                                                   in declared order
    Grounding.embedding         [B, D]        the image embedding
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from dire_dsl.errors import DireError
from dire_dsl.lang import ir


class GroundingError(DireError, ValueError):
    """A grounding does not fit the program: missing object or attribute, wrong shape or dtype."""


@dataclass
class ObjectGrounding:
    """What the vision model found of one declared object in every image of the batch."""

    mask: Tensor
    instances: Tensor
    presence: Tensor
    attributes: dict[str, Tensor] = field(default_factory=dict)

    @property
    def slots(self) -> int:
        return self.instances.shape[1]


@dataclass
class Grounding:
    """Per declared object its ObjectGrounding, and one embedding per image."""

    objects: dict[str, ObjectGrounding]
    embedding: Tensor

    @property
    def batch_size(self) -> int:
        return self.embedding.shape[0]

    @property
    def mask_size(self) -> tuple[int, int]:
        """(H, W) of the masks; (1, 1) for a grounding without objects (nothing to measure)."""
        first = next(iter(self.objects.values()), None)
        return (1, 1) if first is None else (first.mask.shape[-2], first.mask.shape[-1])

    @property
    def dtype(self) -> torch.dtype:
        return self.embedding.dtype

    def rows(self, start: int, stop: int) -> Grounding:
        """The grounding of images start..stop-1 of the batch (views, no copies)."""
        objects = {name: ObjectGrounding(found.mask[start:stop], found.instances[start:stop],
                                         found.presence[start:stop],
                                         {key: value[start:stop] for key, value in found.attributes.items()})
                   for name, found in self.objects.items()}
        return Grounding(objects, self.embedding[start:stop])

    @property
    def device(self) -> torch.device:
        return self.embedding.device

    def validate(self, program: ir.CheckedProgram, check_values: bool = False) -> None:
        """Raise one GroundingError naming the first mismatch with `program`.

        Shapes, dtypes and devices cost nothing to check; `check_values` also checks that
        probabilities lie in [0, 1] (a device sync, so not done on every batch).
        """
        if self.embedding.ndim != 2:
            raise GroundingError(f"embedding must be [B, D]; got shape {list(self.embedding.shape)}")
        if not self.embedding.dtype.is_floating_point:
            raise GroundingError(f"embedding must be a floating-point tensor; got {self.embedding.dtype}")
        size: tuple[int, int] | None = None
        for obj in program.objects:
            grounded = self.objects.get(obj.name)
            if grounded is None:
                raise GroundingError(f"the grounding has no object `{obj.name}`; the rules declare: "
                                     f"{', '.join(o.name for o in program.objects)}")
            size = self._check_object(obj, grounded, size, check_values)

    def _check_object(self, obj: ir.ObjectDef, grounded: ObjectGrounding, size: tuple[int, int] | None,
                      check_values: bool) -> tuple[int, int]:
        batch = self.batch_size
        mask, instances, presence = grounded.mask, grounded.instances, grounded.presence
        if mask.ndim != 3 or mask.shape[0] != batch:
            raise GroundingError(f"`{obj.name}`.mask must be [B={batch}, H, W]; got {list(mask.shape)}")
        height, width = mask.shape[1:]
        if size is not None and (height, width) != size:
            raise GroundingError(f"`{obj.name}`.mask is {height}×{width} but other objects are {size[0]}×{size[1]}; "
                                 "all masks share one resolution")
        if instances.ndim != 4 or instances.shape[0] != batch or instances.shape[2:] != mask.shape[1:]:
            raise GroundingError(f"`{obj.name}`.instances must be [B={batch}, K, H={height}, W={width}]; "
                                 f"got {list(instances.shape)}")
        slots = instances.shape[1]
        if list(presence.shape) != [batch, slots]:
            raise GroundingError(f"`{obj.name}`.presence must be [B={batch}, K={slots}]; got {list(presence.shape)}")
        named = {"mask": mask, "instances": instances, "presence": presence}
        for attr, values in obj.attributes.items():
            dist = grounded.attributes.get(attr)
            if dist is None:
                raise GroundingError(f"the grounding of `{obj.name}` has no attribute `{attr}` "
                                     f"(declared values: {', '.join(values)})")
            if list(dist.shape) != [batch, slots, len(values)]:
                raise GroundingError(f"`{obj.name}.{attr}` must be [B={batch}, K={slots}, V={len(values)}] "
                                     f"(values: {', '.join(values)}); got {list(dist.shape)}")
            named[f"attributes[{attr}]"] = dist
        for name, tensor in named.items():
            if tensor.dtype != self.dtype or tensor.device != self.device:
                raise GroundingError(f"`{obj.name}`.{name} is {tensor.dtype} on {tensor.device}; the embedding is "
                                     f"{self.dtype} on {self.device}: give every tensor the same dtype and device")
            if check_values and not bool(((tensor >= 0) & (tensor <= 1)).all()):
                raise GroundingError(f"`{obj.name}`.{name} holds values outside [0, 1] (or NaN); "
                                     "masks, presence and attribute distributions are probabilities")
        return height, width


def grounding_from_masks(
    program: ir.CheckedProgram,
    masks: Sequence[Mapping[str, Tensor]],
    attributes: Sequence[Mapping[str, Mapping[str, Sequence[str]]]] | None = None,
    slots: int | None = None,
    embedding: Tensor | None = None,
    size: tuple[int, int] | None = None,
) -> Grounding:
    """A hard grounding from ground-truth instance masks (tests, training targets, explain).

    `masks[i][object]` is a `[K_i, H, W]` stack of 0/1 instance masks for image i (an
    object missing from the mapping has no instance); `attributes[i][object][attr]` lists
    the value of each of those K_i instances (an unannotated attribute is uniform). Slots
    are padded with absent instances up to `slots` (default: the largest K_i, at least 1).
    `size` (H, W) is needed only when no image has any instance.
    """
    if not masks:
        raise GroundingError("grounding_from_masks needs at least one image")
    size = _mask_size(masks, size)
    batch = len(masks)
    width = slots if slots is not None else max([1] + [len(m.get(o.name, ())) for m in masks for o in program.objects])
    objects = {}
    for obj in program.objects:
        instances = torch.zeros(batch, width, *size)
        presence = torch.zeros(batch, width)
        dists = {attr: torch.full((batch, width, len(values)), 1.0 / len(values))
                 for attr, values in obj.attributes.items()}
        for image, per_object in enumerate(masks):
            stack = per_object.get(obj.name)
            count = 0 if stack is None else len(stack)
            if count > width:
                raise GroundingError(f"image {image} has {count} instances of `{obj.name}` but only {width} slots")
            if count:
                instances[image, :count] = stack.float()
                presence[image, :count] = 1.0
            labels = (attributes[image] if attributes else {}).get(obj.name, {})
            for attr, given in labels.items():
                _one_hot(dists, obj, attr, given, image, count)
        objects[obj.name] = ObjectGrounding(instances.amax(dim=1), instances, presence, dists)
    return Grounding(objects, embedding if embedding is not None else torch.zeros(batch, 1))


def _mask_size(masks: Sequence[Mapping[str, Tensor]], size: tuple[int, int] | None) -> tuple[int, int]:
    sizes = {tuple(stack.shape[-2:]) for per_object in masks for stack in per_object.values()}
    if size is not None:
        sizes.add(tuple(size))
    if len(sizes) != 1:
        raise GroundingError(f"instance masks must share one resolution; got {sorted(sizes) or 'no masks at all'}")
    height, width = sizes.pop()
    return height, width


def _one_hot(dists: dict[str, Tensor], obj: ir.ObjectDef, attr: str, given: Sequence[str], image: int,
             count: int) -> None:
    values = obj.attributes.get(attr)
    if values is None:
        declared = ", ".join(obj.attributes) or "none"
        raise GroundingError(f"object `{obj.name}` has no attribute `{attr}`; declared: {declared}")
    if len(given) != count:
        raise GroundingError(f"image {image}: {len(given)} values of `{obj.name}.{attr}` for {count} instances")
    for slot, value in enumerate(given):
        if value not in values:
            raise GroundingError(f"`{value}` is not a value of `{obj.name}.{attr}`; declared: {', '.join(values)}")
        dists[attr][image, slot] = 0.0
        dists[attr][image, slot, values.index(value)] = 1.0

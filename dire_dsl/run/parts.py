"""The structural branch, per part: does this instance look like any normal instance of its object?

CSAD and ComAD compare components, not patches: a pin with a bite out of it is made of
normal-looking patches (pin edge, tray floor), yet as a whole it is unlike every normal pin.
The grounding already finds every instance, so each one is cut out of the network input
(`roi_align`, a square around the instance's mask, CROP×CROP pixels) and compared with a
memory of the same object's instances from the training normals. The distance to the
nearest, in spreads of the validation normals, is painted on the instance's mask, and the
explanation can name it: "pushpin#7 looks unlike any normal pushpin".

It runs only where a run's `part_appearance` is "on" (off by default: on validation normals
with generic defects the patch map alone scored higher in every shipped category; see
docs/benchmarks.md). Runs trained before that setting existed keep their per-part memory.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import roi_align

from dire_dsl.logic.grounding import Grounding
from dire_dsl.run.appearance import greedy_coreset, nearest_distance

CROP = 12
"""Side of an instance's cut-out, in pixels: enough for a bite or a blot, coarse enough that a
rotated needle stays near its normal neighbours."""
REACH = 2.5
"""Half the cut-out's side in standard deviations of the instance mask (a disc of radius r has
σ = r/2, so 2.5σ holds the whole disc and a rim of what lies around it)."""
PRESENT = 0.5
"""An instance slot takes part when the grounding's presence reaches this."""
PART_MEMORY = 2048
"""Instances kept per object: a greedy coreset of the training normals' instances."""


def part_boxes(instances: Tensor, image_hw: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Soft instance masks [B, S, h, w] → square boxes [B, S, 4] (x0, y0, x1, y1 in input pixels)
    around each mask's centre, REACH standard deviations wide, and each mask's mass [B, S]."""
    height, width = instances.shape[-2:]
    scale_y, scale_x = image_hw[0] / height, image_hw[1] / width
    ys = (torch.arange(height, dtype=instances.dtype, device=instances.device) + 0.5) * scale_y
    xs = (torch.arange(width, dtype=instances.dtype, device=instances.device) + 0.5) * scale_x
    mass = instances.sum(dim=(-2, -1))
    safe = mass.clamp_min(1e-6)
    cy = (instances.sum(dim=-1) * ys).sum(dim=-1) / safe
    cx = (instances.sum(dim=-2) * xs).sum(dim=-1) / safe
    vy = (instances.sum(dim=-1) * (ys - cy[..., None]) ** 2).sum(dim=-1) / safe
    vx = (instances.sum(dim=-2) * (xs - cx[..., None]) ** 2).sum(dim=-1) / safe
    half = REACH * torch.maximum(vy, vx).sqrt().clamp_min(max(scale_x, scale_y))
    return torch.stack([cx - half, cy - half, cx + half, cy + half], dim=-1), mass


def part_descriptors(images: Tensor, grounding: Grounding) -> dict[str, tuple[Tensor, Tensor]]:
    """Per object: the cut-outs of its instances, flattened [B, S, 3·CROP²], and which are present [B, S]."""
    out = {}
    for name, found in grounding.objects.items():
        batch, slots = found.instances.shape[:2]
        if slots == 0:
            continue
        boxes, mass = part_boxes(found.instances.detach().float(), (images.shape[-2], images.shape[-1]))
        rois = torch.cat([torch.arange(batch, dtype=boxes.dtype, device=boxes.device).repeat_interleave(slots)[:, None],
                          boxes.reshape(-1, 4)], dim=1)
        crops = roi_align(images.float(), rois, output_size=CROP, aligned=True)
        present = (found.presence.detach().float() >= PRESENT) & (mass >= 1.0)
        out[name] = (crops.reshape(batch, slots, -1), present)
    return out


def part_memory(descriptors: list[dict[str, tuple[Tensor, Tensor]]], objects: tuple[str, ...], seed: int) -> Tensor:
    """The memory [M, 1 + D]: each row an object's index, then a normal instance's cut-out;
    at most PART_MEMORY per object (a greedy coreset)."""
    rows = []
    for index, name in enumerate(objects):
        found = [crops[present] for batch in descriptors if name in batch for crops, present in (batch[name],)]
        pool = torch.cat(found) if found else torch.zeros(0, 3 * CROP * CROP)
        if pool.shape[0] > PART_MEMORY:
            pool = pool[greedy_coreset(pool, PART_MEMORY, projection=64, seed=seed)]
        rows.append(torch.cat([torch.full((pool.shape[0], 1), float(index)), pool], dim=1))
    return torch.cat(rows) if rows else torch.zeros(0, 1 + 3 * CROP * CROP)


def memory_banks(memory: Tensor, objects: tuple[str, ...]) -> dict[str, Tensor]:
    """Per object its rows of the memory (cut-outs only), split once when a run is loaded: a
    boolean selection per scored batch would give an exported graph a shape that depends on data."""
    return {name: memory[memory[:, 0] == index, 1:] for index, name in enumerate(objects)}


def part_distances(descriptors: dict[str, tuple[Tensor, Tensor]], banks: dict[str, Tensor]) -> dict[str, Tensor]:
    """Per object [B, S]: each present instance's distance to the nearest normal instance of its
    object in `banks` (`memory_banks`; 0 for absent slots, and where the memory holds none of that object)."""
    out = {}
    for name, (crops, present) in descriptors.items():
        bank = banks[name].to(crops.dtype)
        found = nearest_distance(crops.reshape(-1, crops.shape[-1]), bank).view(present.shape)
        out[name] = torch.where(present, found, torch.zeros_like(found))
    return out


def paint_parts(z: dict[str, Tensor], grounding: Grounding, size: tuple[int, int]) -> Tensor:
    """[B, h, w]: each present instance's z on its own mask (where it reaches 0.5), the largest
    where instances overlap; -inf where no instance is."""
    first = next(iter(grounding.objects.values()))
    out = torch.full((first.mask.shape[0], *size), -torch.inf, device=first.mask.device)
    for name, values in z.items():
        masks = grounding.objects[name].instances.detach().float()
        if masks.shape[-2:] != size:
            masks = torch.nn.functional.interpolate(masks, size=size, mode="bilinear", align_corners=False)
        painted = torch.where(masks >= 0.5, values[..., None, None], torch.full_like(masks, -torch.inf))
        out = torch.maximum(out, painted.amax(dim=1))
    return out

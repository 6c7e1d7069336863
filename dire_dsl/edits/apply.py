"""Carrying out one edit recipe on one image and its component masks.

`apply_edit` picks an instance the recipe allows (with `rng`), changes the pixels, and returns
the new image, the new component list (so the edit's effect on counts, places and attributes
is known exactly) and a mask holding every pixel that may differ. It returns None when the
recipe does not fit the image: nothing to pick, no free spot, no visible colour for the value.
Magnitudes are chosen so the rule breaks clearly under the logic layer's soft comparisons
(τ = 0.05): a measure pushed MARGIN past its bound scores at most sigmoid(-1) ≈ 0.27.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from dire_dsl.data.components import Component
from dire_dsl.edits.fill import fill_background
from dire_dsl.edits.looks import EditStats, Exemplar, transfer
from dire_dsl.edits.place import Limit, find_offset, grow, paste, place_at, shift
from dire_dsl.edits.recipes import (
    Cut,
    Duplicate,
    EditRecipe,
    Goal,
    Move,
    Recolour,
    Remove,
    RemoveAll,
    Scale,
    Selection,
    Trim,
)
from dire_dsl.edits.scene import ComponentScene, box_mask, place_mask

MARGIN = 0.05
"""How far past a bound a moved, trimmed or scaled measure lands (positions, lengths and areas
are all fractions of the image, like the logic layer's τ)."""
MIN_SHIFT = 0.1
"""With no bound to pass, a move or trim changes the measure by at least this much."""
INSIDE, OUTSIDE = 0.95, 0.05
"""Share of an instance that counts as inside / outside a place it must enter / leave."""
SCALE_UP, SCALE_DOWN = (1.3, 1.6), (0.5, 0.75)
"""Linear scale factors drawn when no bound asks for more."""
SCALE_LIMITS = (0.25, 3.0)
"""A bound that needs a factor outside these is out of reach: the edit does not apply."""
MIN_KEEP = 0.2
"""A trim keeps at least this share of the instance."""
MAX_OCCLUSION = 0.05
"""A scaled instance may cover at most this share of itself in neighbours."""
MIN_IN_FRAME = 0.9
"""A scaled instance must keep this share of its pixels inside the image."""
CUT_WIDTH = 0.08
"""Width of the band a cut erases, as a share of the part's length (at least 3 pixels)."""
CUT_SPAN = (0.3, 0.7)
"""Where along the part a cut falls, as fractions of its length: away from its ends."""


@dataclass(frozen=True)
class EditResult:
    """An edited image, its components after the edit, the pixels that may differ, the recipe."""

    image: np.ndarray
    components: list[Component]
    changed_mask: np.ndarray
    recipe: EditRecipe
    image_index: int | None = None


def apply_edit(image: np.ndarray, components: list[Component], recipe: EditRecipe, rng: np.random.Generator,
               stats: EditStats | None = None) -> EditResult | None:
    """Apply `recipe` to one normal image; None when it does not fit this image."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 [H, W, 3]; got {image.dtype} {list(image.shape)}")
    scene = ComponentScene(components, image.shape[:2])
    return _APPLY[type(recipe)](image, scene, recipe, rng, stats)


def _pick(rng: np.random.Generator, candidates: list[int]) -> int | None:
    return candidates[int(rng.integers(len(candidates)))] if candidates else None


def _gap(scene: ComponentScene) -> int:
    """Pixels kept between a pasted instance and its peers."""
    return 1 + round(0.01 * min(scene.shape))


# ---------------------------------------------------------------- remove
def _erase(image: np.ndarray, scene: ComponentScene, removed: list[int], recipe: EditRecipe,
           rng: np.random.Generator) -> EditResult:
    out, changed = fill_background(image, scene.union(removed), scene.union(scene.peers(removed)), rng)
    gone = set(removed)
    return EditResult(out, [c for i, c in enumerate(scene.components) if i not in gone], changed, recipe)


def _remove(image: np.ndarray, scene: ComponentScene, recipe: Remove, rng: np.random.Generator,
            stats: EditStats | None) -> EditResult | None:
    index = _pick(rng, scene.matching(recipe.target))
    return None if index is None else _erase(image, scene, scene.unit(index), recipe, rng)


def _remove_all(image: np.ndarray, scene: ComponentScene, recipe: RemoveAll, rng: np.random.Generator,
                stats: EditStats | None) -> EditResult | None:
    target = recipe.target
    found = scene.matching(Selection(target.object, target.where))
    if target.place is not None:
        region = place_mask(scene.shape, target.place)
        found = [i for i in found if scene.share_in(i, region) > 0]
    removed = sorted({j for i in found for j in scene.unit(i)})
    return _erase(image, scene, removed, recipe, rng) if removed else None


# ---------------------------------------------------------------- duplicate and move
def _find(scene: ComponentScene, moving: np.ndarray, limits: list[Limit], rng: np.random.Generator,
          accept: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
          in_scene: bool = True) -> tuple[int, int] | None:
    """An offset meeting `limits`: inside the scene if one exists there, else anywhere in the image."""
    if in_scene:
        offset = find_offset(moving, [*limits, Limit(scene.scene_box, INSIDE, 1.0)], rng, accept)
        if offset is not None:
            return offset
    return find_offset(moving, limits, rng, accept)


def _duplicate(image: np.ndarray, scene: ComponentScene, recipe: Duplicate, rng: np.random.Generator,
               stats: EditStats | None) -> EditResult | None:
    index = _pick(rng, scene.matching(recipe.target))
    if index is None:
        return None
    unit = scene.unit(index)
    moving = scene.union(unit)
    limits = [Limit(grow(scene.union(scene.peers(unit)) | moving, _gap(scene)), 0.0, 0.0)]
    if recipe.into is not None:
        box = scene.lies_in(index, recipe.into) if len(recipe.into.boxes) > 1 else None
        area = box_mask(scene.shape, box or recipe.into.boxes[int(rng.integers(len(recipe.into.boxes)))])
        limits.append(Limit(area, INSIDE, 1.0))
    offset = _find(scene, moving, limits, rng, in_scene=recipe.into is None)
    if offset is None:
        return None
    dy, dx = offset
    covered = shift(moving, dy, dx)
    out = paste(image, shift(image, dy, dx), covered)
    copies = [replace(c, mask=shift(c.mask, dy, dx), attributes=dict(c.attributes))
              for c in (scene.components[j] for j in unit)]
    kept = scene.uncovered(covered, set(unit) | set(scene.containers(index)))
    return EditResult(out, kept + copies, covered, recipe)


def _move(image: np.ndarray, scene: ComponentScene, recipe: Move, rng: np.random.Generator,
          stats: EditStats | None) -> EditResult | None:
    goal = recipe.goal
    part = place_mask(scene.shape, recipe.part) if recipe.part is not None else np.ones(scene.shape, bool)
    candidates = [i for i in scene.matching(recipe.target) if scene.share_in(i, part) > 0]
    if goal.kind == "enter" and goal.place is not None:
        candidates = [i for i in candidates if scene.lies_in(i, goal.place) is None]
    index = _pick(rng, candidates)
    if index is None:
        return None
    unit = scene.unit(index)
    moving = scene.union(unit) & part
    peers = scene.union(scene.peers(unit))
    limits = [Limit(grow(peers, _gap(scene)), 0.0, 0.0)]
    if recipe.part is not None:  # a part moves within its region, so the rest of the region's measure stays
        limits.append(Limit(part, 1.0, 1.0))
    goal_limits = _goal_limits(scene, goal, index, unit)
    if goal_limits is None:
        return None
    limits += goal_limits
    accept = _measure_accept(scene, goal, moving, unit) if goal.kind == "measure" else None
    if goal.kind == "measure" and accept is None:
        return None
    offset = _find(scene, moving, limits, rng, accept, in_scene=goal.kind != "enter")
    if offset is None:
        return None
    dy, dx = offset
    emptied, changed = fill_background(image, moving, peers, rng)
    covered = shift(moving, dy, dx)
    out = paste(emptied, shift(image, dy, dx), covered)
    components = scene.uncovered(covered, set(unit) | set(scene.containers(index)))
    for j in unit:
        mask = scene.components[j].mask
        components[j] = replace(components[j], mask=(mask & ~part) | shift(mask & part, dy, dx))
    return EditResult(out, components, changed | covered, recipe)


def _goal_limits(scene: ComponentScene, goal: Goal, index: int, unit: list[int]) -> list[Limit] | None:
    """The share limits a move's goal puts on the placed instance; None when it cannot be met."""
    if goal.kind in ("leave", "enter") and goal.place is not None:
        if goal.kind == "enter":
            return [Limit(place_mask(scene.shape, goal.place), INSIDE, 1.0)]
        box = scene.lies_in(index, goal.place)
        return None if box is None else [Limit(box_mask(scene.shape, box), 0.0, OUTSIDE)]
    if goal.kind in ("off", "apart") and goal.partner is not None:
        partner = scene.union([j for j in scene.matching(goal.partner) if j not in unit])
        if not partner.any():
            return None
        if goal.kind == "off":
            return [Limit(partner, 0.0, OUTSIDE)]
        return [Limit(grow(partner, _gap(scene) + 1), 0.0, 0.0)]
    return [] if goal.kind == "measure" else None


def _position(mask: np.ndarray, func: str) -> tuple[float, bool]:
    """The crisp value of a position measure, and whether it runs along x."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    values = {"x": (xs.mean() + 0.5) / width, "y": (ys.mean() + 0.5) / height, "left": xs.min() / width,
              "right": (xs.max() + 1) / width, "top": ys.min() / height, "bottom": (ys.max() + 1) / height}
    return float(values[func]), func in ("x", "left", "right")


def _past(value: np.ndarray | float, start: float, direction: str,
          bounds: tuple[float, float] | None) -> np.ndarray | bool:
    """Whether a measure moved from `start` to `value` has left the interval where its rule holds."""
    low, high, margin = (start, start, MIN_SHIFT) if bounds is None else (*bounds, MARGIN)
    up, down = value >= high + margin, value <= low - margin
    return up if direction == "up" else down if direction == "down" else up | down


def _measure_accept(scene: ComponentScene, goal: Goal, moving: np.ndarray,
                    unit: list[int]) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """Offsets that push the goal's measure past its bounds, the partner's centroid, or MIN_SHIFT."""
    if goal.func is None or not moving.any():
        return None
    start, horizontal = _position(moving, goal.func)
    bounds = goal.bounds
    if goal.partner is not None:
        partner = scene.union([j for j in scene.matching(goal.partner) if j not in unit])
        if not partner.any():
            return None
        reference, _ = _position(partner, "x" if horizontal else "y")
        bounds = (reference, reference)
    size = scene.shape[1] if horizontal else scene.shape[0]
    return lambda dy, dx: _past(start + (dx if horizontal else dy) / size, start, goal.direction, bounds)


# ---------------------------------------------------------------- trim and scale
def _trim(image: np.ndarray, scene: ComponentScene, recipe: Trim, rng: np.random.Generator,
          stats: EditStats | None) -> EditResult | None:
    index = _pick(rng, scene.matching(recipe.target))
    if index is None:
        return None
    start, horizontal = _position(scene.components[index].mask, recipe.func)
    inward_up = recipe.func in ("top", "left")
    if recipe.bounds is None:
        cut = start + MIN_SHIFT if inward_up else start - MIN_SHIFT
    else:
        cut = recipe.bounds[1] + MARGIN if inward_up else recipe.bounds[0] - MARGIN
    height, width = scene.shape
    centres = (np.arange(width if horizontal else height) + 0.5) / (width if horizontal else height)
    line = centres < cut if inward_up else centres > cut
    zone = np.broadcast_to(line[None, :] if horizontal else line[:, None], scene.shape)
    if not math.isfinite(cut) or scene.share_in(index, zone) > 1 - MIN_KEEP or scene.share_in(index, zone) == 0:
        return None
    unit = scene.unit(index)
    out, changed = fill_background(image, scene.union(unit) & zone, scene.union(scene.peers(unit)), rng)
    components = list(scene.components)
    for j in unit:
        components[j] = replace(components[j], mask=components[j].mask & ~zone)
    return EditResult(out, [c for c in components if c.mask.any()], changed, recipe)


def _cut(image: np.ndarray, scene: ComponentScene, recipe: Cut, rng: np.random.Generator,
         stats: EditStats | None) -> EditResult | None:
    index = _pick(rng, scene.matching(recipe.target))
    if index is None:
        return None
    mask = scene.components[index].mask
    ys, xs = np.nonzero(mask)
    if len(xs) < 2:
        return None
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    centre = points.mean(axis=0)
    axis = np.linalg.eigh(np.cov((points - centre).T, bias=True))[1][:, -1]  # the long axis
    along = (points - centre) @ axis
    at = along.min() + (along.max() - along.min()) * rng.uniform(*CUT_SPAN)
    half_width = max(1.5, CUT_WIDTH * (along.max() - along.min()) / 2)
    grid_y, grid_x = np.mgrid[0:scene.shape[0], 0:scene.shape[1]]
    band = np.abs((grid_x - centre[0]) * axis[0] + (grid_y - centre[1]) * axis[1] - at) <= half_width
    kept = mask & ~band
    if ndimage.label(kept, structure=np.ones((3, 3)))[1] < 2:  # it bends back across the band
        return None
    # fill from the background around the band, not from the two pieces beside it
    out, changed = fill_background(image, mask & band, scene.union(scene.peers([index])) | kept, rng)
    components = list(scene.components)
    components[index] = replace(components[index], mask=kept)
    return EditResult(out, components, changed, recipe)


def _major_length(mask: np.ndarray) -> float:
    """Major-axis length in image widths, as the logic layer measures it: sqrt(12 λ_max) / W."""
    ys, xs = np.nonzero(mask)
    cov = np.cov(np.stack([xs, ys]).astype(np.float64), bias=True) if len(xs) > 1 else np.zeros((2, 2))
    return math.sqrt(12 * max(float(np.linalg.eigvalsh(cov)[-1]), 0.0)) / mask.shape[1]


def _scale_factor(scene: ComponentScene, recipe: Scale, chosen: list[int], rng: np.random.Generator) -> float | None:
    """A drawn factor, pushed further when the recipe's bound needs it; None if out of reach."""
    up = recipe.direction == "up"
    factor = float(rng.uniform(*(SCALE_UP if up else SCALE_DOWN)))
    if recipe.bounds is None:
        return factor
    bound = recipe.bounds[1] if up else recipe.bounds[0]
    if not math.isfinite(bound):
        return None
    goal = bound + MARGIN if up else bound - MARGIN
    if recipe.func == "length":
        length = _major_length(scene.components[chosen[0]].mask)
        if length == 0:
            return None
        needed = goal / length
    else:
        frame = scene.shape[0] * scene.shape[1]
        region = place_mask(scene.shape, recipe.target.place) if recipe.target.place else np.ones(scene.shape, bool)
        total = (scene.union(scene.matching(recipe.target)) & region).sum() / frame
        own = sum(scene.share_in(i, region) * scene.areas[i] for i in chosen) / frame
        squared = 1 + (goal - total) / own
        needed = math.sqrt(squared) if squared > 0 else 0.0
    factor = max(factor, needed) if up else min(factor, needed)
    return factor if SCALE_LIMITS[0] <= factor <= SCALE_LIMITS[1] else None


def _scaled(image: np.ndarray, scene: ComponentScene, unit: list[int],
            factor: float) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """The unit's pixels and masks scaled about its instance's centroid, in full-frame arrays."""
    box = ndimage.find_objects(scene.union(unit).view(np.uint8))[0]
    ys, xs = np.nonzero(scene.components[unit[0]].mask)
    top = round(ys.mean() - factor * (ys.mean() - box[0].start))
    left = round(xs.mean() - factor * (xs.mean() - box[1].start))
    pixels = ndimage.zoom(image[box].astype(np.float32), (factor, factor, 1), order=1)
    masks = [ndimage.zoom(scene.components[j].mask[box].astype(np.float32), factor, order=1) > 0.5 for j in unit]
    placed = [place_at(scene.shape, m, top, left) for m in masks]
    if not placed[0].any() or placed[0].sum() < MIN_IN_FRAME * masks[0].sum():
        return None
    return place_at(image.shape, np.clip(pixels, 0, 255), top, left), placed


def _scale(image: np.ndarray, scene: ComponentScene, recipe: Scale, rng: np.random.Generator,
           stats: EditStats | None) -> EditResult | None:
    found = scene.matching(recipe.target)
    if not found:
        return None
    chosen = found if recipe.every else [found[int(rng.integers(len(found)))]]
    factor = _scale_factor(scene, recipe, chosen, rng)
    if factor is None:
        return None
    members = sorted({j for i in chosen for j in scene.unit(i)})
    source = np.zeros(image.shape, np.float32)
    masks: dict[int, np.ndarray] = {}
    for index in chosen:
        unit = scene.unit(index)
        scaled = _scaled(image, scene, unit, factor)
        if scaled is None:
            return None
        pixels, placed = scaled
        drawn = np.logical_or.reduce(placed)
        source[drawn] = pixels[drawn]
        masks.update(zip(unit, placed))
    covered = np.logical_or.reduce(list(masks.values()))
    peers = scene.union(scene.peers(members))
    if (covered & peers).sum() > MAX_OCCLUSION * covered.sum():
        return None
    emptied, changed = fill_background(image, scene.union(members), peers, rng)
    out = paste(emptied, source, covered)
    keep = set(members).union(*(scene.containers(i) for i in chosen))
    components = scene.uncovered(covered, keep)
    for j, mask in masks.items():
        components[j] = replace(components[j], mask=mask)
    return EditResult(out, [c for c in components if c.mask.any()], changed | covered, recipe)


# ---------------------------------------------------------------- recolour
def _recolour_options(scene: ComponentScene, index: int, recipe: Recolour, stats: EditStats) -> list[str]:
    """Values this instance can visibly take (by colour or by exemplar) that break the pairing, if any."""
    component = scene.components[index]
    current = component.attributes.get(recipe.attribute)
    if current is None:
        return []
    bare = len(scene.unit(index)) == 1
    options = [v for v in recipe.values if v != current and (
        stats.shows(component.object, recipe.attribute, v, current)
        or (bare and stats.exemplars.get((component.object, recipe.attribute, v))))]
    mapping = recipe.mapping
    if mapping is None:
        return options
    partners = {scene.components[j].attributes.get(mapping.attribute)
                for j in scene.matching(mapping.partner) if j != index} - {None}
    if not partners:
        return []
    pairs = set(mapping.pairs)
    if mapping.recoloured_is_source:
        return [v for v in options if all((v, p) not in pairs for p in partners)]
    return [v for v in options if all((p, v) not in pairs for p in partners)]


def _swap_in(image: np.ndarray, scene: ComponentScene, index: int, exemplars: list[Exemplar],
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Replace the instance by an exemplar centred on it: the image, its mask, the changed pixels."""
    ys, xs = np.nonzero(scene.components[index].mask)
    peers = scene.union(scene.peers([index]))
    for k in rng.permutation(len(exemplars)):
        exemplar = exemplars[k]
        eys, exs = np.nonzero(exemplar.mask)
        top, left = round(ys.mean() - eys.mean()), round(xs.mean() - exs.mean())
        placed = place_at(scene.shape, exemplar.mask, top, left)
        if placed.sum() < MIN_IN_FRAME * exemplar.mask.sum() or \
                (placed & peers).sum() > MAX_OCCLUSION * placed.sum():
            continue
        emptied, changed = fill_background(image, scene.components[index].mask, peers, rng)
        return paste(emptied, place_at(image.shape, exemplar.pixels, top, left), placed), placed, changed | placed
    return None


def _recolour(image: np.ndarray, scene: ComponentScene, recipe: Recolour, rng: np.random.Generator,
              stats: EditStats | None) -> EditResult | None:
    if stats is None:
        return None
    options = {i: _recolour_options(scene, i, recipe, stats) for i in scene.matching(recipe.target)}
    index = _pick(rng, [i for i, values in options.items() if values])
    if index is None:
        return None
    value = options[index][int(rng.integers(len(options[index])))]
    component = scene.components[index]
    colour = stats.colour(component.object, recipe.attribute, value)
    if colour is not None and stats.shows(component.object, recipe.attribute, value,
                                          component.attributes[recipe.attribute]):
        region = scene.own_pixels(index)
        out = image.copy()
        out[region] = transfer(image[region], colour)
        mask, changed, components = component.mask, region, list(scene.components)
    else:
        swapped = _swap_in(image, scene, index, stats.exemplars[(component.object, recipe.attribute, value)], rng)
        if swapped is None:
            return None
        out, mask, changed = swapped
        components = scene.uncovered(mask, {index, *scene.containers(index)})
    components[index] = replace(component, mask=mask, attributes={**component.attributes, recipe.attribute: value})
    return EditResult(out, components, changed, recipe)


_APPLY: dict[type, Callable[..., EditResult | None]] = {
    Remove: _remove, RemoveAll: _remove_all, Duplicate: _duplicate, Move: _move, Trim: _trim, Scale: _scale,
    Recolour: _recolour, Cut: _cut,
}

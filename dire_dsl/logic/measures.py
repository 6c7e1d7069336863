"""The built-in measurements and relations, attached to the signatures the checker knows.

Each implementation takes a MeasureContext and its arguments (entities or number tensors,
aligned as in `dire_dsl.logic.tensors`) and returns a tensor in the arguments' dtype.
Positions are fractions of the image (x to the right, y down); every denominator carries
a small epsilon so empty masks give finite values and finite gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from dire_dsl.lang.signatures import REGISTRY
from dire_dsl.logic.entities import Entity, MeasureContext
from dire_dsl.logic.regions import MASS, XX, XY, YY, X, Y
from dire_dsl.logic.tensors import MASS_EPS, max_filter, pixel_inner, settled

RATIO_EPS = 1e-4
"""ε of `ratio` = a·b / (b² + ε²): relative error (ε/b)², no pole, 0 when b = 0."""
ABS_SMOOTHING = 1e-3
"""δ of `abs` = sqrt(v² + δ²) - δ: exact at 0, never more than δ below |v|, smooth at 0."""
MIN_SMOOTHING = 1e-3
"""Pixel mass over which the minimum in `overlaps` is rounded (so equal masses have a gradient)."""
MAX_TEMPERATURE = 0.05
"""Softness of the per-row maximum behind extents: values in [0, 1], so 0.05 is nearly hard."""
EIGEN_EPS = 1e-2
"""Pixel² under the square roots of the major-axis length: a disc has a double eigenvalue and an
empty mask none; changes λ_max by at most 0.1 px² (a 0.1 % change in a 0.4-width screw's length)."""
CONTACT_POWER = 8.0
"""p of the p-norm that stands in for the maximum in `touches`: n pixels of faint spill count
only n^(1/p) times as much as one (a connector's 200 pixels at 0.02 give 0.04, not 4)."""


def centroid(entity: Entity) -> tuple[Tensor, Tensor]:
    """Mass-weighted centre (x, y) in image fractions; an empty mask sits at the image centre."""
    moments = entity.moments
    mass = moments[..., MASS] + MASS_EPS
    return (moments[..., X] + 0.5 * MASS_EPS) / mass, (moments[..., Y] + 0.5 * MASS_EPS) / mass


def _occupancy(mask: Tensor, dim: int) -> Tensor:
    """How surely each row (dim=-1) or column (dim=-2) holds the mask: a smooth maximum."""
    weights = torch.softmax(mask / MAX_TEMPERATURE, dim=dim)
    return (mask * weights).sum(dim)


def _first_hit(occupied: Tensor, edges: Tensor, fallback: float) -> Tensor:
    """Expected edge of the first occupied line when scanning in order; `fallback` if none is."""
    missed = torch.cumprod(1.0 - occupied, dim=-1)
    before = torch.cat([torch.ones_like(missed[..., :1]), missed[..., :-1]], dim=-1)
    return (occupied * before * edges).sum(-1) + missed[..., -1] * fallback


def _extent(mask: Tensor, vertical: bool, from_start: bool) -> Tensor:
    pixels = mask.shape[-2] if vertical else mask.shape[-1]
    occupied = _occupancy(mask, -1 if vertical else -2)
    edges = torch.arange(pixels, dtype=mask.dtype, device=mask.device) / pixels
    if from_start:  # top / left: the leading edge of the first line; nothing found → 1
        return _first_hit(occupied, edges, 1.0)
    return _first_hit(occupied.flip(-1), (edges + 1.0 / pixels).flip(-1), 0.0)  # bottom / right; nothing → 0


def major_axis_length(ctx: MeasureContext, of: Entity) -> Tensor:
    """sqrt(12 λ_max) of the mask's pixel covariance, in image widths (a bar of n px → n px)."""
    moments = of.moments
    mass = moments[..., MASS] + MASS_EPS
    mx, my = moments[..., X] / mass, moments[..., Y] / mass
    cxx = (moments[..., XX] / mass - mx**2) * ctx.width**2  # pixel² units
    cyy = (moments[..., YY] / mass - my**2) * ctx.height**2
    cxy = (moments[..., XY] / mass - mx * my) * ctx.width * ctx.height
    half_gap = (cxx - cyy) / 2
    largest = (cxx + cyy) / 2 + torch.sqrt(half_gap**2 + cxy**2 + EIGEN_EPS)
    return torch.sqrt(12.0 * largest.clamp_min(0.0) + EIGEN_EPS) / ctx.width


CONTACT_REACH = 2
"""Pixels across which `touches` still sees contact. Where two parts meet, the boundary pixel
is shared and each mask is only about half sure of it; a reach of two spans it, so touching
parts read about 0.8, not 0.25 (one pixel of reach pairs the two half-sure boundary values)."""


def _dilate(mask: Tensor) -> Tensor:
    """Maximum over a (2·reach + 1)² window: each pixel takes the surest value within reach."""
    return max_filter(mask, CONTACT_REACH)


# ---------------------------------------------------------------- implementations
def count(ctx: MeasureContext, objects: Entity) -> Tensor:
    return objects.weights.sum(-1)


def area(ctx: MeasureContext, of: Entity) -> Tensor:
    return of.mass / (ctx.height * ctx.width)


def ratio(ctx: MeasureContext, numerator: Tensor, denominator: Tensor) -> Tensor:
    return numerator * denominator / (denominator**2 + RATIO_EPS**2)


def absolute(ctx: MeasureContext, value: Tensor) -> Tensor:
    return torch.sqrt(value**2 + ABS_SMOOTHING**2) - ABS_SMOOTHING


def inside(ctx: MeasureContext, a: Entity, b: Entity) -> Tensor:
    return pixel_inner(a.mask, b.mask) / (a.mass + MASS_EPS)


def overlaps(ctx: MeasureContext, a: Entity, b: Entity) -> Tensor:
    gap = a.mass - b.mass
    smaller = (a.mass + b.mass - torch.sqrt(gap**2 + MIN_SMOOTHING**2)) / 2
    return pixel_inner(a.mask, b.mask) / (smaller + MASS_EPS)


def touches(ctx: MeasureContext, a: Entity, b: Entity) -> Tensor:
    """How surely some pixel of b lies within CONTACT_REACH pixels of a: max over pixels of dilate(a)·b.

    A maximum, not a sum: soft masks spill faintly over large areas, and a sum of that
    spill over a whole connector said "touching" for a cable that stops short of it. The
    p-norm keeps it one batched product (Σ (d·b)^p = ⟨d^p, b^p⟩); the maximum is symmetric,
    so the smaller mask tensor is the one dilated.
    """
    a_mask, b_mask = a.mask.clamp_min(0.0), b.mask.clamp_min(0.0)
    if a_mask.numel() > b_mask.numel():
        a_mask, b_mask = b_mask, a_mask
    contact = pixel_inner(_dilate(a_mask) ** CONTACT_POWER, b_mask**CONTACT_POWER)
    # The root's gradient is bounded where contact > 0 (by b's value at the maximum); at 0 it is cut.
    return contact.clamp_min(torch.finfo(contact.dtype).tiny).pow(1.0 / CONTACT_POWER).clamp(max=1.0)


JOIN_FLOOR = 0.05
"""`via` values below this are no way through. A soft mask's faint spill covers the whole map,
and a search allowed to creep through it ran H + W steps instead of the part's length;
a path that weak reads 0 instead of a few hundredths."""


def joins(ctx: MeasureContext, via: Entity, a: Entity, b: Entity) -> Tensor:
    """How surely a path through `via` leads from `a` to `b`: over all 8-connected paths that
    start and end within CONTACT_REACH pixels of them, the best path's weakest `via` pixel.

    A cut cable still touches both connectors, and its two pieces may hold one centre peak
    between them; what it lacks is a way through. The widest path is found by repeated 3×3
    maxima of "reached with strength s" capped by `via` (at most H + W steps, fewer once
    nothing changes); min and max pass gradients to the bottleneck pixels.
    """
    shape = torch.broadcast_shapes(via.mask.shape, a.mask.shape, b.mask.shape)
    height, width = shape[-2:]
    through = via.mask.clamp(0.0, 1.0)
    through = torch.where(through >= JOIN_FLOOR, through, torch.zeros_like(through)).expand(shape)
    through = through.reshape(-1, height, width)
    reached = torch.minimum(_dilate(a.mask.clamp(0.0, 1.0)).expand(shape).reshape(-1, height, width), through)
    for _ in range(height + width):
        spread = torch.maximum(reached, torch.minimum(max_filter(reached), through))
        if settled(spread, reached):
            break
        reached = spread
    end = _dilate(b.mask.clamp(0.0, 1.0)).expand(shape).reshape(-1, height, width)
    return torch.minimum(reached, end).amax(dim=(-2, -1)).reshape(shape[:-2])


def _order(axis: int, sign: float) -> Callable[[MeasureContext, Entity, Entity], Tensor]:
    def relation(ctx: MeasureContext, a: Entity, b: Entity) -> Tensor:
        return torch.sigmoid(sign * (centroid(b)[axis] - centroid(a)[axis]) / ctx.tau)

    return relation


def _extent_of(vertical: bool, from_start: bool) -> Callable[[MeasureContext, Entity], Tensor]:
    def measure(ctx: MeasureContext, of: Entity) -> Tensor:
        return _extent(of.mask, vertical, from_start)

    return measure


BUILTINS: dict[str, Callable[..., Tensor]] = {
    "count": count,
    "area": area,
    "ratio": ratio,
    "abs": absolute,
    "x": lambda ctx, of: centroid(of)[0],
    "y": lambda ctx, of: centroid(of)[1],
    "top": _extent_of(vertical=True, from_start=True),
    "bottom": _extent_of(vertical=True, from_start=False),
    "left": _extent_of(vertical=False, from_start=True),
    "right": _extent_of(vertical=False, from_start=False),
    "length": major_axis_length,
    "inside": inside,
    "touches": touches,
    "joins": joins,
    "overlaps": overlaps,
    "left_of": _order(0, 1.0),
    "right_of": _order(0, -1.0),
    "above": _order(1, 1.0),
    "below": _order(1, -1.0),
}

for _name, _implementation in BUILTINS.items():
    REGISTRY.implement(_name, _implementation)

"""Where an added or moved instance goes when a step says so (`to`): a grid cell, a point,
overlapping a neighbour by a share of its area, or outside its parent.

Without `to`, `add` keeps the object's own rule (`SceneSampler.add_instances`), which for a
full grid lays the extra instance into an occupied cell. These placements are what a user
describes instead ("a second pill lying a third on the first one"); overlaps are measured on
the drawn shapes, not on their boxes.
"""

from __future__ import annotations

import math

import numpy as np

from dire_dsl.synth.render import part_covers
from dire_dsl.synth.scene import Frame, Instance, Scene, SceneSampler, half_extent, obb_overlap, sample
from dire_dsl.synth.shapes import Coverage, paste_max
from dire_dsl.synth.spec.models import PlaceTo

OVERLAP_PX = 64
"""Pixels across the larger of the two shapes when an overlap is measured (about 2 % precision)."""

Mask = tuple[np.ndarray, int, int]  # boolean crop, its top row, its left column


def place_to(layout: SceneSampler, scene: Scene, inst: Instance, to: PlaceTo, rng: np.random.Generator) -> bool:
    """Put `inst` where `to` says; False if it cannot (no neighbour to overlap in this image). Its
    angle is read relative to its frame (its parent's box or the image) and left in world terms,
    as the sampler leaves every placed instance."""
    obj = layout.spec.object(inst.obj)
    frame = Frame(layout.aspect, scene.get(inst.parent) if inst.parent else None)
    if to.cell is not None:
        r, c = to.cell
        x0, y0, x1, y1 = obj.placement.region
        cw, ch = (x1 - x0) / obj.placement.cols, (y1 - y0) / obj.placement.rows
        inst.cell = [r, c]
        layout.in_box(scene, inst, rng, frame, (x0 + c * cw, y0 + r * ch, x0 + (c + 1) * cw, y0 + (r + 1) * ch),
                      None, gap=0.003, collide=True)  # beside an occupant if there is room, else on it
        return True
    inst.angle += frame.angle
    if to.at is not None:
        inst.cx, inst.cy = frame.point(sample(rng, to.at[0]), sample(rng, to.at[1]))
    elif to.overlap is not None:
        if not _overlap(layout, scene, inst, to, rng):
            return False
    else:
        _outside(layout, scene, inst, frame, rng)
        frame = Frame(layout.aspect, None)
    inst.cell = _cell_at(obj.placement, *frame.local(inst.cx, inst.cy))
    return True


def _cell_at(pl, u: float, v: float) -> list[int] | None:
    """The grid cell [row, col] holding a frame point, for the record (None off the grid)."""
    if pl.kind != "grid":
        return None
    x0, y0, x1, y1 = pl.region
    c, r = math.floor((u - x0) / (x1 - x0) * pl.cols), math.floor((v - y0) / (y1 - y0) * pl.rows)
    return [r, c] if 0 <= r < pl.rows and 0 <= c < pl.cols else None


def _mask(inst: Instance, px: float) -> Mask:
    """The instance's shape at `px` pixels per image width (all parts, no supersampling)."""
    covs = [pc.cov for pc in part_covers(inst, px, 1)]
    if not covs:  # too small to draw: it covers nothing
        return np.zeros((1, 1), bool), 0, 0
    y0, x0 = min(c.y0 for c in covs), min(c.x0 for c in covs)
    out = np.zeros((max(c.y1 for c in covs) - y0, max(c.x1 for c in covs) - x0), np.float32)
    for c in covs:
        paste_max(out, Coverage(c.alpha, c.y0 - y0, c.x0 - x0))
    return out > 0.5, y0, x0


def _shared(a: Mask, b: Mask) -> int:
    """Pixels two masks have in common."""
    (ma, ya, xa), (mb, yb, xb) = a, b
    y0, x0 = max(ya, yb), max(xa, xb)
    y1, x1 = min(ya + ma.shape[0], yb + mb.shape[0]), min(xa + ma.shape[1], xb + mb.shape[1])
    if y1 <= y0 or x1 <= x0:
        return 0
    return int((ma[y0 - ya:y1 - ya, x0 - xa:x1 - xa] & mb[y0 - yb:y1 - yb, x0 - xb:x1 - xb]).sum())


def _overlap(layout: SceneSampler, scene: Scene, inst: Instance, to: PlaceTo, rng: np.random.Generator) -> bool:
    """Lay `inst` on a random instance of `to.of` so that the share `to.overlap` of its area lies
    on it; directions that keep it in the image and off every other part are preferred. False
    when the image has no such neighbour (a random count drew none)."""
    skip = {inst.uid, *(d.uid for d in scene.descendants(inst.uid))}
    cands = [i for i in scene.of(to.of or inst.obj) if i.uid not in skip]
    if not cands:
        return False
    nb = cands[int(rng.integers(len(cands)))]
    inst.meta["on"] = nb.uid
    share = sample(rng, to.overlap)
    px = OVERLAP_PX / max(nb.w, nb.h, inst.w, inst.h)
    theirs = _mask(nb, px)
    inst.cx = inst.cy = 0.0
    mine, my0, mx0 = _mask(inst, px)
    area = max(int(mine.sum()), 1)

    def share_at(x: float, y: float) -> float:
        return _shared((mine, my0 + round(y * px), mx0 + round(x * px)), theirs) / area

    others = [(o.cx, o.cy, 0.5 * math.hypot(o.w, o.h), o.corners()) for o in scene.instances
              if o.spec.collides and o.uid not in skip | {nb.uid, inst.parent}]
    reach = max(nb.w, nb.h) + max(inst.w, inst.h)
    best = None
    for _ in range(24):
        phi = rng.uniform(0, 2 * math.pi)
        lo, hi = 0.0, reach  # the share falls from (about) full at the centre to 0 at `reach`
        for _ in range(14):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if share_at(nb.cx + mid * math.cos(phi), nb.cy + mid * math.sin(phi)) > share \
                else (lo, mid)
        inst.cx, inst.cy = nb.cx + lo * math.cos(phi), nb.cy + lo * math.sin(phi)
        ex, ey = half_extent(inst.w, inst.h, inst.angle)
        if not (ex <= inst.cx <= 1 - ex and ey <= inst.cy <= 1 / layout.aspect - ey):
            continue
        if layout.is_free(inst, others, 0.002):
            return True
        best = best or (inst.cx, inst.cy)
    if best is not None:
        inst.cx, inst.cy = best
    return True


def _outside(layout: SceneSampler, scene: Scene, inst: Instance, frame: Frame, rng: np.random.Generator) -> None:
    """Put `inst` in the image but off its parent (or off its placement's region), free of
    other parts where there is room; it no longer rides on that parent."""
    if frame.parent is not None:
        keep_off = frame.parent.corners(0.005)
    else:
        x0, y0, x1, y1 = layout.spec.object(inst.obj).placement.region
        keep_off = [frame.point(u, v) for u, v in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    inst.parent = None
    others = layout.colliders(scene, inst)
    ex, ey = half_extent(inst.w, inst.h, inst.angle)
    found = None
    for _ in range(4 * layout.TRIES):
        inst.cx = float(rng.uniform(ex, max(ex, 1 - ex)))
        inst.cy = float(rng.uniform(ey, max(ey, 1 / layout.aspect - ey)))
        if obb_overlap(inst.corners(), keep_off):
            continue
        found = found or (inst.cx, inst.cy)
        if layout.is_free(inst, others, 0.003):
            return
    if found is not None:
        inst.cx, inst.cy = found


def raise_above(scene: Scene, inst: Instance) -> None:
    """Draw `inst` (and its children) after the neighbour it was laid on, so it lies on top."""
    nb = scene.get(inst.meta.pop("on", ""))
    if nb is None:
        return
    under = {nb.uid, *(d.uid for d in scene.descendants(nb.uid))}
    if scene.instances.index(inst) > max(k for k, i in enumerate(scene.instances) if i.uid in under):
        return
    block = [inst, *scene.descendants(inst.uid)]
    rest = [i for i in scene.instances if all(i is not b for b in block)]
    at = max(k for k, i in enumerate(rest) if i.uid in under) + 1
    scene.instances = rest[:at] + block + rest[at:]


def carry(scene: Scene, inst: Instance, cx: float, cy: float, angle: float) -> None:
    """Move the children of `inst` with it, from its old centre and angle to the new ones."""
    turn = math.radians(inst.angle - angle)
    c, s = math.cos(turn), math.sin(turn)
    for d in scene.descendants(inst.uid):
        dx, dy = d.cx - cx, d.cy - cy
        d.cx, d.cy = inst.cx + dx * c - dy * s, inst.cy + dx * s + dy * c
        d.angle += inst.angle - angle
        if d.path is not None:
            rel = d.path - np.array([cx, cy])
            d.path = np.array([inst.cx, inst.cy]) + rel @ np.array([[c, s], [-s, c]])

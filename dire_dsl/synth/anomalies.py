"""Anomaly recipes: edit a good scene (logical steps) or its pixels (structural steps).

Logical steps act on the scene before drawing: `modify`, `count` and `attr` lay the object out
again with an override (same random stream, so nothing else moves); `remove`, `add`, `swap`
and `mirror` edit the placed instances. Each step also says which pixels its ground truth
marks, following MVTec LOCO's conventions:

- a missing object marks the area where it was (grown a little), saturating at one object;
- every extra object is marked as its own region;
- a wrong combination (an attribute that breaks a link table) marks the union of the parts;
- a moved / resized / swapped object marks its old and new places.

Structural steps (`scratch`, `contamination`, `dent`, `break`, `discolor`) paint on the clean
canvas and mark the pixels they changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from PIL import Image, ImageDraw

from dire_dsl.synth.placing import carry, place_to, raise_above
from dire_dsl.synth.render import Renderer, visible_masks
from dire_dsl.synth.scene import Instance, ObjectOverride, Scene, SceneSampler, link_partners, sample
from dire_dsl.synth.shapes import rasterize
from dire_dsl.synth.spec.models import STRUCTURAL_OPS, AnomalySpec, CrackStep, PlaceTo, ScratchStep


@dataclass
class Mark:
    """What one region of the ground truth covers, resolved to pixels after drawing."""

    kind: str  # "missing" | "extra" | "changed"
    s0: list[str] = field(default_factory=list)  # uids whose footprint in the good scene counts
    s1: list[str] = field(default_factory=list)  # uids whose footprint in the edited scene counts


@dataclass
class EditedScene:
    """The edited scene and the marks of a recipe's logical steps."""

    scene: Scene
    marks: list[Mark]


def _members(scene: Scene, step) -> list[Instance]:
    """The instances a step may act on: those of its object, or of every object of its `name`."""
    if getattr(step, "name", None) is not None:
        return [i for i in scene.instances if i.name == step.name]
    return scene.of(step.object)


def _unlike(cands: list[Instance], k: int, rng: np.random.Generator) -> list[Instance]:
    """`k` random instances, unlike each other where the scene allows: two parts of one kind and
    one look trading places would change nothing visible. Parts with attributes are told apart
    by their values (two jars with yellow lids are alike, whatever their object ids), others
    by their object."""
    first, rest, seen = [], [], set()
    for j in rng.permutation(len(cands)).tolist():
        values = tuple(sorted(cands[j].attributes.items()))
        look = values if values else cands[j].obj
        (rest if look in seen else first).append(cands[j])
        seen.add(look)
    return (first + rest)[:k]


def _darken_along(canvas: np.ndarray, pts: np.ndarray, step: ScratchStep | CrackStep,
                  vis: np.ndarray) -> np.ndarray | None:
    """Darken `canvas` by `step.tone` along the polyline `pts`, `step.width` wide, on the visible
    pixels `vis`: the stroke's mask, or None when under 3 pixels of it show (a scratch, a crack)."""
    H, W = vis.shape
    alpha = _stroke(pts, max(1.0, step.width * W), H, W) * vis
    mask = alpha > 0.3
    if mask.sum() < 3:
        return None
    canvas += alpha[..., None] * (np.clip(canvas * step.tone, 0, 255) - canvas)
    return mask


def _trade_places(scene: Scene, picked: list[Instance]) -> None:
    """Each picked instance (children along) takes the place of the next one, the last the first's."""
    places = [(i.cx, i.cy, i.cell) for i in picked]
    for k, inst in enumerate(picked):
        cx, cy, cell = places[(k + 1) % len(picked)]
        dx, dy = cx - places[k][0], cy - places[k][1]
        for x in [inst] + scene.descendants(inst.uid):
            x.cx += dx
            x.cy += dy
            if x.path is not None:
                x.path = x.path + np.array([dx, dy])
        inst.cell = cell


def _add(layout: SceneSampler, scene: Scene, step, rng: np.random.Generator, place) -> list[Instance]:
    """The added instances: `n` of the object, or each of a random object of the family `name`."""
    if step.name is None:
        return layout.add_instances(scene, step.object, step.n, rng, place)
    kinds = [o.id for o in layout.spec.objects if o.coco_name == step.name]
    return [inst for _ in range(step.n)
            for inst in layout.add_instances(scene, kinds[int(rng.integers(len(kinds)))], 1, rng, place)]


def _move(layout: SceneSampler, scene: Scene, step, rng: np.random.Generator) -> list[Mark]:
    """Move `n` random instances to `step.to`; each marks its old and new place (children too)."""
    cands = [i for i in _members(scene, step) if not i.added]
    n = min(step.n, len(cands))
    marks = []
    for j in (sorted(rng.choice(len(cands), size=n, replace=False).tolist()) if n else []):
        inst = cands[j]
        before = (inst.cx, inst.cy, inst.angle)
        parent = scene.get(inst.parent) if inst.parent else None
        inst.angle -= parent.angle if parent is not None else 0.0  # `place_to` reads it in the frame
        if not place_to(layout, scene, inst, step.to, rng):
            inst.cx, inst.cy, inst.angle = before
            continue
        carry(scene, inst, *before)
        raise_above(scene, inst)
        uids = _ids(scene, [inst.uid])
        marks.append(Mark("changed", s0=uids, s1=uids))
    return marks


def _ids(scene: Scene, uids) -> list[str]:
    out = []
    for u in uids:
        out.append(u)
        out += [d.uid for d in scene.descendants(u)]
    return out


def apply_logical(layout: SceneSampler, good: Scene, recipe: AnomalySpec, rng: np.random.Generator) -> EditedScene:
    """The scene of an anomalous image: the good scene with the recipe's logical steps applied."""
    spec = layout.spec
    overrides: dict[str, ObjectOverride] = {}
    marks: list[Mark] = []
    for step in recipe.steps:
        if step.op == "modify":
            originals = [i for i in good.of(step.object) if not i.added]
            if step.index == "all":
                idx = "all"
                hit = [i.index for i in originals]
            elif step.index == "random":
                idx = originals[int(rng.integers(len(originals)))].index if originals else 0
                hit = [idx]
            else:
                idx = int(step.index)
                hit = [idx]
            overrides.setdefault(step.object, ObjectOverride()).sets.append((idx, step.set))
            for k in hit:
                uid = f"{step.object}:{k}"
                marks.append(Mark("changed", s0=[uid], s1=[uid]))
        elif step.op == "count":
            overrides.setdefault(step.object, ObjectOverride()).count = step.n
            marks.append(Mark("changed", s0=[i.uid for i in good.of(step.object)],
                              s1=[f"{step.object}:{k}" for k in range(step.n)]))
        elif step.op == "attr":
            originals = _members(good, step)
            if not originals:
                continue
            k = step.index if step.index is not None and step.index < len(originals) else \
                int(rng.integers(len(originals)))
            inst = originals[k]
            originals = good.of(inst.obj)
            values = spec.object(inst.obj).attributes[step.attribute].values
            current = inst.attributes.get(step.attribute)
            value = step.value
            if value is None or value == current:
                others = [v for v in values if v != current]
                value = others[int(rng.integers(len(others)))] if others else current
            overrides.setdefault(inst.obj, ObjectOverride()).attrs.setdefault(inst.index, {})[
                step.attribute] = value
            together = [inst.uid]
            for pobj, _ in link_partners(spec, inst.obj, step.attribute):
                together += [i.uid for i in good.of(pobj)]
            if spec.object(inst.obj).attributes[step.attribute].per == "object":
                together += [i.uid for i in originals if i.uid != inst.uid]
            marks.append(Mark("changed", s1=together))
    scene = layout.scene(overrides, start=good.attempt) if overrides else good.copy()
    for step in recipe.steps:
        if step.op == "remove":
            cands = [i for i in _members(scene, step) if not i.added]
            n = len(cands) if step.n == "all" else min(step.n, len(cands))
            pick = sorted(rng.choice(len(cands), size=n, replace=False).tolist()) if n else []
            for j in pick:
                inst = cands[j]
                gone = [inst.uid] + ([d.uid for d in scene.descendants(inst.uid)] if step.with_children else [])
                if not step.with_children:
                    for d in scene.instances:
                        if d.parent == inst.uid:
                            d.parent = None
                scene.instances = [i for i in scene.instances if i.uid not in gone]
                marks.append(Mark("missing", s0=[inst.uid]))
        elif step.op == "add":
            place = None if step.to is None else partial(_place_added, layout, step.to)
            for inst in _add(layout, scene, step, rng, place):
                raise_above(scene, inst)
                moved = inst.meta.pop("moved", [])  # occupants re-laid to make room: mark them too
                marks.append(Mark("extra", s0=list(moved), s1=[inst.uid, *moved]))
        elif step.op == "move":
            marks += _move(layout, scene, step, rng)
        elif step.op == "swap":
            if step.objects is not None:
                picked = [next(iter(scene.of(o)), None) for o in step.objects]
            else:
                picked = _unlike([i for i in _members(scene, step) if not i.added], step.pick or 2, rng)
            if len(picked) < 2 or None in picked:
                continue
            _trade_places(scene, picked)
            uids = _ids(scene, [i.uid for i in picked])
            marks.append(Mark("changed", s0=uids, s1=uids))
        elif step.op == "mirror":
            roots = [i.uid for o in step.objects for i in scene.of(o)]
            uids = list(dict.fromkeys(_ids(scene, roots)))
            for uid in uids:
                x = scene.get(uid)
                x.cx = 2 * step.about - x.cx
                x.angle = 180.0 - x.angle if x.spec.shape == "curve" else -x.angle
                if x.path is not None:
                    x.path = x.path.copy()
                    x.path[:, 0] = 2 * step.about - x.path[:, 0]
            marks.append(Mark("changed", s0=uids, s1=uids))
    return EditedScene(scene, marks)


def _place_added(layout: SceneSampler, to: PlaceTo, scene: Scene, inst: Instance, rng: np.random.Generator) -> bool:
    """An added instance goes on the parent extra instances go on, then where `to` says."""
    layout.extra_parent(scene, layout.spec.object(inst.obj), inst)
    return place_to(layout, scene, inst, to, rng)


# ---------------------------------------------------------------- ground-truth regions

class Footprints:
    """Cached full coverages (occlusion ignored; clipped children stay inside their parent)."""

    def __init__(self, renderer: Renderer, scene: Scene):
        self.r = renderer
        self.scene = scene
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, uid: str) -> np.ndarray | None:
        if uid in self._cache:
            return self._cache[uid]
        inst = self.scene.get(uid)
        if inst is None:
            return None
        fp = self.r.footprint(inst)
        if inst.spec.clip and inst.parent:
            parent = self(inst.parent)
            if parent is not None:
                fp = fp * parent
        self._cache[uid] = fp
        return fp


def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0:
        return mask
    from scipy.ndimage import maximum_filter
    return maximum_filter(mask.astype(np.uint8), size=2 * px + 1).astype(bool)


def resolve_marks(marks: list[Mark], fp0: Footprints, fp1: Footprints) -> tuple[list[np.ndarray], list[int]]:
    """Boolean masks of the marks, and for every 'missing' region the pixel area of the object."""
    regions, missing_areas = [], []
    for m in marks:
        mask = np.zeros((fp0.r.height, fp0.r.width), bool)
        for uid in m.s0:
            f = fp0(uid)
            if f is not None:
                mask |= f > 0.5
        for uid in m.s1:
            f = fp1(uid)
            if f is not None:
                mask |= f > 0.5
        if m.kind == "missing":
            area = int(mask.sum())
            inst = fp0.scene.get(m.s0[0]) if m.s0 else None
            grow = int(round(min(0.25 * min(inst.w, inst.h), 0.03) * fp0.r.width)) if inst is not None else 0
            mask = _grow(mask, max(1, grow))
            if area:
                missing_areas.append(area)
        if mask.any():
            regions.append(mask)
    return regions, missing_areas


# ---------------------------------------------------------------- structural defects

def _targets(scene: Scene, visible: dict[str, np.ndarray], step, min_px: int) -> list:
    obj, name = step.object, step.name
    pool = [i for i in scene.instances if i.uid in visible and (i.obj == obj if obj else i.name == name if name
                                                                else i.annotate)]
    pool = [i for i in pool if visible[i.uid].sum() >= min_px]
    if not pool and (obj or name):
        pool = [i for i in scene.instances if i.uid in visible and i.annotate and visible[i.uid].sum() >= min_px]
    return pool


def _stroke(points: np.ndarray, width_px: float, h: int, w: int, ss: int = 3) -> np.ndarray:
    img = Image.new("L", (w * ss, h * ss), 0)
    ImageDraw.Draw(img).line([(float(x) * ss, float(y) * ss) for x, y in points], fill=255,
                             width=max(1, int(round(width_px * ss))), joint="curve")
    return np.asarray(img.reduce(ss), np.float32) / 255.0


def apply_structural(step, renderer: Renderer, scene: Scene, canvas: np.ndarray, covers: dict[str, np.ndarray],
                     base: tuple[int, ...], rng: np.random.Generator) -> np.ndarray | None:
    """Paint one structural defect onto the clean canvas (in place); returns its mask."""
    H, W = renderer.height, renderer.width
    visible = visible_masks(scene, covers)
    targets = _targets(scene, visible, step, min_px=max(4, (W // 64) ** 2))
    if not targets:
        return None
    for _attempt in range(12):
        inst = targets[int(rng.integers(len(targets)))]
        vis = visible[inst.uid]
        inward = None
        if step.on is None:
            ys, xs = np.nonzero(vis)
            k = int(rng.integers(len(ys)))
            py, px = float(ys[k]) + 0.5, float(xs[k]) + 0.5
        else:
            (px, py), inward = aim(step.on, inst, vis, W, rng)
        size_obj = max(inst.w, inst.h) * W
        if step.op == "scratch":
            length = max(4.0, sample(rng, step.size) * size_obj)
            phi = rng.uniform(0, 2 * math.pi)
            bend = rng.uniform(-0.2, 0.2) * length
            t = np.linspace(-0.5, 0.5, 16)[:, None]
            d = np.array([math.cos(phi), math.sin(phi)])
            nrm = np.array([-d[1], d[0]])
            pts = np.array([px, py]) + t * length * d + (1 - 4 * t**2) * bend * nrm
            mask = _darken_along(canvas, pts, step, vis)
            if mask is None:
                continue
            return mask
        if step.op == "crack":
            pts = _crack(np.array([px, py]), inward, max(6.0, sample(rng, step.size) * size_obj), rng)
            mask = _darken_along(canvas, pts, step, vis)
            if mask is None:
                continue
            return mask
        if step.op == "contamination":
            d = max(3.0, sample(rng, step.size) * W)
            cov = rasterize("blob", {"irregularity": 0.5}, px, py, d, d * rng.uniform(0.6, 1.0),
                            rng.uniform(0, 180), renderer.ss, rng)
            if cov is None:
                continue
            alpha = cov.full(H, W)
            mask = alpha > 0.5
            if mask.sum() < 3:
                continue
            pc = step.color
            rgb = np.asarray(pc.palette[int(rng.integers(len(pc.palette)))], np.float32)
            rgb = np.clip(rgb + rng.uniform(-pc.jitter, pc.jitter, 3), 0, 255) if pc.jitter else rgb
            canvas += alpha[..., None] * (rgb[None, None, :] - canvas)
            return mask
        if step.op in ("dent", "discolor", "break"):
            s = sample(rng, step.size)
            if step.op == "break" and step.on is not None:  # a bite centred on the aimed part
                cx, cy = px, py
                d = max(3.0, s * size_obj)
                cov = rasterize("blob", {"irregularity": 0.6}, cx, cy, d, d, rng.uniform(0, 180), renderer.ss, rng)
            elif step.op == "break":  # a bite out of the edge
                phi = rng.uniform(0, 2 * math.pi)
                r_edge = 0.5 * min(inst.w, inst.h) * W
                cx = inst.cx * W + math.cos(phi) * r_edge
                cy = inst.cy * W + math.sin(phi) * r_edge
                d = max(3.0, s * size_obj)
                cov = rasterize("blob", {"irregularity": 0.6}, cx, cy, d, d, rng.uniform(0, 180), renderer.ss, rng)
            else:
                d = max(3.0, s * size_obj)
                cov = rasterize("blob" if step.op == "discolor" else "ellipse", {"irregularity": 0.4}
                                if step.op == "discolor" else {}, px, py, d, d * rng.uniform(0.5, 1.0),
                                rng.uniform(0, 180), renderer.ss, rng)
            if cov is None:
                continue
            alpha = cov.full(H, W) * vis
            mask = alpha > 0.5
            if mask.sum() < 3:
                continue
            if step.op == "dent":
                yy, xx = np.mgrid[0:H, 0:W]
                rad = np.hypot(yy + 0.5 - py, xx + 0.5 - px) / (d / 2)
                shade = 1.0 - (1.0 - step.tone) * np.clip(1.0 - rad, 0.35, 1.0)
                canvas[:] = canvas * (1 - alpha[..., None]) + canvas * shade[..., None] * alpha[..., None]
            elif step.op == "discolor":
                pc = step.color
                rgb = np.asarray(pc.palette[int(rng.integers(len(pc.palette)))], np.float32)
                lum = canvas.mean(axis=2, keepdims=True) / max(float(canvas[mask].mean()), 1.0)
                canvas += alpha[..., None] * (np.clip(rgb[None, None, :] * lum, 0, 255) - canvas)
            else:
                hide = {inst.uid} | {x.uid for x in scene.descendants(inst.uid)}
                under, _ = renderer.compose(scene, base, exclude=hide)
                canvas += alpha[..., None] * (under - canvas)
            return mask
    return None


def aim(on, inst: Instance, vis: np.ndarray, W: int, rng: np.random.Generator
        ) -> tuple[tuple[float, float], np.ndarray | None]:
    """The pixel a structural step is aimed at (`on`), snapped onto the instance's visible pixels,
    and the unit direction from there into the object (None at its centre)."""
    if on == "edge":
        from scipy.ndimage import binary_erosion
        rim = vis & ~binary_erosion(vis)
        ys, xs = np.nonzero(rim if rim.any() else vis)
        k = int(rng.integers(len(ys)))
        point = np.array([xs[k] + 0.5, ys[k] + 0.5])
    else:
        t = {"tip": 1.0, "centre": 0.5, "center": 0.5, "end": float(rng.integers(2))}.get(on, on)
        point = _along(inst, t) * W
    ys, xs = np.nonzero(vis)
    k = int(np.argmin((xs + 0.5 - point[0]) ** 2 + (ys + 0.5 - point[1]) ** 2))
    point = np.array([xs[k] + 0.5, ys[k] + 0.5])
    inward = np.array([inst.cx, inst.cy]) * W - point
    norm = float(np.linalg.norm(inward))
    return (float(point[0]), float(point[1])), (inward / norm if norm > 0.1 * max(inst.w, inst.h) * W else None)


def _along(inst: Instance, t) -> np.ndarray:
    """A point of the instance in world units: `t` along its long axis (0 one end, 1 the tip, at
    u = 1 of its box unless flipped; along its path for a curve), or a point [u, v] of its box."""
    if isinstance(t, tuple):
        u, v = t
        return np.array(inst.to_world(1 - u if inst.spec.flip else u, v))
    if inst.path is not None:
        seg = np.linalg.norm(np.diff(inst.path, axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)]) / max(float(seg.sum()), 1e-9)
        return np.array([np.interp(t, s, inst.path[:, 0]), np.interp(t, s, inst.path[:, 1])])
    t = 1 - t if inst.spec.flip else t
    return np.array(inst.to_world(t, 0.5) if inst.w >= inst.h else inst.to_world(0.5, t))


def _crack(start: np.ndarray, inward: np.ndarray | None, length: float, rng: np.random.Generator) -> np.ndarray:
    """A jagged polyline of `length` px from `start`: straight segments that turn sharply left and
    right about a heading (into the object when aimed at its rim)."""
    heading = math.atan2(inward[1], inward[0]) if inward is not None else rng.uniform(0, 2 * math.pi)
    n = int(rng.integers(5, 8))
    pts = [start]
    for k in range(n):
        turn = (1 if k % 2 == 0 else -1) * rng.uniform(0.4, 0.9)
        step = length / n * rng.uniform(0.7, 1.3)
        pts.append(pts[-1] + step * np.array([math.cos(heading + turn), math.sin(heading + turn)]))
    return np.array(pts)


def is_structural_only(recipe: AnomalySpec) -> bool:
    return all(s.op in STRUCTURAL_OPS for s in recipe.steps)

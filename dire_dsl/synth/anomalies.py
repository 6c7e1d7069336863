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

import numpy as np
from PIL import Image, ImageDraw

from dire_dsl.synth.render import Renderer, visible_masks
from dire_dsl.synth.scene import ObjectOverride, Scene, SceneSampler, link_partners, sample
from dire_dsl.synth.shapes import rasterize
from dire_dsl.synth.spec.models import STRUCTURAL_OPS, AnomalySpec


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
            originals = good.of(step.object)
            if not originals:
                continue
            k = step.index if step.index is not None and step.index < len(originals) else \
                int(rng.integers(len(originals)))
            inst = originals[k]
            values = spec.object(step.object).attributes[step.attribute].values
            current = inst.attributes.get(step.attribute)
            value = step.value
            if value is None or value == current:
                others = [v for v in values if v != current]
                value = others[int(rng.integers(len(others)))] if others else current
            overrides.setdefault(step.object, ObjectOverride()).attrs.setdefault(inst.index, {})[
                step.attribute] = value
            together = [inst.uid]
            for pobj, _ in link_partners(spec, step.object, step.attribute):
                together += [i.uid for i in good.of(pobj)]
            if spec.object(step.object).attributes[step.attribute].per == "object":
                together += [i.uid for i in originals if i.uid != inst.uid]
            marks.append(Mark("changed", s1=together))
    scene = layout.scene(overrides, start=good.attempt) if overrides else good.copy()
    for step in recipe.steps:
        if step.op == "remove":
            cands = [i for i in scene.of(step.object) if not i.added]
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
            for inst in layout.add_instances(scene, step.object, step.n, rng):
                moved = inst.meta.pop("moved", [])  # occupants re-laid to make room: mark them too
                marks.append(Mark("extra", s0=list(moved), s1=[inst.uid, *moved]))
        elif step.op == "swap":
            a = next(iter(scene.of(step.objects[0])), None)
            b = next(iter(scene.of(step.objects[1])), None)
            if a is None or b is None:
                continue
            da, db = (b.cx - a.cx, b.cy - a.cy), (a.cx - b.cx, a.cy - b.cy)
            for inst, (dx, dy) in ((a, da), (b, db)):
                for x in [inst] + scene.descendants(inst.uid):
                    x.cx += dx
                    x.cy += dy
                    if x.path is not None:
                        x.path = x.path + np.array([dx, dy])
            uids = _ids(scene, [a.uid, b.uid])
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

def _targets(scene: Scene, visible: dict[str, np.ndarray], obj: str | None, min_px: int) -> list:
    pool = [i for i in scene.instances if i.uid in visible and (i.obj == obj if obj else i.annotate)]
    pool = [i for i in pool if visible[i.uid].sum() >= min_px]
    if not pool and obj:
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
    targets = _targets(scene, visible, step.object, min_px=max(4, (W // 64) ** 2))
    if not targets:
        return None
    for _attempt in range(12):
        inst = targets[int(rng.integers(len(targets)))]
        vis = visible[inst.uid]
        ys, xs = np.nonzero(vis)
        k = int(rng.integers(len(ys)))
        py, px = float(ys[k]) + 0.5, float(xs[k]) + 0.5
        size_obj = max(inst.w, inst.h) * W
        if step.op == "scratch":
            length = max(4.0, sample(rng, step.size) * size_obj)
            phi = rng.uniform(0, 2 * math.pi)
            bend = rng.uniform(-0.2, 0.2) * length
            t = np.linspace(-0.5, 0.5, 16)[:, None]
            d = np.array([math.cos(phi), math.sin(phi)])
            nrm = np.array([-d[1], d[0]])
            pts = np.array([px, py]) + t * length * d + (1 - 4 * t**2) * bend * nrm
            alpha = _stroke(pts, max(1.0, step.width * W), H, W) * vis
            mask = alpha > 0.3
            if mask.sum() < 3:
                continue
            canvas += alpha[..., None] * (np.clip(canvas * step.tone, 0, 255) - canvas)
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
            if step.op == "break":  # a bite out of the edge
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


def is_structural_only(recipe: AnomalySpec) -> bool:
    return all(s.op in STRUCTURAL_OPS for s in recipe.steps)

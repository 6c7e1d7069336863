"""Scene sampling: turn a spec and a seed into a list of placed object instances.

World coordinates are isotropic and measured in image widths: x in [0, 1], y in
[0, 1 / aspect]. Every object draws from its own random stream, derived from
(seed, split, image index, object id), so editing one object for an anomaly (a longer screw,
another attribute value) leaves every other object of the scene where it was.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from dire_dsl.synth.spec.merge import merge_object
from dire_dsl.synth.spec.models import LinkSpec, ObjectSpec, SceneSpec

SPLIT_CODES = {"train": 1, "validation": 2, "test": 3}


def stream(base: tuple[int, ...], name: str) -> np.random.Generator:
    """An independent random stream for `name` under the image's base seed."""
    return np.random.default_rng(np.random.SeedSequence([*base, zlib.crc32(name.encode())]))


def sample(rng: np.random.Generator, r) -> float:
    """Draw from a Range: a number (constant) or [low, high] (uniform)."""
    if isinstance(r, (tuple, list)):
        lo, hi = float(r[0]), float(r[1])
        return lo if hi <= lo else float(rng.uniform(lo, hi))
    return float(r)


@dataclass
class Instance:
    """One placed object. Positions and sizes in world units (image widths); angle in degrees."""

    uid: str
    obj: str
    name: str
    index: int
    annotate: bool
    spec: ObjectSpec
    attributes: dict[str, str]
    cx: float
    cy: float
    w: float
    h: float
    angle: float
    color: tuple[float, float, float]
    seed: int
    params: dict = field(default_factory=dict)
    parent: str | None = None
    path: np.ndarray | None = None
    cell: list | None = None
    added: bool = False
    meta: dict = field(default_factory=dict)

    def corners(self, gap: float = 0.0) -> list[tuple[float, float]]:
        """The four corners of the (rotated) box grown by `gap`, in order."""
        a = math.radians(self.angle)
        c, s = math.cos(a), math.sin(a)
        hw, hh = self.w / 2 + gap, self.h / 2 + gap
        return [(x * c - y * s + self.cx, x * s + y * c + self.cy)
                for x, y in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))]

    def to_world(self, u: float, v: float) -> tuple[float, float]:
        """A point of the instance's box ([0, 1] each way) in world coordinates."""
        a = math.radians(self.angle)
        dx, dy = (u - 0.5) * self.w, (v - 0.5) * self.h
        return (self.cx + dx * math.cos(a) - dy * math.sin(a), self.cy + dx * math.sin(a) + dy * math.cos(a))

    def to_box(self, x: float, y: float) -> tuple[float, float]:
        """A world point in the instance's box coordinates (the inverse of `to_world`)."""
        a = math.radians(self.angle)
        dx, dy = x - self.cx, y - self.cy
        return ((dx * math.cos(a) + dy * math.sin(a)) / self.w + 0.5,
                (-dx * math.sin(a) + dy * math.cos(a)) / self.h + 0.5)


@dataclass
class Scene:
    """Placed instances in drawing order, the canvas aspect, and the linked attribute values."""

    aspect: float
    instances: list[Instance]
    links: dict[str, str]
    attempt: int = 0
    crowded: tuple[str, ...] = ()  # objects that overlap others: no attempt fitted them

    def get(self, uid: str) -> Instance | None:
        for inst in self.instances:
            if inst.uid == uid:
                return inst
        return None

    def of(self, obj: str) -> list[Instance]:
        return [i for i in self.instances if i.obj == obj]

    def descendants(self, uid: str) -> list[Instance]:
        out, frontier = [], {uid}
        for inst in self.instances:  # parents always come before their children
            if inst.parent in frontier:
                out.append(inst)
                frontier.add(inst.uid)
        return out

    def copy(self) -> Scene:
        return Scene(self.aspect, [replace(i, attributes=dict(i.attributes), meta=dict(i.meta), params=dict(i.params))
                                   for i in self.instances], dict(self.links), self.attempt, self.crowded)


@dataclass
class ObjectOverride:
    """Changes to one object for an anomalous image: spec overrides, a count, forced attributes."""

    sets: list[tuple[object, dict]] = field(default_factory=list)  # (index | "all", override dict)
    count: int | None = None
    attrs: dict[int, dict[str, str]] = field(default_factory=dict)


def obb_overlap(a, b) -> bool:
    """Separating-axis test of two rectangles given as 4 corners each (in order)."""
    for poly in (a, b):
        for k in (0, 1):  # a rectangle has two distinct edge normals
            ex = poly[k + 1][0] - poly[k][0]
            ey = poly[k + 1][1] - poly[k][1]
            nx, ny = -ey, ex
            pa = [p[0] * nx + p[1] * ny for p in a]
            pb = [p[0] * nx + p[1] * ny for p in b]
            if max(pa) < min(pb) or max(pb) < min(pa):
                return False
    return True


def half_extent(w: float, h: float, angle: float) -> tuple[float, float]:
    a = math.radians(angle)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return 0.5 * (w * c + h * s), 0.5 * (w * s + h * c)


class Frame:
    """A rectangular area to place things in: the image, or a parent's box."""

    def __init__(self, aspect: float, parent: Instance | None):
        self.parent = parent
        self.aspect = aspect

    def point(self, u: float, v: float) -> tuple[float, float]:
        if self.parent is None:
            return u, v / self.aspect
        return self.parent.to_world(u, v)

    def local(self, x: float, y: float) -> tuple[float, float]:
        """A world point in frame units (the inverse of `point`)."""
        if self.parent is None:
            return x, y * self.aspect
        return self.parent.to_box(x, y)

    def scale(self) -> tuple[float, float]:
        """World units per frame unit along u and v."""
        if self.parent is None:
            return 1.0, 1.0 / self.aspect
        return self.parent.w, self.parent.h

    @property
    def angle(self) -> float:
        return self.parent.angle if self.parent is not None else 0.0


class SceneSampler:
    """Samples a scene from a spec for one image (deterministic in its base seed)."""

    TRIES = 100

    def __init__(self, spec: SceneSpec, base: tuple[int, ...]):
        self.spec = spec
        self.base = tuple(int(b) for b in base)
        self.aspect = spec.canvas.aspect

    # ------------------------------------------------------------ public
    ATTEMPTS = 8

    def scene(self, overrides: dict[str, ObjectOverride] | None = None, start: int = 0) -> Scene:
        """Lay out every object. If objects cannot be placed without overlaps, the whole scene is
        drawn again (attempt start, start + 1, ...); an edited scene passes the attempt of its
        good scene as `start`, so that both share their random draws."""
        overrides = overrides or {}
        links = self._links()
        edited = self._edited(overrides)
        scene = Scene(self.aspect, [], links, start)
        for attempt in range(start, start + self.ATTEMPTS):
            scene = Scene(self.aspect, [], links, attempt)
            crowded = [obj.id for obj in self.spec.objects  # an edited object may crowd (e.g. less room)
                       if not self._place_object(scene, obj, overrides.get(obj.id), attempt) and obj.id not in edited]
            scene.crowded = tuple(crowded)
            if not crowded:
                break
        return scene  # the last attempt, overlaps and all, if none fitted (`crowded` names the culprits)

    def _edited(self, overrides: dict[str, ObjectOverride]) -> set[str]:
        """Overridden objects and every object placed inside one of them."""
        edited = set(overrides)
        for obj in self.spec.objects:
            if obj.placement.parent in edited:
                edited.add(obj.id)
        return edited

    def add_instances(self, scene: Scene, obj_id: str, n: int, rng: np.random.Generator,
                      place: Callable[[Scene, Instance, np.random.Generator], bool] | None = None) -> list[Instance]:
        """Place `n` extra instances of an object into an existing scene (for 'add' recipes), by
        the object's own placement or by `place` (a step's `to`)."""
        obj = self.spec.object(obj_id)
        existing = scene.of(obj_id)
        template = existing[0] if existing else None
        added = []
        next_index = max([i.index for i in existing], default=-1) + 1
        obj_attrs: dict[str, str] = {}
        for aname, a in obj.attributes.items():
            ref = f"{obj.id}.{aname}"
            if a.fixed is not None:
                obj_attrs[aname] = a.fixed
            elif ref in scene.links:
                obj_attrs[aname] = scene.links[ref]
            elif a.per == "object" and template is not None:
                obj_attrs[aname] = template.attributes.get(aname, a.values[0])
        # an extra part of an object coloured once per image takes that image's colour
        image_color = template.color if template is not None and obj.color.per == "image" else None
        for j in range(n):
            inst = self._new_instance(obj, obj, next_index + j, rng, scene, obj_attrs, {}, image_color)
            inst.added = True
            ok = place(scene, inst, rng) if place is not None else self._place_extra(scene, obj, inst, rng)
            if ok:
                pos = max(k for k, i in enumerate(scene.instances) if i.obj == obj_id) + 1 if existing else \
                    len(scene.instances)
                scene.instances.insert(pos, inst)
                existing.append(inst)
                added.append(inst)
        return added

    # ------------------------------------------------------------ internals
    def _links(self) -> dict[str, str]:
        rng = stream(self.base, "links")
        out: dict[str, str] = {}
        for link in self.spec.links:
            row = link.rows[int(rng.integers(len(link.rows)))]
            for ref, val in zip(link.attributes, row):
                out[ref] = val
        return out

    def _instance_spec(self, obj: ObjectSpec, attrs: dict[str, str], sets: list[tuple[object, dict]],
                       index: int) -> ObjectSpec:
        looks = [obj.attributes[a].looks.get(v, {}) for a, v in attrs.items() if a in obj.attributes]
        mods = [d for which, d in sets if which == "all" or which == index]
        return merge_object(obj, *looks, *mods)

    def _new_instance(self, obj: ObjectSpec, ospec: ObjectSpec, index: int, rng: np.random.Generator,
                      scene: Scene, obj_attrs: dict[str, str], forced: dict[str, str],
                      image_color: tuple | None, sets: list | None = None) -> Instance:
        attrs: dict[str, str] = {}
        for aname, a in ospec.attributes.items():
            if aname in obj_attrs:
                attrs[aname] = obj_attrs[aname]
            else:
                attrs[aname] = a.values[int(rng.integers(len(a.values)))]
        attrs.update(forced)
        ispec = self._instance_spec(ospec, attrs, sets or [], index)
        color = image_color if image_color is not None else _color(ispec.color, rng)
        if image_color is not None and ispec.color is not ospec.color and ispec.color != ospec.color:
            color = _color(ispec.color, rng)  # a look with its own colour
        scale = sample(rng, ispec.scale)
        if isinstance(ispec.size, tuple) and len(ispec.size) == 2:
            w, h = sample(rng, ispec.size[0]), sample(rng, ispec.size[1])
        else:
            w = h = sample(rng, ispec.size)
        w, h = w * scale, h * scale
        angle = sample(rng, ispec.angle)
        seed = int(rng.integers(2**31))
        params = {k: (sample(rng, v) if isinstance(v, (list, tuple)) and k != "points" else v)
                  for k, v in ispec.params.items()}
        return Instance(uid=f"{obj.id}:{index}", obj=obj.id, name=obj.coco_name, index=index,
                        annotate=obj.annotate, spec=ispec, attributes=attrs, cx=0.0, cy=0.0, w=w, h=h,
                        angle=angle, color=color, seed=seed, params=params)

    def _place_object(self, scene: Scene, obj: ObjectSpec, ov: ObjectOverride | None, attempt: int = 0) -> bool:
        rng = stream(self.base, f"object:{obj.id}" if attempt == 0 else f"object:{obj.id}#{attempt}")
        sets = ov.sets if ov else []
        ospec = merge_object(obj, *[d for which, d in sets if which == "all"])
        n = ospec.count if isinstance(ospec.count, int) else int(rng.integers(ospec.count[0], ospec.count[1] + 1))
        pl = ospec.placement
        if pl.kind == "walls":
            n = ospec.max_count
        if ov is not None and ov.count is not None:
            n = ov.count
        obj_attrs: dict[str, str] = {}
        for aname, a in ospec.attributes.items():
            ref = f"{obj.id}.{aname}"
            if a.fixed is not None:
                obj_attrs[aname] = a.fixed
            elif ref in scene.links:
                obj_attrs[aname] = scene.links[ref]
            elif a.per == "object":
                obj_attrs[aname] = a.values[int(rng.integers(len(a.values)))]
        image_color = _color(ospec.color, rng) if ospec.color.per == "image" else None
        parent = None
        if pl.parent is not None:
            parents = scene.of(pl.parent)
            if not parents:
                return True  # the parent is absent (count 0): so are its children
        start = len(scene.instances)
        fits = True
        for _restart in range(6):  # random sequential placement can jam: start the object over
            del scene.instances[start:]
            slots = self._slots(ospec, n, rng)
            fits = True
            for k in range(n):
                forced = ov.attrs.get(k, {}) if ov else {}
                inst = self._new_instance(obj, ospec, k, rng, scene, obj_attrs, forced, image_color, sets)
                if pl.parent is not None:
                    parents = scene.of(pl.parent)
                    parent = parents[k % len(parents)]
                    inst.parent = parent.uid
                fits &= self._place(scene, inst, inst.spec, rng, slots[k] if slots else None, parent)
                scene.instances.append(inst)
            if fits:
                break
        return fits

    def _slots(self, ospec: ObjectSpec, n: int, rng: np.random.Generator) -> list | None:
        pl = ospec.placement
        if pl.kind == "grid":
            cells = [(r, c) for r in range(pl.rows) for c in range(pl.cols) for _ in range(pl.per_cell)]
            if n < len(cells):
                pick = sorted(rng.choice(len(cells), size=n, replace=False).tolist())
                cells = [cells[i] for i in pick]
            return [cells[k % len(cells)] for k in range(n)]
        if pl.kind == "walls":
            walls = [("v", r, c) for r in range(pl.rows) for c in range(pl.cols - 1)]
            walls += [("h", r, c) for r in range(pl.rows - 1) for c in range(pl.cols)]
            if n < len(walls):
                pick = sorted(rng.choice(len(walls), size=n, replace=False).tolist())
                walls = [walls[i] for i in pick]
            return [walls[k % len(walls)] for k in range(n)]
        return None

    def colliders(self, scene: Scene, inst: Instance) -> list[tuple]:
        return [(o.cx, o.cy, 0.5 * math.hypot(o.w, o.h), o.corners()) for o in scene.instances
                if o.spec.collides and o.uid != inst.uid and o.uid != inst.parent]

    def is_free(self, inst: Instance, colliders: list[tuple], gap: float) -> bool:
        box = None
        r = 0.5 * math.hypot(inst.w, inst.h) + gap * 1.5
        for cx, cy, cr, corners in colliders:
            if (cx - inst.cx) ** 2 + (cy - inst.cy) ** 2 > (cr + r) ** 2:
                continue  # bounding circles apart
            if box is None:
                box = inst.corners(gap)
            if obb_overlap(box, corners):
                return False
        return True

    def _place(self, scene: Scene, inst: Instance, ispec: ObjectSpec, rng: np.random.Generator,
               slot, parent: Instance | None) -> bool:
        """Set the instance's position (and size, for boxes); False if it could not avoid overlaps."""
        pl = ispec.placement
        frame = Frame(self.aspect, parent)
        if pl.kind == "at":
            u, v = sample(rng, pl.at[0]), sample(rng, pl.at[1])
            inst.cx, inst.cy = frame.point(u, v)
            inst.angle += frame.angle
        elif pl.kind == "box":
            u0, v0, u1, v1 = (sample(rng, b) for b in pl.box)
            su, sv = frame.scale()
            inst.w, inst.h = abs(u1 - u0) * su, abs(v1 - v0) * sv
            inst.cx, inst.cy = frame.point((u0 + u1) / 2, (v0 + v1) / 2)
            inst.angle += frame.angle
        elif pl.kind == "grid":
            r, c = slot
            x0, y0, x1, y1 = pl.region
            cw, ch = (x1 - x0) / pl.cols, (y1 - y0) / pl.rows
            inst.cell = [r, c]
            return self.in_box(scene, inst, rng, frame, (x0 + c * cw, y0 + r * ch, x0 + (c + 1) * cw,
                                                          y0 + (r + 1) * ch), pl.jitter, gap=0.002,
                                collide=ispec.collides)
        elif pl.kind == "walls":
            kind, r, c = slot
            x0, y0, x1, y1 = pl.region
            cw, ch = (x1 - x0) / pl.cols, (y1 - y0) / pl.rows
            su, sv = frame.scale()
            t = pl.thickness
            if kind == "v":
                u, v = x0 + (c + 1) * cw, y0 + (r + 0.5) * ch
                inst.w, inst.h = t, ch * sv + t
            else:
                u, v = x0 + (c + 0.5) * cw, y0 + (r + 1) * ch
                inst.w, inst.h = cw * su + t, t
            inst.cx, inst.cy = frame.point(u, v)
            inst.angle = frame.angle
            inst.cell = [kind, r, c]
        elif pl.kind == "scatter":
            return self.in_box(scene, inst, rng, frame, pl.region, None, gap=pl.gap, collide=ispec.collides)
        elif pl.kind == "connect":
            self._connect(scene, inst, pl, rng, height=None)
        return True

    def in_box(self, scene: Scene, inst: Instance, rng: np.random.Generator, frame: Frame, region,
                jitter: float | None, gap: float, collide: bool) -> bool:
        """Put the instance inside `region` (frame units), avoiding colliders; True if it fits."""
        x0, y0, x1, y1 = region
        su, sv = frame.scale()
        base_angle = inst.angle
        colliders = self.colliders(scene, inst) if collide else []
        last = None
        for _ in range(self.TRIES):
            angle = base_angle if last is None else sample(rng, inst.spec.angle)
            ex, ey = half_extent(inst.w, inst.h, angle)
            ex, ey = ex / su, ey / sv
            lo_u, hi_u = x0 + ex, x1 - ex
            lo_v, hi_v = y0 + ey, y1 - ey
            cu, cv = (x0 + x1) / 2, (y0 + y1) / 2
            if jitter is not None:  # around the centre of the box
                lo_u, hi_u = max(lo_u, cu - jitter * (x1 - x0)), min(hi_u, cu + jitter * (x1 - x0))
                lo_v, hi_v = max(lo_v, cv - jitter * (y1 - y0)), min(hi_v, cv + jitter * (y1 - y0))
            u = float(rng.uniform(lo_u, hi_u)) if hi_u > lo_u else cu
            v = float(rng.uniform(lo_v, hi_v)) if hi_v > lo_v else cv
            inst.cx, inst.cy = frame.point(u, v)
            inst.angle = angle + frame.angle
            last = (inst.cx, inst.cy, inst.angle)
            if not colliders or self.is_free(inst, colliders, gap):
                return True
            if jitter is not None and _ == self.TRIES // 2:
                jitter = 0.5  # widen the search to the whole cell
        return False  # keeps the last try: it overlaps, but the instance exists and is counted

    def _connect(self, scene: Scene, inst: Instance, pl, rng: np.random.Generator, height: float | None) -> None:
        h_shared = sample(rng, pl.height) if height is None else height
        off = sample(rng, pl.offset) * (1 if rng.random() < 0.5 else -1)
        sag1, sag2 = sample(rng, pl.sag), sample(rng, pl.sag)
        ends = []
        for ref, idx, at, dv, fallback in ((pl.a, pl.a_index, pl.a_at, h_shared, (0.2, 0.5)),
                                           (pl.b, pl.b_index, pl.b_at, h_shared + off, (0.8, 0.5))):
            targets = [i for i in scene.of(ref) if not i.added]
            target = targets[idx] if idx < len(targets) else None
            if target is None:
                ends.append(np.array([fallback[0], fallback[1] / self.aspect]))
            else:
                ends.append(np.array(target.to_world(at[0], at[1] + dv)))
        a, b = ends
        d = b - a
        length = float(np.linalg.norm(d)) or 1e-6
        nrm = np.array([-d[1], d[0]]) / length
        p1 = a + d / 3 + nrm * sag1
        p2 = a + 2 * d / 3 + nrm * sag2
        t = np.linspace(0, 1, 48)[:, None]
        path = (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * b
        inst.path = path
        inst.meta["height"] = h_shared
        inst.meta["offset"] = off
        inst.cx, inst.cy = (path.min(0) + path.max(0)) / 2
        inst.w, inst.h = length, inst.h  # h = thickness
        inst.angle = math.degrees(math.atan2(d[1], d[0]))

    def extra_parent(self, scene: Scene, obj: ObjectSpec, inst: Instance) -> Instance | None:
        """The parent an extra instance goes on (that of the first instance, else the first parent
        instance), set on `inst`; None for an object without a parent."""
        existing = [i for i in scene.of(obj.id) if i is not inst]
        parent = scene.get(existing[0].parent) if existing and existing[0].parent else None
        if obj.placement.parent is not None and parent is None:
            ps = scene.of(obj.placement.parent)
            parent = ps[0] if ps else None
        if parent is not None:
            inst.parent = parent.uid
        return parent

    def _place_extra(self, scene: Scene, obj: ObjectSpec, inst: Instance, rng: np.random.Generator) -> bool:
        pl = obj.placement
        existing = [i for i in scene.of(obj.id) if i is not inst]
        parent = self.extra_parent(scene, obj, inst)
        frame = Frame(self.aspect, parent)
        if pl.kind == "grid":
            occupied = [i.cell for i in existing if i.cell]
            r, c = occupied[int(rng.integers(len(occupied)))] if occupied else (
                int(rng.integers(pl.rows)), int(rng.integers(pl.cols)))
            x0, y0, x1, y1 = pl.region
            cw, ch = (x1 - x0) / pl.cols, (y1 - y0) / pl.rows
            inst.cell = [r, c]
            box = (x0 + c * cw, y0 + r * ch, x0 + (c + 1) * cw, y0 + (r + 1) * ch)
            if self.in_box(scene, inst, rng, frame, box, None, gap=0.003, collide=True):
                return True
            # no room beside the occupant(s): lay the whole cell out again, the newcomer included
            occupants = [i for i in existing if i.cell == [r, c]]
            saved = [(o.cx, o.cy, o.angle) for o in occupants]
            for _ in range(30):
                for o in occupants:
                    o.cx, o.cy = -10.0, -10.0  # out of the way while the cell is re-drawn
                fits = all([self.in_box(scene, o, rng, frame, box, None, gap=0.003, collide=True)
                            for o in occupants])
                if fits and self.in_box(scene, inst, rng, frame, box, None, gap=0.003, collide=True):
                    inst.meta["moved"] = [o.uid for o in occupants]
                    return True
            for o, (cx, cy, ang) in zip(occupants, saved):
                o.cx, o.cy, o.angle = cx, cy, ang
            self.in_box(scene, inst, rng, frame, box, None, gap=0.003, collide=True)
            return True  # overlapping, but there
        if pl.kind == "scatter":
            self.in_box(scene, inst, rng, frame, pl.region, None, gap=pl.gap, collide=True)
            return True
        if pl.kind == "connect":
            heights = [i.meta.get("height", 0.0) for i in existing]
            h = sample(rng, pl.height)
            lo, hi = (pl.height if isinstance(pl.height, tuple) else (pl.height - 0.3, pl.height + 0.3))
            for _ in range(50):
                if all(abs(h - x) > 0.25 * (hi - lo) for x in heights):
                    break
                h = float(rng.uniform(lo - 0.1, hi + 0.1))
            self._connect(scene, inst, pl, rng, height=h)
            return True
        # at / box: beside the original, inside the frame (or the image)
        self._place(scene, inst, inst.spec, rng, None, parent)
        if existing:
            ref = existing[0]
            colliders = [(ref.cx, ref.cy, 0.5 * math.hypot(ref.w, ref.h), ref.corners())]
            for _ in range(self.TRIES):
                ang = rng.uniform(0, 2 * math.pi)
                dist = (max(ref.w, ref.h) + max(inst.w, inst.h)) * 0.5 * rng.uniform(1.05, 1.6)
                inst.cx, inst.cy = ref.cx + dist * math.cos(ang), ref.cy + dist * math.sin(ang)
                ex, ey = half_extent(inst.w, inst.h, inst.angle)
                inside = ex <= inst.cx <= 1 - ex and ey <= inst.cy <= 1 / self.aspect - ey
                if inside and self.is_free(inst, colliders, 0.002):
                    break
        return True


def _color(cs, rng: np.random.Generator) -> tuple[float, float, float]:
    base = np.asarray(cs.palette[int(rng.integers(len(cs.palette)))], dtype=float)
    if cs.jitter > 0:
        base = base + rng.uniform(-cs.jitter, cs.jitter, 3)
    return tuple(float(x) for x in np.clip(base, 0, 255))


def transform_scene(scene: Scene, spec: SceneSpec, base: tuple[int, ...]) -> None:
    """Apply the per-image scene jitter (small rotation, shift, zoom about the centre) in place."""
    nz = spec.nuisances
    rng = stream(base, "scene")
    theta = float(rng.uniform(-nz.rotation, nz.rotation)) if nz.rotation > 0 else 0.0
    dx, dy = (float(rng.uniform(-nz.shift, nz.shift)) for _ in range(2)) if nz.shift > 0 else (0.0, 0.0)
    zoom = sample(rng, nz.zoom)
    c = np.array([0.5, 0.5 / scene.aspect])
    a = math.radians(theta)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    for inst in scene.instances:
        p = c + zoom * rot @ (np.array([inst.cx, inst.cy]) - c) + np.array([dx, dy])
        inst.cx, inst.cy = float(p[0]), float(p[1])
        inst.w, inst.h = inst.w * zoom, inst.h * zoom
        inst.angle += theta
        if inst.path is not None:
            inst.path = c + zoom * (inst.path - c) @ rot.T + np.array([dx, dy])


def link_partners(spec: SceneSpec, obj: str, attr: str) -> list[tuple[str, str]]:
    """(object, attribute) pairs tied to obj.attr by a link table."""
    out = []
    for link in spec.links:
        refs = link.attributes
        if f"{obj}.{attr}" in refs:
            out += [tuple(r.split(".", 1)) for r in refs if r != f"{obj}.{attr}"]
    return out


__all__ = ["Instance", "SceneSampler", "LinkSpec", "ObjectOverride", "Scene", "SPLIT_CODES", "link_partners",
           "sample", "stream", "transform_scene"]

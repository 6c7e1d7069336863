"""Shape primitives: outlines in an object's own frame, and their anti-aliased rasterization.

A shape is a function `(w, h, params, rng) -> list[(points, solid)]`: closed polygons in the
object's local frame (origin at its centre, x to the right, y down, units = pixels), where
`solid=False` cuts a hole. `rasterize` rotates and places them on the canvas and returns an
anti-aliased coverage crop. The one exception is `curve` (a cable): its outline is a thick
polyline given in canvas coordinates (`rasterize_path`).

The table `SHAPES` lists every primitive with its parameters and their defaults; the scene
spec is validated against it, so adding a primitive here makes it available to every spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Polygon = tuple[np.ndarray, bool]


@dataclass(frozen=True)
class ShapeDef:
    """A primitive: its outline function, its parameters with defaults, one line of docs."""

    outline: Callable[[float, float, dict, np.random.Generator | None], list[Polygon]] | None
    params: dict[str, float]
    doc: str


def _ellipse_points(w: float, h: float, n: int = 48, start: float = 0.0, stop: float = 2 * math.pi):
    t = np.linspace(start, stop, n, endpoint=False)
    return np.stack([0.5 * w * np.cos(t), 0.5 * h * np.sin(t)], axis=1)


def _n_round(w: float, h: float) -> int:
    return int(min(96, max(20, (w + h) * 0.6)))


def _rect(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    r = float(p["radius"]) * min(w, h)
    if r <= 0.5:
        pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        return [(pts, True)]
    r = min(r, min(w, h) / 2)
    corners = [(w / 2 - r, h / 2 - r, 0.0), (-w / 2 + r, h / 2 - r, 0.5 * math.pi),
               (-w / 2 + r, -h / 2 + r, math.pi), (w / 2 - r, -h / 2 + r, 1.5 * math.pi)]
    pts = []
    for cx, cy, a0 in corners:
        t = np.linspace(a0, a0 + 0.5 * math.pi, 8)
        pts.append(np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1))
    return [(np.concatenate(pts), True)]


def _ellipse(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    return [(_ellipse_points(w, h, _n_round(w, h)), True)]


def _ring(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    inner = float(p["inner"])
    n = _n_round(w, h)
    return [(_ellipse_points(w, h, n), True), (_ellipse_points(w * inner, h * inner, n), False)]


def _regular(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    sides = max(3, int(round(p["sides"])))
    t = np.arange(sides) * 2 * math.pi / sides + math.radians(p["turn"])
    outer = np.stack([0.5 * w * np.cos(t), 0.5 * h * np.sin(t)], axis=1)
    out = [(outer, True)]
    if p["inner"] > 0:
        out.append((_ellipse_points(w * p["inner"], h * p["inner"], _n_round(w, h)), False))
    return out


def _hexnut(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    return _regular(w, h, {"sides": 6, "inner": p["inner"], "turn": p["turn"]})


def _polygon(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    pts = np.asarray(p["points"], dtype=float)
    return [(np.stack([(pts[:, 0] - 0.5) * w, (pts[:, 1] - 0.5) * h], axis=1), True)]


def _capsule(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    if w >= h:
        r = h / 2
        a = np.linspace(-0.5 * math.pi, 0.5 * math.pi, 12)
        right = np.stack([w / 2 - r + r * np.cos(a), r * np.sin(a)], axis=1)
        left = np.stack([-w / 2 + r - r * np.cos(a), -r * np.sin(a)], axis=1)
        return [(np.concatenate([right, left]), True)]
    pts = _capsule(h, w, p)[0][0]
    return [(pts[:, ::-1].copy(), True)]


def _screw(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    """A screw lying on its side along x: head on the left, threaded shaft, pointed tip."""
    head_len = float(p["head"]) * w
    shaft_h = float(p["shaft"]) * h
    amp = float(p["thread"]) * h
    pitch = max(1.0, float(p["pitch"]) * shaft_h)
    x0, x1 = -w / 2 + head_len, w / 2
    tip = min(0.12 * w, 1.5 * shaft_h)
    n_teeth = max(2, int((x1 - tip - x0) / pitch))
    xs = np.linspace(x0, x1 - tip, 2 * n_teeth + 1)
    ys = np.where(np.arange(xs.size) % 2 == 1, shaft_h / 2 + amp, shaft_h / 2)
    top = np.stack([xs, -ys], axis=1)
    bottom = np.stack([xs[::-1], ys[::-1]], axis=1)
    shaft = np.concatenate([top, [[x1, 0.0]], bottom])
    head = _rect(head_len * 1.02, h, {"radius": 0.2})[0][0] + np.array([-w / 2 + head_len / 2, 0.0])
    return [(head, True), (shaft, True)]


def _blob(w: float, h: float, p: dict, rng: np.random.Generator | None = None) -> list[Polygon]:
    """A smooth irregular blob filling about the ellipse w x h (a heap of cereals, a stain)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    n = _n_round(w, h) * 2
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.ones_like(t)
    irr = float(p["irregularity"])
    for k in range(2, 6):
        r += irr / k * rng.uniform(0.5, 1.0) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
    r = np.clip(r, 0.4, None)
    r /= math.sqrt(float(np.mean(r**2)))  # keep the area close to the ellipse's
    return [(np.stack([0.5 * w * r * np.cos(t), 0.5 * h * r * np.sin(t)], axis=1), True)]


def _crescent(w: float, h: float, p: dict, rng=None) -> list[Polygon]:
    """A crescent (a banana seen from the side): outer half-ellipse minus an inner one."""
    th = float(p["thickness"])
    t = np.linspace(0.0, math.pi, 24)
    outer = np.stack([0.5 * w * np.cos(t), -0.5 * h + h * np.sin(t)], axis=1)
    inner = np.stack([0.5 * w * (1 - th * 0.3) * np.cos(t[::-1]),
                      -0.5 * h + h * (1 - th) * np.sin(t[::-1])], axis=1)
    return [(np.concatenate([outer, inner]), True)]


SHAPES: dict[str, ShapeDef] = {
    "rect": ShapeDef(_rect, {"radius": 0.0}, "rectangle; radius = corner radius / min(w, h)"),
    "rounded_rect": ShapeDef(_rect, {"radius": 0.25}, "rectangle with rounded corners"),
    "ellipse": ShapeDef(_ellipse, {}, "ellipse filling w x h"),
    "disc": ShapeDef(_ellipse, {}, "disc (an ellipse; give w = h)"),
    "ring": ShapeDef(_ring, {"inner": 0.5}, "ring (washer); inner = hole diameter / outer"),
    "regular": ShapeDef(_regular, {"sides": 6, "inner": 0.0, "turn": 0.0},
                        "regular polygon with `sides`, optional round hole `inner`, rotated by `turn` deg"),
    "hexnut": ShapeDef(_hexnut, {"inner": 0.45, "turn": 0.0}, "hexagonal nut with a round hole"),
    "polygon": ShapeDef(_polygon, {"points": 0.0},
                        "polygon; points = [[u, v], ...] in the object's box, [0, 1] each"),
    "capsule": ShapeDef(_capsule, {}, "stadium: a rectangle with round ends (along the long side)"),
    "screw": ShapeDef(_screw, {"head": 0.16, "shaft": 0.55, "thread": 0.12, "pitch": 0.7},
                      "threaded screw along x: head length fraction, shaft/head thickness, thread depth"),
    "blob": ShapeDef(_blob, {"irregularity": 0.35}, "smooth irregular blob of about the ellipse's area"),
    "crescent": ShapeDef(_crescent, {"thickness": 0.45}, "crescent (banana) opening downwards"),
    "curve": ShapeDef(None, {"cut": -1.0, "gap": 0.12},
                      "thick curve (a cable), only with placement kind = 'connect'; h = thickness; "
                      "cut in (0, 1) cuts it there, leaving a gap of `gap` x its length"),
}


def shape_params(shape: str, params: dict) -> dict:
    """The shape's parameters with defaults filled in."""
    merged = dict(SHAPES[shape].params)
    merged.update(params)
    return merged


@dataclass
class Coverage:
    """Anti-aliased coverage of one shape on a canvas crop: alpha[y, x] in [0, 1] at (y0, x0)."""

    alpha: np.ndarray
    y0: int
    x0: int

    @property
    def y1(self) -> int:
        return self.y0 + self.alpha.shape[0]

    @property
    def x1(self) -> int:
        return self.x0 + self.alpha.shape[1]

    def full(self, height: int, width: int) -> np.ndarray:
        out = np.zeros((height, width), np.float32)
        paste_max(out, self)
        return out


def paste_max(target: np.ndarray, cov: Coverage) -> None:
    """target = max(target, cov) on the overlap of the crop with the canvas."""
    h, w = target.shape
    y0, x0 = max(cov.y0, 0), max(cov.x0, 0)
    y1, x1 = min(cov.y1, h), min(cov.x1, w)
    if y1 <= y0 or x1 <= x0:
        return
    src = cov.alpha[y0 - cov.y0:y1 - cov.y0, x0 - cov.x0:x1 - cov.x0]
    np.maximum(target[y0:y1, x0:x1], src, out=target[y0:y1, x0:x1])


def _draw(polys_ss: list[tuple[np.ndarray, bool]], ss: int, width: int | None = None,
          lines: list[np.ndarray] | None = None, line_width: float = 0.0) -> Coverage | None:
    pts_all = [p for p, _ in polys_ss] + (lines or [])
    if not pts_all:
        return None
    allp = np.concatenate(pts_all)
    pad = line_width / 2 + 2
    bx0 = int(math.floor((allp[:, 0].min() - pad) / ss)) * ss
    by0 = int(math.floor((allp[:, 1].min() - pad) / ss)) * ss
    bx1 = int(math.ceil((allp[:, 0].max() + pad) / ss)) * ss
    by1 = int(math.ceil((allp[:, 1].max() + pad) / ss)) * ss
    cw, ch = max(ss, bx1 - bx0), max(ss, by1 - by0)
    img = Image.new("L", (cw, ch), 0)
    draw = ImageDraw.Draw(img)
    off = np.array([bx0, by0], dtype=float)
    for pts, solid in polys_ss:
        q = pts - off
        draw.polygon([(float(x), float(y)) for x, y in q], fill=255 if solid else 0)
    if lines:
        lw = max(1, int(round(line_width)))
        for pts in lines:
            q = [(float(x), float(y)) for x, y in pts - off]
            draw.line(q, fill=255, width=lw, joint="curve")
            r = lw / 2
            for x, y in (q[0], q[-1]):
                draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    small = img.reduce(ss) if ss > 1 else img
    alpha = np.asarray(small, dtype=np.float32) / 255.0
    return Coverage(alpha, by0 // ss, bx0 // ss)


def rasterize(shape: str, params: dict, cx: float, cy: float, w: float, h: float, angle: float,
              ss: int, rng: np.random.Generator | None = None, flip: bool = False) -> Coverage | None:
    """Coverage of a primitive centred at (cx, cy) px, size w x h px, rotated by `angle` degrees."""
    spec = SHAPES[shape]
    if spec.outline is None:
        raise ValueError(f"shape {shape!r} is drawn from a path, not from a box")
    if w <= 0 or h <= 0:
        return None
    polys = spec.outline(w, h, shape_params(shape, params), rng)
    a = math.radians(angle)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    out = []
    for pts, solid in polys:
        q = pts.copy()
        if flip:
            q[:, 0] = -q[:, 0]
        q = q @ rot + np.array([cx, cy])
        out.append((q * ss, solid))
    return _draw(out, ss)


def rasterize_path(points: np.ndarray, thickness: float, ss: int, cut: float = -1.0,
                   gap: float = 0.12) -> Coverage | None:
    """Coverage of a thick polyline (pixels), optionally cut at fraction `cut` of its length."""
    pts = np.asarray(points, dtype=float)
    pieces = [pts]
    if 0.0 < cut < 1.0:
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)]) / max(float(seg.sum()), 1e-9)
        lo, hi = cut - gap / 2, cut + gap / 2
        pieces = [pts[s <= lo], pts[s >= hi]]
        pieces = [p for p in pieces if len(p) >= 2]
    if not pieces:
        return None
    return _draw([], ss, lines=[p * ss for p in pieces], line_width=thickness * ss)

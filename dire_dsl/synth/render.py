"""Drawing a sampled scene: background, objects (anti-aliased, shaded, textured), nuisances.

`Renderer.compose` draws the clean scene into a float canvas and returns each instance's
coverage; `Renderer.finish` applies the per-image nuisances (lighting, colour cast, blur,
noise) and quantizes. Between the two, structural defects are painted onto the clean canvas
(see anomalies.py), so they go through the same camera as everything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from dire_dsl.synth.scene import Instance, Scene, sample, stream
from dire_dsl.synth.shapes import Coverage, paste_max, rasterize, rasterize_path, shape_params
from dire_dsl.synth.spec.models import SceneSpec


def canvas_size(aspect: float, size: int) -> tuple[int, int]:
    """(width, height) in pixels: the longer side is `size`."""
    if aspect >= 1:
        return size, max(8, int(round(size / aspect)))
    return max(8, int(round(size * aspect))), size


def value_noise(rng: np.random.Generator, height: int, width: int, cell_px: float) -> np.ndarray:
    """Smooth noise in about [-1, 1]: random values on a coarse grid, bicubic upsampling."""
    gw = max(2, int(math.ceil(width / max(cell_px, 1.0))) + 1)
    gh = max(2, int(math.ceil(height / max(cell_px, 1.0))) + 1)
    grid = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    img = Image.fromarray(grid, mode="F").resize((width, height), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32)


@dataclass
class PartCover:
    cov: Coverage
    rgb: np.ndarray
    inst: Instance


def part_covers(inst: Instance, width: float, ss: int) -> list[PartCover]:
    """The coloured coverages of one instance (one per part) on a canvas `width` pixels wide,
    supersampled `ss` times (the renderer's, or a coarse one to measure overlaps)."""
    sp = inst.spec
    W = width
    rng = np.random.default_rng(inst.seed)
    out: list[PartCover] = []
    base_rgb = np.asarray(inst.color, np.float32)
    if sp.shape == "curve":
        if inst.path is None:
            return out
        p = shape_params("curve", inst.params)
        cov = rasterize_path(inst.path * W, max(1.0, inst.h * W), ss, float(p["cut"]), float(p["gap"]))
        if cov is not None:
            out.append(PartCover(cov, base_rgb, inst))
        return out
    if not sp.parts:
        cov = rasterize(sp.shape, inst.params, inst.cx * W, inst.cy * W, inst.w * W, inst.h * W,
                        inst.angle, ss, rng, flip=sp.flip)
        if cov is not None:
            out.append(PartCover(cov, base_rgb, inst))
        return out
    for part in sp.parts:
        positions = [part.at]
        if part.repeat is not None:
            rp = part.repeat
            ts = [0.5 * (rp.start + rp.stop)] if rp.n == 1 else np.linspace(rp.start, rp.stop, rp.n)
            positions = [(float(t), part.at[1]) if rp.axis == "x" else (part.at[0], float(t)) for t in ts]
        if part.color is not None:
            pc = part.color
            rgb = np.asarray(pc.palette[int(rng.integers(len(pc.palette)))], np.float32)
            if pc.jitter:
                rgb = rgb + rng.uniform(-pc.jitter, pc.jitter, 3).astype(np.float32)
        else:
            rgb = base_rgb
        rgb = np.clip(rgb * part.tone, 0, 255)
        for u, v in positions:
            if sp.flip:
                u = 1.0 - u
            cx, cy = inst.to_world(u, v)
            angle = inst.angle + (-part.angle if sp.flip else part.angle)
            cov = rasterize(part.shape, part.params, cx * W, cy * W, part.size[0] * inst.w * W,
                            part.size[1] * inst.h * W, angle, ss, rng, flip=sp.flip)
            if cov is not None:
                out.append(PartCover(cov, rgb, inst))
    return out


class Renderer:
    """Draws scenes of one spec at one image size."""

    def __init__(self, spec: SceneSpec, size: int):
        self.spec = spec
        self.width, self.height = canvas_size(spec.canvas.aspect, size)
        self.ss = 4 if size <= 96 else 3 if size <= 192 else 2
        yy, xx = np.mgrid[0:self.height, 0:self.width].astype(np.float32)
        self._yy, self._xx = yy + 0.5, xx + 0.5

    # ------------------------------------------------------------ geometry
    def parts(self, inst: Instance) -> list[PartCover]:
        """The coloured coverages of one instance (one per part)."""
        return part_covers(inst, self.width, self.ss)

    def footprint(self, inst: Instance) -> np.ndarray:
        """The instance's full coverage (all parts), H x W float in [0, 1], ignoring occlusion."""
        full = np.zeros((self.height, self.width), np.float32)
        for pc in self.parts(inst):
            paste_max(full, pc.cov)
        return full

    # ------------------------------------------------------------ drawing
    def background(self, base: tuple[int, ...]) -> np.ndarray:
        cs = self.spec.canvas
        rng = stream(base, "background")
        rgb = np.asarray(cs.background.palette[int(rng.integers(len(cs.background.palette)))], np.float32)
        if cs.background.jitter:
            rgb = rgb + rng.uniform(-cs.background.jitter, cs.background.jitter, 3).astype(np.float32)
        noise = value_noise(rng, self.height, self.width, cs.texture_scale * self.width)
        fine = value_noise(rng, self.height, self.width, 0.02 * self.width)
        tex = 1.0 + cs.texture * (0.7 * noise + 0.3 * fine)
        return np.clip(rgb[None, None, :] * tex[..., None], 0, 255)

    def compose(self, scene: Scene, base: tuple[int, ...], exclude: set[str] | None = None
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Clean canvas (float H x W x 3) and every drawn instance's full coverage by uid."""
        canvas = self.background(base)
        fine = value_noise(stream(base, "object-texture"), self.height, self.width, max(2.0, 0.012 * self.width))
        covers: dict[str, np.ndarray] = {}
        for inst in scene.instances:
            if exclude and inst.uid in exclude:
                continue
            parts = self.parts(inst)
            full = np.zeros((self.height, self.width), np.float32)
            for pc in parts:
                paste_max(full, pc.cov)
            clip = covers.get(inst.parent) if inst.spec.clip and inst.parent else None
            if clip is not None:
                full *= clip
            covers[inst.uid] = full
            self._paint(canvas, inst, parts, clip, fine)
        return canvas, covers

    def _paint(self, canvas: np.ndarray, inst: Instance, parts: list[PartCover], clip: np.ndarray | None,
               fine: np.ndarray) -> None:
        sp = inst.spec
        rng = np.random.default_rng(inst.seed + 1)
        phi = rng.uniform(0, 2 * math.pi)
        dirx, diry = math.cos(phi), math.sin(phi)
        W = self.width
        cx, cy = inst.cx * W, inst.cy * W
        extent = max(inst.w, inst.h) * W * 0.5 + 1e-3
        for pc in parts:
            cov = pc.cov
            y0, x0 = max(cov.y0, 0), max(cov.x0, 0)
            y1, x1 = min(cov.y1, self.height), min(cov.x1, self.width)
            if y1 <= y0 or x1 <= x0:
                continue
            a = cov.alpha[y0 - cov.y0:y1 - cov.y0, x0 - cov.x0:x1 - cov.x0]
            if clip is not None:
                a = a * clip[y0:y1, x0:x1]
            if sp.opacity < 1:
                a = a * sp.opacity
            g = ((self._xx[y0:y1, x0:x1] - cx) * dirx + (self._yy[y0:y1, x0:x1] - cy) * diry) / extent
            factor = 1.0 + sp.shading * 0.5 * np.clip(g, -1, 1)
            if sp.texture:
                factor = factor * (1.0 + sp.texture * 0.25 * fine[y0:y1, x0:x1])
            if sp.outline:
                from scipy.ndimage import grey_erosion
                inner = grey_erosion(cov.alpha, size=(3, 3))[y0 - cov.y0:y1 - cov.y0, x0 - cov.x0:x1 - cov.x0]
                factor = factor * (1.0 - sp.outline * np.clip(cov.alpha[y0 - cov.y0:y1 - cov.y0,
                                                                         x0 - cov.x0:x1 - cov.x0] - inner, 0, 1))
            col = pc.rgb[None, None, :] * factor[..., None]
            region = canvas[y0:y1, x0:x1]
            region += a[..., None] * (col - region)

    def finish(self, canvas: np.ndarray, base: tuple[int, ...]) -> np.ndarray:
        """Lighting, colour cast, blur and sensor noise; returns uint8 H x W x 3."""
        nz = self.spec.nuisances
        rng = stream(base, "camera")
        bright = sample(rng, nz.brightness)
        cast = 1.0 + rng.uniform(-nz.color_cast, nz.color_cast, 3).astype(np.float32)
        phi = rng.uniform(0, 2 * math.pi)
        strength = rng.uniform(0, nz.gradient)
        ramp = ((self._xx / self.width - 0.5) * math.cos(phi) + (self._yy / self.height - 0.5) * math.sin(phi))
        light = bright * (1.0 + strength * ramp)
        img = canvas * light[..., None] * cast[None, None, :]
        sigma = sample(rng, nz.blur) * self.width
        if sigma > 0.25:
            from scipy.ndimage import gaussian_filter
            img = gaussian_filter(img, sigma=(sigma, sigma, 0), mode="nearest")
        if nz.noise > 0:
            img = img + rng.standard_normal(img.shape, dtype=np.float32) * nz.noise
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def visible_masks(scene: Scene, covers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Boolean visible region of each drawn instance: its coverage minus opaque later instances.

    Parts of an object do not hide it: a child placed on a parent (an icon on a label, a label
    on a bottle) counts as part of the parent's area.
    """
    out: dict[str, np.ndarray] = {}
    drawn = [i for i in scene.instances if i.uid in covers]
    ancestors: dict[str, set[str]] = {}
    for inst in drawn:
        anc = set()
        p = inst.parent
        while p is not None:
            anc.add(p)
            parent = scene.get(p)
            p = parent.parent if parent is not None else None
        ancestors[inst.uid] = anc
    if not drawn:
        return out
    has_children = {a for anc in ancestors.values() for a in anc}
    occluder = np.zeros(next(iter(covers.values())).shape, bool)
    for k in range(len(drawn) - 1, -1, -1):
        inst = drawn[k]
        solid = covers[inst.uid] > 0.5
        if inst.uid in has_children:
            mask = solid.copy()
            for later in drawn[k + 1:]:
                if later.spec.opacity >= 0.5 and inst.uid not in ancestors[later.uid]:
                    mask &= ~(covers[later.uid] > 0.5)
        else:
            mask = solid & ~occluder
        out[inst.uid] = mask
        if inst.spec.opacity >= 0.5:
            occluder |= solid
    return out

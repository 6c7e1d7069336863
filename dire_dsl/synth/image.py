"""One image from a spec: sample the scene, apply a recipe, draw, mark the defects, record.

`make_image` is a pure function of (spec, size, seed, split, index, recipe): the same inputs
give the same pixels, masks and record in any process, which is what makes the generator's
output independent of the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dire_dsl.data.errors import DataError
from dire_dsl.synth.anomalies import Footprints, apply_logical, apply_structural, resolve_marks
from dire_dsl.synth.render import Renderer, visible_masks
from dire_dsl.synth.scene import SPLIT_CODES, Scene, SceneSampler, stream, transform_scene
from dire_dsl.synth.spec.models import STRUCTURAL_OPS, AnomalySpec, SceneSpec


@dataclass
class ImageResult:
    """Pixels, defect regions (one boolean mask each), the final scene and visible masks."""

    image: np.ndarray
    regions: list[np.ndarray]
    missing_areas: list[int]
    scene: Scene
    visible: dict[str, np.ndarray]


def base_seed(seed: int, split: str, index: int) -> tuple[int, int, int]:
    return (int(seed), SPLIT_CODES[split], int(index))


_RENDERERS: dict[tuple[int, int], Renderer] = {}


def renderer_for(spec: SceneSpec, size: int) -> Renderer:
    key = (id(spec), size)
    r = _RENDERERS.get(key)
    if r is None or r.spec is not spec:
        if len(_RENDERERS) > 16:
            _RENDERERS.clear()
        r = _RENDERERS[key] = Renderer(spec, size)
    return r


def make_image(spec: SceneSpec, size: int, seed: int, split: str, index: int,
               recipe: AnomalySpec | None = None, where: str = "") -> ImageResult:
    """Generate one image; with a recipe, also its defect regions. Deterministic."""
    base = base_seed(seed, split, index)
    renderer = renderer_for(spec, size)
    layout = SceneSampler(spec, base)
    last_error = ""
    for attempt in range(6):
        good = layout.scene()
        scene = good
        marks = []
        if recipe is not None and any(s.op not in STRUCTURAL_OPS for s in recipe.steps):
            edit = apply_logical(layout, good, recipe, stream(base, f"recipe:{attempt}"))
            scene, marks = edit.scene, edit.marks
        transform_scene(good, spec, base)
        if scene is not good:
            transform_scene(scene, spec, base)
        canvas, covers = renderer.compose(scene, base)
        regions, missing = [], []
        if marks:
            regions, missing = resolve_marks(marks, Footprints(renderer, good), Footprints(renderer, scene))
        if recipe is not None:
            srng = stream(base, f"structural:{attempt}")
            for step in recipe.steps:
                if step.op in STRUCTURAL_OPS:
                    m = apply_structural(step, renderer, scene, canvas, covers, base, srng)
                    if m is not None:
                        regions.append(m)
        if recipe is None or regions:
            image = renderer.finish(canvas, base)
            return ImageResult(image, regions, missing, scene, visible_masks(scene, covers))
        last_error = "no visible change"
    raise DataError(f"anomaly recipe {recipe.name!r} made {last_error} on {where or f'{split} image {index}'} "
                    f"after 6 attempts; check its steps (do they target objects that are drawn?)")


def record_of(spec: SceneSpec, result: ImageResult, image_path: str, split: str, anomaly_type: str,
              defect: str | None) -> dict:
    """The per-image record: true counts, attributes and geometry of every annotated instance."""
    W = result.image.shape[1]
    H = result.image.shape[0]
    aspect = spec.canvas.aspect
    counts = {name: 0 for name in spec.coco_names}
    instances = []
    for inst in result.scene.instances:
        if not inst.annotate:
            continue
        counts[inst.name] = counts.get(inst.name, 0) + 1
        vis = result.visible.get(inst.uid)
        area = int(vis.sum()) if vis is not None else 0
        entry = {
            "object": inst.name,
            "id": inst.obj,
            "uid": inst.uid,
            "attributes": dict(inst.attributes),
            "center": [round(inst.cx, 5), round(inst.cy * aspect, 5)],
            "size": [round(inst.w, 5), round(inst.h, 5)],
            "length": round(max(inst.w, inst.h) if inst.path is None else _path_length(inst.path), 5),
            "angle": round(inst.angle % 360.0, 3),
            "area": round(area / float(W * H), 6),
            "color": [int(round(c)) for c in inst.color],
        }
        if inst.cell is not None:
            entry["cell"] = list(inst.cell)
        if inst.added:
            entry["added"] = True
        if inst.path is not None:
            entry["ends"] = [[round(float(inst.path[0, 0]), 5), round(float(inst.path[0, 1]) * aspect, 5)],
                             [round(float(inst.path[-1, 0]), 5), round(float(inst.path[-1, 1]) * aspect, 5)]]
            if "height" in inst.meta:
                entry["attach"] = [round(float(inst.meta["height"]), 5),
                                   round(float(inst.meta["height"] + inst.meta.get("offset", 0.0)), 5)]
        instances.append(entry)
    return {
        "image": image_path,
        "split": split,
        "anomaly_type": anomaly_type,
        "defect": defect,
        "width": W,
        "height": H,
        "counts": counts,
        "links": dict(result.scene.links),
        "instances": instances,
    }


def _path_length(path: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())

"""Writing a data set in MVTec LOCO's layout, plus COCO component annotations and records.

Everything goes through `dire_dsl.atomic`, and everything is byte-reproducible: PNGs carry
no timestamp, JSON is written with sorted keys.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from dire_dsl.atomic import atomic_write_bytes, atomic_write_text
from dire_dsl.json_read import JSON_ERRORS
from dire_dsl.synth.spec.models import SceneSpec

GOOD = "good"
LOGICAL = "logical_anomalies"
STRUCTURAL = "structural_anomalies"
ANOMALY_TYPES = (LOGICAL, STRUCTURAL)
TEST_TYPES = (GOOD, LOGICAL, STRUCTURAL)
SPLITS = ("train", "validation", "test")
MARKER = "synloco.json"
GENERATED = ("train", "validation", "test", "ground_truth", "annotations", "records", "defects_config.json", MARKER)


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding without metadata (so equal arrays give equal bytes)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_png(path: str | os.PathLike[str], array: np.ndarray) -> None:
    atomic_write_bytes(path, png_bytes(array))


def write_json(path: str | os.PathLike[str], obj, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=True) + "\n")


def write_jsonl(path: str | os.PathLike[str], rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def image_name(i: int) -> str:
    """MVTec LOCO's file stem: 000, 001, ... (wider only past 999)."""
    return f"{i:03d}"


def pixel_values(spec: SceneSpec) -> dict[str, int]:
    """Each defect type's mask value: the spec's, or 255, 254, ... in declaration order."""
    used = {a.pixel_value for a in spec.anomalies if a.pixel_value is not None}
    out, nxt = {}, 255
    for a in spec.anomalies:
        if a.pixel_value is not None:
            out[a.name] = a.pixel_value
            continue
        while nxt in used:
            nxt -= 1
        out[a.name] = nxt
        used.add(nxt)
        nxt -= 1
    return out


def defects_config(spec: SceneSpec, missing_areas: dict[str, list[int]]) -> list[dict]:
    """defects_config.json: pixel value and sPRO saturation per defect type.

    A recipe that removes objects saturates at about one object's area, as an absolute pixel
    count (the median area of the removed objects at this image size); every other defect
    saturates at its whole area (relative, 1.0). A spec can set both explicitly. An absolute
    count is written as an int, as in the real data set: MVTec's evaluation script asserts it.
    """
    values = pixel_values(spec)
    rows = []
    for a in spec.anomalies:
        relative, threshold = True, 1.0
        areas = missing_areas.get(a.name) or []
        if a.type == "logical" and any(s.op == "remove" for s in a.steps) and areas:
            relative, threshold = False, float(int(np.median(areas)))
        if a.relative_saturation is not None:
            relative = a.relative_saturation
        if a.saturation_threshold is not None:
            threshold = float(a.saturation_threshold)
        if relative and threshold > 1.0:
            threshold = 1.0
        rows.append({"defect_name": a.name, "pixel_value": values[a.name],
                     "saturation_threshold": threshold if relative else max(1, round(threshold)),
                     "relative_saturation": relative})
    return rows


def coco_file(spec: SceneSpec, images: list[dict], annotations: list[dict]) -> dict:
    """A COCO instances file; categories = the spec's annotated object names, with attributes."""
    cats = []
    for k, name in enumerate(spec.coco_names, start=1):
        attrs: dict[str, list[str]] = {}
        for o in spec.objects:
            if o.annotate and o.coco_name == name:
                for aname, a in o.attributes.items():
                    vals = attrs.setdefault(aname, [])
                    vals += [v for v in a.values if v not in vals]
        cats.append({"id": k, "name": name, "supercategory": spec.category, "attributes": attrs})
    return {
        "info": {"description": f"SynLOCO {spec.category} component annotations", "version": "1.0"},
        "images": images,
        "annotations": annotations,
        "categories": cats,
    }


def rle_annotations(result, cat_ids: dict[str, int]) -> list[dict]:
    """COCO annotations (RLE of each visible instance mask) for one generated image."""
    from pycocotools import mask as mask_utils

    out = []
    for inst in result.scene.instances:
        if not inst.annotate:
            continue
        vis = result.visible.get(inst.uid)
        if vis is None or not vis.any():
            continue
        rle = mask_utils.encode(np.asfortranarray(vis.astype(np.uint8)))
        bbox = [float(x) for x in mask_utils.toBbox(rle)]
        out.append({
            "category_id": cat_ids[inst.name],
            "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
            "area": float(mask_utils.area(rle)),
            "bbox": bbox,
            "iscrowd": 0,
            "attributes": dict(inst.attributes),
        })
    return out


def _files_not_generated(out: Path) -> list[Path]:
    """Files under the generated folders that the previous run's records do not name (a
    user's own images, say). Without records to compare with (an older tree), none."""
    known = {out / name for name in GENERATED}
    records = sorted((out / "records").glob("*.jsonl"))
    if not records:
        return []
    for path in records:
        for line in path.read_bytes().splitlines():
            try:
                record = json.loads(line)
            except JSON_ERRORS:  # a damaged line names no file to keep
                continue
            if not isinstance(record, dict):
                continue  # likewise
            known.add(out / record.get("image", ""))
            known.update(out / mask for mask in record.get("masks", []))
    known.update((out / "annotations" / f"{split}.json") for split in ("train", "validation"))
    known.update((out / "records" / f"{split}.jsonl") for split in ("train", "validation", "test"))
    folders = [out / name for name in GENERATED if (out / name).is_dir()]
    return sorted(p for folder in folders for p in folder.rglob("*") if p.is_file() and p not in known)


def check_output(root: Path, category: str) -> Path:
    """The category folder to (re)write, checked and left untouched: a file, a folder `dire synth`
    did not write, or a previous tree holding files it did not write is refused (OutputError)."""
    from dire_dsl.data.errors import OutputError

    out = root / category
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root} is a file, not a folder; choose another --out")
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{out} exists and is not a folder; choose another --out")
        entries = list(out.iterdir())
        if entries and not (out / MARKER).is_file():
            raise OutputError(
                f"{out} exists, is not empty and was not written by `dire synth` (no {MARKER}); "
                "choose another --out or remove the folder")
        added = _files_not_generated(out)
        if added:
            shown = ", ".join(str(p.relative_to(out)) for p in added[:5]) + (" ..." if len(added) > 5 else "")
            raise OutputError(f"{out} holds {len(added)} file(s) `dire synth` did not write ({shown}); a new run "
                              "would delete them: move them out, or choose another --out")
    return out


STAGING_MARKER = ".dire-synth-staging"
"""Written first into a hidden folder `dire synth` builds (`.<category>.partial-*`) or retires
(`.<category>.old-*`), holding the writer's process id: a folder a killed synth left behind is
then provably its own, and one a running synth is using is not taken for a leftover."""


def mark_staging(folder: Path) -> None:
    """Put the `STAGING_MARKER` with this process's id into `folder`."""
    (folder / STAGING_MARKER).write_text(str(os.getpid()), encoding="ascii")


def install(staging: Path, target: Path) -> None:
    """Put the complete tree `staging` in place of `target` (checked by `check_output`).

    The previous tree is first renamed aside, so there is never a mix of the two; files of the
    user's beside the generated ones (a README) move into the new tree, then the old one is deleted.
    """
    import shutil
    import uuid

    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        mark_staging(target)
        target.rename(aside)
    staging.rename(target)
    (target / STAGING_MARKER).unlink()
    if aside.exists():
        for entry in aside.iterdir():
            if entry.name not in GENERATED and entry.name != STAGING_MARKER:
                entry.rename(target / entry.name)
        shutil.rmtree(aside)

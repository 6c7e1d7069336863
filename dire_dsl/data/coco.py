"""Read COCO component annotations (category name = object name) into Components per image.

The same reader serves SynLOCO's `annotations/<split>.json` and annotations a user drew on
real MVTec LOCO images (e.g. with CVAT, exported as COCO instances). Segmentations may be
RLE (compressed or not) or polygons; `attributes` of an annotation become the
instance's attributes (values as text).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path, PurePosixPath

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.data.errors import DataError


class AnnotationError(DataError):
    """A COCO file that cannot be used: unreadable, malformed, or naming unknown objects."""


def read_coco_components(path: Path) -> dict[str, list[Component]]:
    """Components of every annotated image, keyed by the image's file name (its last path part)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = {c["id"]: c["name"] for c in data["categories"]}
        images = {i["id"]: i for i in data["images"]}
        annotations = data["annotations"]
    except FileNotFoundError:
        raise AnnotationError(f"{path}: no such annotation file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise AnnotationError(f"{path}: not a COCO instances file ({error}); expected keys images, annotations, "
                              "categories") from None
    components: dict[str, list[Component]] = {PurePosixPath(i["file_name"]).name: [] for i in images.values()}
    for index, ann in enumerate(annotations):
        try:
            image = images[ann["image_id"]]
            mask = decode_segmentation(ann["segmentation"], int(image["height"]), int(image["width"]))
            name = categories[ann["category_id"]]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise AnnotationError(f"{path}: annotation #{index} is malformed ({error!r})") from None
        attributes = {str(k): str(v) for k, v in (ann.get("attributes") or {}).items()}
        components[PurePosixPath(image["file_name"]).name].append(Component(name, mask, attributes))
    return components


def decode_segmentation(segmentation: dict | list, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (polygons, uncompressed or compressed RLE) as a boolean mask."""
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}
    with warnings.catch_warnings():  # pycocotools vs numpy 2: a harmless DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def check_objects_annotated(components: dict[str, list[Component]], objects: list[str], path: Path) -> None:
    """Fail before training when the rules name objects the annotations never show."""
    seen = {c.object for parts in components.values() for c in parts}
    missing = [o for o in objects if o not in seen]
    if missing:
        raise AnnotationError(
            f"{path}: the rules declare {', '.join(f'`{m}`' for m in missing)} but no annotation has that category; "
            f"annotated categories: {', '.join(sorted(seen)) or 'none'}. Rename the objects in the rules file or "
            "annotate them"
        )


def check_attributes_annotated(components: dict[str, list[Component]], attributes: dict[str, dict[str, list[str]]],
                               path: Path) -> None:
    """Fail before training when an attribute of the rules is never annotated, or annotated with
    values the rules do not list: either would train its head on nothing, without a word.

    `attributes` maps each object to its declared attributes and their values.
    """
    seen: dict[tuple[str, str], set[str]] = {}
    for parts in components.values():
        for component in parts:
            for name, value in component.attributes.items():
                seen.setdefault((component.object, name), set()).add(str(value))
    problems = []
    for obj, declared in attributes.items():
        for name, values in declared.items():
            found = seen.get((obj, name))
            if found is None:
                has = sorted(n for o, n in seen if o == obj)
                problems.append(f"the rules declare `attribute {obj}.{name}` but no `{obj}` annotation has `{name}` "
                                f"(annotated attributes of {obj}: {', '.join(has) or 'none'})")
            elif found - set(values):
                problems.append(f"annotations give `{obj}.{name}` the value(s) {', '.join(sorted(found - set(values)))}, "
                                f"which `attribute {obj}.{name} {{ {', '.join(values)} }}` does not list")
    if problems:
        raise AnnotationError(f"{path}: " + "; ".join(problems) + ". Make the rules file's attributes and the "
                              "annotations agree (same names, every annotated value declared)")


def resize_components(components: list[Component], size: tuple[int, int]) -> list[Component]:
    """The same components at another resolution (nearest neighbour), e.g. the training size."""
    from PIL import Image

    height, width = size
    resized = []
    for component in components:
        image = Image.fromarray(component.mask.astype(np.uint8) * 255)
        small = np.asarray(image.resize((width, height), Image.BILINEAR)) >= 128
        resized.append(Component(component.object, small, dict(component.attributes)))
    return resized

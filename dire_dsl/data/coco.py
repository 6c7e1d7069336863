"""Read COCO component annotations (category name = object name) into Components per image.

The same reader serves SynLOCO's `annotations/<split>.json` and annotations a user drew on
real MVTec LOCO images (e.g. with CVAT, exported as COCO instances). Segmentations may be
RLE (compressed or not) or polygons; `attributes` of an annotation become the
instance's attributes (values as text).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.data.errors import DataError
from dire_dsl.errors import DireError
from dire_dsl.json_read import read_json

T = TypeVar("T")


class AnnotationError(DataError):
    """A COCO file that cannot be used: unreadable, malformed, or naming unknown objects."""


def read_coco_components(path: Path) -> dict[str, list[Component]]:
    """Components of every annotated image, keyed by the image's file name (its last path part)."""
    def unreadable(reason: str) -> AnnotationError:
        return AnnotationError(f"{path}: not a COCO instances file ({reason}); expected keys images, annotations, "
                               "categories")

    try:
        data = read_json(path, unreadable)
        categories = {c["id"]: c["name"] for c in data["categories"]}
        images = {i["id"]: i for i in data["images"]}
        annotations = data["annotations"]
    except FileNotFoundError:
        raise AnnotationError(f"{path}: no such annotation file") from None
    except (OSError, KeyError, TypeError) as error:
        raise unreadable(str(error)) from None
    components: dict[str, list[Component]] = {PurePosixPath(i["file_name"]).name: [] for i in images.values()}
    for index, ann in enumerate(annotations):
        where = f"{path}: annotation #{index}"
        try:
            image = _declared(images, ann["image_id"], "image_id", "images", where)
            name = _declared(categories, ann["category_id"], "category_id", "categories", where)
            mask = decode_segmentation(ann["segmentation"], int(image["height"]), int(image["width"]))
        except SegmentationError as error:
            raise AnnotationError(f"{where}: {error}; fix or remove that annotation") from None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise AnnotationError(f"{where} is malformed ({error!r})") from None
        attributes = {str(k): str(v) for k, v in (ann.get("attributes") or {}).items()}
        components[PurePosixPath(image["file_name"]).name].append(Component(name, mask, attributes))
    return components


def _declared(table: dict[Any, T], key: Any, field: str, section: str, where: str) -> T:
    """`table[key]`, or an AnnotationError listing the ids the file does declare (not a bare KeyError)."""
    if key not in table:
        ids = [str(k) for k in table]
        shown = ", ".join(ids[:20]) + (f", ... ({len(ids)} in all)" if len(ids) > 20 else "")
        raise AnnotationError(f"{where}: {field} {key!r} is not among the file's {section} (ids: {shown or 'none'}); "
                              f"declare it under `{section}` or fix the annotation")
    return table[key]


class SegmentationError(DireError, ValueError):
    """A segmentation that cannot be decoded; the message says what is wrong with it."""


def decode_segmentation(segmentation: dict | list, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (polygons, uncompressed or compressed RLE) as a boolean mask.

    Checked first: pycocotools raises bare exceptions on some bad input and silently decodes
    other bad input (RLE runs that do not cover the image) into uninitialised memory.
    """
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        _check_polygons(segmentation)
    elif isinstance(segmentation, dict):
        _check_rle(segmentation, height, width)
    else:
        raise SegmentationError(f"segmentation must be a list of polygons or an RLE object, not "
                                f"{type(segmentation).__name__}")
    try:
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}
        with warnings.catch_warnings():  # pycocotools vs numpy 2: a harmless DeprecationWarning
            warnings.simplefilter("ignore", DeprecationWarning)
            return mask_utils.decode(rle).astype(bool)
    except Exception as error:  # pycocotools raises bare Exception for input it does not support
        raise SegmentationError(f"pycocotools cannot decode the segmentation ({error})") from None


def _check_polygons(polygons: list) -> None:
    if not polygons:
        raise SegmentationError("segmentation is an empty list: give at least one polygon, or an RLE")
    for number, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or not all(_is_number(v) for v in polygon):
            raise SegmentationError(f"polygon #{number} must be a list of finite numbers [x1, y1, x2, y2, ...]")
        if len(polygon) < 6 or len(polygon) % 2:
            raise SegmentationError(f"polygon needs at least 3 x,y points (an even number of at least 6 coordinates); "
                                    f"polygon #{number} has {len(polygon)} coordinates")


def _check_rle(rle: dict, height: int, width: int) -> None:
    size, counts = rle.get("size"), rle.get("counts")
    if not isinstance(size, list) or counts is None:
        raise SegmentationError("an RLE segmentation needs `size` [height, width] and `counts`")
    if size != [height, width]:
        raise SegmentationError(f"RLE size {size} is not the image's [height, width] [{height}, {width}]")
    if isinstance(counts, str):
        runs = _string_counts(counts)
    elif isinstance(counts, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        runs = counts
    else:
        raise SegmentationError("RLE counts cannot be decoded: expected a string (compressed) or a list of integers")
    if any(c < 0 for c in runs):
        raise SegmentationError("RLE counts cannot be decoded: a run length is negative")
    if sum(runs) != height * width:
        raise SegmentationError(f"RLE counts cannot be decoded: their runs cover {sum(runs)} pixels, not "
                                f"height x width = {height * width}")


def _string_counts(text: str) -> list[int]:
    """The runs of a compressed RLE string: pycocotools' rleFrString, but refusing bad input."""
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            code = ord(text[position]) - 48 if position < len(text) else -1
            if not 0 <= code < 64:
                raise SegmentationError("RLE counts cannot be decoded: not a compressed COCO RLE string")
            value |= (code & 0x1F) << (5 * shift)
            more = bool(code & 0x20)
            position, shift = position + 1, shift + 1
            if not more and code & 0x10:
                value |= -1 << (5 * shift)
        counts.append(value + counts[-2] if len(counts) > 2 else value)
    return counts


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
                unlisted = ", ".join(sorted(found - set(values)))
                problems.append(f"annotations give `{obj}.{name}` the value(s) {unlisted}, "
                                f"which `attribute {obj}.{name} {{ {', '.join(values)} }}` does not list")
    if problems:
        raise AnnotationError(f"{path}: " + "; ".join(problems) + ". Make the rules file's attributes and the "
                              "annotations agree (same names, every annotated value declared)")


def read_components_for(path: Path, attributes: dict[str, dict[str, list[str]]]) -> dict[str, list[Component]]:
    """The file's components, checked against the rules' objects and attributes (`attributes`
    maps each declared object to its attributes and their values): what `dire train` and
    `dire measure` read."""
    components = read_coco_components(path)
    check_objects_annotated(components, list(attributes), path)
    check_attributes_annotated(components, attributes, path)
    return components


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

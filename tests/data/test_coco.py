"""COCO component annotations → Components (RLE, uncompressed RLE, polygons), clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from dire_dsl.data.coco import (
    AnnotationError,
    check_attributes_annotated,
    check_objects_annotated,
    read_coco_components,
    resize_components,
)
from dire_dsl.data.components import Component


def write_coco(path: Path, annotations: list[dict]) -> Path:
    data = {"images": [{"id": 1, "file_name": "train/good/000.png", "height": 10, "width": 20}],
            "categories": [{"id": 1, "name": "pin"}, {"id": 2, "name": "cable"}], "annotations": annotations}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_rle_and_polygon_segmentations(tmp_path: Path) -> None:
    box = np.zeros((10, 20), np.uint8)
    box[2:5, 3:9] = 1
    rle = mask_utils.encode(np.asfortranarray(box))
    anns = [
        {"image_id": 1, "category_id": 1, "segmentation": {"size": [10, 20], "counts": rle["counts"].decode()},
         "attributes": {"color": "red"}},
        {"image_id": 1, "category_id": 2, "segmentation": [[10, 1, 18, 1, 18, 8, 10, 8]]},
    ]
    parts = read_coco_components(write_coco(tmp_path / "a.json", anns))["000.png"]
    assert [p.object for p in parts] == ["pin", "cable"]
    assert np.array_equal(parts[0].mask, box.astype(bool)) and parts[0].attributes == {"color": "red"}
    assert parts[1].mask[4, 14] and not parts[1].mask[9, 14]
    small = resize_components(parts, (5, 10))
    assert small[0].mask.shape == (5, 10)


def test_malformed_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(AnnotationError, match="bad.json"):
        read_coco_components(path)
    with pytest.raises(AnnotationError, match="annotation #0"):
        read_coco_components(write_coco(tmp_path / "b.json", [{"image_id": 9, "category_id": 1, "segmentation": []}]))


def test_objects_missing_from_the_annotations_are_named(tmp_path: Path) -> None:
    parts = read_coco_components(write_coco(tmp_path / "a.json", [
        {"image_id": 1, "category_id": 2, "segmentation": [[10, 1, 18, 1, 18, 8, 10, 8]]}]))
    with pytest.raises(AnnotationError, match="`pin`.*annotated categories: cable"):
        check_objects_annotated(parts, ["pin", "cable"], tmp_path / "a.json")


def test_attributes_must_be_annotated_with_declared_values(tmp_path: Path) -> None:
    mask = np.ones((4, 4), dtype=bool)
    parts = {"a.png": [Component("egg", mask, {"shade": "white"}), Component("egg", mask, {"shade": "brown"})]}
    path = tmp_path / "train.json"
    check_attributes_annotated(parts, {"egg": {"shade": ["white", "brown", "speckled"]}}, path)  # unseen value: fine
    with pytest.raises(AnnotationError, match=r"`attribute egg.grade`.*annotated attributes of egg: shade"):
        check_attributes_annotated(parts, {"egg": {"grade": ["a", "b"]}}, path)
    with pytest.raises(AnnotationError, match=r"`egg.shade` the value\(s\) brown.*\{ white, speckled \}"):
        check_attributes_annotated(parts, {"egg": {"shade": ["white", "speckled"]}}, path)


@pytest.mark.parametrize(("segmentation", "words"), [
    ([[1, 2, 3]], "polygon needs at least 3 x,y points"),
    ([[1, 2, 3, 4, 5, 6, 7]], "polygon needs at least 3 x,y points"),
    ([[1, 2, 3, 4]], "polygon needs at least 3 x,y points"),  # pycocotools would read 4 numbers as a box
    ([["a", 2, 3, 4, 5, 6]], "must be a list of finite numbers"),
    ([], "empty list"),
    ({"size": [10, 20], "counts": "garbage!!"}, "RLE counts cannot be decoded"),
    ({"size": [10, 20], "counts": "zzzz"}, "RLE counts cannot be decoded"),  # pycocotools: uninitialised memory
    ({"size": [10, 20], "counts": [500]}, "RLE counts cannot be decoded"),
    ({"size": [10, 20], "counts": [5, -5, 200]}, "RLE counts cannot be decoded"),
    ({"size": [10, 20], "counts": 5}, "RLE counts cannot be decoded"),
    ({"size": [5, 5], "counts": [25]}, r"RLE size \[5, 5\] is not the image's"),
    ({"counts": "abc"}, "needs `size`"),
    ("mask.png", "list of polygons or an RLE object"),
])
def test_bad_segmentations_name_file_annotation_and_problem(tmp_path: Path, segmentation: object, words: str) -> None:
    good = {"image_id": 1, "category_id": 1, "segmentation": [[10, 1, 18, 1, 18, 8]]}
    path = write_coco(tmp_path / "seg.json", [good, {**good, "segmentation": segmentation}])
    with pytest.raises(AnnotationError, match=rf"seg\.json: annotation #1: .*{words}"):
        read_coco_components(path)


def test_undeclared_category_or_image_lists_the_declared_ids(tmp_path: Path) -> None:
    ann = {"image_id": 1, "category_id": 999, "segmentation": [[10, 1, 18, 1, 18, 8]]}
    with pytest.raises(AnnotationError, match=r"ids\.json: annotation #0: category_id 999 is not among the file's "
                                              r"categories \(ids: 1, 2\)"):
        read_coco_components(write_coco(tmp_path / "ids.json", [ann]))
    with pytest.raises(AnnotationError, match=r"annotation #0: image_id 7 is not among the file's images \(ids: 1\)"):
        read_coco_components(write_coco(tmp_path / "ids.json", [{**ann, "image_id": 7, "category_id": 1}]))


@pytest.mark.parametrize(("content", "words"), [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"images": "\xff"}', "not UTF-8 text"),
])
def test_deep_or_non_utf8_file_is_one_annotation_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(content)
    with pytest.raises(AnnotationError, match=rf"deep\.json: not a COCO instances file \({words}"):
        read_coco_components(path)

"""The MVTec LOCO loader: real layout, lazy loading, resizing, masks; one clear error per broken tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dire_dsl.data.errors import ConfigError, DataError, ImageReadError, LayoutError
from dire_dsl.data.loco import MVTecLOCO, collate, read_defects_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONFIG = [
    {"defect_name": "missing_thing", "pixel_value": 255, "saturation_threshold": 400, "relative_saturation": False},
    {"defect_name": "scratch", "pixel_value": 200, "saturation_threshold": 1.0, "relative_saturation": True},
]


def png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def real_like_tree(root: Path, size: tuple[int, int] = (40, 60)) -> Path:
    """A tiny tree exactly like the real download (no annotations/ or records/), odd image size."""
    h, w = size
    cat = root / "widget"
    rng = np.random.default_rng(0)
    for folder, n in (("train/good", 3), ("validation/good", 2), ("test/good", 2),
                      ("test/logical_anomalies", 2), ("test/structural_anomalies", 1)):
        for i in range(n):
            png(cat / folder / f"{i:03d}.png", rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    for kind, stems, value in (("logical_anomalies", ("000", "001"), 255), ("structural_anomalies", ("000",), 200)):
        for stem in stems:
            m = np.zeros((h, w), np.uint8)
            m[5:15, 10:30] = value
            png(cat / "ground_truth" / kind / stem / "000.png", m)
    m2 = np.zeros((h, w), np.uint8)
    m2[20:30, 40:50] = 255
    png(cat / "ground_truth" / "logical_anomalies" / "001" / "001.png", m2)
    (cat / "defects_config.json").write_text(json.dumps(CONFIG))
    return root


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return real_like_tree(tmp_path)


def test_reads_a_real_layout_without_extras(tree: Path) -> None:
    ds = MVTecLOCO(tree, "widget", "test")
    assert len(ds) == 5 and ds.labels == [0, 0, 1, 1, 1]
    item = ds[3]
    assert item["anomaly_type"] == "logical_anomalies" and item.label == 1
    assert item["image"].shape == (3, 40, 60) and item["image"].dtype == torch.float32
    assert item["masks"].shape == (2, 40, 60) and item["masks"].dtype == torch.bool
    assert item["mask_defects"] == ["missing_thing", "missing_thing"]
    assert item["defect_type"] == "missing_thing"
    assert item["saturation_area"].tolist() == [200.0, 100.0]  # absolute: min(400 px, area)
    assert item["saturation_threshold"].tolist() == [400.0, 400.0] and item["relative_saturation"] == [False, False]
    assert "annotations" not in item and "record" not in item
    good = ds[0]
    assert good["masks"].shape == (0, 40, 60) and good["defect_type"] is None
    assert MVTecLOCO.categories(tree) == ["widget"]
    assert len(MVTecLOCO(tree, "widget", "train")) == 3 and len(MVTecLOCO(tree, "widget", "validation")) == 2


def test_resize_scales_masks_and_absolute_saturation(tree: Path) -> None:
    ds = MVTecLOCO(tree, "widget", "test", image_size=(20, 30))
    item = ds[3]
    assert item["image"].shape == (3, 20, 30) and item["masks"].shape == (2, 20, 30)
    assert item["masks"][0].sum() == 50
    assert item["saturation_area"][0] == pytest.approx(50.0)  # min(400 / 4, 50)
    struct = ds[4]
    assert struct["defect_type"] == "scratch" and struct["saturation_area"][0] == pytest.approx(50.0)


def test_masks_below_255_are_defects(tmp_path: Path) -> None:
    tree = real_like_tree(tmp_path)
    item = MVTecLOCO(tree, "widget", "test")[4]
    assert item["masks"].sum() == 200  # pixel value 200 is read, not dropped


def test_collate_with_a_dataloader(tree: Path) -> None:
    loader = torch.utils.data.DataLoader(MVTecLOCO(tree, "widget", "test", image_size=16), batch_size=5,
                                         collate_fn=collate)
    batch = next(iter(loader))
    assert batch["image"].shape == (5, 3, 16, 16) and batch["label"].tolist() == [0, 0, 1, 1, 1]
    assert [m.shape[0] for m in batch["masks"]] == [0, 0, 1, 2, 1]


def test_missing_category_lists_what_exists(tree: Path) -> None:
    with pytest.raises(LayoutError, match="missing category folder .*gadget.*found: widget"):
        MVTecLOCO(tree, "gadget", "test")
    with pytest.raises(LayoutError, match="missing folder"):
        MVTecLOCO(tree / "nowhere", "widget", "test")


def test_missing_folders_are_all_named_in_one_error(tree: Path) -> None:
    shutil.rmtree(tree / "widget" / "test" / "structural_anomalies")
    shutil.rmtree(tree / "widget" / "ground_truth" / "structural_anomalies")
    with pytest.raises(LayoutError) as info:
        MVTecLOCO(tree, "widget", "test")
    text = str(info.value)
    assert "test/structural_anomalies" in text and "ground_truth/structural_anomalies" in text
    assert len(info.value.problems) == 2
    assert len(MVTecLOCO(tree, "widget", "train")) == 3  # other splits still load


def test_image_without_mask(tree: Path) -> None:
    shutil.rmtree(tree / "widget" / "ground_truth" / "logical_anomalies" / "001")
    with pytest.raises(LayoutError, match=r"no ground-truth folder .*001 for image .*logical_anomalies/001.png"):
        MVTecLOCO(tree, "widget", "test")


def test_empty_mask_folder_and_orphan_mask(tree: Path) -> None:
    gt = tree / "widget" / "ground_truth" / "logical_anomalies"
    for f in (gt / "000").iterdir():
        f.unlink()
    png(gt / "007" / "000.png", np.zeros((40, 60), np.uint8))
    with pytest.raises(LayoutError) as info:
        MVTecLOCO(tree, "widget", "test")
    text = str(info.value)
    assert "holds no mask image" in text and "007 has no image" in text


def test_bad_png_names_its_file(tree: Path) -> None:
    bad = tree / "widget" / "test" / "good" / "001.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    ds = MVTecLOCO(tree, "widget", "test")  # lazy: listing works
    ds[0]
    with pytest.raises(ImageReadError, match="001.png"):
        ds[1]
    with pytest.raises(ImageReadError, match="001.png"):
        ds.verify()


def test_16_bit_images_are_scaled_not_white(tree: Path) -> None:
    path = tree / "widget" / "test" / "good" / "000.png"
    Image.fromarray(np.tile(np.linspace(0, 65535, 60).astype(np.uint16), (40, 1))).save(path)
    pixels = MVTecLOCO(tree, "widget", "test")[0]["image_uint8"]
    assert pixels.dtype == np.uint8 and pixels.shape == (40, 60, 3)
    assert pixels.min() == 0 and pixels.max() == 255 and abs(int(pixels[0, 30, 0]) - 128) <= 3


def test_bad_mask_png_names_its_file(tree: Path) -> None:
    mask = tree / "widget" / "ground_truth" / "structural_anomalies" / "000" / "000.png"
    mask.write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match="structural_anomalies/000/000.png"):
        MVTecLOCO(tree, "widget", "test")[4]


def test_mask_of_the_wrong_size(tree: Path) -> None:
    png(tree / "widget" / "ground_truth" / "structural_anomalies" / "000" / "000.png", np.full((10, 10), 200, np.uint8))
    with pytest.raises(DataError, match="is 10x10 but its image .* is 60x40"):
        MVTecLOCO(tree, "widget", "test")[4]


def test_mask_value_not_in_config(tree: Path) -> None:
    png(tree / "widget" / "ground_truth" / "structural_anomalies" / "000" / "000.png", np.full((40, 60), 17, np.uint8))
    with pytest.raises(ConfigError, match="pixel value 17"):
        MVTecLOCO(tree, "widget", "test")[4]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "cannot be read as JSON"),
        ("{}", "non-empty list"),
        (json.dumps([{"defect_name": "a", "pixel_value": 255}]), "lacks saturation_threshold, relative_saturation"),
        (json.dumps([{**CONFIG[0], "pixel_value": "255"}]), "pixel_value = '255' has the wrong type"),
        (json.dumps([{**CONFIG[0], "pixel_value": 300}]), "outside 1..255"),
        (json.dumps([CONFIG[0], {**CONFIG[1], "pixel_value": 255}]), "also used by"),
        (json.dumps([{**CONFIG[1], "saturation_threshold": 3.0}]), "fraction in"),
    ],
)
def test_wrong_config(tree: Path, content: str, words: str) -> None:
    (tree / "widget" / "defects_config.json").write_text(content)
    with pytest.raises(ConfigError, match=words) as info:
        MVTecLOCO(tree, "widget", "test")
    assert "defects_config.json" in str(info.value)


def test_missing_config(tree: Path) -> None:
    (tree / "widget" / "defects_config.json").unlink()
    with pytest.raises(LayoutError, match="missing file .*defects_config.json"):
        MVTecLOCO(tree, "widget", "test")
    assert len(MVTecLOCO(tree, "widget", "train")) == 3  # not needed for good-only splits


def test_bad_split_and_empty_split(tree: Path) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        MVTecLOCO(tree, "widget", "val")
    for f in (tree / "widget" / "validation" / "good").iterdir():
        f.unlink()
    with pytest.raises(LayoutError, match="no images in"):
        MVTecLOCO(tree, "widget", "validation")


def test_read_defects_config_roundtrip(tree: Path) -> None:
    cfg = read_defects_config(tree / "widget" / "defects_config.json")
    assert {d.name for d in cfg.values()} == {"missing_thing", "scratch"}


def test_annotations_of_a_generated_tree(pushpins_tree: Path) -> None:
    ds = MVTecLOCO(pushpins_tree.parent, "pushpins", "train", image_size=48)
    item = ds[1]
    anns = item.annotations
    assert {a["category"] for a in anns} == {"pushpin", "separator"}
    assert all(a["mask"].shape == (48, 48) and a["mask"].any() for a in anns if a["category"] == "pushpin")
    assert item.image_uint8.shape == (48, 48, 3) and item.image_uint8.dtype == np.uint8
    assert item["record"]["counts"]["pushpin"] == 15


def test_broken_annotation_file(pushpins_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pushpins"
    shutil.copytree(pushpins_tree, copy)
    (copy / "annotations" / "train.json").write_text('{"images": []}')
    with pytest.raises(ConfigError, match="not a valid COCO annotation file"):
        MVTecLOCO(tmp_path, "pushpins", "train")


def test_bad_segmentation_names_the_annotation_file(pushpins_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pushpins"
    shutil.copytree(pushpins_tree, copy)
    path = copy / "annotations" / "train.json"
    coco = json.loads(path.read_text())
    first = coco["images"][0]["id"]
    for ann in coco["annotations"]:
        if ann["image_id"] == first:
            ann["segmentation"] = [[1, 2, 3]]
    path.write_text(json.dumps(coco))
    ds = MVTecLOCO(tmp_path, "pushpins", "train")
    index = next(i for i, s in enumerate(ds.samples) if s.key == coco["images"][0]["file_name"])
    with pytest.raises(ConfigError, match=r"train\.json: annotation id .*polygon needs at least 3 x,y points"):
        ds[index]


def test_absolute_saturation_reads_as_int_or_float(tree: Path) -> None:
    # `dire synth` wrote 244.0 before it wrote ints as the real data set does; both still read.
    path = tree / "widget" / "defects_config.json"
    path.write_text(json.dumps([{**CONFIG[0], "saturation_threshold": 400.0}, CONFIG[1]]))
    as_float = read_defects_config(path)
    path.write_text(json.dumps(CONFIG))
    assert as_float == read_defects_config(path)
    assert as_float[255].saturation_threshold == 400


DEEP = "[" * 100_000
"""Nesting deeper than Python's stack: `json` raises RecursionError, not a decode error."""


@pytest.mark.parametrize("content", [DEEP, b'[{"defect_name": "\xe9"}]'])
def test_deep_or_non_utf8_defects_config_is_one_config_error(tree: Path, content: str | bytes) -> None:
    path = tree / "widget" / "defects_config.json"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    damaged = r"defects_config\.json: cannot be read as JSON: (nested too deeply|not UTF-8)"
    with pytest.raises(ConfigError, match=damaged):
        MVTecLOCO(tree, "widget", "test")


@pytest.mark.parametrize(("name", "words"), [
    ("annotations/train.json", r"train\.json: not a valid COCO annotation file: nested too deeply"),
    ("records/train.jsonl", r"train\.jsonl: line 2: not a valid record: nested too deeply"),
])
def test_deeply_nested_extras_name_their_file(pushpins_tree: Path, tmp_path: Path, name: str, words: str) -> None:
    copy = tmp_path / "pushpins"
    shutil.copytree(pushpins_tree, copy)
    path = copy / name
    first = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(f"{first}\n{DEEP}\n" if name.endswith(".jsonl") else DEEP, encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        MVTecLOCO(tmp_path, "pushpins", "train")

"""The recorded ground truth matches the rendered pixels, on sampled images of each category."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from scipy import ndimage

from dire_dsl.synth.image import make_image, record_of
from dire_dsl.synth.render import Renderer
from dire_dsl.synth.spec.load import load_spec
from tests.synth.conftest import CATEGORIES

EXPECTED = {
    "pushpins": {"pushpin": 15, "separator": 22},
    "screw_bag": {"screw": 2, "nut": 2, "washer": 2},
    "juice_bottle": {"bottle": 1, "juice": 1, "fruit_label": 1, "icon": 1, "juice_label": 1},
    "breakfast_box": {"tangerine": 2, "nectarine": 1, "cereal": 1, "banana_chip": 7, "almond": 6},
    "splicing_connectors": {"connector": 2, "cable": 1},
}


def _hue(rgb: np.ndarray) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, float) / 255.0))


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("index", [0, 1, 2])
def test_counts_and_masks_match_the_pixels(category: str, index: int) -> None:
    spec = load_spec(category)
    res = make_image(spec, 128, 4, "train", index)
    rec = record_of(spec, res, "train/good/000.png", "train", "good", None)
    assert rec["counts"] == EXPECTED[category]
    renderer = Renderer(spec, 128)
    for inst in res.scene.instances:
        if not inst.annotate:
            continue
        full = renderer.footprint(inst) > 0.5
        vis = res.visible[inst.uid]
        assert vis.sum() >= 0.4 * full.sum() > 0, f"{inst.uid} is hidden"
        # the visible pixels show the object, not the background around it
        ring = ndimage.binary_dilation(full, iterations=3) & ~ndimage.binary_dilation(full, iterations=1)
        inside = res.image[ndimage.binary_erosion(vis)] if ndimage.binary_erosion(vis).any() else res.image[vis]
        if ring.any() and inst.spec.opacity > 0.5:
            contrast = np.abs(inside.mean(0) - res.image[ring].mean(0)).sum()
            assert contrast > 10 or inst.obj in ("separator",), f"{inst.uid} blends into its surroundings"


def test_attribute_colours_are_drawn() -> None:
    spec = load_spec("juice_bottle")
    for index in range(6):
        res = make_image(spec, 128, 1, "train", index)
        juice = res.scene.of("juice")[0]
        pixels = res.image[res.visible[juice.uid]].mean(0)
        h, s, v = _hue(pixels)
        color = juice.attributes["color"]
        if color == "red":
            assert pixels[0] > 1.5 * pixels[1] and (h < 0.05 or h > 0.9)
        elif color == "yellow":
            assert 0.05 < h < 0.18 and s > 0.5
        else:
            assert s < 0.3 and v > 0.6
        icon = res.scene.of("icon")[0]
        expected = {"red": "cherry", "yellow": "orange", "white": "banana"}[color]
        assert icon.attributes["fruit"] == expected


def test_connector_clamps_can_be_counted_in_the_image() -> None:
    spec = load_spec("splicing_connectors")
    for index in range(6):
        res = make_image(spec, 256, 2, "train", index)
        for side in ("left_connector", "right_connector"):
            inst = res.scene.of(side)[0]
            vis = res.visible[inst.uid]
            img = res.image.astype(int)
            orange = (img[..., 0] > img[..., 2] + 70) & (img[..., 1] > img[..., 2] + 20) & vis
            blobs, n = ndimage.label(ndimage.binary_opening(orange))
            assert n == int(inst.attributes["clamps"]), (index, side)
        cable = res.scene.of("cable")[0]
        rgb = res.image[res.visible[cable.uid]].mean(0)
        color = cable.attributes["color"]
        assert {"yellow": rgb[0] > rgb[2] + 60 and rgb[1] > rgb[2] + 40, "blue": rgb[2] > rgb[0] + 60,
                "red": rgb[0] > rgb[1] + 80}[color]


def test_screw_lengths_match_the_record() -> None:
    spec = load_spec("screw_bag")
    too_long = next(a for a in spec.anomalies if a.name == "screw_too_long")
    for index, recipe in ((0, None), (1, None), (2, too_long)):
        res = make_image(spec, 256, 3, "test", index, recipe)
        W = res.image.shape[1]
        for inst in res.scene.instances:
            if inst.name != "screw":
                continue
            ys, xs = np.nonzero(Renderer(spec, 256).footprint(inst) > 0.5)
            pts = np.stack([xs, ys], 1).astype(float)
            axis = np.linalg.svd(pts - pts.mean(0), full_matrices=False)[2][0]
            proj = (pts - pts.mean(0)) @ axis
            measured = (proj.max() - proj.min() + 1) / W
            assert abs(measured - max(inst.w, inst.h)) < 0.015, (inst.uid, measured, inst.w)
        lengths = sorted(max(i.w, i.h) for i in res.scene.instances if i.name == "screw")
        if recipe is None:
            assert 0.22 < lengths[0] < 0.26 and 0.33 < lengths[1] < 0.39
        else:
            assert lengths[1] > 0.43


def test_fill_level_is_recorded_geometry() -> None:
    spec = load_spec("juice_bottle")
    low = next(a for a in spec.anomalies if a.name == "fill_level_too_low")
    high = next(a for a in spec.anomalies if a.name == "fill_level_too_high")
    tops = {}
    for name, recipe in (("normal", None), ("low", low), ("high", high)):
        res = make_image(spec, 128, 0, "test", 4, recipe)
        juice = res.scene.of("juice")[0]
        ys = np.nonzero(res.visible[juice.uid])[0]
        tops[name] = ys.min()
    assert tops["high"] < tops["normal"] < tops["low"]

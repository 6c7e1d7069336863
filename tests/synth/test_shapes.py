"""Shape primitives: every one rasterizes, areas are right, holes are holes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dire_dsl.synth.shapes import SHAPES, Coverage, paste_max, rasterize, rasterize_path

BOX_SHAPES = [s for s in SHAPES if s != "curve"]


@pytest.mark.parametrize("shape", BOX_SHAPES)
def test_every_shape_draws_inside_its_box(shape: str) -> None:
    params = {"points": [[0, 0], [1, 0], [0.5, 1]]} if shape == "polygon" else {}
    cov = rasterize(shape, params, 40, 30, 30, 20, 0.0, ss=3, rng=np.random.default_rng(0))
    full = cov.full(60, 80)
    assert 0 < full.sum() <= 30 * 20 * 1.1
    ys, xs = np.nonzero(full > 0.5)
    assert xs.min() >= 40 - 16 and xs.max() <= 40 + 16
    blob = shape == "blob"
    assert ys.min() >= 30 - (14 if blob else 11) and ys.max() <= 30 + (14 if blob else 11)


def test_disc_and_rect_areas() -> None:
    disc = rasterize("disc", {}, 50, 50, 40, 40, 0, ss=4).full(100, 100)
    assert abs(disc.sum() - math.pi * 400) / (math.pi * 400) < 0.02
    rect = rasterize("rect", {}, 50, 50, 40, 20, 0, ss=4).full(100, 100)
    assert abs(rect.sum() - 800) / 800 < 0.02


def test_ring_and_nut_have_holes() -> None:
    for shape in ("ring", "hexnut"):
        full = rasterize(shape, {"inner": 0.5}, 50, 50, 40, 40, 0, ss=3).full(100, 100)
        assert full[50, 50] == 0 and full[50, 50 + 15] > 0.9


def test_rotation_turns_the_long_axis() -> None:
    flat = rasterize("capsule", {}, 50, 50, 60, 10, 0, ss=2).full(100, 100)
    upright = rasterize("capsule", {}, 50, 50, 60, 10, 90, ss=2).full(100, 100)
    assert flat[50, 20] > 0.9 and flat[20, 50] == 0
    assert upright[20, 50] > 0.9 and upright[50, 20] == 0


def test_screw_is_longer_than_wide_and_has_a_head() -> None:
    full = rasterize("screw", {}, 50, 50, 80, 12, 0, ss=3).full(100, 100) > 0.5
    cols = full.sum(axis=0)
    assert cols[np.nonzero(cols)[0][0] + 2] > cols[60]  # head thicker than shaft


def test_cut_path_has_a_gap() -> None:
    pts = np.stack([np.linspace(10, 90, 40), np.full(40, 50.0)], axis=1)
    whole = rasterize_path(pts, 6, 2).full(100, 100)
    cut = rasterize_path(pts, 6, 2, cut=0.5, gap=0.2).full(100, 100)
    assert whole[50, 50] > 0.9 and cut[50, 50] == 0 and cut[50, 20] > 0.9


def test_paste_max_clips_to_canvas() -> None:
    target = np.zeros((10, 10), np.float32)
    paste_max(target, Coverage(np.ones((6, 6), np.float32), -3, 7))
    assert target.sum() == 3 * 3

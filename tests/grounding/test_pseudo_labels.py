"""A pixel label map becomes the Components a few-shot annotation would give: one per connected
region of an object, specks dropped, background ignored."""

from __future__ import annotations

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.grounding.pseudo_labels import BACKGROUND, components_from_labels, instance_counts, speck_areas

OBJECTS = ["nut", "screw"]


def _map() -> np.ndarray:
    labels = np.full((12, 16), BACKGROUND)
    labels[1:4, 1:4] = 0  # nut, 9 px
    labels[4:6, 4:6] = 0  # nut touching the first only at a corner: another instance (4-connectivity)
    labels[8:11, 10:15] = 0  # nut, 15 px
    labels[1:3, 9:15] = 1  # screw, 12 px
    labels[10, 1] = 1  # a one-pixel screw speck
    return labels


def test_each_connected_region_of_an_object_is_one_instance() -> None:
    labels = _map()
    parts = components_from_labels(labels, OBJECTS, {"nut": 1, "screw": 1})
    assert instance_counts(parts, OBJECTS) == {"nut": 3, "screw": 2}
    nuts = sorted((p for p in parts if p.object == "nut"), key=lambda p: int(p.mask.sum()))
    assert [int(p.mask.sum()) for p in nuts] == [4, 9, 15]
    expected = np.zeros_like(labels, bool)
    expected[8:11, 10:15] = True
    assert np.array_equal(nuts[2].mask, expected)
    assert all(p.mask.shape == labels.shape and p.mask.dtype == bool and p.attributes == {} for p in parts)
    # together the instances cover exactly the objects' pixels: background is never an instance
    covered = np.zeros_like(labels, bool)
    for part in parts:
        assert not (covered & part.mask).any()
        covered |= part.mask
    assert np.array_equal(covered, labels != BACKGROUND)


def test_specks_under_the_objects_minimum_area_are_dropped() -> None:
    parts = components_from_labels(_map(), OBJECTS, {"nut": 5, "screw": 2})
    assert instance_counts(parts, OBJECTS) == {"nut": 2, "screw": 1}
    assert sorted(int(p.mask.sum()) for p in parts) == [9, 12, 15]


def test_an_all_background_map_has_no_instances() -> None:
    assert components_from_labels(np.full((8, 8), BACKGROUND), OBJECTS, {}) == []


def test_minimum_area_is_a_quarter_of_the_smallest_annotated_instance_else_of_a_feature_cell() -> None:
    small, large = np.zeros((20, 20), bool), np.zeros((20, 20), bool)
    small[:3, :3] = True  # 9 px
    large[5:15, 5:15] = True
    annotated = [Component("nut", large), Component("nut", small), Component("nut", np.zeros((20, 20), bool))]
    assert speck_areas(OBJECTS, annotated, cell_area=16) == {"nut": 3, "screw": 4}

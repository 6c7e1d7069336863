"""Objects whose instances overlap (issue 18): found from the annotations, their peaks never merged."""

from __future__ import annotations

import numpy as np
import torch

from dire_dsl.data.components import Component
from dire_dsl.train.api import merging_reach
from dire_dsl.train.dataset import SyntheticAnomalies, TrainData, touching_objects
from dire_dsl.vision.instances import PEAK_SEPARATION, RIDGE_REACH


def _disc(size: int, cx: float, cy: float, r: float) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    return (xs - cx) ** 2 + (ys - cy) ** 2 <= r**2


def _washers() -> list[Component]:
    """Three discs in a row, each 30 % under the next, annotated by their visible pixels."""
    row = _disc(64, 20, 32, 10), _disc(64, 34, 32, 10), _disc(64, 48, 32, 10)
    return [Component("washer", row[0] & ~row[1]), Component("washer", row[1] & ~row[2]), Component("washer", row[2])]


def _walls() -> list[Component]:
    """A wall and two walls meeting it end on, as pushpins' separators do."""
    walls = np.zeros((3, 64, 64), bool)
    walls[0, 30:33, 2:40] = True
    walls[1, 2:30, 20:23] = True
    walls[2, 33:62, 36:39] = True
    return [Component("separator", mask) for mask in walls]


def test_objects_whose_instances_overlap_are_found_and_walls_meeting_end_to_end_are_not() -> None:
    apart = [Component("pin", _disc(64, 12, 12, 6)), Component("pin", _disc(64, 40, 40, 6))]
    assert touching_objects([_washers() + _walls() + apart]) == ["washer"]
    assert touching_objects([_washers()[2:] + apart, apart]) == []  # a single washer overlaps nothing
    # one image in ten with an overlapping pair is no layout (scattered screws brushing)
    assert touching_objects([_washers()] + [[Component("washer", _disc(64, 32, 32, 8))]] * 30) == []


def _data(touching: list[str]) -> TrainData:
    empty = torch.zeros(0, 3, 8, 8, dtype=torch.uint8)
    return TrainData(empty, [], None, empty, SyntheticAnomalies(empty, []), sizes={"washer": 0.25, "pin": 0.05},
                     largest={"washer": 0.3, "pin": 0.06}, touching=touching)


def test_overlapping_objects_get_no_merging_and_the_others_their_sizes() -> None:
    reach = merging_reach(_data(["washer"]), None)
    assert reach["peak_separation"] == {"washer": 0.0, "pin": round(PEAK_SEPARATION * 0.06, 4)}
    assert reach["ridge_reach"] == {"washer": 0.0, "pin": round(RIDGE_REACH * 0.05, 4)}
    plain = merging_reach(_data([]), {"epochs": 3})
    assert plain["peak_separation"]["washer"] == round(PEAK_SEPARATION * 0.3, 4)


def test_reach_given_in_the_overrides_wins_per_object() -> None:
    """The knob (Python API): `train(..., overrides={"peak_separation": {...}, "ridge_reach": {...}})`."""
    reach = merging_reach(_data(["washer"]), {"peak_separation": {"washer": 0.12}, "ridge_reach": None})
    assert reach["peak_separation"] == {"washer": 0.12, "pin": round(PEAK_SEPARATION * 0.06, 4)}
    assert reach["ridge_reach"]["washer"] == 0.0

"""Counting overlapping instances (issue 18): two washers overlapping by 20-50 % are two.

An object whose instances overlap gets no peak merging (`dire_dsl.train.api.merging_reach`
sets its `peak_separation` and `ridge_reach` to 0): the mask joins every two neighbours, so
merging the peaks it joins made one instance of two.
"""

from __future__ import annotations

import pytest
import torch

from dire_dsl.lang.program import check_source
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from dire_dsl.vision.instances import PEAK_SEPARATION, RIDGE_REACH, extract_instances, peak_radius

SIZE = 32
DIAMETER = 10.0


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.meshgrid(torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32),
                          indexing="ij")


def _disc(cx: float, cy: float) -> torch.Tensor:
    ys, xs = _grid()
    return (((xs - cx) ** 2 + (ys - cy) ** 2) <= (DIAMETER / 2) ** 2).float()


def _bump(cx: float, cy: float, sigma: float) -> torch.Tensor:
    ys, xs = _grid()
    return torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))


def overlapping_pair(overlap: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Two discs whose centres lie (1 − overlap) diameters apart: one part of the mask, no gap,
    and a centre heatmap whose two bumps a ridge joins (as a trained head draws them)."""
    apart = (1 - overlap) * DIAMETER
    first, second = (16.2 - apart / 2, 16.3), (16.2 + apart / 2, 15.8)  # off the cell edges: no plateaus
    mask = torch.maximum(_disc(*first), _disc(*second))[None]
    heat = torch.maximum(0.9 * _bump(*first, 2.5), 0.85 * _bump(*second, 2.5))[None]
    return mask, heat


# what `dire train` derives for an object of this size whose instances do not overlap
SIZE_FRACTION = DIAMETER / SIZE
MERGING = {"radius": peak_radius(PEAK_SEPARATION * SIZE_FRACTION, (SIZE, SIZE)),
           "ridge_radius": peak_radius(RIDGE_REACH * SIZE_FRACTION, (SIZE, SIZE))}
# ... and for one whose instances overlap: separation 0 (the 3×3 window), no ridge
NO_MERGING = {"radius": peak_radius(0.0, (SIZE, SIZE)), "ridge_radius": 0}


@pytest.mark.parametrize("overlap", [0.2, 0.3, 0.5])
def test_two_overlapping_instances_are_two_without_merging(overlap: float) -> None:
    mask, heat = overlapping_pair(overlap)
    merged = extract_instances(mask, heat, k=6, **MERGING)
    assert abs(float(merged.presence.sum()) - 1) < 0.05  # the failure of issue 18: one instance
    found = extract_instances(mask, heat, k=6, **NO_MERGING)
    assert abs(float(found.presence.sum()) - 2) < 0.05
    live = found.presence[0] > 0.5
    xs = sorted(float(x) for x in found.centers[0, live, 0])
    assert xs[0] < 0.5 < xs[1]  # one on each side, each with its share of the mask
    assert float(found.masks[0, live].sum(dim=(-2, -1)).min()) > 0.35 * float(mask.sum())


def test_the_count_rules_hold_for_the_pair() -> None:
    program = check_source('category pair\nobject washer "a washer"\nregion halves = grid(1, 2)\n'
                           "rule two: count(washer) == 2\n"
                           "rule one_per_half: forall h in halves: count(washer in h) == 1\n").program
    rules = compile_program(program)
    mask, heat = overlapping_pair(0.3)

    def truth(found) -> torch.Tensor:
        grounding = Grounding({"washer": ObjectGrounding(mask, found.masks, found.presence)}, torch.zeros(1, 1))
        grounding.validate(program, check_values=True)
        return rules(grounding).truth[0]

    assert float(truth(extract_instances(mask, heat, k=6, **MERGING))[0]) < 0.2
    assert float(truth(extract_instances(mask, heat, k=6, **NO_MERGING)).min()) > 0.9


def test_one_round_instance_stays_one_without_merging() -> None:
    """A disc's smooth heatmap bump has one 3×3 maximum: without merging it is still one instance."""
    mask = _disc(15.6, 16.2)[None]
    heat = (0.9 * _bump(15.6, 16.2, 2.5))[None]
    assert abs(float(extract_instances(mask, heat, k=4, **NO_MERGING).presence.sum()) - 1) < 0.05

"""Head targets from component annotations."""

from __future__ import annotations

import numpy as np

from dire_dsl.data.components import Component
from dire_dsl.grounding.targets import build_targets, concat_targets, select_targets, stack_targets
from dire_dsl.vision.heads import HeadLayout

LAYOUT = HeadLayout(objects=("pin", "cable"), attributes=(("cable", "color", ("red", "blue")),))


def square(y: int, x: int, size: int = 8, shape: tuple[int, int] = (32, 64)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y:y + size, x:x + size] = True
    return mask


def test_masks_centres_and_attributes_at_head_resolution() -> None:
    components = [Component("pin", square(2, 2)), Component("pin", square(18, 42)),
                  Component("cable", square(16, 8), {"color": "blue"}), Component("ghost", square(0, 56))]
    targets = build_targets(components, LAYOUT, (8, 16))
    assert targets.masks.shape == (2, 8, 16)
    assert abs(float(targets.masks[0].sum()) - 2 * 4) < 1e-5  # two 8×8 squares → 4 cells' worth each at stride 4
    peaks = (targets.centers[0] >= 0.99).nonzero().tolist()
    assert sorted(peaks) == [[1, 1], [5, 11]]
    colour = targets.attributes[("cable", "color")]
    assert set(colour.unique().tolist()) == {-1, 1} and int((colour == 1).sum()) == 4
    assert float(targets.masks[1].sum()) == 4 and float(targets.centers.max()) == 1.0  # "ghost" ignored


def test_batches_select_and_concatenate() -> None:
    one = build_targets([Component("pin", square(0, 0))], LAYOUT, (8, 16))
    two = build_targets([Component("cable", square(8, 8), {"color": "red"})], LAYOUT, (8, 16))
    batch = stack_targets([one, two])
    picked = select_targets(batch, np.array([1]))
    both = concat_targets([batch, picked])
    assert both.masks.shape == (3, 2, 8, 16)
    assert (both.attributes[("cable", "color")][2] == batch.attributes[("cable", "color")][1]).all()

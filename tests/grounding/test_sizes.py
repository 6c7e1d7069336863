"""What the training data tells the model before it trains: typical object sizes."""

from __future__ import annotations

import numpy as np
import pytest

from dire_dsl.data.components import Component
from dire_dsl.grounding.sizes import largest_sizes, typical_sizes


def bar(y: int, x: int, height: int, width: int, shape: tuple[int, int] = (50, 100)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y:y + height, x:x + width] = True
    return mask


def test_typical_size_is_the_median_long_side_over_the_images_long_side() -> None:
    components = [Component("screw", bar(5, 5, 4, 30)), Component("screw", bar(5, 40, 40, 4)),
                  Component("screw", bar(30, 50, 4, 50)), Component("nut", bar(2, 80, 10, 10)),
                  Component("nut", np.zeros((50, 100), bool))]  # an empty mask is no evidence
    assert typical_sizes(components) == {"screw": 0.4, "nut": 0.1}


def test_largest_size_is_the_upper_quartile_long_side() -> None:
    """Long and short screws share one object: the long ones set how far apart the bumps of
    one screw's heatmap may lie, while one odd mask does not."""
    short, long = Component("screw", bar(5, 5, 4, 20)), Component("screw", bar(20, 5, 4, 60))
    nut = Component("nut", bar(2, 80, 10, 10))
    assert largest_sizes([short] * 5 + [long] * 5 + [nut]) == pytest.approx({"screw": 0.6, "nut": 0.1})
    assert typical_sizes([short] * 5 + [long] * 5) == pytest.approx({"screw": 0.4})
    assert largest_sizes([short] * 9 + [long]) == pytest.approx({"screw": 0.2})  # one long screw in ten

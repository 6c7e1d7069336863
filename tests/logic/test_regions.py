"""Region rasters: nothing pixel-shaped is built for regions beyond the size limits."""

from __future__ import annotations

import pytest
import torch

from dire_dsl.lang import ir
from dire_dsl.logic.regions import RasterCache


def test_a_raster_of_regions_beyond_the_limits_is_refused_before_any_mask_is_built() -> None:
    unchecked = ir.RegionDef.model_construct(name="g", box=(0.0, 0.0, 1.0, 1.0), rows=99999999999999999999, cols=5)
    with pytest.raises(ValueError, match="at most 4096"):
        RasterCache([unchecked])


def test_a_raster_of_the_largest_grid_builds() -> None:
    region = ir.RegionDef(name="g", box=(0.0, 0.0, 1.0, 1.0), rows=16, cols=64)
    raster = RasterCache([region]).get(8, 8, torch.float32, torch.device("cpu"))
    assert raster.regions["g"].cells.shape == (1024, 8, 8)

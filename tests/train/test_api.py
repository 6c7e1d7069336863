"""`train()` records what it learned from the data in the run, and `load_run()` restores it."""

from __future__ import annotations

from pathlib import Path

from dire_dsl.train.api import load_run
from dire_dsl.vision.instances import PEAK_SEPARATION, RIDGE_REACH


def test_run_records_each_objects_peak_separation_and_loading_restores_it(reference_run: Path) -> None:
    trained = load_run(reference_run)
    separation = trained.config.peak_separation
    assert set(separation) == {"pushpin", "separator"}
    # pins are small and round, separator walls span the box: their sizes differ by far
    assert 0 < separation["pushpin"] < 0.1 * PEAK_SEPARATION < separation["separator"] <= PEAK_SEPARATION
    assert trained.detector.model.peak_separation == separation


def test_run_records_each_objects_ridge_reach_from_its_typical_size(reference_run: Path) -> None:
    trained = load_run(reference_run)
    reach = trained.config.ridge_reach
    assert set(reach) == {"pushpin", "separator"}
    # a ridge reaches RIDGE_REACH typical sizes; the separation is PEAK_SEPARATION largest
    # sizes, and the largest size is at least the typical one
    for name, separation in trained.config.peak_separation.items():
        assert reach[name] / RIDGE_REACH <= separation / PEAK_SEPARATION + 1e-3
    assert trained.detector.model.ridge_reach == reach

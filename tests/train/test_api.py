"""`train()` records what it learned from the data in the run, and `load_run()` restores it."""

from __future__ import annotations

from pathlib import Path

from dire_dsl.train.api import load_run
from dire_dsl.vision.instances import PEAK_SEPARATION


def test_run_records_each_objects_peak_separation_and_loading_restores_it(reference_run: Path) -> None:
    trained = load_run(reference_run)
    separation = trained.config.peak_separation
    assert set(separation) == {"pushpin", "separator"}
    # pins are small and round, separator walls span the box: their sizes differ by far
    assert 0 < separation["pushpin"] < 0.1 * PEAK_SEPARATION < separation["separator"] <= PEAK_SEPARATION
    assert trained.detector.model.peak_separation == separation

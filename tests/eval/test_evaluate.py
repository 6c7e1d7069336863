"""`evaluate()` on a real (tiny) run: the metrics block, TIFF maps, JSON round trip, clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dire_dsl.data.errors import LayoutError
from dire_dsl.eval.evaluate import EvalReport, evaluate
from dire_dsl.eval.spro import FPR_LIMITS
from dire_dsl.eval.tiff_maps import read_anomaly_map
from dire_dsl.train.api import load_run
from dire_dsl.train.run_dir import RunDirError


@pytest.fixture(scope="module")
def evaluated(tiny_run: Path, tiny_loco: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalReport, Path]:
    maps = tmp_path_factory.mktemp("maps")
    return evaluate(tiny_run, tiny_loco, maps_dir=maps), maps


def test_report_has_every_required_block(evaluated: tuple[EvalReport, Path], tiny_run: Path) -> None:
    report, _ = evaluated
    assert report.category == "pushpins"
    assert report.n_images["good"] > 0 and report.n_images["logical_anomalies"] > 0
    for value in (report.auroc.logical, report.auroc.structural, report.auroc.mean):
        assert value is not None and 0.0 <= value <= 1.0
    assert report.auroc.mean == pytest.approx((report.auroc.logical + report.auroc.structural) / 2)
    assert set(report.au_spro) == {str(limit) for limit in FPR_LIMITS}
    assert all(v is not None and 0.0 <= v <= 1.0 for v in report.au_spro.values())
    assert report.au_spro_regions > 0
    assert report.separation.logical is not None and report.separation.structural is not None
    assert math.isfinite(report.separation.logical.d_prime)
    run = load_run(tiny_run)
    assert report.threshold == pytest.approx(run.calibration.threshold)
    c = report.classification
    assert c.true_positives + c.false_positives + c.true_negatives + c.false_negatives == len(report.images)
    assert [row.rule for row in report.rules.rules] == [r.name for r in run.program.rules]
    assert report.timing.images == len(report.images) and report.timing.images_per_second > 0
    assert 0.0 < report.timing.logic_share < 1.0


def test_scores_verdicts_and_rule_rates_are_consistent(evaluated: tuple[EvalReport, Path]) -> None:
    report, _ = evaluated
    for record in report.images:
        assert record.anomalous == (record.score > report.threshold)
        assert record.key == f"test/{record.split}/{record.image_id}.png"
        assert (record.defect_type is None) == (record.split == "good")
    good = [r for r in report.images if r.split == "good"]
    for row in report.rules.rules:
        expected = np.mean([r.truth[row.rule] < 0.5 for r in good])
        assert row.normal_rate == pytest.approx(expected)
        assert set(row.anomaly_rates) <= {"logical_anomalies", "structural_anomalies"}
        assert set(row.defect_rates) == {r.defect_type for r in report.images if r.split != "good"}


def test_tiff_maps_official_layout_full_resolution(evaluated: tuple[EvalReport, Path], tiny_loco: Path) -> None:
    report, maps = evaluated
    written = sorted(maps.rglob("*.tiff"))
    assert len(written) == len(report.images)
    for record in report.images:
        path = maps / "pushpins" / "test" / record.split / f"{record.image_id}.tiff"
        values = read_anomaly_map(path)
        with Image.open(tiny_loco / "pushpins" / record.key) as image:
            assert values.shape == (image.height, image.width)
        import tifffile

        assert tifffile.imread(path).dtype == np.float32
        assert float(values.max()) == pytest.approx(record.score, rel=1e-6, abs=1e-6)  # score = max of the map


def test_json_round_trip(evaluated: tuple[EvalReport, Path], tmp_path: Path) -> None:
    report, _ = evaluated
    path = tmp_path / "m.json"
    report.write_json(path)
    data = json.loads(path.read_text())
    for key in ("category", "auroc", "au_spro", "separation", "threshold", "classification", "rules", "timing",
                "images"):
        assert key in data
    assert data["auroc"]["mean"] == report.auroc.mean
    assert "d_prime" in data["separation"]["logical"] and "d_prime" in data["separation"]["structural"]
    assert EvalReport.read_json(path) == report


def test_infinite_d_prime_survives_json(evaluated: tuple[EvalReport, Path], tmp_path: Path) -> None:
    report, _ = evaluated
    block = report.separation.logical.model_copy(update={"d_prime": math.inf})
    odd = report.model_copy(update={"separation": report.separation.model_copy(update={"logical": block})})
    odd.write_json(tmp_path / "inf.json")
    assert json.loads((tmp_path / "inf.json").read_text())["separation"]["logical"]["d_prime"] == "Infinity"
    assert EvalReport.read_json(tmp_path / "inf.json").separation.logical.d_prime == math.inf


def test_reduced_spro_side_still_measures(tiny_run: Path, tiny_loco: Path) -> None:
    report = evaluate(tiny_run, tiny_loco, spro_side=48)
    assert report.au_spro_side == 48 and report.au_spro["0.05"] is not None


def test_errors_name_the_problem(tiny_run: Path, tiny_loco: Path, tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run folder"):
        evaluate(tmp_path / "missing", tiny_loco)
    with pytest.raises(LayoutError, match="pushpins"):
        evaluate(tiny_run, tmp_path)

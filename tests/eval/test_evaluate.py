"""`evaluate()` on a real (tiny) run: the metrics block, TIFF maps, JSON round trip, clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dire_dsl.data.errors import LayoutError
from dire_dsl.eval.evaluate import EvalReport, ImageRecord, _defect_types, _rule_block, evaluate
from dire_dsl.eval.metrics import image_auroc
from dire_dsl.eval.spro import FPR_LIMITS
from dire_dsl.eval.tiff_maps import read_anomaly_map
from dire_dsl.run.folder import RunDirError
from dire_dsl.run.trained import load_run


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
    for values in (report.au_spro.logical, report.au_spro.structural, report.au_spro.mean):
        assert set(values) == {str(limit) for limit in FPR_LIMITS}
        assert all(v is not None and 0.0 <= v <= 1.0 for v in values.values())
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
        expected = np.mean([r.rule_z[row.rule] >= 3.0 for r in good])  # violated = the z the score uses
        assert row.normal_rate == pytest.approx(expected)
        assert set(row.anomaly_rates) <= {"logical_anomalies", "structural_anomalies"}
        assert set(row.defect_rates) == {r.defect_type for r in report.images if r.split != "good"}
        assert set(row.defect_deciding) == set(row.defect_rates)


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
    assert report.au_spro_side == 48 and report.au_spro.mean["0.05"] is not None


def test_errors_name_the_problem(tiny_run: Path, tiny_loco: Path, tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run folder"):
        evaluate(tmp_path / "missing", tiny_loco)
    with pytest.raises(LayoutError, match="pushpins"):
        evaluate(tiny_run, tmp_path)


def test_au_spro_is_mvtecs_per_kind_form_not_pooled(evaluated: tuple[EvalReport, Path], tiny_run: Path,
                                                    tiny_loco: Path) -> None:
    report, _ = evaluated
    spro = report.au_spro
    for limit in map(str, FPR_LIMITS):
        assert spro.mean[limit] == pytest.approx((spro.logical[limit] + spro.structural[limit]) / 2)
    assert dict(report.summary())["AU-sPRO @0.05 mean"] == f"{spro.mean['0.05']:.3f}"
    data = json.loads(report.model_dump_json())
    assert set(data["au_spro"]) == {"logical", "structural", "mean"}


def _record(split: str, defect: str | None, score: float, rule_z: dict[str, float]) -> ImageRecord:
    return ImageRecord(key=f"test/{split}/{score}.png", path="x", split=split, image_id=str(score), defect_type=defect,
                       score=score, anomalous=score > 1.0, truth={name: 0.0 for name in rule_z}, rule_z=rule_z)


def test_rule_table_counts_what_the_score_counts(tiny_run: Path) -> None:
    # A rule false everywhere (truth 0) but far from the normals on the anomalies catches them: the
    # table says so (it used to count truth < 0.5, and showed 0% for a rule at truth 0.6 catching every one).
    trained = load_run(tiny_run)
    names = [rule.name for rule in trained.program.rules if rule.name not in {p[0] for p in trained.calibration.pruned}]
    quiet = {name: 0.0 for name in names}
    catcher, other = names[0], names[-1]
    records = [_record("good", None, 0.0, quiet), _record("good", None, 2.0, {**quiet, other: 3.5}),
               _record("logical_anomalies", "missing_pushpin", 9.0, {**quiet, catcher: 12.0, other: 4.0}),
               _record("logical_anomalies", "missing_pushpin", 0.5, {**quiet, catcher: 5.0}),
               _record("structural_anomalies", "scratch", 3.0, quiet)]
    block = _rule_block(trained, records, names)
    row = next(r for r in block.rules if r.rule == catcher)
    assert row.anomaly_rates["logical_anomalies"] == 1.0 and row.defect_rates["missing_pushpin"] == 1.0
    assert row.anomaly_deciding["logical_anomalies"] == 0.5  # the second one is not flagged
    assert row.normal_rate == 0.0 and row.anomaly_rates["structural_anomalies"] == 0.0
    false_alarm = next(r for r in block.rules if r.rule == other)
    assert (false_alarm.normal_rate, false_alarm.normal_deciding) == (0.5, 0.5)
    assert block.deciding_rule("missing_pushpin") == (catcher, 0.5) and block.deciding_rule("scratch") is None


def test_results_by_defect_type(evaluated: tuple[EvalReport, Path]) -> None:
    report, _ = evaluated
    good = [r.score for r in report.images if r.split == "good"]
    assert {b.defect_type for b in report.defect_types} == {r.defect_type for r in report.images if r.split != "good"}
    for block in report.defect_types:
        group = [r for r in report.images if r.defect_type == block.defect_type]
        assert block.images == len(group) and {r.split for r in group} == {block.kind}
        assert block.auroc == pytest.approx(image_auroc(good, [r.score for r in group]))
        assert block.detected == sum(r.score > report.threshold for r in group)
        assert block.detection_rate == pytest.approx(block.detected / len(group))


def test_defect_types_hand_made() -> None:
    records = [_record("good", None, s, {}) for s in (0.0, 1.0, 2.0)]
    records += [_record("structural_anomalies", "scratch", s, {}) for s in (3.0, 0.5)]
    records += [_record("logical_anomalies", None, 5.0, {})]  # no defect type: grouped under its kind
    blocks = {b.defect_type: b for b in _defect_types(records)}
    assert list(blocks) == ["logical_anomalies", "scratch"]
    assert blocks["scratch"].auroc == pytest.approx(4 / 6)  # 3.0 beats all three good, 0.5 beats one
    assert (blocks["scratch"].detected, blocks["scratch"].detection_rate) == (1, 0.5)
    assert blocks["logical_anomalies"].auroc == 1.0 and blocks["logical_anomalies"].kind == "logical_anomalies"

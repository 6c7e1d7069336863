"""Whether the most violated rule of a SynLOCO logical anomaly is about the object its recipe changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dire_dsl.eval.evaluate import EvalReport, ImageRecord, evaluate
from dire_dsl.eval.pointing import defect_objects, pointing
from dire_dsl.lang.program import load_rules
from dire_dsl.synth.spec.load import load_spec


def test_defect_objects_use_the_rules_names(tiny_loco: Path) -> None:
    changed = defect_objects(tiny_loco / "pushpins")
    assert changed is not None
    assert changed["missing_pushpin"] == {"pushpin"} and changed["missing_separator"] == {"separator"}
    assert defect_objects(tiny_loco) is None  # not a SynLOCO category folder


def _record(defect: str, rule_z: dict[str, float]) -> ImageRecord:
    return ImageRecord(key=f"test/logical_anomalies/{defect}.png", path="x", split="logical_anomalies",
                       image_id=defect, defect_type=defect, score=0.0, anomalous=False,
                       truth={name: 0.1 for name in rule_z}, rule_z=rule_z)


def test_pointing_counts_the_most_violated_rule(tiny_run: Path, tiny_loco: Path, tiny_rules: Path) -> None:
    report: EvalReport = evaluate(tiny_run, tiny_loco, spro=False)
    program = load_rules(tiny_rules)
    changed = defect_objects(tiny_loco / "pushpins")
    real = pointing(report, program, changed)
    assert real.images == report.n_images["logical_anomalies"]
    assert real.rate is not None and 0.0 <= real.rate <= 1.0
    base = {r.name: 2.9 for r in program.rules}  # false everywhere (truth 0.1), yet under 3 spreads: not violated
    records = [
        _record("missing_pushpin", {**base, "fifteen_pins": 9.0, "all_separators": 4.0}),  # hit
        _record("missing_separator", {**base, "fifteen_pins": 9.0, "all_separators": 4.0}),  # miss: pin rule first
        _record("missing_pushpin", base),  # miss: nothing violated
    ]
    staged = pointing(report.model_copy(update={"images": records}), program, changed)
    assert staged.rate == pytest.approx(1 / 3)
    assert staged.per_defect == {"missing_pushpin": 0.5, "missing_separator": 0.0}
    assert len(staged.misses) == 2 and "no rule violated" in staged.misses[1]


def test_defect_objects_of_steps_by_name_and_swaps(tmp_path: Path) -> None:
    spec = load_spec(Path(__file__).parents[2] / "examples" / "crayon_box" / "crayon_box.toml")
    (tmp_path / "synloco.json").write_text(json.dumps({"spec": spec.model_dump(mode="json")}), encoding="utf-8")
    changed = defect_objects(tmp_path)
    assert changed is not None
    assert changed["out_of_order"] == {"crayon"} and changed["sticker_off_box"] == {"sticker"}

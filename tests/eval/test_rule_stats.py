"""Per-rule violation and deciding rates per label, and pruned rules passed through."""

from __future__ import annotations

import numpy as np
import pytest

from dire_dsl.eval.rule_stats import rule_violation_stats

LABELS = ["good", "good", "good", "good", "missing_pin", "missing_pin", "extra_pin"]
FLAGGED = [False, True, False, False, True, True, False]


def test_hand_computed_rates() -> None:
    rule_z = {
        "one_pin_per_cell": [0.0, 3.5, -1.0, 2.9, 8.0, 3.0, 4.0],
        "fifteen_pins": np.array([0.0, 0.0, 0.0, 0.0, 20.0, 2.0, 0.5]),
    }
    report = rule_violation_stats(rule_z, LABELS, FLAGGED, pruned=["separator_present"])
    first, second = report.rules
    # Violated = z >= 3 (exactly 3 counts; 2.9 does not).
    assert (first.rule, first.normal_rate, first.anomaly_rates) == (
        "one_pin_per_cell", 0.25, {"missing_pin": 1.0, "extra_pin": 1.0})
    # Deciding = violated, the image's largest z, and the image flagged: the extra pin is violated but not flagged,
    # and on the first missing pin the other rule's z is larger.
    assert (first.normal_deciding, first.anomaly_deciding) == (0.25, {"missing_pin": 0.5, "extra_pin": 0.0})
    assert (second.normal_rate, second.anomaly_rates) == (0.0, {"missing_pin": 0.5, "extra_pin": 0.0})
    assert (second.normal_deciding, second.anomaly_deciding) == (0.0, {"missing_pin": 0.5, "extra_pin": 0.0})
    assert report.counts == {"extra_pin": 1, "good": 4, "missing_pin": 2}
    assert report.pruned == ("separator_present",)


def test_a_rule_as_false_as_on_the_normals_is_not_violated() -> None:
    # A rule whose truth is 0 on every image, good ones included, has z 0: it catches nothing.
    report = rule_violation_stats({"never_learnt": [0.0, 0.0]}, ["ok", "bad"], [True, True], normal_label="ok")
    assert (report.rules[0].normal_rate, report.rules[0].anomaly_rates) == (0.0, {"bad": 0.0})
    assert report.rules[0].anomaly_deciding == {"bad": 0.0}


@pytest.mark.parametrize(
    ("rule_z", "labels", "flagged", "message"),
    [
        ({"r": [0.5]}, LABELS, FLAGGED, "1 z values for 7 images"),
        ({"r": [0.5, float("nan")]}, ["good", "x"], [True, True], "NaN"),
        ({"r": [0.5, 0.5]}, ["x", "y"], [True, True], "no image labelled 'good'"),
        ({"r": [0.5, 0.5]}, ["good", "x"], [True], "1 flags for 2 images"),
        ({}, ["good"], [True], "no rules"),
        ({"r": []}, [], [], "non-empty"),
    ],
)
def test_bad_input_is_a_clear_error(rule_z: dict[str, list[float]], labels: list[str], flagged: list[bool],
                                    message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rule_violation_stats(rule_z, labels, flagged)

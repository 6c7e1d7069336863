"""Per-rule violation rates per label, and pruned rules passed through."""

from __future__ import annotations

import numpy as np
import pytest

from dire_dsl.eval.rule_stats import rule_violation_stats

LABELS = ["good", "good", "good", "good", "missing_pin", "missing_pin", "extra_pin"]


def test_hand_computed_rates() -> None:
    truth = {
        "one_pin_per_cell": [0.9, 0.8, 0.2, 0.95, 0.1, 0.3, 0.05],
        "fifteen_pins": np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.6, 0.5]),
    }
    report = rule_violation_stats(truth, LABELS, pruned=["separator_present"])
    first, second = report.rules
    assert (first.rule, first.normal_rate, first.anomaly_rates) == (
        "one_pin_per_cell",
        0.25,
        {"missing_pin": 1.0, "extra_pin": 1.0},
    )
    # 0.5 is not below the 0.5 threshold: not violated.
    assert (second.normal_rate, second.anomaly_rates) == (0.0, {"missing_pin": 0.5, "extra_pin": 0.0})
    assert report.counts == {"extra_pin": 1, "good": 4, "missing_pin": 2}
    assert report.pruned == ("separator_present",)


def test_custom_threshold_and_normal_label() -> None:
    report = rule_violation_stats({"r": [0.7, 0.7]}, ["ok", "bad"], threshold=0.8, normal_label="ok")
    assert (report.rules[0].normal_rate, report.rules[0].anomaly_rates) == (1.0, {"bad": 1.0})


@pytest.mark.parametrize(
    ("truth", "labels", "message"),
    [
        ({"r": [0.5]}, LABELS, "1 truth values for 7 images"),
        ({"r": [0.5, 1.5]}, ["good", "x"], r"outside \[0, 1\]"),
        ({"r": [0.5, float("nan")]}, ["good", "x"], "NaN"),
        ({"r": [0.5, 0.5]}, ["x", "y"], "no image labelled 'good'"),
        ({}, ["good"], "no rules"),
        ({"r": []}, [], "non-empty"),
    ],
)
def test_bad_input_is_a_clear_error(truth: dict[str, list[float]], labels: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rule_violation_stats(truth, labels)

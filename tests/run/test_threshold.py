"""Threshold from validation normals, and precision/recall/F1 at it (checked against sklearn)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score

from dire_dsl.run.threshold import calibrate_threshold, classify_at


def test_small_validation_set_gives_its_maximum() -> None:
    assert calibrate_threshold([0.3, 0.1, 0.7, 0.2]) == 0.7


def test_quantile_is_an_observed_score() -> None:
    scores = np.arange(201, dtype=float)  # 0..200; 0.99 × 200 = 198
    assert calibrate_threshold(scores) == 198.0
    assert calibrate_threshold(scores, quantile=0.5) == 100.0


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300), st.floats(0.5, 1.0))
def test_flags_at_most_one_minus_quantile_of_validation(scores: list[float], quantile: float) -> None:
    threshold = calibrate_threshold(scores, quantile)
    assert threshold in scores
    assert np.mean(np.array(scores) > threshold) <= 1 - quantile + 1e-12


def test_hand_computed_classification() -> None:
    scores = [0.1, 0.6, 0.5, 0.9, 0.4, 0.55]
    truth = np.array([False, False, False, True, True, True])
    result = classify_at(0.5, scores, truth)  # flagged: 0.6 (FP), 0.9 (TP), 0.55 (TP); 0.5 is not > 0.5
    counts = (result.true_positives, result.false_positives, result.true_negatives, result.false_negatives)
    assert counts == (2, 1, 2, 1)
    assert (result.precision, result.recall) == pytest.approx((2 / 3, 2 / 3))
    assert result.f1 == pytest.approx(2 / 3)


@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=40),
    st.floats(0, 1),
)
def test_agrees_with_sklearn(pairs: list[tuple[float, bool]], threshold: float) -> None:
    scores = np.array([s for s, _ in pairs])
    truth = np.array([t for _, t in pairs])
    result = classify_at(threshold, scores, truth)
    predicted = scores > threshold
    assert result.precision == pytest.approx(precision_score(truth, predicted, zero_division=0))
    assert result.recall == pytest.approx(recall_score(truth, predicted, zero_division=0))
    assert result.f1 == pytest.approx(f1_score(truth, predicted, zero_division=0))


def test_nothing_flagged_scores_zero() -> None:
    result = classify_at(10.0, [0.1, 0.2], np.array([False, True]))
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        calibrate_threshold([])
    with pytest.raises(ValueError, match="quantile"):
        calibrate_threshold([1.0], quantile=0)
    with pytest.raises(ValueError, match="one label per image"):
        classify_at(0.5, [0.1, 0.2], np.array([True]))
    with pytest.raises(ValueError, match="booleans"):
        classify_at(0.5, [0.1, 0.2], np.array([0, 1]))
    with pytest.raises(ValueError, match="finite"):
        classify_at(float("nan"), [0.1], np.array([True]))

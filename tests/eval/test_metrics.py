"""Image AUROC: hand-computed cases, agreement with the rank definition, input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dire_dsl.eval.metrics import (
    GOOD,
    LOGICAL,
    STRUCTURAL,
    _auroc_statistic,
    auroc_interval,
    image_auroc,
    image_roc_curve,
    image_scores,
    loco_image_auroc,
)


@pytest.mark.parametrize(
    ("good", "bad", "expected"),
    [([0.2], [0.8], 1.0), ([0.8], [0.2], 0.0), ([0.5], [0.5], 0.5)],
)
def test_two_images(good: list[float], bad: list[float], expected: float) -> None:
    assert image_auroc(good, bad) == expected


def test_hand_computed_three_by_three() -> None:
    # Pairs (anomalous > good): 0.25 beats 0.1, 0.2; 0.4 beats all three; 0.05 beats none → 5/9.
    assert image_auroc([0.1, 0.2, 0.3], [0.25, 0.4, 0.05]) == pytest.approx(5 / 9)


def _pairwise_auroc(good: list[float], bad: list[float]) -> float:
    wins = sum((b > g) + 0.5 * (b == g) for g in good for b in bad)
    return wins / (len(good) * len(bad))


small_scores = st.lists(st.integers(0, 6).map(float), min_size=1, max_size=12)


@given(good=small_scores, bad=small_scores)
def test_matches_pairwise_definition_with_ties(good: list[float], bad: list[float]) -> None:
    assert image_auroc(good, bad) == pytest.approx(_pairwise_auroc(good, bad))


@given(good=st.lists(st.integers(0, 6).map(float), min_size=2, max_size=12),
       bad=st.lists(st.integers(0, 6).map(float), min_size=2, max_size=12))
def test_bootstrap_statistic_is_the_auroc_and_the_interval_holds_it(good: list[float], bad: list[float]) -> None:
    assert float(_auroc_statistic(np.array(good), np.array(bad))) == pytest.approx(_pairwise_auroc(good, bad))
    low, high = auroc_interval(good, bad, resamples=200)
    assert 0.0 <= low <= image_auroc(good, bad) <= high <= 1.0


def test_perfect_separation_has_no_spread_and_one_image_gives_no_interval() -> None:
    assert auroc_interval([0.0, 0.1, 0.2], [5.0, 6.0]) == (1.0, 1.0)
    assert auroc_interval([0.0], [5.0, 6.0]) is None


def test_interval_is_seeded_and_narrows_with_more_images() -> None:
    rng = np.random.default_rng(3)
    few = rng.normal(0, 1, 20), rng.normal(1.5, 1, 20)
    many = rng.normal(0, 1, 800), rng.normal(1.5, 1, 800)
    assert auroc_interval(*few) == auroc_interval(*few)
    (low_few, high_few), (low_many, high_many) = auroc_interval(*few), auroc_interval(*many)
    assert high_many - low_many < (high_few - low_few) / 3  # ~1/sqrt(40) as wide
    true_auroc = 0.855  # Φ(1.5 / √2) for two unit normals 1.5 apart
    assert low_many < true_auroc < high_many


def test_image_score_is_map_max() -> None:
    maps = [np.array([[0.0, 0.3], [0.1, 0.2]]), np.full((3, 1), -1.0)]
    np.testing.assert_array_equal(image_scores(maps), [0.3, -1.0])


def test_loco_auroc_per_kind_and_mean() -> None:
    scores = [0.1, 0.2, 0.9, 0.15, 0.3, 0.05]
    splits = [GOOD, GOOD, LOGICAL, LOGICAL, STRUCTURAL, STRUCTURAL]
    result = loco_image_auroc(scores, splits)
    assert result.logical == pytest.approx(0.75)  # 0.9 beats both; 0.15 beats 0.1 only
    assert result.structural == pytest.approx(0.5)  # 0.3 beats both; 0.05 beats none
    assert result.mean == pytest.approx(0.625)


def test_missing_kind_gives_none_and_no_mean() -> None:
    result = loco_image_auroc([0.1, 0.9], [GOOD, LOGICAL])
    assert (result.logical, result.structural, result.mean) == (1.0, None, None)


def test_roc_curve_matches_auroc() -> None:
    good, bad = [0.1, 0.4, 0.35, 0.8], [0.8, 0.9, 0.2]
    curve = image_roc_curve(good, bad)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(image_auroc(good, bad))
    assert curve.fpr[0] == 0 and curve.fpr[-1] == 1


@pytest.mark.parametrize(
    ("scores", "splits", "message"),
    [
        ([0.1, 0.2], [GOOD], "one label per image"),
        ([0.1, 0.2], [GOOD, "logical"], "unknown split"),
        ([0.1, 0.2], [LOGICAL, STRUCTURAL], "no 'good' images"),
        ([0.1, 0.2], [GOOD, GOOD], "no anomalous images"),
        ([0.1, float("nan")], [GOOD, LOGICAL], "NaN"),
        ([], [], "empty"),
    ],
)
def test_bad_input_is_a_clear_error(scores: list[float], splits: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        loco_image_auroc(scores, splits)


def test_image_scores_rejects_non_2d_maps() -> None:
    with pytest.raises(ValueError, match="2-D"):
        image_scores([np.zeros(4)])
    with pytest.raises(ValueError, match="no anomaly maps"):
        image_scores([])

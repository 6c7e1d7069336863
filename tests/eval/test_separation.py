"""Separation: hand-computed d' and gaps, and the warnings that catch useless scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dire_dsl.eval.separation import COLLAPSED, SATURATED, ZERO_NORMAL_SPREAD, separation


def codes(warnings: tuple[str, ...]) -> set[str]:
    return {w.split(":", 1)[0] for w in warnings}


def test_hand_computed() -> None:
    # Normals 1, 3: mean 2, population std 1. Anomalies 5, 9: mean 7 → d' = 5.
    result = separation([1.0, 3.0], [5.0, 9.0])
    assert result.d_prime == pytest.approx(5.0)
    assert result.gap == pytest.approx(2.0)  # 5 − 3
    assert result.relative_gap == pytest.approx(2.0 / 8.0)  # range 1..9
    assert (result.mean_normal, result.std_normal, result.mean_anomaly) == (2.0, 1.0, 7.0)
    assert (result.n_normal, result.n_anomaly, result.warnings) == (2, 2, ())


def test_overlap_gives_negative_gap() -> None:
    result = separation([0.1, 0.5, 0.3], [0.4, 0.9])
    assert result.gap == pytest.approx(-0.1)
    assert result.relative_gap == pytest.approx(-0.1 / 0.8)


def test_good_auroc_with_tiny_spread_is_flagged_collapsed() -> None:
    # Perfectly ordered, yet every score lies within 3e-6 of 0.5.
    rng = np.random.default_rng(0)
    normal = 0.5 + rng.uniform(0, 1e-6, 50)
    anomaly = 0.5 + rng.uniform(2e-6, 3e-6, 50)
    result = separation(normal, anomaly)
    assert result.gap > 0 and result.d_prime > 5  # scale-free numbers look excellent...
    assert codes(result.warnings) == {COLLAPSED}  # ...which is why the warning exists
    assert result.warnings[0].startswith("collapsed: score spread 2.99e-06")


def test_saturated_scores_are_flagged() -> None:
    normal = [0.1, 0.2, 0.3, 1.0, 1.0]
    anomaly = [1.0, 1.0, 1.0, 0.9, 0.95]
    result = separation(normal, anomaly)
    assert SATURATED in codes(result.warnings)
    assert "50% of scores (5/10) equal 1" in result.warnings[0]


def test_constant_normals_give_infinite_d_prime_with_warning() -> None:
    result = separation([0.2, 0.2, 0.2], [0.7, 0.8])
    assert result.d_prime == math.inf
    assert ZERO_NORMAL_SPREAD in codes(result.warnings)
    assert separation([0.2, 0.2], [0.1]).d_prime == -math.inf


def test_everything_equal_is_nan_and_says_so() -> None:
    result = separation([1.0, 1.0], [1.0])
    assert math.isnan(result.d_prime) and math.isnan(result.relative_gap)
    assert codes(result.warnings) == {COLLAPSED, SATURATED, ZERO_NORMAL_SPREAD}


def test_all_zero_scores_are_collapsed() -> None:
    assert COLLAPSED in codes(separation([0.0, 0.0], [0.0]).warnings)


scores = st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30)


@given(normal=scores, anomaly=scores, scale=st.floats(0.01, 100), shift=st.floats(-100, 100))
def test_d_prime_is_invariant_to_affine_rescaling(normal: list[float], anomaly: list[float], scale: float,
                                                  shift: float) -> None:
    before = separation(normal, anomaly)
    after = separation(np.array(normal) * scale + shift, np.array(anomaly) * scale + shift)
    if before.std_normal > 1e-3 and after.std_normal > 1e-3:
        assert after.d_prime == pytest.approx(before.d_prime, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize(
    ("normal", "anomaly", "message"),
    [([], [1.0], "empty"), ([1.0], [float("inf")], "NaN/inf"), ([[1.0]], [1.0], "1-D")],
)
def test_bad_input_is_a_clear_error(normal: list[float], anomaly: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        separation(normal, anomaly)

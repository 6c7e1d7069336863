"""AU-sPRO: hand-computed 4×4 cases, a literal slow reference, properties, input errors."""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dire_dsl.eval.spro import (
    FPR_LIMITS,
    DefectConfig,
    DefectRegion,
    area_under_curve,
    au_spro,
    loco_au_spro,
    parse_defects_config,
    spro_curve,
)

RELATIVE_HALF = DefectConfig("half", 1, 0.5, True)
RELATIVE_FULL = DefectConfig("full", 2, 1.0, True)
ABSOLUTE_3 = DefectConfig("three px", 3, 3, False)
ABSOLUTE_10 = DefectConfig("ten px", 4, 10, False)


def four_by_four() -> tuple[np.ndarray, np.ndarray]:
    """Defect = top row, scores 9 8 5 1; free pixels 10, 7, 4 and nine zeros.

    Descending: 10(free) 9(d) 8(d) 7(free) 5(d) 4(free) 1(d) 0(free×9); 12 free pixels.
    """
    anomaly_map = np.zeros((4, 4))
    anomaly_map[0] = [9, 8, 5, 1]
    anomaly_map[1, :3] = [10, 7, 4]
    mask = np.zeros((4, 4), dtype=bool)
    mask[0] = True
    return anomaly_map, mask


# Hand-worked curves (FPR in twelfths):
# relative 0.5  → saturation 2: (0,0) (1,0) (1,½) (1,1) … → area to 1 = 11/12.
# relative 1.0  → saturation 4: steps ¼ at 9, 8, 5, 1 → (½ + ¾ + 9)/12 = 41/48;
#                 to FPR 0.2 (= 2.4/12): (½ + ¾ × 0.4)/12 / 0.2 = 1/3.
# absolute 3    → saturation 3: ⅓ at 9, ⅔ at 8, 1 at 5 → (⅔ + 10)/12 = 8/9.
# absolute 10   → min(10, 4) = 4 px, the same as relative 1.0.
@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (RELATIVE_HALF, {0.05: 0.0, 0.1: (0.1 - 1 / 12) / 0.1, 1.0: 11 / 12}),
        (RELATIVE_FULL, {0.05: 0.0, 0.1: 0.5 * (0.1 - 1 / 12) / 0.1, 0.2: 1 / 3, 1.0: 41 / 48}),
        (ABSOLUTE_3, {0.1: (2 / 3) * (0.1 - 1 / 12) / 0.1, 1.0: 8 / 9}),
        (ABSOLUTE_10, {0.2: 1 / 3, 1.0: 41 / 48}),
    ],
)
def test_four_by_four_by_hand(config: DefectConfig, expected: dict[float, float]) -> None:
    anomaly_map, mask = four_by_four()
    result = au_spro([anomaly_map], [[DefectRegion(mask, config)]], limits=tuple(expected))
    assert result == pytest.approx(expected, abs=1e-12)


def test_integer_maps_give_the_same_result() -> None:
    anomaly_map, mask = four_by_four()
    anomaly_map[0, 3] = 0  # a zero inside the region: unsigned negation would rank it first
    regions = [[DefectRegion(mask, RELATIVE_HALF)]]
    as_uint8 = au_spro([anomaly_map.astype(np.uint8)], regions)
    assert as_uint8 == pytest.approx(au_spro([anomaly_map], regions), abs=1e-12)
    assert as_uint8[1.0] == pytest.approx(11 / 12)


def test_tie_between_free_and_defect_pixel_is_a_diagonal() -> None:
    # Defect (area 2, saturation 2) scores 3 and 1; free scores 3 and 0. At 3 the FPR and
    # sPRO rise together to (½, ½); the value at limit 0.25 is interpolated on that diagonal.
    anomaly_map = np.array([[3.0, 1.0, 3.0, 0.0]])
    mask = np.array([[True, True, False, False]])
    result = au_spro([anomaly_map], [[DefectRegion(mask, RELATIVE_FULL)]], limits=(0.25, 1.0))
    assert result == pytest.approx({0.25: 0.125, 1.0: 0.625})


def test_regions_are_never_merged_and_fpr_counts_good_images() -> None:
    # Region A = 1 px scoring 5, region B = 3 px scoring 1; free 3 and 0, plus a good image
    # with one 4 and five −1. Separate regions: mean sPRO ½ at 5, so the curve is
    # (0,0) (0,½) (⅛,½) (¼,½) (¼,1) (1,1) → area 0.875; merged it would be 0.8125.
    anomalous = np.array([[5.0, 1, 1, 1, 3, 0]])
    good = np.array([[4.0, -1, -1, -1, -1, -1]])
    a = np.array([[1, 0, 0, 0, 0, 0]], dtype=np.uint8) * 255
    b = np.array([[0, 1, 1, 1, 0, 0]], dtype=np.uint8) * 255
    regions = [DefectRegion(a > 0, RELATIVE_FULL), DefectRegion(b > 0, RELATIVE_FULL)]
    separate = au_spro([anomalous, good], [regions, []], limits=(0.25, 1.0))
    assert separate == pytest.approx({0.25: 0.5, 1.0: 0.875})
    merged = au_spro([anomalous, good], [[DefectRegion((a | b) > 0, RELATIVE_FULL)], []], limits=(1.0,))
    assert merged[1.0] == pytest.approx(0.25 * 0.25 + 0.75)


def test_curve_runs_from_origin_to_one() -> None:
    anomaly_map, mask = four_by_four()
    curve = spro_curve([anomaly_map], [[DefectRegion(mask, RELATIVE_FULL)]])
    assert (curve.fpr[0], curve.spro[0], curve.fpr[-1], curve.spro[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.spro) >= 0)
    assert curve.n_regions == 1


# --- A literal, slow reference: the official definition, one threshold at a time. ---


def saturation_area(config: DefectConfig, area: int) -> float:
    if config.relative_saturation:
        return max(1.0, math.floor(config.saturation_threshold * area))
    return max(1.0, min(config.saturation_threshold, area))


def reference_au_spro(maps: list[np.ndarray], regions: list[list[DefectRegion]], limit: float) -> float:
    scores = np.concatenate([m.ravel() for m in maps])
    thresholds = [scores.max() + 1, *np.unique(scores)[::-1], scores.min() - 1]
    free = [~np.any([r.mask for r in rs], axis=0) if rs else np.ones(m.shape, bool) for m, rs in zip(maps, regions)]
    n_free = sum(int(f.sum()) for f in free)
    fprs, spros = [], []
    for t in thresholds:
        positive = [m > t for m in maps]
        fprs.append(sum(int((p & f).sum()) for p, f in zip(positive, free)) / n_free)
        per_region = [
            min((p & r.mask).sum() / saturation_area(r.config, int(r.mask.sum())), 1.0)
            for p, rs in zip(positive, regions)
            for r in rs
        ]
        spros.append(float(np.mean(per_region)))
    end = bisect_right(fprs, limit)
    xs, ys = fprs[:end], spros[:end]
    if xs[-1] < limit:
        x0, x1, y0, y1 = fprs[end - 1], fprs[end], spros[end - 1], spros[end]
        xs, ys = [*xs, limit], [*ys, y0 + (y1 - y0) * (limit - x0) / (x1 - x0)]
    return float(np.trapezoid(ys, xs)) / limit


CONFIGS = [RELATIVE_HALF, RELATIVE_FULL, ABSOLUTE_3, ABSOLUTE_10, DefectConfig("quarter", 5, 0.25, True)]


@st.composite
def evaluation_sets(draw: st.DrawFn) -> tuple[list[np.ndarray], list[list[DefectRegion]]]:
    height, width = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    maps, regions = [], []
    for _ in range(draw(st.integers(1, 4))):
        values = draw(st.lists(st.integers(0, 6), min_size=height * width, max_size=height * width))
        maps.append(np.array(values, dtype=np.float64).reshape(height, width))
        image_regions = []
        for _ in range(draw(st.integers(0, 2))):
            cells = draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width))
            mask = np.array(cells).reshape(height, width)
            assume(mask.any())
            image_regions.append(DefectRegion(mask, draw(st.sampled_from(CONFIGS))))
        regions.append(image_regions)
    assume(any(regions))
    assume(any(not np.any([r.mask for r in rs], axis=0).all() if rs else True for rs in regions))
    return maps, regions


property_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@pytest.mark.filterwarnings("ignore:defect .* below 1 px")
@property_settings
@given(data=evaluation_sets())
def test_agrees_with_literal_reference(data: tuple[list[np.ndarray], list[list[DefectRegion]]]) -> None:
    maps, regions = data
    result = au_spro(maps, regions, limits=(*FPR_LIMITS, 0.37))
    for limit, value in result.items():
        assert value == pytest.approx(reference_au_spro(maps, regions, limit), abs=1e-9)


@pytest.mark.filterwarnings("ignore:defect .* below 1 px")
@property_settings
@given(data=evaluation_sets())
def test_bounded_monotone_and_rank_only(data: tuple[list[np.ndarray], list[list[DefectRegion]]]) -> None:
    maps, regions = data
    result = au_spro(maps, regions)
    values = [result[limit] for limit in sorted(result)]
    assert all(-1e-12 <= v <= 1 + 1e-12 for v in values)
    # sPRO never falls as the FPR grows, so its mean over [0, limit] never falls either.
    assert all(a <= b + 1e-12 for a, b in zip(values, values[1:]))
    # Only the order of scores matters.
    transformed = au_spro([np.exp(m / 2) * 3 - 7 for m in maps], regions)
    assert transformed == pytest.approx(result, abs=1e-12)


def test_area_under_curve_interpolates_like_the_official_trapezoid() -> None:
    fpr, values = np.array([0.0, 0.5, 0.5, 1.0]), np.array([0.0, 0.2, 0.6, 1.0])
    assert area_under_curve(fpr, values, 1.0) == pytest.approx(0.05 + 0.4)
    assert area_under_curve(fpr, values, 0.5) == pytest.approx(0.05 / 0.5)
    # At 0.75: y = 0.8 between (0.5, 0.6) and (1, 1); vertical step at 0.5 adds nothing.
    assert area_under_curve(fpr, values, 0.75) == pytest.approx((0.05 + 0.25 * 0.7) / 0.75)


@pytest.mark.parametrize("limit", [0.0, -0.1, 1.5])
def test_area_rejects_bad_limits(limit: float) -> None:
    with pytest.raises(ValueError, match="limit"):
        area_under_curve(np.array([0.0, 1.0]), np.array([0.0, 1.0]), limit)


def test_saturation_area_rules() -> None:
    assert RELATIVE_HALF.saturation_area(7) == 3  # floor(3.5), as the official int(...)
    assert ABSOLUTE_10.saturation_area(4) == 4 and ABSOLUTE_3.saturation_area(40) == 3
    with pytest.warns(UserWarning, match="below 1 px"):
        assert RELATIVE_HALF.saturation_area(1) == 1


def test_parse_defects_config_and_channels() -> None:
    configs = parse_defects_config(
        [
            {"defect_name": "missing", "pixel_value": 255, "saturation_threshold": 1200, "relative_saturation": False},
            {"defect_name": "extra", "pixel_value": 200, "saturation_threshold": 1.0, "relative_saturation": True},
        ]
    )
    channel = np.array([[0, 200], [200, 0]], dtype=np.uint8)
    region = DefectRegion.from_channel(channel, configs)
    assert region.config.defect_name == "extra"
    np.testing.assert_array_equal(region.mask, channel > 0)
    with pytest.raises(ValueError, match="exactly one positive value"):
        DefectRegion.from_channel(np.array([[0, 200], [255, 0]]), configs)
    with pytest.raises(ValueError, match="not in defects_config"):
        DefectRegion.from_channel(np.array([[0, 7]]), configs)


@pytest.mark.parametrize(
    "entry",
    [
        {"defect_name": "a", "pixel_value": 1, "saturation_threshold": 1.5, "relative_saturation": True},
        {"defect_name": "a", "pixel_value": 1, "saturation_threshold": 0, "relative_saturation": False},
        {"defect_name": "a", "pixel_value": 0, "saturation_threshold": 0.5, "relative_saturation": True},
        {"defect_name": "a", "pixel_value": 1},
    ],
)
def test_parse_defects_config_rejects_bad_entries(entry: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_defects_config([entry])


def test_input_errors_say_what_to_do() -> None:
    anomaly_map, mask = four_by_four()
    region = DefectRegion(mask, RELATIVE_FULL)
    with pytest.raises(ValueError, match="one .* list per image"):
        au_spro([anomaly_map], [])
    with pytest.raises(ValueError, match="resize"):
        au_spro([anomaly_map], [[DefectRegion(mask[:2], RELATIVE_FULL)]])
    with pytest.raises(ValueError, match="no defect pixel"):
        au_spro([anomaly_map], [[DefectRegion(np.zeros_like(mask), RELATIVE_FULL)]])
    with pytest.raises(ValueError, match="no defect regions"):
        au_spro([anomaly_map], [[]])
    with pytest.raises(ValueError, match="no defect-free pixel"):
        au_spro([anomaly_map], [[DefectRegion(np.ones_like(mask), RELATIVE_FULL)]])
    with pytest.raises(ValueError, match="NaN"):
        au_spro([np.full((4, 4), np.nan)], [[region]])
    with pytest.raises(ValueError, match="no anomaly maps"):
        au_spro([], [])


def loco_case() -> tuple[list[np.ndarray], list[list[DefectRegion]], list[str]]:
    """One good, one logical, one structural 2×3 image; the logical defect scores high, the
    structural one low, and the structural image's free pixels outscore the good image's."""
    good = np.array([[0.0, 1, 2], [3, 4, 5]])
    logical = np.array([[9.0, 8, 0.5], [1.5, 2.5, 3.5]])
    structural = np.array([[6.0, 7, 4.5], [2.2, 5.5, 0.2]])
    top = np.array([[True, True, False], [False, False, False]])
    right = np.array([[False, False, True], [False, True, False]])
    regions = [[], [DefectRegion(top, RELATIVE_FULL)], [DefectRegion(right, ABSOLUTE_3)]]
    return [good, logical, structural], regions, ["good", "logical_anomalies", "structural_anomalies"]


def test_loco_au_spro_is_per_kind_with_the_good_images_like_mvtec() -> None:
    maps, regions, splits = loco_case()
    result = loco_au_spro(maps, regions, splits, limits=(0.3, 1.0))
    # MVTec's definition: one curve over good + logical, one over good + structural, then their mean.
    for limit in (0.3, 1.0):
        logical = reference_au_spro(maps[:2], regions[:2], limit)
        structural = reference_au_spro([maps[0], maps[2]], [regions[0], regions[2]], limit)
        assert result.logical[limit] == pytest.approx(logical, abs=1e-12)
        assert result.structural[limit] == pytest.approx(structural, abs=1e-12)
        assert result.mean[limit] == pytest.approx((logical + structural) / 2, abs=1e-12)
        # One curve over all three images (what `dire eval` used to report) is another number.
        assert abs(reference_au_spro(maps, regions, limit) - result.mean[limit]) > 0.01


def test_loco_au_spro_without_one_kind_has_no_mean() -> None:
    maps, regions, splits = loco_case()
    result = loco_au_spro(maps[:2], regions[:2], splits[:2])
    assert result.structural is None and result.mean is None
    assert result.logical == pytest.approx(au_spro(maps[:2], regions[:2]), abs=1e-12)
    with pytest.raises(ValueError, match="unknown split"):
        loco_au_spro(maps, regions, ["good", "logical", "structural"])
    with pytest.raises(ValueError, match="one label per image"):
        loco_au_spro(maps, regions, splits[:2])
    with pytest.raises(ValueError, match="no defect regions"):
        loco_au_spro(maps, [[], [], []], splits)

"""AU-sPRO, the localization metric of MVTec LOCO, computed exactly.

sPRO of one defect region at a threshold = min(TP area / saturation area, 1): a missing
object's mask covers everywhere it could be, so hitting one object's worth of it counts as
full overlap. The curve is the mean sPRO over all regions of all images against the FPR over
the defect-free pixels of all test images; AU-sPRO is its area up to an FPR limit, divided
by the limit.

The official script samples thresholds and refines them where the curve jumps; here every distinct
score is a threshold, which is the curve the official one converges to. One sort of the
defect-free scores plus one of the weighted defect pixels makes it O(N log N).

MVTec LOCO reports AU-sPRO per anomaly kind (`loco_au_spro`): one curve over the good and the
logical images, one over the good and the structural images, and the mean of the two. A
single curve over all test images is a different, lower number (every good pixel counts
once, but the regions of both kinds share one mean) and is not comparable with papers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dire_dsl.eval.metrics import GOOD, LOGICAL, SPLITS, STRUCTURAL

FPR_LIMITS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.3, 1.0)
"""The official limits; papers report the mean of `loco_au_spro` at 0.05."""


@dataclass(frozen=True)
class DefectConfig:
    """One entry of a category's defects_config.json."""

    defect_name: str
    pixel_value: int
    saturation_threshold: float
    relative_saturation: bool

    def __post_init__(self) -> None:
        if not 1 <= self.pixel_value <= 255:
            raise ValueError(f"defect '{self.defect_name}': pixel_value {self.pixel_value} is outside 1..255")
        if self.relative_saturation and not 0 < self.saturation_threshold <= 1:
            raise ValueError(
                f"defect '{self.defect_name}': a relative saturation_threshold must lie in (0, 1], "
                f"got {self.saturation_threshold}"
            )
        if not self.relative_saturation and not self.saturation_threshold > 0:
            raise ValueError(
                f"defect '{self.defect_name}': an absolute saturation_threshold is a pixel count > 0, "
                f"got {self.saturation_threshold}"
            )

    def saturation_area(self, defect_area: int) -> float:
        """Area at which sPRO reaches 1: floor(threshold × area) relative, min(threshold, area) absolute.

        The floor is the official `int(...)`; an area of 0 pixels (a tiny region under a
        small relative threshold) is raised to 1 pixel, where the official code divides by 0.
        """
        if self.relative_saturation:
            area = float(math.floor(self.saturation_threshold * defect_area))
        else:
            area = float(min(self.saturation_threshold, defect_area))
        if area < 1:
            warnings.warn(
                f"defect '{self.defect_name}': saturation area {area:g} for a region of {defect_area} px "
                "is below 1 px; using 1 px (the official script would divide by zero)",
                stacklevel=2,
            )
            return 1.0
        return area


def parse_defects_config(entries: Sequence[Mapping[str, Any]]) -> dict[int, DefectConfig]:
    """Parse the list in defects_config.json into pixel_value → DefectConfig."""
    configs: dict[int, DefectConfig] = {}
    for entry in entries:
        missing = {"defect_name", "pixel_value", "saturation_threshold", "relative_saturation"} - set(entry)
        if missing:
            raise ValueError(f"defects_config entry {dict(entry)} lacks {sorted(missing)}")
        config = DefectConfig(
            defect_name=str(entry["defect_name"]),
            pixel_value=int(entry["pixel_value"]),
            saturation_threshold=float(entry["saturation_threshold"]),
            relative_saturation=bool(entry["relative_saturation"]),
        )
        if config.pixel_value in configs:
            raise ValueError(f"defects_config lists pixel_value {config.pixel_value} twice")
        configs[config.pixel_value] = config
    if not configs:
        raise ValueError("defects_config is empty; it must list every defect type")
    return configs


@dataclass(frozen=True, eq=False)
class DefectRegion:
    """One ground-truth channel: one defect region, never merged with its image's others."""

    mask: np.ndarray
    config: DefectConfig

    @classmethod
    def from_channel(cls, channel: np.ndarray, configs: Mapping[int, DefectConfig]) -> DefectRegion:
        """Build a region from a ground-truth PNG's array (0 = background, one pixel_value > 0)."""
        values = np.unique(np.asarray(channel))
        positive = values[values > 0]
        if positive.size != 1:
            raise ValueError(
                f"a ground-truth channel must hold exactly one positive value, found {positive.tolist()}; "
                "resize masks with nearest-neighbour interpolation and keep one file per defect"
            )
        value = int(positive[0])
        if value not in configs:
            raise ValueError(f"pixel value {value} is not in defects_config (known: {sorted(configs)})")
        return cls(mask=np.asarray(channel) > 0, config=configs[value])


@dataclass(frozen=True)
class SproCurve:
    """Mean sPRO against FPR, both ascending, from (0, 0) to (1, 1)."""

    fpr: np.ndarray
    spro: np.ndarray
    n_regions: int


def spro_curve(anomaly_maps: Sequence[np.ndarray], regions: Sequence[Sequence[DefectRegion]]) -> SproCurve:
    """The sPRO-vs-FPR curve; `regions[i]` lists image i's defect regions (empty for good images).

    Pixel p is predicted anomalous at threshold t when score(p) > t, as in the official script.
    """
    if len(anomaly_maps) == 0:
        raise ValueError("no anomaly maps given; pass one 2-D map per test image")
    if len(anomaly_maps) != len(regions):
        raise ValueError(
            f"got {len(anomaly_maps)} anomaly maps but {len(regions)} region lists; "
            "pass one (possibly empty) list per image"
        )
    maps = [_checked_map(m, i) for i, m in enumerate(anomaly_maps)]
    dtype = np.result_type(np.float32, *(m.dtype for m in maps))

    free_parts: list[np.ndarray] = []
    entry_scores: list[np.ndarray] = []
    entry_weights: list[np.ndarray] = []
    for index, (anomaly_map, image_regions) in enumerate(zip(maps, regions)):
        scores = anomaly_map.astype(dtype, copy=False)
        defect = np.zeros(scores.shape, dtype=bool)
        for number, region in enumerate(image_regions):
            mask = _checked_mask(region.mask, scores.shape, index, number)
            defect |= mask
            region_scores, weights = _region_entries(scores[mask], region.config)
            entry_scores.append(region_scores)
            entry_weights.append(weights)
        free_parts.append(scores[~defect])
    n_regions = len(entry_scores)
    if n_regions == 0:
        raise ValueError("no defect regions in any image; AU-sPRO needs anomalous images with masks")

    free = np.concatenate(free_parts)
    free_parts.clear()
    free.sort()
    if free.size == 0:
        raise ValueError("no defect-free pixel in any image; the FPR is undefined")
    levels, spro = _spro_steps(
        np.concatenate(entry_scores), np.concatenate(entry_weights), n_regions
    )
    # Each level opens a vertical (or, where free pixels tie with it, diagonal) step:
    # just above it the FPR counts free scores > level, at it free scores >= level.
    fp_above = free.size - np.searchsorted(free, levels, side="right")
    fp_at = free.size - np.searchsorted(free, levels, side="left")
    fpr = np.empty(2 * levels.size + 2)
    fpr[0], fpr[-1] = 0.0, 1.0
    fpr[1:-1:2] = fp_above / free.size
    fpr[2:-1:2] = fp_at / free.size
    curve = np.empty_like(fpr)
    curve[0] = 0.0
    curve[1:-1:2] = np.concatenate([[0.0], spro[:-1]])
    curve[2:-1:2] = spro
    curve[-1] = spro[-1]
    return SproCurve(fpr=fpr, spro=curve, n_regions=n_regions)


def area_under_curve(fpr: np.ndarray, values: np.ndarray, limit: float) -> float:
    """Trapezoid area under `values` over FPR in [0, limit], divided by `limit`.

    The value at the limit is interpolated linearly between its neighbours, as the official
    `trapezoid` does; points with equal FPR keep their order (vertical steps add no area).
    """
    x = np.asarray(fpr, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(
            f"fpr and values must be equal-length 1-D arrays of ≥ 2 points, got {x.shape} and {y.shape}"
        )
    if not 0 < limit <= 1:
        raise ValueError(f"the FPR limit must lie in (0, 1], got {limit}")
    if x[0] != 0 or x[-1] != 1 or np.any(np.diff(x) < 0):
        raise ValueError("fpr must rise from 0 to 1 without going back")
    end = int(np.searchsorted(x, limit, side="right"))
    area = float(np.sum((y[1:end] + y[: end - 1]) * np.diff(x[:end])) / 2)
    if end < x.size and x[end - 1] < limit:
        x0, x1, y0, y1 = x[end - 1], x[end], y[end - 1], y[end]
        y_limit = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
        area += (y0 + y_limit) * (limit - x0) / 2
    return float(area / limit)


def au_spro(
    anomaly_maps: Sequence[np.ndarray],
    regions: Sequence[Sequence[DefectRegion]],
    limits: Sequence[float] = FPR_LIMITS,
) -> dict[float, float]:
    """AU-sPRO per FPR limit, from one curve."""
    curve = spro_curve(anomaly_maps, regions)
    return {float(limit): area_under_curve(curve.fpr, curve.spro, float(limit)) for limit in limits}


@dataclass(frozen=True)
class LocoAuSpro:
    """MVTec LOCO's localization block: AU-sPRO per FPR limit over good + logical and over
    good + structural images, and their mean.

    A kind is None when the test set has no region of it; `mean` is None unless both kinds
    are present, so it always means what papers report.
    """

    logical: dict[float, float] | None
    structural: dict[float, float] | None
    mean: dict[float, float] | None


def loco_au_spro(
    anomaly_maps: Sequence[np.ndarray],
    regions: Sequence[Sequence[DefectRegion]],
    splits: Sequence[str],
    limits: Sequence[float] = FPR_LIMITS,
) -> LocoAuSpro:
    """AU-sPRO the way MVTec LOCO's evaluation reports it; `splits[i]` is image i's test folder.

    Each kind gets its own curve over its images and the good ones, as in the official
    script; pooling both kinds into one curve gives a different number.
    """
    if len(splits) != len(anomaly_maps):
        raise ValueError(f"got {len(anomaly_maps)} anomaly maps but {len(splits)} split labels; "
                         "pass one label per image")
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise ValueError(f"unknown split label(s) {unknown}; expected one of {list(SPLITS)}")

    def kind(name: str) -> dict[float, float] | None:
        chosen = [i for i, split in enumerate(splits) if split in (GOOD, name)]
        if not any(regions[i] for i in chosen if splits[i] == name):
            return None
        return au_spro([anomaly_maps[i] for i in chosen], [regions[i] for i in chosen], limits)

    logical, structural = kind(LOGICAL), kind(STRUCTURAL)
    if logical is None and structural is None:
        raise ValueError("no defect regions in any anomalous image; AU-sPRO needs anomalous images with masks")
    mean = None if logical is None or structural is None else \
        {limit: (logical[limit] + structural[limit]) / 2 for limit in logical}
    return LocoAuSpro(logical=logical, structural=structural, mean=mean)


def _region_entries(scores: np.ndarray, config: DefectConfig) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a region's pixels that raise its sPRO, with how much each raises it.

    Ranked from the highest score, pixel k raises the region's sPRO by
    min(k/s, 1) − min((k−1)/s, 1) for saturation area s; pixels past saturation add nothing
    and are dropped. Within tied scores the order does
    not matter, since tied pixels cross every threshold together.
    """
    saturation = config.saturation_area(scores.size)
    count = min(scores.size, math.ceil(saturation))
    top = -np.partition(-scores, count - 1)[:count] if count < scores.size else scores
    reached = np.minimum(np.arange(count + 1) / saturation, 1.0)
    return np.sort(top)[::-1], np.diff(reached)


def _spro_steps(scores: np.ndarray, weights: np.ndarray, n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct defect scores, descending, and the mean sPRO once each is reached."""
    order = np.argsort(-scores, kind="stable")
    scores, weights = scores[order], weights[order]
    totals = np.cumsum(weights) / n_regions
    last_of_level = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    return scores[last_of_level], np.minimum(totals[last_of_level], 1.0)


def _checked_map(anomaly_map: np.ndarray, index: int) -> np.ndarray:
    values = np.asarray(anomaly_map)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"anomaly map {index} must be a non-empty 2-D array, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise ValueError(f"anomaly map {index} must hold real numbers, got dtype {values.dtype}")
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise ValueError(f"anomaly map {index} has {bad} NaN/inf value(s); fix the model output first")
    return values


def _checked_mask(mask: np.ndarray, shape: tuple[int, ...], index: int, number: int) -> np.ndarray:
    values = np.asarray(mask)
    if values.shape != shape:
        raise ValueError(
            f"region {number} of image {index} has shape {values.shape} but its anomaly map has {shape}; "
            "resize the mask (nearest neighbour) or the map so they match"
        )
    defect = values > 0
    if not defect.any():
        raise ValueError(
            f"region {number} of image {index} has no defect pixel; if downscaling erased it, "
            "evaluate at a larger size, otherwise drop the empty channel"
        )
    return defect

"""Image-level AUROC, computed the way MVTec LOCO's official evaluation computes it.

The official script sees only the anomaly maps, so the image score is the max of the map;
a method with a separate image-level score must fold it into the map before it counts.
AUROC is reported for good vs logical and good vs structural, and their mean, each kind
with a bootstrap confidence interval: on a test set of 40 good images one good image that
outscores every anomaly costs 0.025, so the interval says how far a number can be trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import bootstrap, rankdata
from sklearn.metrics import roc_auc_score, roc_curve

from dire_dsl.scores import Scores, validate_scores

GOOD = "good"
LOGICAL = "logical_anomalies"
STRUCTURAL = "structural_anomalies"
SPLITS = (GOOD, LOGICAL, STRUCTURAL)

def image_scores(anomaly_maps: Sequence[np.ndarray]) -> np.ndarray:
    """Image score = max of each anomaly map, exactly as the official script reads a TIFF."""
    if len(anomaly_maps) == 0:
        raise ValueError("no anomaly maps given; pass one 2-D map per test image")
    maxima = []
    for index, anomaly_map in enumerate(anomaly_maps):
        values = np.asarray(anomaly_map)
        if values.ndim != 2 or values.size == 0:
            raise ValueError(f"anomaly map {index} must be a non-empty 2-D array, got shape {values.shape}")
        maxima.append(float(values.max()))
    return validate_scores(maxima, "image scores (max of each map)")


def image_auroc(good_scores: Scores, anomalous_scores: Scores) -> float:
    """Area under the ROC curve, anomalous = positive; ties count one half (scikit-learn)."""
    good = validate_scores(good_scores, "good scores")
    bad = validate_scores(anomalous_scores, "anomalous scores")
    labels = np.concatenate([np.zeros(good.size), np.ones(bad.size)])
    return float(roc_auc_score(labels, np.concatenate([good, bad])))


def _auroc_statistic(good: np.ndarray, anomalous: np.ndarray, axis: int = -1) -> np.ndarray:
    """AUROC along `axis` (Mann–Whitney U over n_good · n_anomalous, ties one half), vectorised
    over the bootstrap's resamples and in O(n) memory per resample, unlike pairwise comparison."""
    ranks = rankdata(np.concatenate([good, anomalous], axis=axis), axis=axis)
    n_good, n_anomalous = good.shape[axis], anomalous.shape[axis]
    rank_sum = np.take(ranks, np.arange(n_good, n_good + n_anomalous), axis=axis).sum(axis=axis)
    return (rank_sum - n_anomalous * (n_anomalous + 1) / 2) / (n_good * n_anomalous)


def auroc_interval(good_scores: Scores, anomalous_scores: Scores, level: float = 0.95, resamples: int = 2000,
                   seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the image AUROC (scipy.stats.bootstrap); None when a
    class has a single image, which no resampling can say anything about.

    Good and anomalous images are resampled separately, so every resample keeps the test
    set's class sizes. Seeded: the same scores always give the same interval.
    """
    good = validate_scores(good_scores, "good scores")
    bad = validate_scores(anomalous_scores, "anomalous scores")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    if min(good.size, bad.size) < 2:
        return None
    result = bootstrap((good, bad), _auroc_statistic, n_resamples=resamples, vectorized=True, paired=False,
                       confidence_level=level, method="percentile", rng=np.random.default_rng(seed))
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


@dataclass(frozen=True)
class RocCurve:
    """Points of an image-level ROC curve, for plots; `thresholds[i]` gives (fpr[i], tpr[i])."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def image_roc_curve(good_scores: Scores, anomalous_scores: Scores) -> RocCurve:
    """Full ROC curve (no point dropped), anomalous = positive."""
    good = validate_scores(good_scores, "good scores")
    bad = validate_scores(anomalous_scores, "anomalous scores")
    labels = np.concatenate([np.zeros(good.size), np.ones(bad.size)])
    fpr, tpr, thresholds = roc_curve(labels, np.concatenate([good, bad]), drop_intermediate=False)
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds)


@dataclass(frozen=True)
class LocoAuroc:
    """The official classification block; None where the test set lacks that anomaly kind.

    `mean` is None unless both kinds are present, so it always means what papers report.
    """

    logical: float | None
    structural: float | None
    mean: float | None


def loco_image_auroc(scores: Scores, splits: Sequence[str]) -> LocoAuroc:
    """AUROC of good vs logical and good vs structural; `splits[i]` is image i's test folder."""
    values = validate_scores(scores, "image scores")
    labels = np.asarray(splits, dtype=object)
    if labels.shape != values.shape:
        raise ValueError(f"got {values.size} scores but {labels.size} split labels; pass one label per image")
    unknown = sorted(set(labels.tolist()) - set(SPLITS))
    if unknown:
        raise ValueError(f"unknown split label(s) {unknown}; expected one of {list(SPLITS)}")
    good = values[labels == GOOD]
    if good.size == 0:
        raise ValueError(f"no '{GOOD}' images; AUROC needs defect-free test images")

    def versus(kind: str) -> float | None:
        anomalous = values[labels == kind]
        return image_auroc(good, anomalous) if anomalous.size else None

    logical, structural = versus(LOGICAL), versus(STRUCTURAL)
    if logical is None and structural is None:
        raise ValueError("no anomalous images; AUROC needs logical or structural anomalies")
    mean = (logical + structural) / 2 if logical is not None and structural is not None else None
    return LocoAuroc(logical=logical, structural=structural, mean=mean)

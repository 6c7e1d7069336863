"""How far apart normal and anomalous scores are, not only in which order.

AUROC only ranks: 80% AUROC with every score within 3e-6 of every other is a detector no
threshold can use, and a tiny numeric change reorders it. d' and the relative gap measure the
distance; the warnings flag score distributions that make any of these numbers meaningless.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from dire_dsl.scores import Scores, validate_scores

COLLAPSED = "collapsed"
SATURATED = "saturated"
ZERO_NORMAL_SPREAD = "zero-normal-spread"

_NUMERIC_RELATIVE_EPS = 1e-12
"""Below this share of the largest |score|, a std is rounding noise and d' is undefined."""


class Separation(BaseModel):
    """d' = (mean anomaly − mean normal) / std normal; gap = min anomaly − max normal.

    A positive gap means one threshold separates the two sets perfectly; `relative_gap` is
    the gap over the range of all scores. `warnings` hold "code: message" strings with the
    stable codes COLLAPSED, SATURATED and ZERO_NORMAL_SPREAD. The one declaration of these
    numbers: `dire eval`'s report carries it as is (d' may be ±inf or nan, written as strings).
    """

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="strings")

    d_prime: float
    gap: float
    relative_gap: float
    mean_normal: float
    std_normal: float
    mean_anomaly: float
    n_normal: int
    n_anomaly: int
    warnings: tuple[str, ...]


def separation(
    normal_scores: Scores,
    anomaly_scores: Scores,
    *,
    relative_eps: float = 1e-4,
    absolute_eps: float = 1e-12,
    saturation_share: float = 0.2,
) -> Separation:
    """Measure the separation of two score sets (higher = more anomalous).

    The std is numpy's population std (ddof=0), defined for any non-empty set. A spread
    counts as zero when it is at most max(absolute_eps, relative_eps × largest |score|), so
    the check does not depend on the score's units. Scores are saturated when one value
    holds at least `saturation_share` of all of them. d' is ±inf (nan for equal means) only
    when the normal std is rounding noise; a collapsed but non-zero spread keeps its d',
    which is scale-free, and the COLLAPSED warning says the scale is useless.
    """
    normal = validate_scores(normal_scores, "normal scores")
    anomaly = validate_scores(anomaly_scores, "anomaly scores")
    if not 0 < saturation_share <= 1:
        raise ValueError(f"saturation_share must lie in (0, 1], got {saturation_share}")
    everything = np.concatenate([normal, anomaly])
    largest = float(np.max(np.abs(everything)))
    tolerance = max(absolute_eps, relative_eps * largest)
    spread = float(np.max(everything) - np.min(everything))
    warnings: list[str] = []

    total_std = float(np.std(everything))
    if total_std <= tolerance:
        warnings.append(
            f"{COLLAPSED}: score spread {spread:.3g} (std {total_std:.3g}) is below {tolerance:.3g}; "
            "the scores carry no usable signal whatever the AUROC says"
        )

    values, counts = np.unique(everything, return_counts=True)
    top = int(np.argmax(counts))
    share = counts[top] / everything.size
    if counts[top] > 1 and share >= saturation_share:
        warnings.append(
            f"{SATURATED}: {share:.0%} of scores ({counts[top]}/{everything.size}) equal {values[top]:.6g}; "
            "the score clips or quantizes, so ties decide the ranking"
        )

    mean_normal, mean_anomaly = float(np.mean(normal)), float(np.mean(anomaly))
    std_normal = float(np.std(normal))
    difference = mean_anomaly - mean_normal
    if std_normal <= max(absolute_eps, _NUMERIC_RELATIVE_EPS * largest):
        d_prime = float(np.sign(difference) * np.inf) if difference else float("nan")
        warnings.append(
            f"{ZERO_NORMAL_SPREAD}: normal scores have std {std_normal:.3g}, so d' is {d_prime}; "
            "judge the gap instead, and check the model is not constant on normals"
        )
    else:
        d_prime = difference / std_normal

    gap = float(np.min(anomaly) - np.max(normal))
    relative_gap = gap / spread if spread > 0 else float("nan")
    return Separation(
        d_prime=d_prime,
        gap=gap,
        relative_gap=relative_gap,
        mean_normal=mean_normal,
        std_normal=std_normal,
        mean_anomaly=mean_anomaly,
        n_normal=int(normal.size),
        n_anomaly=int(anomaly.size),
        warnings=tuple(warnings),
    )

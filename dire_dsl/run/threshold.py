"""A decision threshold set from validation normals only, and how it does on the test set.

Rule: the threshold is the `quantile`-th (default 0.99) quantile of the validation normal
scores, taken as an observed score (numpy's "higher" method); an image is anomalous when its
score is strictly above it. So at most 1 − quantile of the validation normals are flagged,
and for up to 100 validation images the threshold is their maximum (expected false
alarm rate on new normals about 1 / (n + 1)). A quantile needs no assumption about the shape
of the score distribution; mean + k·std does, and anomaly scores are rarely Gaussian
(skewed, heavy-tailed, clipped), so its false alarm rate is unknown. The test set and
anomalies never touch the threshold, so the precision, recall and F1 at it are honest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from dire_dsl.scores import Scores, validate_scores

DEFAULT_QUANTILE = 0.99


def calibrate_threshold(
    validation_normal_scores: Scores, quantile: float = DEFAULT_QUANTILE
) -> float:
    """The `quantile` of validation normal scores, as an observed score (see module rule)."""
    scores = validate_scores(validation_normal_scores, "validation normal scores")
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must lie in (0, 1], got {quantile}")
    return float(np.quantile(scores, quantile, method="higher"))


class Classification(BaseModel):
    """Counts and rates at one threshold; anomalous = positive = score > threshold.

    precision is 0 when nothing is flagged and recall is 0 when there is no anomaly
    (scikit-learn's zero_division=0), so an empty prediction never looks good. `dire eval`'s
    report carries it as is.
    """

    model_config = ConfigDict(frozen=True)

    threshold: float
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float


def classify_at(
    threshold: float, scores: Scores, is_anomalous: Sequence[bool] | np.ndarray
) -> Classification:
    """Precision, recall and F1 of `score > threshold` against the ground-truth labels."""
    values = validate_scores(scores, "test scores")
    truth = np.asarray(is_anomalous)
    if truth.shape != values.shape:
        raise ValueError(f"got {values.size} scores but {truth.size} labels; pass one label per image")
    if truth.dtype != bool:
        raise ValueError(f"labels must be booleans (True = anomalous), got dtype {truth.dtype}")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    flagged = values > threshold
    tp = int(np.count_nonzero(flagged & truth))
    fp = int(np.count_nonzero(flagged & ~truth))
    fn = int(np.count_nonzero(~flagged & truth))
    tn = int(values.size - tp - fp - fn)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Classification(threshold=float(threshold), true_positives=tp, false_positives=fp, true_negatives=tn,
                          false_negatives=fn, precision=precision, recall=recall, f1=f1)

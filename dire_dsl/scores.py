"""Score sets as every metric and the decision threshold take them, checked once the same way.

Below both `run` (the threshold is calibrated when a run is trained) and `eval` (the metrics),
so neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Scores = Sequence[float] | np.ndarray


def validate_scores(values: Scores, name: str) -> np.ndarray:
    """Return `values` as a 1-D float64 array; raise if empty or not finite.

    Every metric would otherwise turn NaN or an empty split into a plausible number.
    """
    scores = np.asarray(values, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of scores, got shape {scores.shape}")
    if scores.size == 0:
        raise ValueError(f"{name} is empty; pass at least one score")
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if bad:
        raise ValueError(f"{name} has {bad} NaN/inf score(s); fix the model output first")
    return scores

"""Which rules fire, and on what: per-rule violation rates per test label.

A useful rule fires on some anomaly type and almost never on normal images; a rule that
fires on normals is a false-alarm source, one that never fires is dead weight. Pruned rules
(dropped before evaluation) are listed so a report can say they were not measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dire_dsl.eval.metrics import GOOD


@dataclass(frozen=True)
class RuleStats:
    """Share of images of each label on which the rule is violated (truth < threshold)."""

    rule: str
    normal_rate: float
    anomaly_rates: dict[str, float]


@dataclass(frozen=True)
class RuleReport:
    """Per-rule stats in input order, the image count per label, and the pruned rules."""

    rules: tuple[RuleStats, ...]
    counts: dict[str, int]
    pruned: tuple[str, ...]


def rule_violation_stats(
    truth: Mapping[str, Sequence[float] | np.ndarray],
    labels: Sequence[str],
    *,
    threshold: float = 0.5,
    normal_label: str = GOOD,
    pruned: Sequence[str] = (),
) -> RuleReport:
    """Violation rate of every rule on normal images and on each anomaly type.

    `truth[rule][i]` is the rule's truth value in [0, 1] on image i, and `labels[i]` is
    image i's type (`normal_label` for defect-free images). A rule counts as violated on an
    image when its truth value is strictly below `threshold`.
    """
    kinds = np.asarray(labels, dtype=object)
    if kinds.ndim != 1 or kinds.size == 0:
        raise ValueError("labels must be a non-empty 1-D sequence, one anomaly type per image")
    if not truth:
        raise ValueError("no rules given; pass rule name → truth value per image")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    names = sorted(set(kinds.tolist()))
    if normal_label not in names:
        raise ValueError(
            f"no image labelled {normal_label!r} (labels: {names}); normal rates need normal images"
        )
    masks = {name: kinds == name for name in names}

    stats = []
    for rule, values in truth.items():
        array = np.asarray(values, dtype=np.float64)
        if array.shape != kinds.shape:
            raise ValueError(f"rule {rule!r} has {array.size} truth values for {kinds.size} images")
        if not np.all((array >= 0) & (array <= 1)):
            raise ValueError(f"rule {rule!r} has truth values outside [0, 1] or NaN")
        violated = array < threshold
        rates = {name: float(np.mean(violated[mask])) for name, mask in masks.items()}
        normal_rate = rates.pop(normal_label)
        stats.append(RuleStats(rule=rule, normal_rate=normal_rate, anomaly_rates=rates))
    counts = {name: int(np.count_nonzero(mask)) for name, mask in masks.items()}
    return RuleReport(rules=tuple(stats), counts=counts, pruned=tuple(pruned))

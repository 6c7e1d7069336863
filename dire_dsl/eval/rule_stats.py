"""Which rules fire, and on what: per rule and test label, how often it is violated and how
often it is the rule that decides the score.

A rule is violated on an image when its gate-weighted z is at least Z_VIOLATED
(`evidence.rule_violated`, the definition `dire explain` uses too). It *decides* a flagged
image when it is violated there and its z is the image's largest: the rule the image's
logic distance comes from. A useful rule is violated on some anomaly type and almost never
on normal images; one violated on normals is a false-alarm source, one never violated is
dead weight. Pruned rules (dropped before evaluation) are listed so a report can say they
were not measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dire_dsl.eval.metrics import GOOD
from dire_dsl.logic.evidence import rule_violated


@dataclass(frozen=True)
class RuleStats:
    """Per label, the share of images on which the rule is violated, and on which it decides a flagged image."""

    rule: str
    normal_rate: float
    anomaly_rates: dict[str, float]
    normal_deciding: float
    anomaly_deciding: dict[str, float]


@dataclass(frozen=True)
class RuleReport:
    """Per-rule stats in input order, the image count per label, and the pruned rules."""

    rules: tuple[RuleStats, ...]
    counts: dict[str, int]
    pruned: tuple[str, ...]


def rule_violation_stats(
    rule_z: Mapping[str, Sequence[float] | np.ndarray],
    labels: Sequence[str],
    flagged: Sequence[bool] | np.ndarray,
    *,
    normal_label: str = GOOD,
    pruned: Sequence[str] = (),
) -> RuleReport:
    """Violation and deciding rates of every rule on normal images and on each anomaly type.

    `rule_z[rule][i]` is the rule's gate-weighted z on image i (`Calibration.rule_z`),
    `labels[i]` is image i's type (`normal_label` for defect-free images) and `flagged[i]`
    says whether image i scored above the threshold. On a tie for the largest z, the rule
    given first decides.
    """
    kinds = np.asarray(labels, dtype=object)
    if kinds.ndim != 1 or kinds.size == 0:
        raise ValueError("labels must be a non-empty 1-D sequence, one anomaly type per image")
    if not rule_z:
        raise ValueError("no rules given; pass rule name → z per image")
    alarms = np.asarray(flagged, dtype=bool)
    if alarms.shape != kinds.shape:
        raise ValueError(f"got {alarms.size} flags for {kinds.size} images; pass one per image")
    names = sorted(set(kinds.tolist()))
    if normal_label not in names:
        raise ValueError(
            f"no image labelled {normal_label!r} (labels: {names}); normal rates need normal images"
        )
    z = np.stack([_checked(rule, values, kinds.size) for rule, values in rule_z.items()])
    violated = rule_violated(z)
    deciding = violated & (np.arange(len(z))[:, None] == np.argmax(z, axis=0)) & alarms
    masks = {name: kinds == name for name in names}

    stats = []
    for rule, hits, decides in zip(rule_z, violated, deciding):
        rates = {name: float(np.mean(hits[mask])) for name, mask in masks.items()}
        shares = {name: float(np.mean(decides[mask])) for name, mask in masks.items()}
        stats.append(RuleStats(rule=rule, normal_rate=rates.pop(normal_label), anomaly_rates=rates,
                               normal_deciding=shares.pop(normal_label), anomaly_deciding=shares))
    counts = {name: int(np.count_nonzero(mask)) for name, mask in masks.items()}
    return RuleReport(rules=tuple(stats), counts=counts, pruned=tuple(pruned))


def _checked(rule: str, values: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"rule {rule!r} has {array.size} z values for {n} images")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"rule {rule!r} has NaN or infinite z values")
    return array

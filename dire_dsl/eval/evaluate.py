"""`evaluate()`: a trained run on a category's test split → every number `dire eval` reports.

    from dire_dsl.eval.evaluate import evaluate
    report = evaluate("runs/pushpins", "data/synloco", maps_dir="maps")
    report.write_json("pushpins.json")

What is measured, and how (docs/evaluation.md has the long form):

- **score** of an image = the max of its full-resolution anomaly map, exactly what MVTec's
  official script reads from the TIFF (the run's rule violations are already folded into
  the map). AUROC (good vs logical, good vs structural, mean), separation (d', gap,
  warnings) and the verdicts all use this score.
- **verdict** = score > the run's threshold, calibrated on validation normals at training
  time (never on test images); precision, recall and F1 at it.
- **results per defect type**: each defect type's AUROC against the good images and its
  detection rate at the threshold.
- **AU-sPRO** at FPR limits 0.01, 0.05, 0.1, 0.3 and 1.0 in MVTec's official form: good +
  logical, good + structural, and their mean (`spro.loco_au_spro`). Computed for speed on
  maps and masks scaled so the longer side is `spro_side` pixels (default 256; masks
  nearest-neighbour, absolute saturation areas scaled by the pixel-count ratio). Regions
  that vanish at that size are dropped and counted in a warning. For the official
  full-resolution number, write the TIFF maps (`maps_dir`) and run MVTec's script on them.
- **per-rule stats**: per anomaly kind and defect type (and on good test images), the share
  of images on which each rule is violated (`evidence.rule_violated`: its gate-weighted z,
  what the score is built from, is at least 3) and the share on which it decides a flagged
  image (violated, and the image's largest z); pruned rules are listed, not measured.
- **timing**: images per second of inference (network, rules, nearest-neighbour search, map
  at full resolution; image decoding excluded) and the logic layer's share of that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pydantic import BaseModel, ConfigDict

from dire_dsl.atomic import GENERATOR, atomic_write_text
from dire_dsl.data.loco import GOOD, LOGICAL, STRUCTURAL, MVTecLOCO
from dire_dsl.errors import DireError
from dire_dsl.eval.metrics import auroc_interval, image_auroc, loco_image_auroc
from dire_dsl.eval.rule_stats import rule_violation_stats
from dire_dsl.eval.separation import Separation, separation
from dire_dsl.eval.spro import FPR_LIMITS, DefectConfig, DefectRegion, LocoAuSpro, loco_au_spro
from dire_dsl.eval.tiff_maps import write_anomaly_map
from dire_dsl.logic.evidence import rule_objects
from dire_dsl.run.inference import Scorer, open_run, select
from dire_dsl.run.threshold import Classification, classify_at
from dire_dsl.run.trained import TrainedRun

SPRO_SIDE = 256
"""Longer side, in pixels, of the maps and masks AU-sPRO is computed on."""


class EvalError(DireError):
    """A test set that cannot be evaluated as asked (no good images, no anomalies, ...)."""


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")


class AurocBlock(_Model):
    logical: float | None
    structural: float | None
    mean: float | None
    logical_ci95: tuple[float, float] | None = None  # percentile bootstrap over the test images
    structural_ci95: tuple[float, float] | None = None


class SeparationReport(_Model):
    logical: Separation | None
    structural: Separation | None


class SproBlock(_Model):
    """AU-sPRO per FPR limit ("0.05": ...) as MVTec LOCO reports it; None where not measured."""

    logical: dict[str, float | None]
    structural: dict[str, float | None]
    mean: dict[str, float | None]

    @classmethod
    def of(cls, result: LocoAuSpro | None) -> SproBlock:
        def limits(values: dict[float, float] | None) -> dict[str, float | None]:
            return {str(limit): None if values is None else values[limit] for limit in FPR_LIMITS}

        if result is None:
            return cls(logical=limits(None), structural=limits(None), mean=limits(None))
        return cls(logical=limits(result.logical), structural=limits(result.structural), mean=limits(result.mean))


class DefectTypeBlock(_Model):
    """One defect type against the good test images."""

    defect_type: str
    kind: str
    images: int
    auroc: float
    detected: int  # images scored above the threshold
    detection_rate: float


class RuleRow(_Model):
    """Per rule: the share of images on which it is violated (`*_rate(s)`) and on which it
    decides a flagged image (`*_deciding`), on good images, per anomaly kind, per defect type."""

    rule: str
    line: int
    hard: bool
    objects: list[str]
    normal_rate: float
    anomaly_rates: dict[str, float]
    defect_rates: dict[str, float]
    normal_deciding: float
    anomaly_deciding: dict[str, float]
    defect_deciding: dict[str, float]


class PrunedRule(_Model):
    rule: str
    gate: float
    reason: str


class RuleBlock(_Model):
    rules: list[RuleRow]
    counts: dict[str, int]
    defect_counts: dict[str, int]
    pruned: list[PrunedRule]

    def deciding_rule(self, defect_type: str) -> tuple[str, float] | None:
        """The rule that decides the most images of a defect type, with its share (None: no rule decides any)."""
        shares = [(row.defect_deciding.get(defect_type, 0.0), row.rule) for row in self.rules]
        share, rule = max(shares, default=(0.0, ""), key=lambda item: item[0])
        return (rule, share) if share > 0 else None


class Timing(_Model):
    images: int
    inference_seconds: float
    images_per_second: float
    logic_seconds: float
    logic_share: float
    wall_seconds: float
    threads: int
    device: str


class ImageRecord(_Model):
    key: str
    path: str
    split: str
    image_id: str
    defect_type: str | None
    score: float
    anomalous: bool
    truth: dict[str, float]
    rule_z: dict[str, float] = {}  # each rule's violation in spreads of the validation normals

    @property
    def verdict(self) -> str:
        return "anomalous" if self.anomalous else "normal"

    @property
    def label(self) -> bool:
        return self.split != GOOD


class EvalReport(_Model):
    """Everything `dire eval` writes as JSON (field names are the stable interface)."""

    generator: str = GENERATOR  # first, so `dire eval` recognises its own file at its top before replacing it
    category: str
    run: str
    data_root: str
    use_rules: bool
    backbone: str
    image_size: int
    n_images: dict[str, int]
    auroc: AurocBlock
    defect_types: list[DefectTypeBlock]
    au_spro: SproBlock
    au_spro_side: int
    au_spro_regions: int
    separation: SeparationReport
    threshold: float
    classification: Classification
    rules: RuleBlock
    timing: Timing
    images: list[ImageRecord]
    warnings: list[str]
    maps_dir: str | None = None

    def write_json(self, path: str | Path) -> None:
        """Write the report as JSON, atomically (inf/nan as the strings "Infinity"/"NaN")."""
        atomic_write_text(path, self.model_dump_json(indent=2) + "\n")

    @classmethod
    def read_json(cls, path: str | Path) -> EvalReport:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def summary(self) -> list[tuple[str, str]]:
        """(metric, value) rows for a short table (the CLI, the demo and the report show these)."""
        def number(value: float | None, digits: int = 3) -> str:
            return "n/a" if value is None else f"{value:.{digits}f}"

        def dprime(block: Separation | None) -> str:
            return "n/a" if block is None else f"{block.d_prime:.2f}"

        def with_interval(value: float | None, interval: tuple[float, float] | None) -> str:
            return number(value) + ("" if interval is None else f" (95% CI {interval[0]:.3f}–{interval[1]:.3f})")

        c = self.classification
        return [
            ("image AUROC logical", with_interval(self.auroc.logical, self.auroc.logical_ci95)),
            ("image AUROC structural", with_interval(self.auroc.structural, self.auroc.structural_ci95)),
            ("image AUROC mean", number(self.auroc.mean)),
            ("AU-sPRO @0.05 logical", number(self.au_spro.logical["0.05"])),
            ("AU-sPRO @0.05 structural", number(self.au_spro.structural["0.05"])),
            ("AU-sPRO @0.05 mean", number(self.au_spro.mean["0.05"])),
            ("d' logical", dprime(self.separation.logical)),
            ("d' structural", dprime(self.separation.structural)),
            ("threshold (validation normals)", f"{self.threshold:.3f}"),
            ("precision / recall / F1", f"{c.precision:.3f} / {c.recall:.3f} / {c.f1:.3f}"),
            ("inference images/s", f"{self.timing.images_per_second:.1f}"),
            ("logic-layer share", f"{self.timing.logic_share:.1%}"),
        ]


def _separation(good: np.ndarray, bad: np.ndarray) -> Separation | None:
    return None if good.size == 0 or bad.size == 0 else separation(good, bad)


def _reduced(size: tuple[int, int], side: int) -> tuple[int, int]:
    height, width = size
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


class _SproRegions:
    """Defect regions of one image at the reduced sPRO size (one per ground-truth channel)."""

    def __init__(self, dataset: MVTecLOCO) -> None:
        self.by_name = dataset.defect_by_name()
        self.dropped = 0

    def __call__(self, item: Any, size: tuple[int, int]) -> list[DefectRegion]:
        masks = item["masks"]
        if masks.shape[0] == 0:
            return []
        native = masks.shape[1] * masks.shape[2]
        ratio = size[0] * size[1] / native
        out = []
        for k in range(masks.shape[0]):
            name = item["mask_defects"][k]
            mask = masks[k].numpy()
            if (size[0], size[1]) != mask.shape:
                mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((size[1], size[0]),
                                                                                     Image.NEAREST)) > 0
            if name is None or not mask.any():
                self.dropped += 1
                continue
            defect = self.by_name[name]
            threshold = defect.saturation_threshold if defect.relative_saturation \
                else max(defect.saturation_threshold * ratio, 1e-9)
            out.append(DefectRegion(mask, DefectConfig(name, defect.pixel_value, threshold,
                                                       defect.relative_saturation)))
        return out


def evaluate(run_path: str | Path | TrainedRun, data_root: str | Path, category: str | None = None,
             maps_dir: str | Path | None = None, batch_size: int = 32, spro_side: int = SPRO_SIDE,
             spro: bool = True, on_progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Score every test image of `category` (default: the run's) under `data_root` and measure.

    Raises RunDirError / RulesError for a bad run folder, LayoutError / DataError for a data
    folder not in the MVTec LOCO layout, EvalError when the test split cannot give the metrics.
    """
    wall = time.perf_counter()
    trained = open_run(run_path)
    category = category or trained.config.category
    dataset = MVTecLOCO(data_root, category, "test")
    total = len(dataset)
    scorer = Scorer(trained)
    regions_of = _SproRegions(dataset)
    live = [rule.name for rule in trained.program.rules if rule.name not in {p[0] for p in trained.calibration.pruned}]
    records: list[ImageRecord] = []
    spro_maps: list[np.ndarray] = []
    spro_regions: list[list[DefectRegion]] = []
    threshold = float(trained.calibration.threshold)
    for start in range(0, total, batch_size):
        items = [dataset[i] for i in range(start, min(total, start + batch_size))]
        for item in items:
            item.pop("image", None)  # the float copy (4x the pixels' memory) is not needed here
        pixels = [item["image_uint8"] for item in items]
        scores = scorer.score(pixels)
        evidence = scorer.evidence(scores)
        maps = scorer.maps(scores, [p.shape[:2] for p in pixels], evidence)
        logic = scores.logic
        for offset, (item, anomaly_map) in enumerate(zip(items, maps)):
            path = Path(item["path"])
            split = item["anomaly_type"]
            if maps_dir is not None:
                write_anomaly_map(maps_dir, category, split, path.stem, anomaly_map)
            if spro:
                size = _reduced(anomaly_map.shape, spro_side)
                small = trained.calibration.anomaly_map(select(scores, offset), size,
                                                        evidence[offset:offset + 1])[0].numpy()
                spro_maps.append(small)
                spro_regions.append(regions_of(item, size))
            truth = {name: float(logic.truth[offset, logic.rules.index(name)]) for name in live}
            z_all = trained.calibration.rule_z(scores.rule_violation[offset:offset + 1])[0]
            rule_z = {name: round(float(z_all[logic.rules.index(name)]), 4) for name in live}
            score = float(anomaly_map.max())
            records.append(ImageRecord(
                key=f"test/{split}/{path.name}", path=str(path.resolve()), split=split, image_id=path.stem,
                defect_type=item.get("defect_type") if split != GOOD else None, score=score,
                anomalous=score > threshold, truth={k: round(v, 6) for k, v in truth.items()}, rule_z=rule_z))
        if on_progress is not None:
            on_progress(len(records), total)
    return _measure(trained, category, data_root, records, live, spro_maps, spro_regions, regions_of.dropped,
                    scorer, wall, spro_side, maps_dir, spro)


def _measure(trained: TrainedRun, category: str, data_root: str | Path, records: list[ImageRecord],
             live: list[str], spro_maps: list[np.ndarray], spro_regions: list[list[DefectRegion]],
             dropped: int, scorer: Scorer, wall: float, spro_side: int, maps_dir: str | Path | None,
             spro: bool) -> EvalReport:
    scores = np.array([r.score for r in records], dtype=np.float64)
    splits = [r.split for r in records]
    labels = np.array([s != GOOD for s in splits])
    counts = {kind: splits.count(kind) for kind in (GOOD, LOGICAL, STRUCTURAL)}
    if counts[GOOD] == 0:
        raise EvalError(f"{data_root}/{category}/test/good holds no image; AUROC and the per-rule false-alarm "
                        "rates need defect-free test images")
    if counts[LOGICAL] + counts[STRUCTURAL] == 0:
        raise EvalError(f"{data_root}/{category}/test has no logical or structural anomaly; nothing to detect")
    auroc = loco_image_auroc(scores, splits)
    good = scores[~labels]
    interval = {kind: auroc_interval(good, scores[np.array(splits) == kind]) if counts[kind] else None
                for kind in (LOGICAL, STRUCTURAL)}
    sep = SeparationReport(logical=_separation(good, scores[np.array(splits) == LOGICAL]),
                           structural=_separation(good, scores[np.array(splits) == STRUCTURAL]))
    warnings = [f"{kind}: {w}" for kind, block in (("logical", sep.logical), ("structural", sep.structural))
                if block is not None for w in block.warnings]
    n_regions = sum(len(r) for r in spro_regions)
    au = SproBlock.of(None)
    if spro and n_regions:
        au = SproBlock.of(loco_au_spro(spro_maps, spro_regions, splits))
        warnings.extend(f"au-spro: no {kind.split('_')[0]} defect region with pixels in the test set; its AU-sPRO "
                        "and the mean are not computed" for kind in (LOGICAL, STRUCTURAL)
                        if counts[kind] and not any(r for r, s in zip(spro_regions, splits) if s == kind))
    elif spro:
        warnings.append("au-spro: no defect region with pixels in the test set; AU-sPRO not computed")
    if dropped:
        warnings.append(f"au-spro: {dropped} defect region(s) vanished at {spro_side} px and were left out; "
                        "raise spro_side or use the TIFF maps with the official script")
    classification = classify_at(trained.calibration.threshold, scores, labels)
    rules = _rule_block(trained, records, live)
    clock = scorer.clock
    timing = Timing(images=clock.images, inference_seconds=clock.inference_seconds,
                    images_per_second=clock.images_per_second, logic_seconds=clock.logic_seconds,
                    logic_share=clock.logic_share, wall_seconds=time.perf_counter() - wall,
                    threads=torch.get_num_threads(), device=str(trained.detector.device))
    return EvalReport(
        category=category, run=str(trained.run.path), data_root=str(data_root), use_rules=trained.config.use_rules,
        backbone=trained.config.backbone, image_size=trained.config.image_size, n_images=counts,
        defect_types=_defect_types(records),
        auroc=AurocBlock(logical=auroc.logical, structural=auroc.structural, mean=auroc.mean,
                         logical_ci95=interval[LOGICAL], structural_ci95=interval[STRUCTURAL]),
        au_spro=au, au_spro_side=spro_side, au_spro_regions=n_regions, separation=sep,
        threshold=float(trained.calibration.threshold),
        classification=classification,
        rules=rules, timing=timing, images=records, warnings=warnings,
        maps_dir=None if maps_dir is None else str(maps_dir))


def _defect_types(records: list[ImageRecord]) -> list[DefectTypeBlock]:
    """Each defect type (the kind's name where an image has none) against all good test images."""
    good = [r.score for r in records if r.split == GOOD]
    groups: dict[str, list[ImageRecord]] = {}
    for record in records:
        if record.split != GOOD:
            groups.setdefault(record.defect_type or record.split, []).append(record)
    out = []
    for name, group in sorted(groups.items(), key=lambda item: (item[1][0].split, item[0])):
        detected = sum(r.anomalous for r in group)
        out.append(DefectTypeBlock(defect_type=name, kind=group[0].split, images=len(group),
                                   auroc=image_auroc(good, [r.score for r in group]), detected=detected,
                                   detection_rate=detected / len(group)))
    return out


def _rule_block(trained: TrainedRun, records: list[ImageRecord], live: list[str]) -> RuleBlock:
    pruned = [PrunedRule(rule=name, gate=float(gate), reason=reason)
              for name, gate, reason in trained.calibration.pruned]
    kinds = [r.split for r in records]
    defects = [r.defect_type or r.split if r.split != GOOD else GOOD for r in records]
    rows: list[RuleRow] = []
    if live:
        rule_z = {name: [r.rule_z[name] for r in records] for name in live}
        flagged = [r.anomalous for r in records]
        by_kind = rule_violation_stats(rule_z, kinds, flagged, pruned=[p.rule for p in pruned])
        by_defect = rule_violation_stats(rule_z, defects, flagged)
        defs = {rule.name: rule for rule in trained.program.rules}
        for stats, detail in zip(by_kind.rules, by_defect.rules):
            rule = defs[stats.rule]
            rows.append(RuleRow(rule=stats.rule, line=rule.span.line, hard=rule.hard, objects=list(rule_objects(rule)),
                                normal_rate=stats.normal_rate, anomaly_rates=stats.anomaly_rates,
                                defect_rates=detail.anomaly_rates, normal_deciding=stats.normal_deciding,
                                anomaly_deciding=stats.anomaly_deciding, defect_deciding=detail.anomaly_deciding))
        counts, defect_counts = by_kind.counts, by_defect.counts
    else:
        counts = {k: kinds.count(k) for k in sorted(set(kinds))}
        defect_counts = {k: defects.count(k) for k in sorted(set(defects))}
    return RuleBlock(rules=rows, counts=counts, defect_counts=defect_counts, pruned=pruned)

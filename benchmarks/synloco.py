"""The SynLOCO benchmark: the rules model against every no-rules method, side by side.

    python benchmarks/synloco.py --markdown bench.md                 # full: five categories, LOCO sizes
    python benchmarks/synloco.py --quick --markdown bench-quick.md   # minutes: small data, 2 epochs

Per category (data generated under --data unless a matching tree is there):
- **rules**: the built-in rules file, trained with `dire_dsl.train.api.train`;
- **no rules**: the same model, data and budget with `use_rules=False` (no rule losses, no
  logic-gated push, rules not fused into the score);
- **PatchCore**: `dire_dsl.eval.baselines.PatchCore` on the *trained no-rules model's*
  backbone (same architecture, data and training budget; no ImageNet weights exist offline),
  memory bank from the training normals at the same input size, 10% greedy coreset;
- **colour histogram**: `dire_dsl.eval.color_histogram.color_histogram` + 1-NN (the trivial baseline).

Every method sees the same images. The table gives image AUROC (good vs logical, good vs
structural; scores as `dire eval` computes them for the two trained models), the logical
AUROC's 95% bootstrap interval (how much the test set's size lets it move), d' of each
anomaly kind, training minutes (PatchCore: the no-rules training plus the memory bank),
inference images/s (decoding excluded), the logic layer's share of inference time, and, for
the rules model, how often the most violated rule of a logical anomaly is about the object
its recipe changed (`dire_dsl.eval.pointing`).

For the rules model also: AU-sPRO @0.05 per kind (good + logical, good + structural, as MVTec
LOCO reports it), the structural AUROC of its structural branch alone (the structural map's
maximum), the ablation without the structural half (the same trained run scored by its fused
logic + embedding score only), and its weakest structural defect type. `--methods rules`
runs the rules model only. `--rescore` trains nothing: it rebuilds the scoring (memories,
calibration) of the runs a former call left in --out with today's code, for a change that
touches only what training does after the network is learnt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from dire_dsl.atomic import atomic_write_text
from dire_dsl.data.loco import GOOD, LOGICAL, STRUCTURAL, MVTecLOCO, load_split
from dire_dsl.eval.baselines import HistogramKNN, PatchCore
from dire_dsl.eval.evaluate import evaluate
from dire_dsl.eval.metrics import auroc_interval, loco_image_auroc
from dire_dsl.eval.pointing import defect_objects, pointing
from dire_dsl.eval.separation import separation
from dire_dsl.lang.program import load_rules
from dire_dsl.run.inference import Scorer
from dire_dsl.run.trained import TrainedRun, load_run
from dire_dsl.synth.generate import synthesize
from dire_dsl.train.api import calibrate, train
from dire_dsl.train.dataset import normal_splits
from dire_dsl.workflows.demo import builtin_rules

CATEGORIES = ("breakfast_box", "juice_bottle", "pushpins", "screw_bag", "splicing_connectors")
FULL = {"n_train": 350, "n_val": 60, "n_test": 300, "size": 256}
QUICK = {"n_train": 48, "n_val": 16, "n_test": 60, "size": 128}


@dataclass
class Row:
    category: str
    method: str
    logical: float | None
    structural: float | None
    d_logical: float | None
    d_structural: float | None
    train_minutes: float | None  # None: --rescore, the run was trained earlier
    images_per_second: float
    logic_share: float | None = None
    pointing: float | None = None
    logical_ci95: tuple[float, float] | None = None
    spro_logical: float | None = None  # AU-sPRO @0.05 over good + logical images (MVTec LOCO's form)
    spro_structural: float | None = None
    structural_alone: float | None = None  # AUROC good vs structural, scored by the structural map alone
    no_structural_logical: float | None = None  # the same run scored without its structural half
    no_structural_structural: float | None = None
    worst_structural_type: str | None = None  # "name AUROC" of the weakest structural defect type
    structural_types: dict[str, float] | None = None  # every structural defect type's AUROC vs the good images


def ensure_data(root: Path, category: str, sizes: dict[str, int], seed: int, regenerate: bool) -> Path:
    """A SynLOCO tree with exactly these sizes under root/category (reused when it matches)."""
    marker = root / category / "synloco.json"
    if marker.is_file() and not regenerate:
        info = json.loads(marker.read_text(encoding="utf-8"))
        want = {"train": sizes["n_train"], "validation": sizes["n_val"], "test": sizes["n_test"]}
        if info.get("counts") == want and info.get("size") == sizes["size"] and info.get("seed") == seed:
            return root
    synthesize(category, root, seed=seed, check=False, **sizes)
    return root


def _kinds(scores: np.ndarray, splits: list[str]) -> dict:
    """The Row fields that come from test scores: AUROC (logical with its 95% CI) and d'."""
    auroc = loco_image_auroc(scores, splits)
    labels = np.array(splits)
    good = scores[labels == GOOD]

    def d(kind: str) -> float | None:
        bad = scores[labels == kind]
        return separation(good, bad).d_prime if bad.size else None

    logical = scores[labels == LOGICAL]
    return {"logical": auroc.logical, "structural": auroc.structural, "d_logical": d(LOGICAL),
            "d_structural": d(STRUCTURAL), "logical_ci95": auroc_interval(good, logical) if logical.size else None}


def _test_set(root: Path, category: str, size: tuple[int, int]) -> tuple[torch.Tensor, list[str], list[str]]:
    data = MVTecLOCO(root, category, "test", image_size=size, load_masks=False)
    items = [data[i] for i in range(len(data))]
    images = torch.from_numpy(np.stack([item["image_uint8"] for item in items])).permute(0, 3, 1, 2).contiguous()
    return images, [item["anomaly_type"] for item in items], [item["path"] for item in items]


METHODS = ("rules", "no rules", "PatchCore", "colour histogram")


def halves(run: TrainedRun, root: Path, category: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each test image's structural score (the structural map's maximum) and fused score."""
    scorer = Scorer(run)
    data = MVTecLOCO(root, category, "test", load_masks=False)
    structural, fused, splits = [], [], []
    for start in range(0, len(data), 32):
        items = [data[i] for i in range(start, min(len(data), start + 32))]
        scores = scorer.score([item["image_uint8"] for item in items])
        structural.append(run.calibration.structural_score(scores).numpy())
        fused.append(run.calibration.fused(scores).numpy())
        splits.extend(item["anomaly_type"] for item in items)
    return np.concatenate(structural), np.concatenate(fused), splits


SCORING_SETTINGS = ("patch_spread", "patch_memory", "patch_position", "patch_colour")
"""`train {}` keys that act only after the network is learnt: a rescored run takes them from
today's rules file, as a run trained today would."""


def rescored(run_dir: Path, rules: Path, overrides: dict) -> TrainedRun:
    """A run trained earlier, its scoring rebuilt by today's code: the patch and part memories
    from its training normals and the calibration from its validation normals (`calibrate`,
    what training ends with), under its own settings, today's SCORING_SETTINGS from `rules`,
    and `overrides`. The network is untouched."""
    trained = load_run(run_dir)
    today = load_rules(rules).train
    config = trained.config.model_copy(update={**{key: today[key] for key in SCORING_SETTINGS}, **overrides})
    return replace(trained, config=config, calibration=calibrate(trained.detector, *normal_splits(config), config))


def run_category(category: str, root: Path, out: Path, overrides: dict, log,  # noqa: ANN001
                 methods: tuple[str, ...] = METHODS, rescore: bool = False) -> list[Row]:
    rules = builtin_rules(category)
    rows: list[Row] = []
    trained = {}
    wanted = [(m, e) for m, e in (("rules", {}), ("no rules", {"use_rules": False}))
              if m in methods or (m == "no rules" and "PatchCore" in methods)]
    for method, extra in wanted:
        run_dir = out / category / method.replace(" ", "_")
        if rescore:
            log(f"{category}: rescoring {method} (trained earlier in {run_dir})")
            run, minutes = rescored(run_dir, rules, {k: v for k, v in overrides.items() if k != "seed"}), None
        else:
            log(f"{category}: training {method}")
            start = time.perf_counter()
            run = train(rules, root, run_dir, overrides={**overrides, **extra}, force=True)
            minutes = (time.perf_counter() - start) / 60
        report = evaluate(run, root, category, spro=method == "rules")
        changed = defect_objects(root / category) if method == "rules" else None
        point = pointing(report, run.program, changed).rate if changed else None
        sep_l, sep_s = report.separation.logical, report.separation.structural
        row = Row(category, method, report.auroc.logical, report.auroc.structural,
                  sep_l.d_prime if sep_l else None, sep_s.d_prime if sep_s else None, minutes,
                  report.timing.images_per_second, report.timing.logic_share, point, report.auroc.logical_ci95)
        if method == "rules":
            structural, fused, splits = halves(run, root, category)
            alone, without = loco_image_auroc(structural, splits), loco_image_auroc(fused, splits)
            worst = min((t for t in report.defect_types if t.kind == STRUCTURAL), key=lambda t: t.auroc, default=None)
            row = replace(row, spro_logical=report.au_spro.logical.get("0.05"),
                          spro_structural=report.au_spro.structural.get("0.05"), structural_alone=alone.structural,
                          no_structural_logical=without.logical, no_structural_structural=without.structural,
                          worst_structural_type=None if worst is None else f"{worst.defect_type} {worst.auroc:.3f}",
                          structural_types={t.defect_type: t.auroc for t in report.defect_types
                                            if t.kind == STRUCTURAL})
        if method in methods:
            rows.append(row)
        trained[method] = (run, minutes)
        log(f"{category}: {method}: logical {report.auroc.logical}, structural {report.auroc.structural}")

    if "PatchCore" in methods:
        rows.append(patchcore_row(category, root, trained["no rules"], log))
    if "colour histogram" in methods:
        rows.append(histogram_row(category, root, log))
    return rows


def patchcore_row(category: str, root: Path, plain_run: tuple[TrainedRun, float], log) -> Row:  # noqa: ANN001
    plain, plain_minutes = plain_run
    size = plain.config.input_hw()
    log(f"{category}: PatchCore on the no-rules backbone")
    _, normals = load_split(root, category, "train", size)
    normals_t = torch.from_numpy(np.stack(normals)).permute(0, 3, 1, 2).contiguous()
    start = time.perf_counter()
    core = PatchCore(plain.detector.model.backbone, seed=plain.config.seed).fit(normals_t)
    fit_minutes = (time.perf_counter() - start) / 60
    images, splits, paths = _test_set(root, category, size)
    start = time.perf_counter()
    scores, _ = core.score(images)
    seconds = time.perf_counter() - start
    return Row(category, "PatchCore (same backbone)", train_minutes=plain_minutes + fit_minutes,
               images_per_second=len(splits) / seconds, **_kinds(scores, splits))


def histogram_row(category: str, root: Path, log) -> Row:  # noqa: ANN001
    _, splits, paths = _test_set(root, category, (64, 64))
    log(f"{category}: colour histogram")
    train_paths = sorted((root / category / "train" / "good").glob("*.png"))
    start = time.perf_counter()
    histogram = HistogramKNN().fit(train_paths)
    fit_minutes = (time.perf_counter() - start) / 60
    start = time.perf_counter()
    scores = histogram.score(paths)
    seconds = time.perf_counter() - start
    return Row(category, "colour histogram", train_minutes=fit_minutes, images_per_second=len(splits) / seconds,
               **_kinds(scores, splits))


def _fmt(value: float | None, digits: int = 3, percent: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:.1%}" if percent else f"{value:.{digits}f}"


def _ablation(row: Row) -> str:
    if row.no_structural_logical is None:
        return "–"
    return f"{_fmt(row.no_structural_logical)} / {_fmt(row.no_structural_structural)}"


def _interval(value: tuple[float, float] | None) -> str:
    return "–" if value is None else f"{value[0]:.3f}–{value[1]:.3f}"


def table(rows: list[Row]) -> list[list[str]]:
    header = ["category", "method", "AUROC logical", "95% CI logical", "AUROC structural", "d' logical",
              "d' structural", "AU-sPRO logical", "AU-sPRO structural", "structural branch alone",
              "no structural: logical / structural", "weakest structural type", "train min", "images/s",
              "logic share", "points right"]
    body = [[r.category, r.method, _fmt(r.logical), _interval(r.logical_ci95), _fmt(r.structural), _fmt(r.d_logical, 2),
             _fmt(r.d_structural, 2), _fmt(r.spro_logical), _fmt(r.spro_structural), _fmt(r.structural_alone),
             _ablation(r), r.worst_structural_type or "–", _fmt(r.train_minutes, 1), _fmt(r.images_per_second, 1),
             _fmt(r.logic_share, percent=True), _fmt(r.pointing, percent=True)] for r in rows]
    methods = list(dict.fromkeys(r.method for r in rows))
    if len({r.category for r in rows}) > 1:
        for method in methods:
            mine = [r for r in rows if r.method == method]

            def mean(name: str) -> float | None:
                values = [getattr(r, name) for r in mine if getattr(r, name) is not None]  # noqa: B023  (used at once)
                return float(np.mean(values)) if values else None

            ablation = (f"{_fmt(mean('no_structural_logical'))} / {_fmt(mean('no_structural_structural'))}"
                        if mean("no_structural_logical") is not None else "–")
            body.append(["**mean**", method, _fmt(mean("logical")), "–", _fmt(mean("structural")),
                         _fmt(mean("d_logical"), 2), _fmt(mean("d_structural"), 2), _fmt(mean("spro_logical")),
                         _fmt(mean("spro_structural")), _fmt(mean("structural_alone")), ablation, "–",
                         _fmt(mean("train_minutes"), 1), _fmt(mean("images_per_second"), 1),
                         _fmt(mean("logic_share"), percent=True), _fmt(mean("pointing"), percent=True)])
    return [header, *body]


def markdown(rows: list[Row], settings: dict) -> str:
    header, *body = table(rows)
    lines = [f"SynLOCO benchmark, {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, "
             f"{platform.machine()} {platform.processor() or ''} ({os.cpu_count()} CPUs, torch "
             f"{torch.__version__}, {torch.get_num_threads()} threads), python {sys.version.split()[0]}.",
             "", f"Settings: {json.dumps(settings)}", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    typed = [r for r in rows if r.structural_types]
    if typed:
        lines += ["", "Structural AUROC by defect type (rules model, vs the good test images):", "",
                  "| category | defect type | AUROC |", "|---|---|---|"]
        lines += [f"| {r.category} | {name} | {value:.3f} |"
                  for r in typed for name, value in (r.structural_types or {}).items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("categories", nargs="*", default=list(CATEGORIES))
    parser.add_argument("--data", type=Path, default=Path("bench-data"), help="SynLOCO root (generated if missing)")
    parser.add_argument("--out", type=Path, default=Path("bench-runs"), help="folder for the trained runs")
    parser.add_argument("--quick", action="store_true", help=f"small data {QUICK} and 2 epochs at 96 px")
    for key in ("n_train", "n_val", "n_test", "size"):
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="override every rules file's epochs")
    parser.add_argument("--image-size", type=int, default=None, help="override every rules file's image_size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="which methods to run (PatchCore also trains the no-rules model)")
    parser.add_argument("--regenerate", action="store_true", help="generate the data even if a matching tree exists")
    parser.add_argument("--rescore", action="store_true",
                        help="do not train: rebuild the scoring of the runs already in --out with today's code "
                             "(memories, calibration) and measure them; train min shows as –")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table as Markdown here")
    parser.add_argument("--json", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.categories) - set(CATEGORIES))
    if unknown:
        parser.error(f"unknown categories {unknown}; choose from {', '.join(CATEGORIES)}")
    sizes = dict(QUICK if args.quick else FULL)
    sizes.update({k: getattr(args, k) for k in sizes if getattr(args, k) is not None})
    overrides = {"seed": args.seed}
    if args.quick:
        overrides.update(epochs=2, image_size=96)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.image_size is not None:
        overrides["image_size"] = args.image_size

    def log(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    rows: list[Row] = []
    for category in args.categories:
        log(f"{category}: data {sizes}")
        ensure_data(args.data, category, sizes, args.seed, args.regenerate)
        rows.extend(run_category(category, args.data, args.out, overrides, log, tuple(args.methods), args.rescore))
    header, *body = table(rows)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    for row in [header, *body]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    settings = {"data": sizes, "overrides": overrides, "categories": args.categories, "methods": args.methods}
    if args.markdown is not None:
        atomic_write_text(args.markdown, markdown(rows, settings))
    if args.json is not None:
        atomic_write_text(args.json, json.dumps({"settings": settings, "rows": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

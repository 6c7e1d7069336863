"""`sweep()`: train one run per setting of a grid and choose one without looking at the test set.

    from dire_dsl.workflows.sweep import sweep
    result = sweep("rules/pushpins.rules", "data", {"lambda": [5e-7, 5e-6]}, "sweeps/pushpins")

The choice uses only data a user may tune on:

- the **validation normals** (`validation/good`), and
- **rule-derived synthetic anomalies**: `dire_dsl.edits.synthesize.synthesize_anomalies` applied to
  the annotated validation images (`annotations/validation.json`), at each run's training
  resolution, with a fixed seed, so every setting is judged on the same anomalies. Without
  validation annotations, the annotated training images are edited instead, with another
  seed than training's (the result says which source was used);
- **generic structural defects** (`dire_dsl.eval.synthetic_defects`: Perlin blobs and thin
  scars, never a benchmark's defect types) painted on the validation normals, with a fixed
  seed, so settings of the structural half (`patch_memory`, `structural`) are judged too.

The criterion is the mean of the two AUROCs (validation normals vs the rule edits, vs the
generic defects), as MVTec LOCO averages its logical and structural AUROCs; ties broken by
the d' of normals vs both (`criterion="auroc"`), or that d' alone (`criterion="d_prime"`).
Only after the choice is made
are the test images scored (`evaluate_test=True`), for the table: test AUROC and d' are
reported, never used. `write_back=True` writes the winner's settings into the rules file's
`train {}` block (see `write_back`).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from dire_dsl.atomic import GENERATOR, MARKDOWN_MARKER, atomic_write_text
from dire_dsl.data.coco import read_coco_components, resize_components
from dire_dsl.data.errors import DataError
from dire_dsl.data.loco import load_split
from dire_dsl.errors import DireError
from dire_dsl.eval.evaluate import evaluate
from dire_dsl.eval.metrics import image_auroc
from dire_dsl.eval.separation import separation
from dire_dsl.eval.synthetic_defects import defective_copies
from dire_dsl.lang import ast
from dire_dsl.lang.diagnostics import RulesCheckError
from dire_dsl.lang.format import format_program
from dire_dsl.lang.ir import CheckedProgram
from dire_dsl.lang.parser import parse
from dire_dsl.lang.program import check_source, load_rules, read_rules_text
from dire_dsl.lang.settings import TRAIN_SETTINGS
from dire_dsl.run.config import SettingError, TrainConfig
from dire_dsl.run.inference import Scorer
from dire_dsl.run.trained import TrainedRun, load_run
from dire_dsl.train.api import train

VALIDATION_ANOMALIES = 64
"""Synthetic anomalies the criterion scores (balanced over the rules)."""
DEFECT_STREAM = 9
"""Added to the run's seed for the generic defects' generator (the rule edits use streams 7 and 8)."""

Criterion = Literal["auroc", "d_prime"]


class SweepError(DireError):
    """A grid or a write-back request that cannot be carried out."""


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")


class ValidationScore(_Model):
    """How well a run separates validation normals from rule-derived anomalies and from generic
    structural defects: `auroc` is the mean of the two, `d_prime` of normals vs both."""

    auroc: float
    d_prime: float
    n_normal: int
    n_anomaly: int
    source: str
    auroc_logical: float | None = None
    auroc_structural: float | None = None


class SweepRow(_Model):
    category: str
    name: str
    setting: dict[str, Any]
    run: str
    validation: ValidationScore
    criterion: float
    test_auroc_logical: float | None = None
    test_auroc_structural: float | None = None
    test_auroc_mean: float | None = None
    test_d_prime_logical: float | None = None
    test_d_prime_structural: float | None = None
    train_seconds: float
    chosen: bool = False


class SweepResult(_Model):
    generator: str = GENERATOR  # first, so a later sweep recognises its own sweep.json before replacing it
    rules: str
    data_root: str
    category: str
    criterion: Criterion
    grid: dict[str, list[Any]]
    rows: list[SweepRow]
    winner: str
    written_back: dict[str, Any] = {}

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the table category × setting → criterion, test AUROC, d'."""
        def number(value: float | None, digits: int = 3) -> str:
            return "–" if value is None else f"{value:.{digits}f}"

        header = ["category", "setting", "val AUROC", "val AUROC log.", "val AUROC str.", "val d'",
                  "test AUROC log.", "test AUROC str.", "test d' log.", "test d' str.", "train s", "chosen"]
        rows = [[row.category, row.name, number(row.validation.auroc), number(row.validation.auroc_logical),
                 number(row.validation.auroc_structural), number(row.validation.d_prime, 2),
                 number(row.test_auroc_logical), number(row.test_auroc_structural),
                 number(row.test_d_prime_logical, 2), number(row.test_d_prime_structural, 2),
                 f"{row.train_seconds:.0f}", "◀" if row.chosen else ""] for row in self.rows]
        return header, rows

    def markdown(self) -> str:
        header, rows = self.table()
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ grid
def parse_value(text: str) -> Any:
    """A grid value as typed on the command line: int, float, true/false, or text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """`["lambda=5e-7,5e-6", "epochs=10,20"]` → {"lambda": [5e-7, 5e-6], "epochs": [10, 20]}."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise SweepError(f"--grid {item!r}: write KEY=V1,V2,... (e.g. lambda=5e-7,5e-6)")
        grid.setdefault(key, []).extend(parse_value(v) for v in values.split(",") if v.strip())
    check_grid(grid)
    return grid


SWEEPABLE_EXTRA = ("use_rules",)
"""Beyond the `train {}` keys: the rules switched off, for an ablation row."""


def _known_keys() -> dict[str, str]:
    """Grid key → TrainConfig field (aliases included: `lambda` → `lambda_`): the `train {}`
    keys a user sets, not the fields training derives itself (slots, peak separations, ...)."""
    known = {}
    for name, field in TrainConfig.model_fields.items():
        key = field.alias or name
        if key in TRAIN_SETTINGS or key in SWEEPABLE_EXTRA:
            known[key] = name
    return known


def check_grid(grid: Mapping[str, Sequence[Any]]) -> None:
    known = _known_keys()
    for key, values in grid.items():
        if key not in known:
            raise SweepError(f"unknown setting {key!r} in the grid; known: {', '.join(sorted(known))}")
        if not values:
            raise SweepError(f"the grid gives no value for {key!r}")
    if not grid:
        raise SweepError("the grid is empty; give at least one --grid KEY=V1,V2")


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination, in the grid's order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def setting_name(setting: Mapping[str, Any]) -> str:
    """A readable, folder-safe name: `lambda=5e-07,epochs=10`."""
    text = ",".join(f"{k}={_value_text(v)}" for k, v in setting.items())
    return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", text)


# ------------------------------------------------------------------ criterion
def _validation_set(program: CheckedProgram, data_root: Path, category: str, size: tuple[int, int], n: int,
                    seed: int) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], str]:
    """Validation normals, rule-derived anomalies and generic structural defects at `size`
    (never test images)."""
    from dire_dsl.edits.synthesize import synthesize_anomalies

    names, normals = load_split(data_root, category, "validation", size)
    if not normals:
        raise DataError(f"{data_root / category / 'validation' / 'good'}: no validation images; the sweep "
                        "chooses on validation normals")
    source_split, rng_stream = "validation", 7
    path = data_root / category / "annotations" / "validation.json"
    if path.is_file():
        by_name = read_coco_components(path)
        pool = [(img, by_name[name]) for name, img in zip(names, normals) if by_name.get(name)]
    else:
        pool = []
    if not pool:  # no validation annotations: edit the annotated training images, with another seed
        path = data_root / category / "annotations" / "train.json"
        if not path.is_file():
            raise DataError(f"{data_root / category / 'annotations'}: no validation.json or train.json; the sweep "
                            "needs annotated images to synthesize validation anomalies")
        by_name = read_coco_components(path)
        train_names, train_images = load_split(data_root, category, "train", size)
        pool = [(img, by_name[name]) for name, img in zip(train_names, train_images) if by_name.get(name)]
        source_split, rng_stream = "train", 8
    if not pool:
        raise DataError(f"{path}: none of the annotated images is in the data set")
    images = [img for img, _ in pool]
    components = [resize_components(parts, size) for _, parts in pool]
    results = synthesize_anomalies(program, images, components, n, np.random.default_rng([seed, rng_stream]))
    if not results:
        raise DataError(f"no rule-breaking edit fits the annotated {source_split} images; the sweep has no anomalies "
                        "to choose on")
    defects = defective_copies(np.stack(normals), seed + DEFECT_STREAM)
    source = (f"{len(results)} edits of {len(images)} annotated {source_split} images; {len(defects)} generic "
              "defects on the validation normals")
    return np.stack(normals), [r.image for r in results], defects, source


def _scores(scorer: Scorer, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
    out = []
    for start in range(0, len(images), batch_size):
        chunk = list(images[start:start + batch_size])
        scores = scorer.score(chunk)
        out.extend(float(m.max()) for m in scorer.maps(scores, [c.shape[:2] for c in chunk]))
    return np.asarray(out)


def validation_criterion(trained: TrainedRun, normals: Sequence[np.ndarray], anomalies: Sequence[np.ndarray],
                         defects: Sequence[np.ndarray], source: str) -> ValidationScore:
    """Validation normals vs rule-derived anomalies and vs generic defects, scored like `dire
    eval` scores: the mean of the two AUROCs (either alone when the other set is empty), and d'
    of normals vs both."""
    scorer = Scorer(trained)
    good, logical, structural = (_scores(scorer, images) for images in (normals, anomalies, defects))
    halves = {name: image_auroc(good, bad) if bad.size else None
              for name, bad in (("logical", logical), ("structural", structural))}
    present = [value for value in halves.values() if value is not None]
    bad = np.concatenate([logical, structural])
    return ValidationScore(auroc=float(np.mean(present)), d_prime=separation(good, bad).d_prime,
                           n_normal=int(good.size), n_anomaly=int(bad.size), source=source,
                           auroc_logical=halves["logical"], auroc_structural=halves["structural"])


def _rank_key(score: ValidationScore, criterion: Criterion) -> tuple[float, ...]:
    d = score.d_prime if math.isfinite(score.d_prime) else (1e9 if score.d_prime > 0 else -1e9)
    return (score.auroc, d) if criterion == "auroc" else (d, score.auroc)


# ------------------------------------------------------------------ write-back
def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return json.dumps(str(value))


def write_back(rules_path: str | Path, settings: Mapping[str, Any]) -> str:
    """Put `settings` into the rules file's `train {}` block (added if missing) and rewrite the file.

    The file is parsed, the block's settings replaced or appended in the syntax tree, and the
    tree printed by the canonical formatter (comments kept, so the file comes back in `dire
    fmt` form); the new text must pass the checker before it atomically replaces the file.
    Only keys of the `train {}` block can be written (not e.g. `use_rules` or `device`).
    """
    path = Path(rules_path)
    unknown = [key for key in settings if key not in TRAIN_SETTINGS]
    if unknown:
        raise SweepError(f"{', '.join(unknown)} cannot go into a train {{}} block; writable keys: "
                         f"{', '.join(TRAIN_SETTINGS)}")
    source = read_rules_text(path)
    program = parse(source, str(path))
    items = list(program.items)
    index = next((i for i, item in enumerate(items) if isinstance(item, ast.SettingsBlock) and item.block == "train"),
                 None)
    end = ast.Span(line=source.count("\n") + 2, column=1, end_line=source.count("\n") + 2, end_column=1,
                   start_pos=len(source), end_pos=len(source))
    block = items[index] if index is not None else ast.SettingsBlock(span=end, block="train", settings=[])
    entries = list(block.settings)
    for key, value in settings.items():
        text = _value_text(value)
        new = ast.Setting(span=block.span, key=ast.Ident(span=block.span, text=key), value=value, text=text)
        position = next((i for i, s in enumerate(entries) if s.key.text == key), None)
        if position is None:
            entries.append(new)
        else:
            entries[position] = entries[position].model_copy(update={"value": value, "text": text})
    block = block.model_copy(update={"settings": entries})
    if index is None:
        items.append(block)
    else:
        items[index] = block
    text = format_program(program.model_copy(update={"items": items}))
    result = check_source(text, str(path))
    if not result.ok:
        raise RulesCheckError(result.errors or result.diagnostics, result.source)
    crlf = b"\r\n" in path.read_bytes()  # keep a Windows file's line endings (read_text hides them)
    atomic_write_text(path, text.replace("\n", "\r\n") if crlf else text)
    return text


# ------------------------------------------------------------------ the sweep
def _finished(run_dir: Path, config: TrainConfig) -> TrainedRun | None:
    """A finished run in `run_dir` with exactly this configuration, or None."""
    try:
        trained = load_run(run_dir)
    except Exception:  # not a run, an unfinished one, or from another version: train again
        return None
    derived = {"slots", "peak_separation", "ridge_reach"}  # set from the data at training time
    saved = trained.config.model_dump(exclude=derived)
    return trained if saved == config.model_dump(exclude=derived) else None


def sweep(rules_path: str | Path, data_root: str | Path, grid: Mapping[str, Sequence[Any]], out_dir: str | Path, *,
          category: str | None = None, overrides: Mapping[str, Any] | None = None, criterion: Criterion = "auroc",
          evaluate_test: bool = True, write_back_winner: bool = False, n_anomalies: int | None = None,
          reuse: bool = True, on_phase: Callable[[str], None] | None = None,
          on_step: Callable[[dict[str, Any]], None] | None = None) -> SweepResult:
    """Train every setting of `grid` (on top of `overrides`), choose by the validation criterion.

    Runs go to `<out_dir>/<setting name>/`; with `reuse`, a finished run there with the same
    configuration is loaded instead of trained again. The result is written to
    `<out_dir>/sweep.json` and `<out_dir>/sweep.md`.
    """
    say = on_phase or (lambda _: None)
    check_grid(grid)
    if criterion not in ("auroc", "d_prime"):
        raise SweepError(f"criterion must be auroc or d_prime, got {criterion!r}")
    program = load_rules(rules_path)
    root, out = Path(data_root), Path(out_dir)
    plan = []
    for setting in expand_grid(grid):  # every configuration is checked before anything trains
        values = {**dict(overrides or {}), **setting}
        try:
            plan.append((setting, values, _config_for(program, root, values, category)))
        except SettingError as error:
            raise SweepError(f"setting {setting_name(setting)}: {error}") from None
    sets: dict[tuple[int, int], tuple[np.ndarray, list[np.ndarray], list[np.ndarray], str]] = {}
    rows: list[SweepRow] = []
    runs: list[TrainedRun] = []
    for setting, values, config in plan:
        name = setting_name(setting)
        run_dir = out / name
        started = time.perf_counter()
        trained = _finished(run_dir, config) if reuse else None
        if trained is None:
            say(f"{name}: training")
            trained = train(rules_path, root, run_dir, category=category, overrides=values, force=True,
                            on_step=on_step)
        seconds = time.perf_counter() - started
        size = trained.config.input_hw()
        if size not in sets:
            say(f"{name}: synthesizing validation anomalies and defects at {size[1]}×{size[0]} px")
            sets[size] = _validation_set(program, root, trained.config.category, size,
                                         n_anomalies or VALIDATION_ANOMALIES, trained.config.seed)
        say(f"{name}: validation criterion")
        score = validation_criterion(trained, *sets[size])
        rows.append(SweepRow(category=trained.config.category, name=name, setting=setting, run=str(run_dir),
                             validation=score, criterion=score.auroc if criterion == "auroc" else score.d_prime,
                             train_seconds=seconds))
        runs.append(trained)
    best = max(range(len(rows)), key=lambda i: _rank_key(rows[i].validation, criterion))
    rows[best].chosen = True
    if evaluate_test:  # after the choice: the test set only fills the table
        for row, trained in zip(rows, runs):
            say(f"{row.name}: test evaluation (reported, not used to choose)")
            report = evaluate(trained, root, trained.config.category, spro=False)
            row.test_auroc_logical, row.test_auroc_structural = report.auroc.logical, report.auroc.structural
            row.test_auroc_mean = report.auroc.mean
            row.test_d_prime_logical = report.separation.logical.d_prime if report.separation.logical else None
            row.test_d_prime_structural = report.separation.structural.d_prime if report.separation.structural else None
    result = SweepResult(rules=str(rules_path), data_root=str(root), category=rows[best].category, criterion=criterion,
                         grid={k: list(v) for k, v in grid.items()}, rows=rows, winner=rows[best].name)
    if write_back_winner:
        writable = {k: v for k, v in rows[best].setting.items() if k in TRAIN_SETTINGS}
        if writable:
            write_back(rules_path, writable)
        result.written_back = writable
    atomic_write_text(out / "sweep.json", result.model_dump_json(indent=2) + "\n")
    atomic_write_text(out / "sweep.md", f"{MARKDOWN_MARKER}\n{result.markdown()}")
    return result


def _config_for(program: CheckedProgram, root: Path, values: dict[str, Any], category: str | None) -> TrainConfig:
    from dire_dsl.run.config import settings_for

    config = settings_for(program, str(root), values)
    return config.model_copy(update={"category": category}) if category is not None else config

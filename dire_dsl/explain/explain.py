"""Why an image got its score: each rule's truth, the measurements behind it, where it broke.

    from dire_dsl.explain.explain import explain, render_text
    print(render_text(explain("runs/pushpins", ["test/logical_anomalies/000.png"], out_dir="why")))

For every image: the score (max of the full-resolution anomaly map, as in `dire eval`), the
verdict at the run's calibrated threshold, and every rule with its truth value, the
measured quantities of its least-true atoms (`count(pushpin in compartment[2,3]) = 2,
expected == 1`), its source line, and the objects it is about; violated rules
(`evidence.rule_violated`: z ≥ 3 spreads of the validation normals, the distance the score is
built from) come first, then the others, each group most abnormal first, pruned rules last.
`false_at` names where a rule is false even when it holds as a whole (a `forall` over 15
compartments with one empty keeps a truth near 0.8). With `out_dir`, an overlay PNG per
image marks the instances, cells and regions behind each violated rule (and the false
members of the others) and the structural finding (`explain.structural`: the part that looks
unlike any normal one) next to the anomaly map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel

from dire_dsl.atomic import atomic_write_bytes
from dire_dsl.explain.overlay import enlarge, heat_overlay, marks_overlay, png_bytes, side_by_side
from dire_dsl.explain.structural import STRUCTURAL, StructuralFinding, structural_finding
from dire_dsl.logic.evidence import FALSE_BELOW, Mark, rule_objects, rule_violated, violated_marks
from dire_dsl.run.inference import Scorer, ScoringModel, open_model, read_rgb
from dire_dsl.run.scoring import BatchScores

EVIDENCE_LINES = 4
"""Measured values shown per atom (its least-true members)."""


class RuleExplanation(BaseModel):
    rule: str
    truth: float
    z: float  # violation in spreads of the validation normals (the logic distance of this rule)
    violated: bool  # rule_violated(z): what the score counts
    hard: bool
    pruned: bool
    gate: float
    line: int
    source: str
    objects: list[str]
    false_at: list[str]
    evidence: list[str]


class Explanation(BaseModel):
    image: str
    score: float
    threshold: float
    verdict: Literal["anomalous", "normal"]
    violated: list[str]
    rules: list[RuleExplanation]
    structural: StructuralFinding | None = None  # the structural map's peak: where the image looks unlike normal
    overlay: str | None = None


def _source_lines(trained: ScoringModel) -> list[str]:
    try:
        return trained.rules_text().splitlines()
    except Exception:  # the run's copy is only a nicety here; the IR's text is the fallback
        return []


def explain_scored(trained: ScoringModel, scores: BatchScores, index: int, image: str, score: float,
                   lines: list[str] | None = None, evidence_lines: int = EVIDENCE_LINES,
                   marks: Sequence[Mark] | None = None) -> Explanation:
    """The explanation of image `index` of an already scored batch (`marks`: from `marks_for`)."""
    lines = _source_lines(trained) if lines is None else lines
    marks = marks_for(trained, scores, index) if marks is None else marks
    pruned = {name for name, *_ in trained.calibration.pruned}
    gates = trained.gate_values()
    logic = scores.logic
    threshold = float(trained.calibration.threshold)
    rows = []
    z_of = rule_z(trained, scores, index)
    for position, rule in enumerate(trained.program.rules):
        truth = float(logic.truth[index, logic.rules.index(rule.name)])
        z = z_of[rule.name]
        evidence = [line for atom in logic.atoms.get(rule.name, []) for line in atom.lines(index, limit=evidence_lines)]
        span = rule.span
        source = "\n".join(lines[span.line - 1:span.end_line]) if len(lines) >= span.end_line else rule.source
        rows.append(RuleExplanation(
            rule=rule.name, truth=truth, z=round(z, 3),
            violated=rule_violated(z), hard=rule.hard,
            pruned=rule.name in pruned, gate=float(gates[position]), line=span.line, source=source,
            objects=list(rule_objects(rule)),
            false_at=list(dict.fromkeys(m.label for m in marks if m.rule == rule.name)), evidence=evidence))
    rows.sort(key=lambda row: (row.pruned, not row.violated, -row.z, not row.false_at, row.truth))
    finding, _ = structural_finding(trained, scores, index)
    return Explanation(image=image, score=score, threshold=threshold,
                       verdict="anomalous" if score > threshold else "normal",
                       violated=[row.rule for row in rows if row.violated], rules=rows, structural=finding)


def rule_z(trained: ScoringModel, scores: BatchScores, index: int) -> dict[str, float]:
    """Each rule's gate-weighted z on image `index` of a scored batch (0 for pruned rules)."""
    z_all = trained.calibration.rule_z(scores.rule_violation[index:index + 1])[0]
    return {name: float(z_all[position]) for position, name in enumerate(scores.logic.rules)}


def marks_for(trained: ScoringModel, scores: BatchScores, index: int) -> list[Mark]:
    """Marks of the violated rules of image `index`, the false members of the others (unpruned),
    and the structural finding's area when it is beyond normal."""
    pruned = {name for name, *_ in trained.calibration.pruned}
    violated = {name for name, z in rule_z(trained, scores, index).items() if rule_violated(z)}
    marks = violated_marks(trained.program, scores.logic, scores.grounding, index, violated, skip=pruned,
                           partial=True)
    _, structural = structural_finding(trained, scores, index)
    return marks + ([structural] if structural is not None else [])


def overlay_figure(pixels: np.ndarray, anomaly_map: np.ndarray, marks: Sequence[Mark], threshold: float,
                   high: float | None = None) -> Image.Image:
    """Two panels: the violated rules' marks, and the anomaly map (faint at its minimum or 0, whichever is
    lower; full at `high`, by default the larger of the map's maximum and the threshold)."""
    top = max(float(anomaly_map.max()), threshold) if high is None else high
    low = min(float(anomaly_map.min()), 0.0)
    heat = enlarge(heat_overlay(pixels, anomaly_map, low, top if top > low else low + 1.0))
    rules = marks_overlay(pixels, marks)
    title = "violated rules" if any(not mark.partial for mark in marks) else "no rule violated"
    if any(mark.rule == STRUCTURAL for mark in marks):
        title += " + structural defect"
    return side_by_side([rules, heat], [title, f"anomaly map (max {anomaly_map.max():.2f}, thr {threshold:.2f})"])


def _overlay_name(path: Path, taken: set[str]) -> str:
    """`<folder>_<stem>.png`, the folder named from the resolved path (so `photo.png` given in its
    own folder is never named `photo.png`), numbered `-2`, `-3`... past the names in `taken`."""
    folder = path.resolve().parent.name
    base = f"{folder}_{path.stem}" if folder else path.stem
    name, n = f"{base}.png", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.png"
    taken.add(name)
    return name


def overlay_paths(images: Sequence[str | Path], out_dir: str | Path) -> list[Path]:
    """Where `explain` writes each image's overlay: one distinct file per image, never an input image
    (an input lying in `out_dir` keeps its name out of use), so callers can check them before scoring."""
    out = Path(out_dir)
    paths = [Path(p) for p in images]
    taken = {p.name for p in paths if p.resolve().parent == out.resolve()}
    return [out / _overlay_name(path, taken) for path in paths]


def explain(run_path: str | Path | ScoringModel, images: Sequence[str | Path], out_dir: str | Path | None = None,
            batch_size: int = 16) -> list[Explanation]:
    """Explain each image; with `out_dir`, also write `<out_dir>/<folder>_<stem>.png` overlays
    (`overlay_paths`).

    Raises the run's errors (RunDirError, RulesError) for a bad run folder and ImageReadError
    (a DataError) naming the first image that cannot be read, before scoring anything.
    """
    trained = open_model(run_path)
    paths = [Path(p) for p in images]
    pixels = [read_rgb(p) for p in paths]
    scorer = Scorer(trained)
    lines = _source_lines(trained)
    targets = overlay_paths(paths, out_dir) if out_dir is not None else []
    out: list[Explanation] = []
    for start in range(0, len(paths), batch_size):
        chunk = pixels[start:start + batch_size]
        scores = scorer.score(chunk)
        maps = scorer.maps(scores, [p.shape[:2] for p in chunk])
        for offset, (path, image, anomaly_map) in enumerate(zip(paths[start:], chunk, maps)):
            marks = marks_for(trained, scores, offset)
            explanation = explain_scored(trained, scores, offset, str(path), float(anomaly_map.max()), lines,
                                         marks=marks)
            if targets:
                figure = overlay_figure(image, anomaly_map, marks, explanation.threshold)
                target = targets[start + offset]
                atomic_write_bytes(target, png_bytes(figure))
                explanation.overlay = str(target)
            out.append(explanation)
    return out


def render_text(explanations: Sequence[Explanation], all_rules: bool = True) -> str:
    """A readable report: per image its verdict, then each rule (violated first) with its evidence."""
    blocks = []
    for item in explanations:
        head = (f"{item.image}: {item.verdict.upper()} (score {item.score:.3f}, threshold {item.threshold:.3f})"
                + (f"; violated: {', '.join(item.violated)}" if item.violated else "; no rule violated"))
        usual = [row.rule for row in item.rules if not row.violated and not row.pruned and row.truth < FALSE_BELOW]
        if usual:  # false here, but as false on the validation normals: the score is a distance from those
            head += (f" ({', '.join(usual)}: false, but as false on the validation normals, so not violated and "
                     "not counted in the score; a rule false on good images is not learnt yet)")
        lines = [head]
        if item.structural is not None:
            status = "DEFECT" if item.structural.beyond_normal else "normal"
            lines.append(f"  {status:8} structural: {item.structural.sentence()}")
        for row in item.rules:
            if not all_rules and not row.violated:
                continue
            status = "PRUNED" if row.pruned else ("VIOLATED" if row.violated else "normal")
            about = f" [about {', '.join(row.objects)}]" if row.objects else ""
            lines.append(f"  {status:8} {row.rule} (truth {row.truth:.3f}, {row.z:+.1f} normal spreads, "
                         f"line {row.line}){about}")
            first, *rest = row.source.splitlines() or [""]
            lines.append(f"           | {first.strip()}")
            lines.extend(f"           | {more.strip()}" for more in rest)
            if row.false_at and not row.pruned:
                lines.append(f"           false at: {', '.join(row.false_at)}")
            if row.violated or (row.false_at and not row.pruned):
                lines.extend(f"           - {evidence}" for evidence in row.evidence)
        if item.overlay:
            lines.append(f"  overlay: {item.overlay}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def render_json(explanations: Sequence[Explanation]) -> str:
    """The explanations as a JSON list (one object per image)."""
    return json.dumps([item.model_dump() for item in explanations], indent=2) + "\n"

"""The HTML report of an evaluation: one self-contained file, every picture embedded (base64 PNG).

    from dire_dsl.eval.report import write_report
    write_report(report, "pushpins.html", run="runs/pushpins")

Sections (each a `<section id=...>`): `warnings` (separation warnings first, in red, so
"80% AUROC" with collapsed scores cannot hide), `summary` (the metrics), `histograms` (score
histogram per split, with the threshold), `roc` (ROC curves), `defect-types` (each defect
type's AUROC against the good images, its detection rate at the threshold and the rule that
decides it most often), `rules` (how often each rule is violated, and decides a flagged
image, on good images, per anomaly kind and per defect type), `pruned` (rules not
measured), `false-positives` and `false-negatives` (the worst ones, each with the violated
rules' marks, the anomaly map and the rules' evidence; when there are none, the closest
calls), and `timing`. The examples are scored again with the run: pass `run`, or the
report's own `run` folder is opened (`render_report` alone draws no examples).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dire_dsl.atomic import GENERATOR, atomic_write_text
from dire_dsl.eval.evaluate import EvalReport, ImageRecord
from dire_dsl.eval.metrics import GOOD, LOGICAL, STRUCTURAL
from dire_dsl.eval.plots import roc_curves, score_histograms
from dire_dsl.explain.explain import Explanation, explain_scored, marks_for, overlay_figure
from dire_dsl.explain.overlay import png_bytes
from dire_dsl.run.inference import Scorer, open_run, read_rgb
from dire_dsl.run.trained import TrainedRun

EXAMPLES = 4
"""Worst false positives and false negatives shown (each)."""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; }
.warn { background: #fff0f0; border: 2px solid #c92a2a; padding: 0.6em 1em; }
.warn li { color: #a61e1e; font-weight: 600; }
.ok { background: #f0fff4; border: 1px solid #2b8a3e; padding: 0.6em 1em; }
.hi { background: #ffe3e3; } .meta { color: #666; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; } pre { background: #f7f7f7; padding: 0.5em; }
"""


@dataclass(frozen=True)
class Example:
    """One image shown in the report: its record, its explanation and its overlay figure."""

    record: ImageRecord
    explanation: Explanation
    png: bytes


def worst_cases(report: EvalReport, n: int = EXAMPLES) -> tuple[list[ImageRecord], list[ImageRecord], bool, bool]:
    """The `n` worst false positives and false negatives; when there are none, the closest calls.

    Returns (positives, negatives, real_fp, real_fn): the flags say whether the lists are
    actual errors (True) or the highest-scoring normals / lowest-scoring anomalies (False).
    """
    normals = sorted((r for r in report.images if r.split == GOOD), key=lambda r: -r.score)
    anomalies = sorted((r for r in report.images if r.split != GOOD), key=lambda r: r.score)
    fps = [r for r in normals if r.anomalous]
    fns = [r for r in anomalies if not r.anomalous]
    return (fps or normals)[:n], (fns or anomalies)[:n], bool(fps), bool(fns)


def render_examples(trained: TrainedRun, records: Sequence[ImageRecord], high: float) -> list[Example]:
    """Score the records' images again and draw their overlays."""
    if not records:
        return []
    scorer = Scorer(trained)
    pixels = [read_rgb(r.path) for r in records]
    scores = scorer.score(pixels)
    maps = scorer.maps(scores, [p.shape[:2] for p in pixels])
    out = []
    for index, (record, image, anomaly_map) in enumerate(zip(records, pixels, maps)):
        marks = marks_for(trained, scores, index)
        explanation = explain_scored(trained, scores, index, record.key, record.score, marks=marks)
        figure = overlay_figure(image, anomaly_map, marks, trained.calibration.threshold, high=high)
        out.append(Example(record, explanation, png_bytes(figure)))
    return out


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], names: int = 1) -> str:
    head = "".join(f'<th class="name">{html.escape(h)}</th>' if i < names else f"<th>{html.escape(h)}</th>"
                   for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            klass = ' class="name"' if i < names else ""
            cells.append(f"<td{klass}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _rates(violated: float | None, deciding: float | None, alarm: bool = False) -> str:
    if violated is None or deciding is None:
        return "–"
    text = f"{violated:.0%} / {deciding:.0%}"
    return f'<span class="hi">{text}</span>' if alarm and violated > 0 else text


def _warnings(report: EvalReport) -> str:
    if not report.warnings:
        return '<div class="ok">No separation warnings: the scores are spread and not saturated.</div>'
    items = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
    return (f'<div class="warn"><strong>{len(report.warnings)} warning(s): read these before trusting any number '
            f"below.</strong><ul>{items}</ul></div>")


def _summary(report: EvalReport) -> str:
    rows = [[html.escape(name), html.escape(value)] for name, value in report.summary()]
    spro = report.au_spro
    for limit in spro.mean:
        rows.append([f"AU-sPRO @{limit} logical / structural / mean",
                     " / ".join(_number(values[limit]) for values in (spro.logical, spro.structural, spro.mean))])
    for kind, block in (("logical", report.separation.logical), ("structural", report.separation.structural)):
        if block is not None:
            rows.append([f"gap / relative gap ({kind})", f"{block.gap:.3f} / {block.relative_gap:.3f}"])
    c = report.classification
    rows.append(["TP / FP / TN / FN", f"{c.true_positives} / {c.false_positives} / {c.true_negatives} / "
                                      f"{c.false_negatives}"])
    note = (f'<p class="meta">Image score = max of the full-resolution anomaly map (what the official script reads). '
            f"AU-sPRO as MVTec LOCO reports it (good + logical, good + structural, their mean), computed with the "
            f"longer side at {report.au_spro_side} px over {report.au_spro_regions} defect regions. Threshold from "
            "validation normals only.</p>")
    return _table(["metric", "value"], rows) + note


def _defect_types(report: EvalReport) -> str:
    if not report.defect_types:
        return "<p>No anomalous test image.</p>"
    rows = []
    for block in report.defect_types:
        decider = report.rules.deciding_rule(block.defect_type)
        rows.append([html.escape(block.defect_type), html.escape(block.kind), str(block.images), f"{block.auroc:.3f}",
                     f"{block.detected} ({block.detection_rate:.0%})",
                     "–" if decider is None else f"{html.escape(decider[0])} ({decider[1]:.0%})"])
    note = ('<p class="meta">AUROC of each defect type against all good test images; detected = scored above the '
            "threshold; the rule that decides the most of its images (see Rule violations).</p>")
    return note + _table(["defect type", "kind", "images", "AUROC", "detected", "mostly decided by"], rows, names=2)


def _rules(report: EvalReport) -> str:
    block = report.rules
    if not block.rules:
        return "<p>No rule was measured (every rule pruned).</p>"
    kinds = [k for k in (LOGICAL, STRUCTURAL) if k in block.counts]
    defects = [d for d in block.defect_counts if d != GOOD and d not in (LOGICAL, STRUCTURAL)]
    header = ["rule", "line", "about", f"good ({block.counts.get(GOOD, 0)})",
              *(f"{k} ({block.counts[k]})" for k in kinds), *(f"{d} ({block.defect_counts[d]})" for d in defects)]
    rows = []
    for row in block.rules:
        rows.append([html.escape(row.rule + (" (hard)" if row.hard else "")), str(row.line),
                     html.escape(", ".join(row.objects)),
                     _rates(row.normal_rate, row.normal_deciding, alarm=True),
                     *(_rates(row.anomaly_rates.get(k), row.anomaly_deciding.get(k)) for k in kinds),
                     *(_rates(row.defect_rates.get(d), row.defect_deciding.get(d)) for d in defects)])
    note = ('<p class="meta">Per cell: the share of images on which the rule is violated (its violation at least '
            "3 spreads of the validation normals above theirs: what the score counts) / the share on which it decides "
            "a flagged image (violated, and the image's largest z). On good images this is a false-alarm source "
            "(highlighted when above 0); on anomalies, what the rule catches.</p>")
    return note + _table(header, rows, names=3)


def _pruned(report: EvalReport) -> str:
    if not report.rules.pruned:
        return "<p>No rule was pruned.</p>"
    rows = [[html.escape(p.rule), f"{p.gate:.4f}", html.escape(p.reason)] for p in report.rules.pruned]
    return ("<p>These rules' gates fell under the pruning threshold during training; they do not count in the "
            "score and were not measured.</p>" + _table(["rule", "gate", "reason"], rows, names=1))


def _examples(examples: Sequence[Example], real: bool, kind: str) -> str:
    if not examples:
        return "<p>No example images (no run to score them with).</p>"
    intro = (f"<p>The worst {kind}s, most wrong first.</p>" if real else
             f"<p>No {kind}s at the calibrated threshold. The closest calls instead:</p>")
    parts = [intro]
    for example in examples:
        record, explanation = example.record, example.explanation
        lines = [f"{html.escape(record.key)}: score {record.score:.3f} → {record.verdict}"
                 + (f" ({html.escape(record.defect_type)})" if record.defect_type else "")]
        for rule in explanation.rules:
            if rule.violated or (rule.false_at and not rule.pruned):
                evidence = "; ".join(html.escape(e) for e in rule.evidence[:3])
                status = "violated" if rule.violated else "false in part"
                lines.append(f"{status} <b>{html.escape(rule.rule)}</b> (truth {rule.truth:.3f}, line {rule.line}): "
                             f"{evidence}")
        if not explanation.violated:
            lines.append("no rule violated")
        caption = "<br>".join(lines)
        parts.append(f"<figure>{_img(example.png, record.key)}<figcaption>{caption}</figcaption></figure>")
    return "".join(parts)


def _timing(report: EvalReport) -> str:
    t = report.timing
    rows = [["images", str(t.images)], ["inference seconds", f"{t.inference_seconds:.2f}"],
            ["images / second", f"{t.images_per_second:.1f}"], ["logic-layer seconds", f"{t.logic_seconds:.3f}"],
            ["logic-layer share", f"{t.logic_share:.1%}"], ["wall seconds (incl. loading)", f"{t.wall_seconds:.1f}"],
            ["threads / device", f"{t.threads} / {html.escape(t.device)}"]]
    return _table(["", ""], rows)


def render_report(report: EvalReport, false_positives: Sequence[Example] = (), false_negatives: Sequence[Example] = (),
                  real_fp: bool = True, real_fn: bool = True) -> str:
    """The report's HTML text (self-contained)."""
    by_split = {split: [r.score for r in report.images if r.split == split] for split in (GOOD, LOGICAL, STRUCTURAL)}
    histogram = score_histograms(by_split, report.threshold)
    roc = roc_curves(by_split[GOOD], {k: by_split[k] for k in (LOGICAL, STRUCTURAL)},
                     {LOGICAL: report.auroc.logical, STRUCTURAL: report.auroc.structural})
    title = f"dire eval — {report.category}"
    meta = (f"run {html.escape(report.run)} · data {html.escape(report.data_root)} · backbone "
            f"{html.escape(report.backbone)} at {report.image_size} px · rules {'on' if report.use_rules else 'OFF'} · "
            f"{sum(report.n_images.values())} test images "
            f"({', '.join(f'{k} {v}' for k, v in report.n_images.items())})")
    sections = [
        ("warnings", "Warnings", _warnings(report)),
        ("summary", "Metrics", _summary(report)),
        ("histograms", "Score histograms per split", _img(histogram, "score histograms")),
        ("roc", "ROC curves", _img(roc, "ROC curves")),
        ("defect-types", "Results by defect type", _defect_types(report)),
        ("rules", "Rule violations", _rules(report)),
        ("pruned", "Pruned rules", _pruned(report)),
        ("false-positives", "Worst false positives", _examples(false_positives, real_fp, "false positive")),
        ("false-negatives", "Worst false negatives", _examples(false_negatives, real_fn, "false negative")),
        ("timing", "Timing", _timing(report)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{html.escape(name)}</h2>{content}</section>'
                   for sid, name, content in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="generator" content="{GENERATOR}"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><p class=\"meta\">{meta}</p>"
            f"{body}</body></html>\n")


def write_report(report: EvalReport, path: str | Path, run: str | Path | TrainedRun | None = None,
                 examples: int = EXAMPLES) -> Path:
    """Write the HTML report atomically; `run` (default: the report's run folder) scores the examples."""
    fps, fns, real_fp, real_fn = worst_cases(report, examples)
    trained = open_run(run if run is not None else report.run)
    high = max(max((r.score for r in report.images), default=1.0), report.threshold)
    text = render_report(report, render_examples(trained, fps, high), render_examples(trained, fns, high),
                         real_fp, real_fn)
    atomic_write_text(path, text)
    return Path(path)

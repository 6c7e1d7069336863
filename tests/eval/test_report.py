"""The HTML report: parsed with html.parser; its sections, tables and embedded images."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from dire_dsl.eval.evaluate import EvalReport, evaluate
from dire_dsl.eval.report import render_report, worst_cases, write_report

SECTIONS = ("warnings", "summary", "histograms", "roc", "defect-types", "rules", "pruned", "false-positives",
            "false-negatives", "timing")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.current: str | None = None
        self.images: list[tuple[str | None, str]] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.current = values.get("id")
            self.sections[self.current or ""] = []
        if tag == "img":
            self.images.append((self.current, values.get("src") or ""))
        if tag in ("link", "script") or (tag == "a" and values.get("href")):
            self.links.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.current is not None:
            self.sections[self.current].append(data)


@pytest.fixture(scope="module")
def report(tiny_run: Path, tiny_loco: Path) -> EvalReport:
    return evaluate(tiny_run, tiny_loco)


@pytest.fixture(scope="module")
def parsed(report: EvalReport, tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> _Collect:
    path = tmp_path_factory.mktemp("report") / "r.html"
    write_report(report, path, run=tiny_run, examples=2)
    collect = _Collect()
    collect.feed(path.read_text(encoding="utf-8"))
    return collect


def test_every_section_is_there_in_order(parsed: _Collect) -> None:
    assert [s for s in parsed.sections if s in SECTIONS] == list(SECTIONS)


def test_images_are_embedded_pngs(parsed: _Collect, report: EvalReport) -> None:
    assert parsed.links == []  # self-contained: no stylesheet, script or link to another file
    where = [section for section, _ in parsed.images]
    for section in ("histograms", "roc"):
        assert where.count(section) == 1
    fps, fns, _, _ = worst_cases(report, 2)
    assert where.count("false-positives") == len(fps) > 0 and where.count("false-negatives") == len(fns) > 0
    for _, src in parsed.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        with Image.open(io.BytesIO(base64.b64decode(src[len(prefix):]))) as image:
            assert image.format == "PNG" and image.width > 50


def test_tables_name_rules_and_metrics(parsed: _Collect, report: EvalReport) -> None:
    rules_text = " ".join(parsed.sections["rules"])
    for row in report.rules.rules:
        assert row.rule in rules_text
    summary = " ".join(parsed.sections["summary"])
    assert "image AUROC logical" in summary and "d' logical" in summary
    for kind in ("logical", "structural", "mean"):  # MVTec's form, never one pooled number
        assert f"AU-sPRO @0.05 {kind}" in summary
    assert "AU-sPRO @0.05 logical / structural / mean" in summary
    assert "truth < 0.5" not in rules_text and "3 spreads of the validation normals" in rules_text


def test_defect_types_section_gives_auroc_and_detection(parsed: _Collect, report: EvalReport) -> None:
    text = " ".join(parsed.sections["defect-types"])
    assert report.defect_types
    for block in report.defect_types:
        assert block.defect_type in text and f"{block.auroc:.3f}" in text
        assert f"{block.detected} ({block.detection_rate:.0%})" in text


def test_examples_are_the_worst_errors_or_closest_calls(report: EvalReport) -> None:
    fps, fns, real_fp, real_fn = worst_cases(report, 3)
    assert all(r.split == "good" for r in fps) and all(r.split != "good" for r in fns)
    assert [r.score for r in fps] == sorted((r.score for r in fps), reverse=True)
    assert [r.score for r in fns] == sorted(r.score for r in fns)
    assert real_fp == any(r.anomalous for r in report.images if r.split == "good")
    if real_fn:
        assert all(not r.anomalous for r in fns)


def test_separation_warnings_come_first_and_loud(report: EvalReport) -> None:
    warned = report.model_copy(update={"warnings": ["logical: collapsed: score spread 1e-07 is below 1e-05"]})
    collect = _Collect()
    collect.feed(render_report(warned))
    text = " ".join(collect.sections["warnings"])
    assert "collapsed" in text and "warning" in text
    assert list(collect.sections)[0] == "warnings"

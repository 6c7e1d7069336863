"""`dire compile`: the formula tree per rule, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def test_text_tree_shows_quantifier_comparison_measurement(cli_app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(cli_app, ["compile", str(ROOT / "rules/pushpins.rules")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "rule one_per_compartment" in out
    quant = out.index("quantifier: forall c in cells of compartment")
    comparison = out.index("comparison: ==", quant)
    measurement = out.index("measurement: count", comparison)
    assert quant < comparison < measurement
    assert "AggregPMeanError(p=2" in out and "σ=0.5" in out


def test_json_emits_every_rule(cli_app: typer.Typer, runner: CliRunner) -> None:
    rules = ROOT / "tests/fixtures/frozen_rules/splicing_connectors.rules"
    result = runner.invoke(cli_app, ["compile", "--emit", "json", str(rules)])
    assert result.exit_code == 0
    plan = json.loads(result.output)
    assert plan["category"] == "splicing_connectors"
    names = [r["name"] for r in plan["rules"]]
    assert "color_code" in names and "same_size" in names
    table = next(r for r in plan["rules"] if r["name"] == "color_code")["formula"]
    assert table["node"] == "mapping table" and table["label"] == "yellow→2, blue→3, red→5"


def test_file_with_errors_is_not_compiled(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.rules"
    path.write_text('category c\nobject pin "p"\nrule r: count(pn) == 1\n', encoding="utf-8")
    result = runner.invoke(cli_app, ["compile", str(path)])
    assert result.exit_code == 1 and "E203" in result.output

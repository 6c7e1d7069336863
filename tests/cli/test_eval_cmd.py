"""`dire eval`: JSON, TIFF maps and HTML from one command; one clear message and exit 1 on user errors."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner


def test_eval_writes_json_maps_and_report(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                          tiny_loco: Path, tmp_path: Path) -> None:
    out_json, out_html, maps = tmp_path / "m.json", tmp_path / "r.html", tmp_path / "maps"
    result = runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--json", str(out_json),
                                     "--report", str(out_html), "--maps", str(maps), "--quiet"])
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert data["category"] == "pushpins" and {"logical", "structural", "mean"} <= set(data["auroc"])
    low, high = data["auroc"]["logical_ci95"]
    assert low <= data["auroc"]["logical"] <= high
    assert len(list(maps.glob("pushpins/test/*/*.tiff"))) == len(data["images"])
    assert out_html.read_text().startswith("<!DOCTYPE html>")
    for text in ("image AUROC logical", "95% CI", "d' logical", "separation", "one_per_compartment", str(out_html)):
        assert text in result.output


def test_missing_run_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["eval", str(tmp_path / "nope"), "--data", str(tiny_loco)])
    assert result.exit_code == 1
    assert "no such run folder" in result.output and "Traceback" not in result.output


def test_not_a_run_folder_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["eval", str(tmp_path), "--data", str(tiny_loco)])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


def test_wrong_data_folder_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "pushpins" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.json").exists()


def test_usage_error_exits_two(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path) -> None:
    assert runner.invoke(cli_app, ["eval", str(tiny_run)]).exit_code == 2  # --data missing

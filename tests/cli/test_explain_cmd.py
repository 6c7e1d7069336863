"""`dire explain`: text and JSON, overlays, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner


def test_text_names_rules_and_writes_overlays(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                              tiny_loco: Path, tmp_path: Path) -> None:
    image = tiny_loco / "pushpins" / "test" / "logical_anomalies" / "000.png"
    result = runner.invoke(cli_app, ["explain", str(tiny_run), str(image), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for rule in ("one_per_compartment", "fifteen_pins", "all_separators"):
        assert rule in result.output
    assert "threshold" in result.output and "line " in result.output
    assert (tmp_path / "logical_anomalies_000.png").is_file()


def test_json_format(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path, tiny_loco: Path) -> None:
    images = [str(tiny_loco / "pushpins" / "test" / "good" / name) for name in ("000.png", "001.png")]
    result = runner.invoke(cli_app, ["explain", str(tiny_run), *images, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [item["image"] for item in data] == images
    assert {"rule", "truth", "violated", "line", "source", "evidence"} <= set(data[0]["rules"][0])


def test_unreadable_image_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    result = runner.invoke(cli_app, ["explain", str(tiny_run), str(bad)])
    assert result.exit_code == 1
    assert "bad.png" in result.output and "Traceback" not in result.output
    missing = runner.invoke(cli_app, ["explain", str(tiny_run), str(tmp_path / "gone.png")])
    assert missing.exit_code == 1 and "gone.png" in missing.output


def test_missing_run_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path, tmp_path: Path) -> None:
    image = tiny_loco / "pushpins" / "test" / "good" / "000.png"
    result = runner.invoke(cli_app, ["explain", str(tmp_path / "nope"), str(image)])
    assert result.exit_code == 1 and "no such run folder" in result.output

"""`dire demo`: the whole chain on a tiny data set (sizes patched down), and a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dire_dsl.eval import demo as demo_module


def test_demo_runs_end_to_end(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "DEMO_DATA", {"n_train": 16, "n_val": 6, "n_test": 12, "size": 80})
    monkeypatch.setattr(demo_module, "DEMO_TRAIN", {"epochs": 1, "image_size": 48, "shots": 2})
    out = tmp_path / "demo"
    result = runner.invoke(cli_app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for path in (out / "report.html", out / "metrics.json", out / "run" / "model.safetensors",
                 out / "data" / "pushpins" / "defects_config.json"):
        assert path.is_file(), path
    assert "image AUROC logical" in result.output and str(out / "report.html") in result.output
    assert "done in" in result.output


def test_unknown_category_exits_one(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["demo", "--category", "teapots", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "teapots" in result.output and "pushpins" in result.output and "Traceback" not in result.output
    assert "pcb1" not in result.output  # a rules file without a scene spec cannot be demonstrated
    result = runner.invoke(cli_app, ["demo", "--category", "../rules/pushpins", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no built-in category" in result.output

"""`dire eval`: JSON, TIFF maps and HTML from one command; one clear message and exit 1 on user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


def test_full_disk_names_the_file_it_could_not_write(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                    tiny_loco: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    def full_disk(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    out_json = tmp_path / "m.json"
    result = runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--json", str(out_json), "-q"])
    assert result.exit_code == 1 and result.output.count("error:") == 1, result.output
    assert f"{out_json}: No space left on device" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # no half-written file, no temp file


def test_eval_reports_mvtec_au_spro_defect_types_and_one_violated(cli_app: typer.Typer, runner: CliRunner,
                                                                  tiny_run: Path, tiny_loco: Path,
                                                                  tmp_path: Path) -> None:
    out_json = tmp_path / "m.json"
    result = runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--json", str(out_json),
                                     "--quiet"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert set(data["au_spro"]) == {"logical", "structural", "mean"}  # MVTec's form, not one pooled number
    assert set(data["au_spro"]["mean"]) == {"0.01", "0.05", "0.1", "0.3", "1.0"}
    for kind in ("logical", "structural", "mean"):
        assert f"AU-sPRO @0.05 {kind}" in result.output
    assert data["defect_types"] and {"defect_type", "kind", "images", "auroc", "detected", "detection_rate"} <= set(
        data["defect_types"][0])
    assert "by defect type" in result.output
    for block in data["defect_types"]:
        assert block["defect_type"] in result.output
    assert "rule violation rate" in result.output and "z ≥ 3 normal spreads" in result.output
    assert "truth < 0.5" not in result.output
    assert {"normal_deciding", "anomaly_deciding", "defect_deciding"} <= set(data["rules"]["rules"][0])


@pytest.mark.parametrize(("dtype", "words"), [
    (None, "model.safetensors holds NaN/inf values"),
    ("float64", "model.safetensors does not fit the network of the run's rules.rules and config.json: center is "
                "float64, expected float32"),
])
def test_damaged_weights_are_one_error_naming_the_file(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                       tiny_loco: Path, tmp_path: Path, dtype: str | None,
                                                       words: str) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    tensors = load_file(run / "model.safetensors")
    save_file({name: (tensor.to(getattr(torch, dtype)) if dtype else tensor * float("nan"))
               if tensor.is_floating_point() else tensor for name, tensor in tensors.items()},
              run / "model.safetensors")
    out_json = tmp_path / "m.json"
    result = runner.invoke(cli_app, ["eval", str(run), "--data", str(tiny_loco), "--json", str(out_json), "--quiet"])
    assert result.exit_code == 1 and result.output.count("error:") == 1, result.output
    assert "Traceback" not in result.output and words in " ".join(result.output.split()), result.output
    assert not out_json.exists()

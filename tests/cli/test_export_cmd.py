"""`dire export` on the command line: where it may write, and what it says."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from dire_dsl.cli.output_paths import written_by_dire


def test_an_export_is_recognised_as_dire_output(tiny_export: Path) -> None:
    assert written_by_dire(tiny_export)  # so exporting again over it needs no --force


def test_a_file_dire_did_not_write_is_never_replaced_unasked(cli_app: typer.Typer, runner: CliRunner,
                                                             tiny_run: Path, tmp_path: Path) -> None:
    mine = tmp_path / "model.onnx"
    mine.write_bytes(b"someone's model")
    result = runner.invoke(cli_app, ["export", str(tiny_run), "--out", str(mine)])
    assert result.exit_code == 1
    assert "exists and was not written by dire; pass --force" in result.output
    assert mine.read_bytes() == b"someone's model"


def test_the_export_never_lands_in_the_run(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path) -> None:
    result = runner.invoke(cli_app, ["export", str(tiny_run), "--out", str(tiny_run / "model.safetensors"),
                                     "--force"])
    assert result.exit_code == 1 and "write the output elsewhere" in result.output


def test_a_missing_run_is_a_user_error(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["export", str(tmp_path / "no_run"), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 1
    assert "no such run folder" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.onnx").exists()

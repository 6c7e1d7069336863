"""Output paths are checked before any work: a file where a folder goes, a folder where a file
goes, maps that would land among the test images; each is one `error:` line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner


@pytest.fixture()
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("keep me", encoding="utf-8")
    return path


def _refused(result, *words: str) -> None:  # noqa: ANN001
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1
    for word in words:
        assert word in result.output, result.output


def test_eval_outputs_are_checked_before_scoring(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                 tiny_loco: Path, a_file: Path, tmp_path: Path) -> None:
    base = ["eval", str(tiny_run), "--data", str(tiny_loco)]
    _refused(runner.invoke(cli_app, [*base, "--json", str(a_file / "m.json")]), "--json", "is a file, not a folder")
    _refused(runner.invoke(cli_app, [*base, "--report", str(tmp_path)]), "--report", "is a folder")
    _refused(runner.invoke(cli_app, [*base, "--maps", str(a_file)]), "--maps", "is a file")
    _refused(runner.invoke(cli_app, [*base, "--maps", str(tiny_loco)]), "would be read as data")
    assert a_file.read_text(encoding="utf-8") == "keep me"
    assert not list(tiny_loco.rglob("*.tiff"))


def test_other_commands_check_their_out_folder(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                               tiny_loco: Path, a_file: Path) -> None:
    image = next((tiny_loco / "pushpins" / "test" / "good").glob("*.png"))
    _refused(runner.invoke(cli_app, ["explain", str(tiny_run), str(image), "--out", str(a_file)]), "--out")
    _refused(runner.invoke(cli_app, ["train", str(tiny_run / "rules.rules"), "--data", str(tiny_loco),
                                     "--out", str(a_file / "run")]), "--out", "is a file, not a folder")
    _refused(runner.invoke(cli_app, ["demo", "--out", str(a_file)]), "--out", "is a file")


"""`dire fmt`: rewrites atomically, `--check` changes nothing, broken files are left alone."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

MESSY = 'category c\nobject pin "a pin"\nrule r: count(pin)==1\n'
CANONICAL = 'category c\n\nobject pin "a pin"\n\nrule r:\n    count(pin) == 1\n'


def test_fmt_rewrites_in_canonical_form(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "a.rules"
    path.write_text(MESSY, encoding="utf-8")
    result = runner.invoke(cli_app, ["fmt", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == CANONICAL
    assert "reformatted" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["a.rules"]  # no temp file left behind


def test_check_mode_exits_one_and_changes_nothing(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "a.rules"
    path.write_text(MESSY, encoding="utf-8")
    result = runner.invoke(cli_app, ["fmt", "--check", "--diff", str(path)])
    assert result.exit_code == 1
    assert "would reformat" in result.output and "+rule r:" in result.output
    assert path.read_text(encoding="utf-8") == MESSY


def test_diff_alone_previews_and_changes_nothing(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    """Like black's and ruff's --diff: a preview, so the file stays as the user wrote it."""
    path = tmp_path / "a.rules"
    path.write_text(MESSY, encoding="utf-8")
    result = runner.invoke(cli_app, ["fmt", "--diff", str(path)])
    assert result.exit_code == 0
    assert "would reformat" in result.output and "+rule r:" in result.output
    assert path.read_text(encoding="utf-8") == MESSY


def test_check_mode_on_canonical_file_exits_zero(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "a.rules"
    path.write_text(CANONICAL, encoding="utf-8")
    assert runner.invoke(cli_app, ["fmt", "--check", str(path)]).exit_code == 0


def test_file_with_syntax_errors_is_not_touched(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "a.rules"
    broken = 'category c\nobject pin "a pin"\nrule r: count(pin) = 1\n'
    path.write_text(broken, encoding="utf-8")
    result = runner.invoke(cli_app, ["fmt", str(path)])
    assert result.exit_code == 1
    assert "E104" in result.output
    assert "0 file(s) reformatted, 0 unchanged, 1 not formatted" in result.output
    assert path.read_text(encoding="utf-8") == broken


def test_a_failed_write_keeps_the_original(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                           monkeypatch) -> None:
    import os

    path = tmp_path / "a.rules"
    path.write_text(MESSY, encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = runner.invoke(cli_app, ["fmt", str(path)])
    assert result.exit_code == 2
    assert "cannot write the formatted file" in result.output and "original is unchanged" in result.output
    assert path.read_text(encoding="utf-8") == MESSY
    assert [p.name for p in tmp_path.iterdir()] == ["a.rules"]

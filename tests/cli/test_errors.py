"""The one mapping from an error to its message and exit code: a user error is one `error:`
line and exit 1 (2 for a usage error), never a traceback; anything else is a bug, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dire_dsl.cli.app import main
from dire_dsl.data.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules" / "pushpins.rules"


def test_a_data_error_in_synth_is_a_user_error(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> Path:
        raise DataError("defects_config.json: no such defect `scratch`")

    monkeypatch.setattr("dire_dsl.synth.generate.synthesize", broken)
    result = runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "error: defects_config.json: no such defect `scratch`" in result.output
    assert "Traceback" not in result.output


def test_a_path_without_rules_files_is_a_usage_error(cli_app: typer.Typer, runner: CliRunner,
                                                      tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["check", str(tmp_path / "missing.rules")])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'missing.rules'}: no such file or folder"


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["dire", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code)


def test_an_unexpected_exception_is_an_internal_error(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def bug(path: Path) -> None:
        raise KeyError("slot")

    monkeypatch.setattr("dire_dsl.lang.program.check_file", bug)
    assert _main(["check", str(RULES)], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err  # for the bug report
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: internal error (a bug in dire-dsl, not in your input): KeyError: 'slot'")


def test_a_dire_error_no_command_maps_is_still_one_line(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    def damaged(path: Path) -> None:
        raise DataError(f"{path}: damaged")

    monkeypatch.setattr("dire_dsl.lang.program.check_file", damaged)
    assert _main(["check", str(RULES)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {RULES}: damaged"

"""`dire check`: exit codes, text and JSON output, folders, and no torch on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
GOOD = 'category c\nobject pin "a pin"\nrule r:\n    count(pin) == 1\n'
BAD = 'category c\nobject screw "a screw"\nobject nut "a nut"\nrule r:\n    count(srew) == 2\n'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_clean_file_exits_zero(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["check", str(write(tmp_path, "a.rules", GOOD))])
    assert result.exit_code == 0, result.output
    assert "checked 1 file(s): 0 error(s), 0 warning(s)" in result.output


def test_error_exits_one_and_shows_the_caret(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "screw_bag.rules", BAD)
    result = runner.invoke(cli_app, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:11: error[E203]: unknown object `srew`; declared objects: screw, nut" in result.output
    assert "5 |     count(srew) == 2\n  |           ^^^^" in result.output
    assert "did you mean `screw`?" in result.output


def test_json_format(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "a.rules", BAD)
    result = runner.invoke(cli_app, ["check", "--format", "json", str(path)])
    assert result.exit_code == 1
    data = json.loads(result.output)
    [diagnostic] = data["files"][0]["diagnostics"]
    assert diagnostic["code"] == "E203" and diagnostic["span"]["line"] == 5 and diagnostic["span"]["column"] == 11
    assert data["errors"] == 1


def test_folder_is_searched_and_all_files_reported(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, "a.rules", GOOD)
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "b.rules", BAD)
    result = runner.invoke(cli_app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "checked 2 file(s): 1 error(s)" in result.output


def test_warnings_pass_unless_denied(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "w.rules", 'category c\nobject pin "p"\nrule r:\n    count(pin) >= 0\n')
    assert runner.invoke(cli_app, ["check", str(path)]).exit_code == 0
    assert runner.invoke(cli_app, ["check", "--deny-warnings", str(path)]).exit_code == 1


def test_shipped_rules_pass_with_warnings_denied(cli_app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(cli_app, ["check", "--deny-warnings", str(ROOT / "rules")])
    assert result.exit_code == 0, result.output


def test_missing_path_is_a_usage_error(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["check", str(tmp_path / "nope.rules")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_unreadable_file_is_reported_not_raised(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "latin1.rules"
    path.write_bytes(b"category c\nobject pin \"\xe9\"\n")
    result = runner.invoke(cli_app, ["check", str(path)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.output


def test_check_and_fmt_never_import_torch(tmp_path: Path) -> None:
    rules = write(tmp_path, "a.rules", GOOD)
    script = (
        "import sys\n"
        "from dire_dsl.cli.app import app\n"
        f"for argv in (['check', {str(rules)!r}], ['fmt', '--check', {str(rules)!r}],"
        f" ['compile', {str(rules)!r}]):\n"
        "    try:\n"
        "        app(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('torch', 'ltn', 'open_clip', 'peft', 'sklearn') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_a_scene_spec_is_refused_with_what_to_give(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["check", str(write(tmp_path, "widget.toml", 'category = "widget"\n'))])
    assert result.exit_code == 2
    assert "a scene spec, not a rules file" in result.output and "dire synth" in result.output


def test_an_unreadable_file_is_counted_in_the_summary(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.rules"
    latin1.write_bytes(b"category caf\xe9\n")
    result = runner.invoke(cli_app, ["check", str(latin1)])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    assert "1 file(s) could not be read" in result.output
    data = json.loads(runner.invoke(cli_app, ["check", "--format", "json", str(latin1)]).stdout)
    assert data["unreadable"] == 1 and "not UTF-8" in data["files"][0]["unreadable"]

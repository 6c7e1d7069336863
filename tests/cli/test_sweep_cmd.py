"""`dire sweep`: the table, write-back, and clear errors for bad grids (training stubbed: the library
tests cover the real code path)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dire_dsl.lang.program import load_rules
from dire_dsl.run.trained import load_run
from dire_dsl.workflows import sweep as sweep_module


@pytest.fixture()
def rules_copy(tiny_rules: Path, tmp_path: Path) -> Path:
    path = tmp_path / "pushpins.rules"
    path.write_text(tiny_rules.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_sweep_prints_table_and_writes_back(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                            tiny_loco: Path, rules_copy: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_module, "train", lambda *a, **k: load_run(tiny_run))
    monkeypatch.setattr(sweep_module, "VALIDATION_ANOMALIES", 8)
    out = tmp_path / "sweep"
    result = runner.invoke(cli_app, ["sweep", str(rules_copy), "--data", str(tiny_loco), "--grid", "lambda=1e-6",
                                     "--grid", "epochs=1", "--out", str(out), "--write-back", "--no-test"])
    assert result.exit_code == 0, result.output
    assert "lambda=1e-06,epochs=1" in result.output and "chosen" in result.output
    assert (out / "sweep.md").is_file() and (out / "sweep.json").is_file()
    assert load_rules(rules_copy).train["lambda"] == 1e-6


def test_bad_grid_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path, rules_copy: Path,
                            tmp_path: Path) -> None:
    for grid, message in (("lamda=1", "unknown setting"), ("lambda", "KEY=V1,V2"), ("epochs=0", "epochs=0")):
        result = runner.invoke(cli_app, ["sweep", str(rules_copy), "--data", str(tiny_loco), "--grid", grid,
                                         "--out", str(tmp_path / "s")])
        assert result.exit_code == 1, (grid, result.output)
        assert message in result.output and "Traceback" not in result.output


def test_broken_rules_exit_one(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text("category pushpins\nrule r:\n    count(pin) == 1\n")
    result = runner.invoke(cli_app, ["sweep", str(bad), "--data", str(tiny_loco), "--grid", "lambda=1e-6"])
    assert result.exit_code == 1
    assert "pin" in result.output and "Traceback" not in result.output


def test_rerun_replaces_its_own_table_but_not_a_foreign_file(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                              tiny_loco: Path, rules_copy: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from dire_dsl.cli.output_paths import written_by_dire

    monkeypatch.setattr(sweep_module, "train", lambda *a, **k: load_run(tiny_run))
    monkeypatch.setattr(sweep_module, "VALIDATION_ANOMALIES", 8)
    out = tmp_path / "sweep"
    args = ["sweep", str(rules_copy), "--data", str(tiny_loco), "--grid", "epochs=1", "--out", str(out), "--no-test"]
    assert runner.invoke(cli_app, args).exit_code == 0
    assert written_by_dire(out / "sweep.json") and written_by_dire(out / "sweep.md")
    again = runner.invoke(cli_app, args)  # over its own earlier table: no --force needed
    assert again.exit_code == 0, again.output
    (out / "sweep.md").write_text("| my own notes |\n", encoding="utf-8")
    refused = runner.invoke(cli_app, args)
    assert refused.exit_code == 1 and refused.output.count("error:") == 1, refused.output
    assert "sweep.md" in refused.output and "--force" in refused.output and "Traceback" not in refused.output
    assert (out / "sweep.md").read_text(encoding="utf-8") == "| my own notes |\n"
    forced = runner.invoke(cli_app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert written_by_dire(out / "sweep.md")

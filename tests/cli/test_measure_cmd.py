"""`dire measure`: rules read on annotated masks or a run's grounding; clear errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner


def test_annotations_of_the_train_split_by_default(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path,
                                                  tiny_rules: Path) -> None:
    result = runner.invoke(cli_app, ["measure", str(tiny_rules), "--data", str(tiny_loco)])
    assert result.exit_code == 0, result.output
    assert "annotations/train.json" in result.output
    assert "rule one_per_compartment (line" in result.output and "count(pushpin in c) == 1" in result.output


def test_a_run_reads_its_validation_split_as_json(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                  tiny_rules: Path) -> None:
    result = runner.invoke(cli_app, ["measure", str(tiny_rules), "--run", str(tiny_run), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "validation/good" in data["source"] and data["images"] > 0
    assert {"rule", "line", "holds_on", "atoms"} <= set(data["rules"][0])


def test_rules_for_other_objects_than_the_run_saw_are_refused(cli_app: typer.Typer, runner: CliRunner,
                                                              tiny_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.rules"
    other.write_text("category pushpins\nobject bolt \"a bolt\"\nrule one:\n    count(bolt) == 1\n")
    result = runner.invoke(cli_app, ["measure", str(other), "--run", str(tiny_run)])
    assert result.exit_code == 1
    assert "other objects or attribute values" in result.output and "Traceback" not in result.output


def test_neither_source_is_a_usage_error(cli_app: typer.Typer, runner: CliRunner, tiny_rules: Path) -> None:
    result = runner.invoke(cli_app, ["measure", str(tiny_rules)])
    assert result.exit_code == 2 and "--data" in result.output and "--run" in result.output


def test_a_missing_category_folder_is_one_error_line(cli_app: typer.Typer, runner: CliRunner, tiny_rules: Path,
                                                    tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["measure", str(tiny_rules), "--data", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and "Traceback" not in result.output


def test_deny_false_exits_one_when_a_rule_is_false_on_a_good_image(cli_app: typer.Typer, runner: CliRunner,
                                                                    tiny_loco: Path, tiny_rules: Path,
                                                                    tmp_path: Path) -> None:
    wrong = tmp_path / "pushpins.rules"
    wrong.write_text(tiny_rules.read_text(encoding="utf-8").replace("count(pushpin) == 15", "count(pushpin) == 14"),
                     encoding="utf-8")
    assert "count(pushpin) == 14" in wrong.read_text(encoding="utf-8")
    strict = runner.invoke(cli_app, ["measure", str(wrong), "--data", str(tiny_loco), "--deny-false"])
    assert strict.exit_code == 1, strict.output
    assert "1 false on some good image" in strict.output
    assert runner.invoke(cli_app, ["measure", str(wrong), "--data", str(tiny_loco)]).exit_code == 0
    right = runner.invoke(cli_app, ["measure", str(tiny_rules), "--data", str(tiny_loco), "--deny-false"])
    assert right.exit_code == 0, right.output

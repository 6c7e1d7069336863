"""`dire train`: bad input fails before training (and before the run folder is touched) with one
clear message and exit code 1; a diverging run says so and exits 1; never a traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from dire_dsl.train.run_dir import create_run_dir, open_run_dir
from tests.train.helpers import PINS_RULES, poison_compactness


def _train(cli_app: typer.Typer, runner: CliRunner, rules: Path, data: Path, out: Path, *extra: str) -> Result:
    return runner.invoke(cli_app, ["train", str(rules), "--data", str(data), "--out", str(out), *extra])


def _assert_user_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1, result.output
    assert "/None" not in result.output and "preparing" not in result.output  # no progress-bar leftovers
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_objects_missing_from_the_annotations_are_named(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                                        tiny_loco: Path) -> None:
    rules = tmp_path / "pins.rules"
    rules.write_text(re.sub(r"\bpushpin\b", "thumbtack", PINS_RULES.read_text(encoding="utf-8")), encoding="utf-8")
    result = _train(cli_app, runner, rules, tiny_loco, tmp_path / "run")
    _assert_user_error(result, "`thumbtack`", "annotated categories: pushpin, separator")
    assert not (tmp_path / "run").exists()


def test_missing_category_folder(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, tiny_loco: Path) -> None:
    result = _train(cli_app, runner, PINS_RULES, tiny_loco, tmp_path / "run", "--category", "screw_bag")
    _assert_user_error(result, "missing category folder", "found: pushpins")
    assert not (tmp_path / "run").exists()


def test_missing_split(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, tiny_loco: Path) -> None:
    data = tmp_path / "data"
    for part in ("train", "annotations"):
        shutil.copytree(tiny_loco / "pushpins" / part, data / "pushpins" / part)
    result = _train(cli_app, runner, PINS_RULES, data, tmp_path / "run")
    _assert_user_error(result, "validation")
    assert not (tmp_path / "run").exists()


def test_existing_folder_needs_force(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, tiny_loco: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = _train(cli_app, runner, PINS_RULES, tiny_loco, out)
    _assert_user_error(result, "already exists", "--force")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_force_keeps_the_earlier_run_when_the_data_is_bad(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                                          tiny_loco: Path) -> None:
    earlier = create_run_dir(tmp_path / "run")
    earlier.write_rules("category pushpins\n")
    result = _train(cli_app, runner, PINS_RULES, tiny_loco, earlier.path, "--force", "--category", "screw_bag")
    _assert_user_error(result, "missing category folder")
    assert open_run_dir(earlier.path).read_rules() == "category pushpins\n"


def test_rules_with_errors_print_diagnostics(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                             tiny_loco: Path) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text("category pushpins\nobject pushpin\nrule r: count(pushpn) == 1\n", encoding="utf-8")
    result = _train(cli_app, runner, rules, tiny_loco, tmp_path / "run")
    _assert_user_error(result, f"{rules}:3:15: error[E203]", "unknown object `pushpn`", "^^^^^^", "fix the rules")
    assert not (tmp_path / "run").exists()


def test_diverging_run_exits_one_with_the_loss_terms(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                                     tiny_loco: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_compactness(monkeypatch, from_step=3)
    out = tmp_path / "run"
    result = _train(cli_app, runner, PINS_RULES, tiny_loco, out)
    _assert_user_error(result, "training stopped", "compact=nan", "last good checkpoint")
    assert open_run_dir(out).load_checkpoint().step == 2


def test_prompts_grounding_without_a_pretrained_clip_is_refused_before_training(
        cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, tiny_loco: Path) -> None:
    rules = tmp_path / "p.rules"
    rules.write_text('category pushpins\nobject pushpin "a pin"\n\nrule r:\n    count(pushpin) == 15\n\n'
                     "train { grounding = prompts }\n", encoding="utf-8")
    result = _train(cli_app, runner, rules, tiny_loco, tmp_path / "run")
    _assert_user_error(result, "grounding = prompts", "`conv-small` is not a CLIP model", "--backbone open_clip:")
    assert not (tmp_path / "run").exists()


def test_unsupervised_grounding_with_nothing_to_name_clusters_is_refused_before_training(
        cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, tiny_loco: Path) -> None:
    rules = tmp_path / "u.rules"
    rules.write_text(PINS_RULES.read_text(encoding="utf-8").replace(
        "shots = 2", "shots = 0, grounding = unsupervised"), encoding="utf-8")
    result = _train(cli_app, runner, rules, tiny_loco, tmp_path / "run")
    _assert_user_error(result, "grounding = unsupervised cannot name its clusters", "Annotate one training image",
                       "--backbone open_clip:")
    assert not (tmp_path / "run").exists()

"""`dire train`: bad input fails before training (and before the run folder is touched) with one
clear message and exit code 1; a diverging run says so and exits 1; never a traceback."""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from dire_dsl.run.folder import create_run_dir, open_run_dir
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


def test_progress_off_a_terminal_is_plain_lines(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                                                tiny_loco: Path) -> None:
    """Under nohup, in CI or into a log file the rich bar shows nothing: plain lines on stderr instead."""
    result = _train(cli_app, runner, PINS_RULES, tiny_loco, tmp_path / "run")  # CliRunner's stderr: not a TTY
    assert result.exit_code == 0, result.output
    stamp = r"^\[[\dhms]+\] "  # the time since the command started
    lines = [re.sub(stamp, "", line) for line in result.stderr.splitlines() if re.match(stamp, line)]
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) == 2, lines
    for number, line in enumerate(epochs, 1):
        assert re.fullmatch(rf"epoch {number}/2: step {3 * number}/6 loss=\d+\.\d{{3}} .*", line), line
    phases = [line.removesuffix(" ...") for line in lines if line.endswith(" ...")]
    assert phases == ["loading data", "synthesizing 64 training anomalies from the rules", "training",
                      "building the patch memory from 24 training normals", "calibrating on validation normals"]
    for phase in phases:
        assert any(line.startswith(f"{phase}: done in ") for line in lines), lines
    assert "trained pushpins" in result.stdout


def test_a_full_disk_while_checkpointing_is_one_error_and_keeps_the_last_checkpoint(
        cli_app: typer.Typer, runner: CliRunner, tmp_path: Path, tiny_loco: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dire_dsl.run import checkpoint
    from dire_dsl.train import loop

    real_save, calls = checkpoint.save_tensors, []

    def full_disk_from_the_second_checkpoint(path: Path, *args: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) > 2:  # a checkpoint writes two tensor files
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_save(path, *args, **kwargs)

    monkeypatch.setattr(loop, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(checkpoint, "save_tensors", full_disk_from_the_second_checkpoint)
    out = tmp_path / "run"
    result = _train(cli_app, runner, PINS_RULES, tiny_loco, out)
    _assert_user_error(result, "cannot write checkpoint", "step-000000004", "No space left on device",
                       "free some space", "--resume")
    monkeypatch.undo()
    assert open_run_dir(out).load_checkpoint().step == 2
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["latest", "step-000000002"]


def test_structural_off_trains_the_ablation_without_the_structural_half(cli_app: typer.Typer, runner: CliRunner,
                                                                         tmp_path: Path, tiny_loco: Path) -> None:
    """`--structural off`: no patch or part memory, and a map whose only evidence is the logic's."""
    import torch

    from dire_dsl.run.inference import Scorer
    from dire_dsl.run.trained import load_run

    result = _train(cli_app, runner, PINS_RULES, tiny_loco, tmp_path / "run", "--structural", "off", "--epochs", "1")
    assert result.exit_code == 0, result.output
    trained = load_run(tmp_path / "run")
    assert trained.config.structural == "off" and trained.config.descriptor == "off"
    assert trained.detector.memory.numel() == 0 and trained.detector.part_memory is None
    scores = Scorer(trained).score([torch.randint(0, 256, (96, 96, 3), dtype=torch.uint8).numpy()])
    calibration = trained.calibration
    structural = calibration.structural_z(scores)
    assert torch.all(structural == structural.flatten()[0])  # one constant, below every fused score
    assert torch.equal(calibration.image_score(scores), calibration.fused(scores))
    bad = _train(cli_app, runner, PINS_RULES, tiny_loco, tmp_path / "other", "--structural", "patches")
    assert bad.exit_code == 2 and "patches" in bad.output

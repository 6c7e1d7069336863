"""Progress off a terminal (nohup, CI, a log file): plain stderr lines, since a rich bar shows nothing there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dire_dsl.cli import progress
from dire_dsl.cli.progress import PlainLines, clock


def stamped(stderr: str) -> list[str]:
    """The progress lines of a command's stderr, without their elapsed-time stamps."""
    return [re.sub(r"^\[[\dhms]+\] ", "", line) for line in stderr.splitlines() if re.match(r"\[[\dhms]+\] ", line)]


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0s"), (59.9, "59s"), (185, "3m05s"), (3720, "1h02m")])
def test_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text


def test_counts_every_tenth_and_phases_with_their_duration(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    lines = PlainLines()
    lines.phase("scoring")
    for done in range(0, 41):
        lines.count("images", done, 40)
    now[0] += 75
    lines.end_phase()
    lines.end_phase()  # nothing running: nothing said
    assert capsys.readouterr().err.splitlines() == (
        ["[0s] scoring ..."] + [f"[0s] images: {4 * i}/40 ({10 * i}%)" for i in range(11)]
        + ["[1m15s] scoring: done in 1m15s"])


def test_counting_something_else_starts_afresh(capsys: pytest.CaptureFixture[str]) -> None:
    """`dire demo` counts the images it synthesizes, then the test images it scores."""
    lines = PlainLines()
    for what in ("synthesizing", "evaluating"):
        for done in range(0, 3):
            lines.count(what, done, 2)
    assert stamped(capsys.readouterr().err) == ["synthesizing: 0/2 (0%)", "synthesizing: 1/2 (50%)",
                                                "synthesizing: 2/2 (100%)", "evaluating: 0/2 (0%)",
                                                "evaluating: 1/2 (50%)", "evaluating: 2/2 (100%)"]


def test_one_line_per_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    lines = PlainLines()
    for step in range(1, 7):
        lines.step({"epoch": (step - 1) // 3, "epochs": 2, "step": step, "total_steps": 6, "loss": 1.0 / step})
    assert stamped(capsys.readouterr().err) == ["epoch 1/2: step 3/6 loss=0.333", "epoch 2/2: step 6/6 loss=0.167"]


def test_eval_off_a_terminal(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path, tiny_loco: Path) -> None:
    result = runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    lines = stamped(result.stderr)
    assert lines[0] == "scoring test images: 1/16 (6%)" and lines[-1] == "scoring test images: 16/16 (100%)", lines
    assert len(lines) == 11  # one per tenth reached, not one per batch
    quiet = runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--quiet"])
    assert quiet.exit_code == 0 and stamped(quiet.stderr) == []


def test_synth_off_a_terminal(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["synth", "pushpins", "--out", str(tmp_path), "--size", "48", "--n-train", "2",
                                     "--n-val", "1", "--n-test", "6", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert stamped(result.stderr) == ["synth pushpins: 0/9 (0%)", "synth pushpins: 1/9 (11%)",
                                      "synth pushpins: 2/9 (22%)", "synth pushpins: 3/9 (33%)",
                                      "synth pushpins: 4/9 (44%)", "synth pushpins: 5/9 (55%)",
                                      "synth pushpins: 6/9 (66%)", "synth pushpins: 7/9 (77%)",
                                      "synth pushpins: 8/9 (88%)", "synth pushpins: 9/9 (100%)"]

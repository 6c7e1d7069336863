"""`dire demo`: the whole chain on a tiny data set (sizes patched down), and a clear error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dire_dsl.workflows import demo as demo_module


def test_demo_runs_end_to_end(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "DEMO_DATA", {"n_train": 16, "n_val": 6, "n_test": 12, "size": 80})
    monkeypatch.setattr(demo_module, "DEMO_TRAIN", {"epochs": 1, "image_size": 48, "shots": 2})
    out = tmp_path / "demo"
    result = runner.invoke(cli_app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for path in (out / "report.html", out / "metrics.json", out / "run" / "model.safetensors",
                 out / "data" / "pushpins" / "defects_config.json"):
        assert path.is_file(), path
    assert "image AUROC logical" in result.output and str(out / "report.html") in result.output
    assert "done in" in result.output
    # CliRunner's stderr is not a terminal, as under nohup or in CI: plain lines there, not an invisible bar
    lines = [re.sub(r"^\[[\dhms]+\] ", "", line) for line in result.stderr.splitlines()]
    assert [line for line in lines if ": " not in line] == ["training (epochs=1, image_size=48, shots=2, seed=0)",
                                                            "evaluating on the test split", "writing the HTML report"]
    synth = [line for line in lines if line.startswith("synthesizing pushpins: ")]
    assert synth[0] == "synthesizing pushpins: 16 train, 6 validation, 12 test images at 80 px"
    assert synth[1] == "synthesizing pushpins: 0/34 (0%)" and synth[-1] == "synthesizing pushpins: 34/34 (100%)"
    assert len(synth) == 12  # the phase, then one line per tenth done
    assert [line for line in lines if line.startswith("training: ")] == [
        "training: loading data", "training: synthesizing 64 training anomalies from the rules", "training: training",
        "training: building the patch memory from 16 training normals", "training: calibrating on validation normals"]
    assert [line.split(" loss=")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1/1: step 1/1"]
    assert lines[-2:] == ["evaluating on the test split: 12/12 (100%)", "writing the HTML report"]


def test_unknown_category_exits_one(cli_app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["demo", "--category", "teapots", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "teapots" in result.output and "pushpins" in result.output and "Traceback" not in result.output
    assert "pcb1" not in result.output  # a rules file without a scene spec cannot be demonstrated
    result = runner.invoke(cli_app, ["demo", "--category", "../rules/pushpins", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no built-in category" in result.output

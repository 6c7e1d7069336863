"""Shared by the training tests: the small rules file, reading a run's results, child processes."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from dire_dsl.run.checkpoint import load_tensors

PINS_RULES = Path(__file__).with_name("pins.rules")
"""Two pushpins rules; its train block: 2 epochs at 64 px, batch 8, 2 annotated shots."""


def run_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_tensors(run / "model.safetensors")


def run_calibration(run: Path) -> dict[str, Any]:
    return json.loads((run / "calibration.json").read_text(encoding="utf-8"))


def log_records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text(encoding="utf-8").splitlines()]


def log_steps(run: Path) -> list[int]:
    return [record["step"] for record in log_records(run)]


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Same names, shapes, dtypes and bits."""
    assert a.keys() == b.keys()
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def run_child(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a child process to its end; fail with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command[:3]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def poison_compactness(monkeypatch: pytest.MonkeyPatch, from_step: int) -> None:
    """Make the compactness term NaN from the `from_step`-th training step on, and checkpoint
    every 2 steps, so a run diverges after a good checkpoint."""
    from dire_dsl.train import loop, losses

    real = losses.compactness_loss
    calls = itertools.count(1)

    def poisoned(embedding: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
        value = real(embedding, center)
        return value * float("nan") if next(calls) >= from_step else value

    monkeypatch.setattr(losses, "compactness_loss", poisoned)
    monkeypatch.setattr(loop, "CHECKPOINT_EVERY", 2)

"""benchmarks/cuda_step.py keeps working without a GPU: its CPU mode trains both tiny configurations."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "cuda_step.py"


def test_cpu_mode_prints_images_per_second(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", [str(BENCHMARK), "--cpu", "--warmup", "1", "--steps", "1"])
    with pytest.warns(UserWarning, match="random weights"):
        runpy.run_path(str(BENCHMARK), run_name="__main__")
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["conv-small", "open_clip:dire-bench-tiny-vit"]
    assert all(float(row[3]) > 0 for row in rows)

"""benchmarks/train_time.py: its default (all five categories) parses, and a tiny run prints a row."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "train_time.py"


@pytest.fixture(scope="module")
def train_time() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_time_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_no_category_means_all_five(train_time: ModuleType) -> None:
    assert train_time.parse_args([]).categories == list(train_time.CATEGORIES)


def test_an_unknown_category_is_a_usage_error(train_time: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        train_time.parse_args(["pushpin"])
    assert stop.value.code == 2
    assert "unknown category pushpin" in capsys.readouterr().err


def test_a_tiny_run_prints_minutes_and_memory_of_both_models(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(BENCHMARK), "pushpins", "--data", str(tmp_path), "--n-train", "12",
                             "--n-val", "4", "--n-test", "0", "--size", "64", "--workers", "1", "--epochs", "1",
                             "--image-size", "64"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    row = result.stdout.splitlines()[-1].split()
    assert row[0] == "pushpins" and row[-1] == "yes"
    rules_min, rules_gb, plain_min, plain_gb = map(float, row[1:5])
    assert 0 < rules_min < 5 and 0 < plain_min < 5
    assert 0.1 < rules_gb < 2 and 0.1 < plain_gb < 2

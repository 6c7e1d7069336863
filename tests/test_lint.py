"""`ruff check` finds nothing, with the rules of pyproject.toml's [tool.ruff].

It runs here so that CI fails on the commit that brings a finding in, not on a later one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["dire_dsl", "tests", "benchmarks", "scripts"]


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                             *CHECKED], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (f"ruff check (ruff is in the dev extra; `ruff check --fix` mends "
                                    f"import order):\n{result.stdout}{result.stderr}")

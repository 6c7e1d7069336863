"""Shared fixtures of the generator tests: the categories, the example specs and a small juice_bottle tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from dire_dsl.synth.generate import synthesize

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ("breakfast_box", "juice_bottle", "pushpins", "screw_bag", "splicing_connectors")
EXAMPLE_SPECS = sorted(p for p in (ROOT / "examples").glob("*/*.toml") if p.name != "pyproject.toml")


@pytest.fixture(scope="session")
def juice_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small juice_bottle data set (80 px) with every recipe used at least once."""
    out = tmp_path_factory.mktemp("synloco")
    return synthesize("juice_bottle", out, seed=5, size=80, n_train=3, n_val=2, n_test=40, workers=2)

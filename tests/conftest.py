"""Fixtures shared by several test folders: a tiny SynLOCO tree and a tiny trained run.

Built once per test session (per xdist worker): 24 train, 8 validation and 16 test pushpins
images at 96 px, and a run trained for one epoch at 64 px. The run is not meant to be good,
only real: every eval/explain/report/sweep code path runs on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PACKAGE_RULES = Path(__file__).resolve().parents[1] / "dire_dsl" / "rules"
TINY_DATA = {"n_train": 24, "n_val": 8, "n_test": 16, "size": 96}
TINY_TRAIN = {"epochs": 1, "image_size": 64, "shots": 2}


@pytest.fixture(scope="session")
def tiny_loco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root folder holding `pushpins/` in the MVTec LOCO layout."""
    from dire_dsl.data.synth import synthesize

    root = tmp_path_factory.mktemp("tiny_loco")
    synthesize("pushpins", root, seed=1, workers=1, check=False, **TINY_DATA)
    return root


@pytest.fixture(scope="session")
def tiny_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the pushpins rules (tests that rewrite rules make their own copy)."""
    path = tmp_path_factory.mktemp("tiny_rules") / "pushpins.rules"
    path.write_text((PACKAGE_RULES / "pushpins.rules").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_loco: Path, tiny_rules: Path) -> Path:
    """A run folder trained for one epoch at 64 px on `tiny_loco`."""
    from dire_dsl.train.api import train

    out = tmp_path_factory.mktemp("tiny_run") / "run"
    train(tiny_rules, tiny_loco, out, overrides=dict(TINY_TRAIN))
    return out

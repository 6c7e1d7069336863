"""The training tests share one reference run: `pins.rules` on the session's tiny SynLOCO tree,
trained in this process with the rules file's settings (the uninterrupted, single-process run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.helpers import PINS_RULES


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory, tiny_loco: Path) -> Path:
    from dire_dsl.train.api import train

    out = tmp_path_factory.mktemp("reference") / "run"
    train(PINS_RULES, tiny_loco, out)
    return out

"""Golden files: good fixtures compile to their JSON plan, bad ones print their exact diagnostics.

Regenerate with `python scripts/regen_goldens.py` after an intended change; never edit by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dire_dsl.lang.codes import CODES
from dire_dsl.lang.program import check_file
from dire_dsl.lang.render import render_all_text
from dire_dsl.logic.plan import program_plan

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path("tests/fixtures")
GOOD = sorted((ROOT / FIXTURES / "good").glob("*.rules"))
BAD = sorted((ROOT / FIXTURES / "bad").glob("*.rules"))


@pytest.fixture(autouse=True)
def _run_from_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # goldens hold paths relative to the repository root


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_fixture_compiles_to_its_golden_plan(path: Path) -> None:
    relative = path.relative_to(ROOT)
    result = check_file(relative)
    assert result.ok, render_all_text(result.diagnostics, result.source)
    expected = json.loads(relative.with_suffix(".json").read_text(encoding="utf-8"))
    assert program_plan(result.program) == expected


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fixture_prints_its_golden_diagnostics(path: Path) -> None:
    relative = path.relative_to(ROOT)
    result = check_file(relative)
    expected = relative.with_suffix(".txt").read_text(encoding="utf-8")
    assert render_all_text(result.diagnostics, result.source) + "\n" == expected


def test_there_are_at_least_forty_bad_fixtures() -> None:
    assert len(BAD) >= 40


def test_every_diagnostic_code_has_a_bad_fixture() -> None:
    printed = "".join(p.with_suffix(".txt").read_text(encoding="utf-8") for p in BAD)
    seen = set(re.findall(r"(?:error|warning)\[([EW]\d{3})\]", printed))
    # W406 (a broken plugin) comes from an installed package, not from a rules file:
    # tests/lang/test_signatures.py covers it.
    assert set(CODES) - {"W406"} <= seen, sorted(set(CODES) - seen)


def test_every_printed_code_is_in_the_catalogue() -> None:
    printed = "".join(p.with_suffix(".txt").read_text(encoding="utf-8") for p in BAD)
    assert set(re.findall(r"\[([EW]\d{3})\]", printed)) <= set(CODES)


def test_each_bad_fixture_is_named_after_a_code_it_produces() -> None:
    for path in BAD:
        match = re.match(r"([ew]\d{3})_", path.stem)
        if match:
            assert f"[{match.group(1).upper()}]" in path.with_suffix(".txt").read_text(encoding="utf-8"), path.name

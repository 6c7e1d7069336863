"""docs/diagnostics.md is generated from the code table and must be current."""

from __future__ import annotations

from pathlib import Path

from dire_dsl.lang.catalogue import diagnostics_markdown
from dire_dsl.lang.codes import CODES

ROOT = Path(__file__).resolve().parents[2]


def test_docs_page_is_up_to_date() -> None:
    assert (ROOT / "docs/diagnostics.md").read_text(encoding="utf-8") == diagnostics_markdown(), \
        "run `python scripts/gen_docs.py`"


def test_every_code_is_documented_with_bad_example_and_fix() -> None:
    page = diagnostics_markdown()
    for code, info in CODES.items():
        assert f"### {code}: {info.title}" in page
        assert info.bad and info.fix and info.bad != info.fix

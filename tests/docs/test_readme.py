"""The README stays true: its rules example checks, and its links point at pages that exist."""

from __future__ import annotations

import re
from pathlib import Path

from dire_dsl.lang.program import check_source

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_rules_example_checks_clean() -> None:
    example = next(block for block in re.findall(r"```\n(.*?)```", README, re.S) if block.startswith("category "))
    result = check_source(example, "README.md")
    assert result.ok and not result.diagnostics, [d.message for d in result.diagnostics]
    assert len(example.strip().splitlines()) <= 10


def test_relative_links_exist() -> None:
    targets = re.findall(r"\]\((?!https?://)([^)#]+)", README)
    assert targets, "the README links into the docs"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing, f"README.md links to missing files: {missing}"

"""Formatter: canonical, idempotent, comment-preserving, meaning-preserving."""

from __future__ import annotations

from pathlib import Path

import pytest

from dire_dsl.lang.diagnostics import RulesSyntaxError
from dire_dsl.lang.format import format_source
from dire_dsl.lang.parser import parse

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "rules").glob("*.rules")) + sorted((ROOT / "tests/fixtures/good").glob("*.rules"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_format_is_idempotent_and_keeps_meaning(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    once = format_source(source)
    assert format_source(once) == once
    assert parse(once).without_spans() == parse(source).without_spans()


@pytest.mark.parametrize("path", sorted((ROOT / "rules").glob("*.rules")), ids=lambda p: p.stem)
def test_shipped_rules_are_already_canonical(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert format_source(source) == source


def test_canonical_layout() -> None:
    messy = ('category   c # the product\nobject pin "a pin"\nregion cell=grid(3,5)\n'
             "rule r weight 2 hard : forall c in cell : count( pin in c )==1\n"
             "train{epochs=3,lambda=5e-7}\n")
    assert format_source(messy) == (
        "category c  # the product\n\n"
        'object pin "a pin"\n\n'
        "region cell = grid(3, 5)\n\n"
        "rule r weight 2 hard:\n"
        "    forall c in cell: count(pin in c) == 1\n\n"
        "train { epochs = 3, lambda = 5e-7 }\n"
    )


def test_comments_are_kept_in_place() -> None:
    source = ("# file header\ncategory c\n\n# the pins\nobject pin \"a pin\"  # round ones\n\n"
              "rule r:\n    # inside the body\n    count(pin) == 1\n# trailing remark\n")
    formatted = format_source(source)
    for comment in ("# file header", "# the pins", "# round ones", "# inside the body", "# trailing remark"):
        assert comment in formatted
    assert formatted.index("# the pins") < formatted.index("object pin")
    assert 'object pin "a pin"  # round ones' in formatted


def test_parentheses_only_where_needed_and_kept_where_meaningful() -> None:
    source = "category c\nobject p \"p\"\nrule r: (count(p) == 1 or count(p) == 2) and ((count(p) - (1 - 2)) == 0)\n"
    formatted = format_source(source)
    assert "(count(p) == 1 or count(p) == 2) and count(p) - (1 - 2) == 0" in formatted
    assert parse(formatted).without_spans() == parse(source).without_spans()


def test_quantifier_followed_by_more_keeps_its_parentheses() -> None:
    source = "category c\nobject p \"p\"\nrule r: (forall a in p: area(a) > 0.1) and count(p) == 1\n"
    formatted = format_source(source)
    assert "(forall a in p: area(a) > 0.1) and count(p) == 1" in formatted
    assert parse(formatted).without_spans() == parse(source).without_spans()


def test_long_bodies_are_split_before_connectives() -> None:
    source = "category c\nobject p \"p\"\nrule r: " + " and ".join(f"count(p) != {i}" for i in range(12)) + "\n"
    formatted = format_source(source)
    body = formatted.split("rule r:\n")[1].splitlines()
    assert len(body) > 1 and all(len(line) <= 88 for line in body)
    assert body[1].lstrip().startswith("and ")


def test_text_with_syntax_errors_is_refused() -> None:
    with pytest.raises(RulesSyntaxError):
        format_source("category c\nrule r: count(p) = 1\n")

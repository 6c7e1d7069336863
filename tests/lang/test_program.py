"""Reading a rules file: every way it cannot be read is one RulesFileError that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from dire_dsl.lang.program import RulesFileError, load_rules, read_rules_text


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.rules", None, "no such rules file"),
        ("folder.rules", "dir", "is a folder"),
        ("latin1.rules", b"category caf\xe9\n", "not UTF-8 text (byte 12)"),
        ("widget.toml", b'category = "widget"\n', "a scene spec, not a rules file"),
        ("widget.json", b'{"category": "widget"}\n', "a scene spec, not a rules file"),
    ],
)
def test_unreadable_files_name_the_file_and_the_fix(tmp_path: Path, name: str, content: bytes | str | None,
                                                     words: str) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(RulesFileError) as info:
        read_rules_text(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_a_readable_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.rules"
    path.write_text('category c\nobject pin "a pin"\nrule r:\n    count(pin) == 1\n', encoding="utf-8")
    assert read_rules_text(path).startswith("category c")
    assert [o.name for o in load_rules(path).objects] == ["pin"]


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path: Path) -> None:
    path = tmp_path / "bom.rules"
    path.write_bytes(b'\xef\xbb\xbfcategory c\nobject pin "a pin"\n')
    assert read_rules_text(path).startswith("category c")
    assert [o.name for o in load_rules(path).objects] == ["pin"]
